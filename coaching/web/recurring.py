"""Recurring sessions for guests: choose a first time and how many, see every occurrence in both
zones (those not free marked, with why), book the free ones in one go — free at once, paid through
one checkout for the whole series — and the pages around that checkout.

The views only parse, ask the schedule (`series_preview`) or call the service (`book_series`), and
render; the rules live in coaching/schedule/recurrence.py and coaching/services/recurring.py.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from coaching.exceptions import BookingError, NotBookable, RecurringNotAllowed, SlotUnavailable
from coaching.links import (
    InvalidManageLink,
    booking_page_path,
    manage_url,
    read_checkout_cancel_token,
    read_manage_token,
)
from coaching.models import Booking, BookingSeries
from coaching.money import format_money
from coaching.schedule.recurrence import recurrence_offer, series_preview
from coaching.services import payment
from coaching.services.local_checkout import deliver_test_payment, test_checkout_enabled
from coaching.services.packages import tender_for_code
from coaching.services.recurring import abandon_series_checkout, book_series, cancel_remaining, series_cancel_url
from coaching.vocabulary import Actor

from .context import package_details
from .forms import SessionBookingForm
from .parsing import get_coach, iso_z, parse_start
from .privacy import private_page
from .ratelimit import check, ratelimit, too_many_requests
from .recurring_context import remaining_with_refunds
from .responses import render_refusal

PAGE = "coaching/recurring/series.html"
RETURN_PAGE = "coaching/recurring/checkout_return.html"
TEST_CHECKOUT_PAGE = "coaching/recurring/test_checkout.html"
CANCEL_SERIES_PAGE = "coaching/recurring/cancel_series.html"


class SeriesForm(SessionBookingForm):
    """The guest's details and which of the occurrences shown to book (the free ones, ticked). Any
    number of the series is accepted here: whether it is still free is the service's to say, under
    the coach's lock, so a date taken since the page was drawn is refused with its reason."""

    numbers = forms.TypedMultipleChoiceField(
        label="Sessions to book", coerce=int, widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args, count: int, free_numbers: list[int], session_type, **kwargs):
        super().__init__(*args, session_type=session_type, **kwargs)
        self.fields["numbers"].choices = [(number, str(number)) for number in range(1, count + 1)]
        self.fields["numbers"].initial = free_numbers
        self.fields["numbers"].error_messages["required"] = "Please tick at least one session."


def _count(request: HttpRequest, *, maximum: int) -> int:
    try:
        count = int(request.GET.get("count") or min(6, maximum))
    except ValueError:
        count = min(6, maximum)
    return max(2, min(count, maximum))


def _occurrence_rows(preview, *, guest_zone, coach_zone) -> list[dict]:
    return [
        {
            "number": occurrence.number,
            "start_at": occurrence.start_at,
            "end_at": occurrence.end_at,
            "is_free": occurrence.is_free,
            "reason": _reason(occurrence.refusal),
            "guest_zone": guest_zone,
            "coach_zone": coach_zone,
        }
        for occurrence in preview
    ]


def _session_type(coach, slug: str | None):
    """The session type `?type=` names among those the coach offers (None: the coach's first)."""
    if not slug:
        return None
    session_type = coach.session_types_for_guests().filter(slug=slug).first()
    if session_type is None:
        raise NotBookable(f"{coach.name} does not offer that session.")
    return session_type


