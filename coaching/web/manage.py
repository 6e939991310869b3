"""Guest self-service from the signed magic link: see, move or cancel a booking without an account.

Rules these views keep:
- GET never changes anything (mail scanners and link previewers fetch every URL in an email);
  changes happen only on POST with CSRF, after a confirmation page.
- Every response here is `Cache-Control: no-store` and `Referrer-Policy: no-referrer`, so the token
  is neither kept by a shared cache nor leaked to another site through the Referer header.
- Requests are rate-limited per IP (MAGIC_LINK_RATE) and, on the change pages, per booking as well;
  the "lost your link?" form per IP (LOST_LINK_RATE) and per email address.
- The decisions (may this guest cancel, what refund, may they move, is the slot free) belong to the
  policy and the booking services; these views only ask and render.
"""

from __future__ import annotations

import functools
from datetime import datetime

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from coaching import policy
from coaching.exceptions import BookingError, BookingNotCancellable, BookingNotReschedulable
from coaching.links import InvalidManageLink, booking_page_path, ics_url, read_manage_token
from coaching.models import Booking, BookingPolicy, Workshop
from coaching.money import format_money
from coaching.schedule import (
    booking_rules,
    get_move_schedule,
    seat_move_refusal,
    seats_left,
    series_dates,
    validate_slot,
)
from coaching.services import cancel_booking, reschedule_booking
from coaching.services.outbox import record_manage_link
from coaching.services.series import move_seat
from coaching.vocabulary import Actor
from coaching.zones import zone_from_name

from .context import link_days, schedule_context
from .parsing import iso_z, parse_day, parse_month, parse_start
from .privacy import private_page
from .ratelimit import check, ratelimit, too_many_requests
from .recurring_context import series_panel

PAGE = "coaching/manage_booking.html"
REFUSED_PAGE = "coaching/manage/link_refused.html"
LOST_LINK_PAGE = "coaching/manage/lost_link.html"
LOST_LINK_ANSWER = (
    "Thank you. If that address has upcoming bookings with us, we've emailed it a link for each one. "
    "It can take a few minutes to arrive; check your spam folder too."
)
MAX_LINKS_PER_REQUEST = 10  # a guest with more upcoming bookings gets the first ten
# What the manage page says after a change (PRG: the POST redirects here with ?done=...).
DONE_MESSAGES = {
    "cancelled": "Your booking is cancelled. We've emailed you a confirmation.",
    "rescheduled": "Your booking has been moved. We've emailed you the new time and an updated calendar invite.",
    "series_cancelled": "The remaining sessions of your series are cancelled. We've emailed you a confirmation for each.",
}


def per_ip(scope: str, rate_setting: str):
    return ratelimit(scope, rate_setting=rate_setting, methods=("GET", "POST"))


# --- loading the booking from its link ---------------------------------------------------------------