def _reason(refusal: BookingError | None) -> str:
    if refusal is None:
        return ""
    # "Just taken, pick another slot" is the words for a time the guest chose; here it is one date of many.
    return (
        "Already booked — this date cannot be part of your series."
        if isinstance(refusal, SlotUnavailable)
        else refusal.message
    )


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def coach_series(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the series that starts at `?start=` for `?count=` occurrences, each in the guest's and
    the coach's zone, free ones ticked. POST: book the ticked ones (all or none)."""
    try:
        coach = get_coach(slug)
        first_start_at = parse_start(request.GET.get("start"))
        offer = recurrence_offer(coach=coach, session_type=_session_type(coach, request.GET.get("type")))
        if offer is None:
            raise RecurringNotAllowed()
    except BookingError as exc:
        return render_refusal(request, exc)
    session_type = offer.session_type
    count = _count(request, maximum=offer.max_occurrences)
    zone = request.user_timezone
    preview = series_preview(
        coach=coach,
        session_type=session_type,
        first_start_at=first_start_at,
        count=count,
        every_weeks=offer.every_weeks,
        now=timezone.now(),
    )
    free_numbers = [occurrence.number for occurrence in preview if occurrence.is_free]
    # From the signed package link: the name, email and package code come filled in, as on the booking form.
    form = SeriesForm(
        request.POST or None,
        count=count,
        free_numbers=free_numbers,
        session_type=session_type,
        initial=package_details(request, coach) or {},
    )
    context = {
        "coach": coach,
        "offer": offer,
        "count": count,
        "counts": range(2, offer.max_occurrences + 1),
        "first_start_at": first_start_at,
        "start_param": iso_z(first_start_at),
        "occurrences": _occurrence_rows(preview, guest_zone=zone, coach_zone=coach.zone),
        "free_count": len(free_numbers),
        "form": form,
        "bound_numbers": [int(n) for n in request.POST.getlist("numbers") if n.isdigit()],
        "zone": zone,
        "session_type": session_type,
        "price_display": "Free" if session_type.is_free else session_type.price_display,
        "back_url": booking_page_path(Booking(coach=coach)),
        "form_action": f"{reverse('coaching:coach_series', args=[coach.slug])}?"
        f"{urlencode({'start': iso_z(first_start_at), 'count': count, 'type': session_type.slug})}",
    }
    if request.method == "GET":
        return render(request, PAGE, context)
    if not form.is_valid():
        return render(request, PAGE, context, status=422)
    try:
        result = book_series(
            guest=form.guest(timezone=zone.key),
            coach=coach,
            session_type=session_type,
            first_start_at=first_start_at,
            count=count,
            every_weeks=offer.every_weeks,
            numbers=form.cleaned_data["numbers"],
            answers=form.answers(),
            user=request.user,
            tender=tender_for_code(form.cleaned_data["code"], user=request.user),
        )
    except BookingError as exc:
        # Something changed since the page was drawn: show the dates as they are now, and why.
        fresh = series_preview(
            coach=coach,
            session_type=session_type,
            first_start_at=first_start_at,
            count=count,
            every_weeks=offer.every_weeks,
        )
        context["occurrences"] = _occurrence_rows(fresh, guest_zone=zone, coach_zone=coach.zone)
        context["form_error"] = exc.message
        return render(request, PAGE, context, status=exc.http_status)
    if result.checkout_url:
        return HttpResponseRedirect(result.checkout_url, status=303)
    return render(request, PAGE, {**context, **booked_context(result.series)})


def booked_context(series: BookingSeries) -> dict:
    """A booked series as its guest sees it: every occurrence, in both zones, with its own link."""
    occurrences = list(series.occurrences.select_related("coach").order_by("start_at"))
    return {
        "series": series,
        "booked": [
            {"booking": booking, "manage_url": manage_url(booking), "guest_zone": series.guest_timezone}
            for booking in occurrences
        ],
        "host": series.coach,
    }


# --- the series' checkout ------------------------------------------------------------------------------


def _series_state(series: BookingSeries) -> str:
    statuses = set(series.occurrences.values_list("status", flat=True))
    if Booking.Status.PENDING_PAYMENT in statuses:
        return "waiting"
    if Booking.Status.CONFIRMED in statuses:
        return "confirmed"
    if statuses == {Booking.Status.CANCELLED}:
        return "cancelled"
    return "released"


@require_GET
def series_checkout_return(request: HttpRequest) -> HttpResponse:
    """Where the guest lands after paying for a series: "Confirming…" until the webhook confirms it."""
    session_id = request.GET.get("session_id", "")
    series = get_object_or_404(BookingSeries.objects.select_related("coach"), stripe_checkout_session_id=session_id)
    state = _series_state(series)
    context = {
        "series": series,
        "state": state,
        "poll_url": f"{reverse('coaching:series_checkout_return')}?{urlencode({'session_id': session_id})}",
        "calendar_url": booking_page_path(Booking(coach=series.coach)),
        "coach": series.coach,
    }
    if state == "confirmed":
        context.update(booked_context(series))
    template = f"{RETURN_PAGE}#status" if request.htmx else RETURN_PAGE
    return render(request, template, context)


@require_GET
def series_checkout_cancel(request: HttpRequest) -> HttpResponse:
    """The series checkout's "back": every held occurrence cancelled by the guest, and back to the
    series page for the same first time."""
    reference = read_checkout_cancel_token(request.GET.get("series", ""))
    series = BookingSeries.objects.select_related("coach").filter(reference=reference).first() if reference else None
    if series is None:
        raise Http404("Unknown series.")
    abandon_series_checkout(series=series)
    first = series.occurrences.order_by("series_number").first()
    query = {"start": iso_z(first.start_at), "count": series.occurrences_asked, "cancelled": 1}
    if series.session_type_id:
        query["type"] = series.session_type.slug
    return redirect(f"{reverse('coaching:coach_series', args=[series.coach.slug])}?{urlencode(query)}")


@require_http_methods(["GET", "POST"])
def series_test_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The built-in test checkout for a series (embedded mode only): "Pay (test)" sends the signed
    event through the webhook's own receiver, which confirms every occurrence."""
    if not test_checkout_enabled() or not payment.is_local_session(session_id):
        raise Http404("No test checkout here.")
    series = get_object_or_404(BookingSeries.objects.select_related("coach"), stripe_checkout_session_id=session_id)
    is_open = series.occurrences.filter(status=Booking.Status.PENDING_PAYMENT).exists()
    error = ""
    if request.method == "POST":
        if "cancel" in request.POST:
            return redirect(series_cancel_url(series).removeprefix(settings.SITE_URL))
        if not is_open:
            error = "This checkout is no longer open."
        elif deliver_test_payment(series):
            return redirect(f"{reverse('coaching:series_checkout_return')}?{urlencode({'session_id': session_id})}")
        else:
            error = "The test payment was not accepted by the webhook. Please try again."
    context = {
        "series": series,
        "occurrences": series.occurrences.order_by("start_at"),
        "error": error,
        "open": is_open,
    }
    return render(request, TEST_CHECKOUT_PAGE, context, status=409 if error else 200)


# --- the magic link: cancel every session still to come ------------------------------------------------


def _occurrence_for(request: HttpRequest, token: str) -> Booking | HttpResponse:
    """The occurrence the manage token names, or the refusal page to answer (404/410, 429)."""
    try:
        reference = read_manage_token(token)
    except InvalidManageLink as exc:
        return render(
            request,
            "coaching/manage/link_refused.html",
            {"message": exc.message, "expired": exc.status_code == 410},
            status=exc.status_code,
        )
    limited = check("manage-booking", reference, rate=settings.MAGIC_LINK_RATE)
    if limited is not None:
        return too_many_requests(limited, "Too many changes were tried on this booking")
    return Booking.objects.select_related("coach", "series__coach").get(reference=reference)


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@ratelimit("manage", rate_setting="MAGIC_LINK_RATE", methods=("GET", "POST"))
def manage_cancel_series(request: HttpRequest, token: str) -> HttpResponse:
    """GET: every session still to come, with what cancelling it refunds (the policy, per session)
    or why it can no longer be cancelled. POST: cancel them all (those that may be) at once."""
    booking = _occurrence_for(request, token)
    if isinstance(booking, HttpResponse):
        return booking
    if booking.series_id is None:
        raise Http404("This booking is not part of a series.")
    manage_page = reverse("coaching:manage_booking", args=[token])
    now = timezone.now()
    context = {
        "booking": booking,
        "series": booking.series,
        "host": booking.host,
        "guest_zone": booking.guest_timezone,
        "rows": remaining_with_refunds(booking, now=now),
        "manage_url": manage_page,
        "confirm_url": reverse("coaching:manage_cancel_series", args=[token]),
    }
    context["refund_total_display"] = format_money(sum(row["refund"] for row in context["rows"]), booking.currency)
    context["cancellable"] = [row for row in context["rows"] if not row["refusal"]]
    context["any_paid"] = any(row["paid"] for row in context["rows"])
    if request.method == "GET":
        return render(request, CANCEL_SERIES_PAGE, context, status=200 if context["cancellable"] else 409)
    try:
        cancel_remaining(
            series=booking.series, actor=Actor.GUEST, reason="Cancelled by the guest from their booking link."
        )
    except BookingError as exc:
        context["rows"] = remaining_with_refunds(booking, now=timezone.now())
        return render(request, CANCEL_SERIES_PAGE, {**context, "action_error": exc.message}, status=exc.http_status)
    return HttpResponseRedirect(f"{manage_page}?done=series_cancelled", status=303)