class LinkRefused(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def booking_for(request: HttpRequest, token: str, *, per_booking: bool = False) -> Booking:
    """The booking the token names. Raises LinkRefused carrying the 404/410/429 page to answer."""
    try:
        reference = read_manage_token(token)
    except InvalidManageLink as exc:
        raise LinkRefused(render_link_refused(request, exc)) from exc
    limited = check("manage-booking", reference, rate=settings.MAGIC_LINK_RATE) if per_booking else None
    if limited is not None:
        raise LinkRefused(too_many_requests(limited, "Too many changes were tried on this booking"))
    # What paid besides the checkout (a package credit, a promotion code) rides along: no query of its own.
    query = Booking.objects.select_related(
        "coach", "session_type", "workshop__host", "package_credit__purchase__package", "promotion__code"
    )
    return query.get(reference=reference)


def render_link_refused(request: HttpRequest, exc: InvalidManageLink) -> HttpResponse:
    response = render(
        request,
        REFUSED_PAGE,
        {"message": exc.message, "expired": exc.status_code == 410},
        status=exc.status_code,
    )
    response["Referrer-Policy"] = "no-referrer"  # no form here; whatever the URL was, keep it to ourselves
    return response


# --- what the page shows ----------------------------------------------------------------------------


def manage_url_for(token: str, name: str = "manage_booking", **query) -> str:
    url = reverse(f"coaching:{name}", args=[token])
    return f"{url}?{urlencode(query)}" if query else url


def policy_in_words(
    current: BookingPolicy, booking: Booking, *, cancel_refusal: str = "", move_refusal: str = ""
) -> list[str]:
    """The owner's rules as a guest reads them, for what this booking can still do: a rule that no
    longer applies (cancelling past the cut-off, moving a booking that cannot move) is left out, the
    page says why instead. Nothing for a booking that is over, cancelled or expired."""
    if not booking.is_active:
        return []
    lines = cancel_rules(current, booking) if not cancel_refusal else []
    moves = current.max_reschedules
    at_most = f"{moves} time{'s' if moves != 1 else ''} at most (moved {booking.reschedule_count} so far)"
    if booking.is_workshop and booking.workshop.series_id is None:
        lines.append("Workshop seats cannot be moved to another date.")
    elif move_refusal:
        pass  # the page says why it cannot move instead
    elif booking.is_workshop:
        lines.append(
            f"You can move your seat to another date of this workshop up to {current.reschedule_cutoff_hours} "
            f"hours before it starts, {at_most}."
        )
    else:
        lines.append(
            f"You can move the booking up to {current.reschedule_cutoff_hours} hours before it starts, {at_most}."
        )
    return lines


def cancel_rules(current: BookingPolicy, booking: Booking) -> list[str]:
    cutoff = current.cancellation_cutoff_hours
    lines = []
    if booking.amount_paid and current.refund_rule == BookingPolicy.RefundRule.FULL_BEFORE_CUTOFF:
        lines.append(f"Cancel up to {cutoff} hours before the start and we refund everything you paid.")
        if current.allow_cancel_after_cutoff:
            lines.append("After that you can still cancel, but without a refund.")
        else:
            lines.append("After that the booking can no longer be cancelled.")
    elif booking.amount_paid:
        lines.append("Cancelled bookings are not refunded.")
        if not current.allow_cancel_after_cutoff:
            lines.append(f"You can cancel up to {cutoff} hours before the start.")
    elif current.allow_cancel_after_cutoff:
        lines.append("You can cancel at any time before the start.")
    else:
        lines.append(f"You can cancel up to {cutoff} hours before the start.")
    return lines


def page_context(request: HttpRequest, booking: Booking, token: str, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    current = policy.get_policy()
    is_active = booking.is_active
    is_over = is_active and booking.end_at <= now
    cancel_refusal = policy.guest_cancel_refusal(booking, now=now, policy=current) if is_active else ""
    move_refusal = policy.guest_reschedule_refusal(booking, now=now, policy=current) if is_active else ""
    return {
        "booking": booking,
        "token": token,
        "host": booking.host,
        "guest_zone": zone_from_name(booking.guest_timezone) or request.user_timezone,
        "host_zone": booking.host.zone,
        "paid_display": format_money(booking.amount_paid, booking.currency) if booking.amount_paid else "",
        "refunded_display": format_money(booking.amount_refunded, booking.currency) if booking.amount_refunded else "",
        "due_display": format_money(booking.amount_due, booking.currency),
        "ics_url": ics_url(booking) if is_active and not is_over else "",
        "policy_lines": []
        if is_over
        else policy_in_words(current, booking, cancel_refusal=cancel_refusal, move_refusal=move_refusal),
        "read_only": not is_active,
        "is_over": is_over,
        "book_again_url": booking_page_path(booking) if not is_active or is_over else "",
        "cancel_allowed": is_active and not cancel_refusal,
        "cancel_refusal": cancel_refusal,
        "move_allowed": is_active and not move_refusal,
        "move_refusal": move_refusal,
        "manage_url": manage_url_for(token),
        "cancel_url": manage_url_for(token, "manage_cancel"),
        "reschedule_url": manage_url_for(token, "manage_move_date" if booking.is_workshop else "manage_reschedule"),
        "move_label": "Move to another date" if booking.is_workshop else "Move to another time",
        "done_message": DONE_MESSAGES.get(request.GET.get("done", "")),
        **series_panel(booking, now=now),
    }


def render_page(request: HttpRequest, context: dict, *, region: str | None = None, status: int = 200) -> HttpResponse:
    template = f"{PAGE}#{region}" if region and request.htmx else PAGE
    return render(request, template, context, status=status)


def render_change_refused(request: HttpRequest, context: dict, exc: BookingError) -> HttpResponse:
    """A refused change: the page again with the reason, as a 4xx (never a 5xx for a business rule)."""
    return render_page(request, {**context, "action_error": exc.message}, region="action", status=exc.http_status)


def read_only_refusal(booking: Booking) -> BookingError:
    return BookingNotCancellable(
        f"This booking is {booking.get_status_display().lower()}, so it can no longer be changed. "
        "To book again, please choose a new time on our website."
    )


# --- the page ---------------------------------------------------------------------------------------


@require_GET
@private_page
@per_ip("manage", "MAGIC_LINK_RATE")
def manage_booking(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = booking_for(request, token)
    except LinkRefused as refused:
        return refused.response
    return render_page(request, page_context(request, booking, token))


# --- cancel -----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@per_ip("manage", "MAGIC_LINK_RATE")
def manage_cancel(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the confirmation step with the refund the policy gives now. POST: cancel."""
    try:
        booking = booking_for(request, token, per_booking=True)
    except LinkRefused as refused:
        return refused.response
    now = timezone.now()
    context = page_context(request, booking, token, now=now)
    if context["read_only"]:
        return render_change_refused(request, context, read_only_refusal(booking))
    if not context["cancel_allowed"]:
        return render_change_refused(request, context, BookingNotCancellable(context["cancel_refusal"]))
    if request.method == "GET":
        refund_due = policy.refund_due_on_cancel(booking, now=now)
        context.update(
            confirm_cancel=True,
            refund_due=refund_due,
            refund_display=format_money(refund_due, booking.currency) if refund_due else "",
        )
        return render_page(request, context, region="action")
    try:
        cancel_booking(booking=booking, actor=Actor.GUEST, reason="Cancelled by the guest from their booking link.")
    except BookingError as exc:
        booking.refresh_from_db()
        return render_change_refused(request, page_context(request, booking, token), exc)
    return HttpResponseRedirect(manage_url_for(token, done="cancelled"), status=303)


# --- reschedule -------------------------------------------------------------------------------------


def reschedule_context(request: HttpRequest, booking: Booking, token: str, *, year: int, month: int) -> dict:
    """The shared calendar partial's context, with its links pointing at this booking's move pages."""
    zone = request.user_timezone
    today = timezone.now().astimezone(zone).date()
    schedule = get_move_schedule(booking=booking, year=year, month=month, tz=zone)
    link_days(schedule, lambda day: reverse("coaching:manage_reschedule_day", args=[token, day.isoformat()]))
    return {
        "coach": booking.coach,
        **schedule_context(schedule, zone=zone, base_url=manage_url_for(token, "manage_reschedule"), today=today),
        "slot_url": manage_url_for(token, "manage_reschedule_confirm"),
        "rescheduling": True,
    }


def movable_booking(view):
    """Hand a move page the link's booking and page context, once the booking may be moved.

    Refused links, read-only and unmovable bookings, and guest input the view rejects (a
    BookingError) are answered here, the same way for every move page.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        try:
            booking = booking_for(request, token, per_booking=True)
        except LinkRefused as refused:
            return refused.response
        context = page_context(request, booking, token)
        if context["read_only"]:
            return render_change_refused(request, context, read_only_refusal(booking))
        if not context["move_allowed"]:
            return render_change_refused(request, context, BookingNotReschedulable(context["move_refusal"]))
        try:
            return view(request, token, *args, booking=booking, context=context, **kwargs)
        except BookingError as exc:
            return render_change_refused(request, context, exc)

    return wrapped


@require_GET
@private_page
@per_ip("manage", "MAGIC_LINK_RATE")
@movable_booking
def manage_reschedule(request: HttpRequest, token: str, *, booking: Booking, context: dict) -> HttpResponse:
    """The calendar of times this booking can move to (a month; the booking's own month by default)."""
    if booking.is_workshop:
        raise BookingNotReschedulable("A workshop seat moves to another date of the workshop, not another time.")
    zone = request.user_timezone
    if request.GET.get("month"):
        year, month = parse_month(request.GET["month"], zone=zone)
    else:
        start = max(booking.start_at, timezone.now()).astimezone(zone)
        year, month = start.year, start.month
    context.update(reschedule_context(request, booking, token, year=year, month=month))
    region = "calendar" if request.GET.get("month") else "action"
    return render_page(request, context, region=region)


@require_GET
@private_page
@per_ip("manage", "MAGIC_LINK_RATE")
@movable_booking
def manage_reschedule_day(
    request: HttpRequest, token: str, day: str, *, booking: Booking, context: dict
) -> HttpResponse:
    chosen = parse_day(day)
    context.update(reschedule_context(request, booking, token, year=chosen.year, month=chosen.month))
    context.update(selected_date=chosen, selected_day=context["schedule"].day(chosen))
    return render_page(request, context, region="day_slots")


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@per_ip("manage", "MAGIC_LINK_RATE")
@movable_booking
def manage_reschedule_confirm(request: HttpRequest, token: str, *, booking: Booking, context: dict) -> HttpResponse:
    """GET: "move from … to …?" with the new time in both zones. POST: move it."""
    new_start_at = parse_start(request.GET.get("start"))
    if request.method == "GET":
        # Only a read here: say now if the time is not offered, rather than after the guest confirms.
        if new_start_at == booking.start_at:
            raise BookingNotReschedulable("That is already this booking's time.")
        validate_slot(
            coach=booking.coach,
            start_at=new_start_at,
            now=timezone.now(),
            rules=booking_rules(booking),
            exclude_booking=booking,
        )
        context.update(
            confirm_move=True,
            new_start_at=new_start_at,
            new_end_at=new_start_at + (booking.end_at - booking.start_at),
            confirm_url=manage_url_for(token, "manage_reschedule_confirm", start=iso_z(new_start_at)),
        )
        return render_page(request, context, region="action")
    try:
        reschedule_booking(booking=booking, new_start_at=new_start_at, actor=Actor.GUEST)
    except BookingError as exc:
        booking.refresh_from_db()
        return render_change_refused(request, page_context(request, booking, token), exc)
    return HttpResponseRedirect(manage_url_for(token, done="rescheduled"), status=303)


# --- move a workshop seat to another date of its series ------------------------------------------


def seat_move_context(request: HttpRequest, booking: Booking, token: str) -> dict:
    """The other dates of the seat's series, each with its seats left and whether the seat can go there."""
    now = timezone.now()
    dates = []
    for date in series_dates(booking.workshop, now=now):
        if date.workshop.pk == booking.workshop_id:
            continue
        refusal = seat_move_refusal(booking, date.workshop, seats_left=date.seats_left, now=now)
        dates.append(
            {
                "date": date,
                "refusal": refusal.message if refusal else "",
                "confirm_url": manage_url_for(token, "manage_move_date_confirm", date=date.workshop.slug),
            }
        )
    return {"choosing_date": True, "series_dates": dates}


def target_date(booking: Booking, slug: str | None) -> Workshop:
    """The date a seat is to move to, from the query string. Raises BookingNotReschedulable."""
    target = Workshop.objects.select_related("host").filter(slug=slug or "", series__isnull=False).first()
    if target is None or target.series_id != booking.workshop.series_id:
        raise BookingNotReschedulable("Please choose one of the dates shown.")
    return target


@require_GET
@private_page
@per_ip("manage", "MAGIC_LINK_RATE")
@movable_booking
def manage_move_date(request: HttpRequest, token: str, *, booking: Booking, context: dict) -> HttpResponse:
    """The other dates of the workshop a seat can move to."""
    if not booking.is_workshop:
        raise BookingNotReschedulable("Only workshop seats move to another date.")
    context.update(seat_move_context(request, booking, token))
    return render_page(request, context, region="action")


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@per_ip("manage", "MAGIC_LINK_RATE")
@movable_booking
def manage_move_date_confirm(request: HttpRequest, token: str, *, booking: Booking, context: dict) -> HttpResponse:
    """GET: "move your seat from … to …?" with the new date in both zones. POST: move it."""
    target = target_date(booking, request.GET.get("date"))
    if request.method == "GET":
        # Only a read here: say now if the date cannot take the seat, rather than after the guest confirms.
        now = timezone.now()
        refusal = seat_move_refusal(booking, target, seats_left=seats_left(target, now=now), now=now)
        if refusal is not None:
            raise refusal
        context.update(
            confirm_move=True,
            new_start_at=target.start_at,
            new_end_at=target.end_at,
            confirm_url=manage_url_for(token, "manage_move_date_confirm", date=target.slug),
        )
        return render_page(request, context, region="action")
    try:
        move_seat(booking=booking, to_workshop=target, actor=Actor.GUEST)
    except BookingError as exc:
        booking.refresh_from_db()
        return render_change_refused(request, page_context(request, booking, token), exc)
    return HttpResponseRedirect(manage_url_for(token, done="rescheduled"), status=303)


# --- lost your link? --------------------------------------------------------------------------------


class LostLinkForm(forms.Form):
    email = forms.EmailField(label="Email address you booked with", max_length=254)


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@ratelimit("lost-link", rate_setting="LOST_LINK_RATE")
def lost_link(request: HttpRequest) -> HttpResponse:
    """Email a fresh manage link for each upcoming booking of an address. The answer is the same
    whether or not the address has any; limited per IP (the decorator) and per address."""
    if request.method == "GET":
        return render(request, LOST_LINK_PAGE, {"form": LostLinkForm()})
    form = LostLinkForm(request.POST)
    if not form.is_valid():
        return render(request, LOST_LINK_PAGE, {"form": form}, status=422)
    email = form.cleaned_data["email"]
    limited = check("lost-link-address", email.casefold(), rate=settings.LOST_LINK_RATE)
    if limited is not None:
        return too_many_requests(limited, "Too many requests for this email address")
    upcoming = (
        Booking.objects.select_related("coach", "workshop__host")
        .filter(status=Booking.Status.CONFIRMED, guest_email__iexact=email, end_at__gt=timezone.now())
        .order_by("start_at")[:MAX_LINKS_PER_REQUEST]
    )
    with transaction.atomic():
        for booking in upcoming:
            record_manage_link(booking)  # at most one per booking per hour (the outbox's dedupe key)
    return render(request, LOST_LINK_PAGE, {"form": LostLinkForm(), "sent_message": LOST_LINK_ANSWER})
