"""A sold-out workshop's waiting list, for guests: join it (from the workshop page, the workshops
calendar or the booking panel), and from the links in its emails claim the seats offered or leave it.

Rules these views keep, as the magic-link pages do (coaching/web/manage.py):
- GET never changes anything (mail scanners fetch every link in an email); claiming and leaving
  happen only on POST with CSRF, from a page that says what will happen.
- The link pages are private (no-store, noindex, no Referer) and rate-limited per IP.
- Who is offered what, and whether a claim may book, is decided by the waiting-list services
  under the workshop's lock; these views parse, ask and render.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from coaching.exceptions import BookingError, OfferLapsed, OfferNotClaimable
from coaching.links import InvalidWaitlistLink, ics_url, read_waitlist_token, waitlist_claim_url, waitlist_leave_url
from coaching.models import WaitlistEntry
from coaching.money import format_money
from coaching.services.waitlist import claim_offer, join_waitlist, leave_waitlist, waitlist_position
from coaching.zones import zone_from_name

from .context import CalendarLinks, CalendarState, calendar_context, requested_instance, workshop_panel_context
from .forms import ClaimOfferForm, WaitlistForm
from .parsing import get_workshop
from .privacy import private_page
from .ratelimit import ratelimit
from .responses import render_refusal, render_region

CLAIM_PAGE = "coaching/waitlist/claim.html"
LEAVE_PAGE = "coaching/waitlist/leave.html"


# --- joining, from the workshop -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def workshop_waitlist(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the "join the waiting list" form in the booking panel. POST: join it."""
    try:
        workshop = get_workshop(slug)
    except BookingError as exc:
        return render_refusal(request, exc)
    instance = requested_instance(request.GET)
    links = CalendarLinks(request, coach=None, instance=instance)
    page = {}
    if not request.htmx:  # the all-workshops calendar around the panel, on the workshop's month
        local = workshop.start_at.astimezone(request.user_timezone)
        state = CalendarState(month=(local.year, local.month))
        page = calendar_context(request, coach=None, state=state, instance=instance, open_panel=False)
    panel = {**page, **workshop_panel_context(request, workshop, links=links), "slide_over_open": True}
    form = WaitlistForm(request.POST if request.method == "POST" else None)
    panel["waitlist_form"] = form
    if request.method == "GET":
        if panel["waitlist_refusal"] is not None:
            return render_refusal(request, panel["waitlist_refusal"], panel={**panel, "slot_refused": True})
        return render_region(request, "slide_over", panel)
    if not form.is_valid():
        return render_region(request, "panel_body" if request.htmx else "slide_over", panel, status=422)
    try:
        entry = join_waitlist(
            workshop=workshop, guest=form.guest(timezone=request.user_timezone.key), seats=form.cleaned_data["seats"]
        )
    except BookingError as exc:
        return render_refusal(request, exc, panel=panel)
    context = {**panel, "waitlist_entry": entry, "waitlist_position": waitlist_position(entry)}
    return render_region(request, "panel_body" if request.htmx else "slide_over", context)


# --- the links in the waiting list's emails -------------------------------------------------------


def entry_for(token: str) -> WaitlistEntry:
    """The entry the link names. Raises InvalidWaitlistLink (404) for a forged or unknown one."""
    reference = read_waitlist_token(token)
    entry = WaitlistEntry.objects.select_related("workshop__host", "booking").filter(reference=reference).first()
    if entry is None:
        raise InvalidWaitlistLink()
    return entry


def offer_refusal(entry: WaitlistEntry) -> BookingError | None:
    """Why this link cannot claim seats now (read only: a lapsed offer is passed on by the services)."""
    if entry.status == WaitlistEntry.Status.CLAIMED:
        return OfferNotClaimable("You have already claimed these seats; your confirmation email has the details.")
    if entry.status == WaitlistEntry.Status.LAPSED:
        return OfferLapsed()
    if entry.status == WaitlistEntry.Status.OFFERED:
        return OfferLapsed() if entry.offer_expires_at <= timezone.now() else None
    if entry.status == WaitlistEntry.Status.WAITING:
        return OfferNotClaimable(
            "It is not your turn yet: no seats are offered to you at the moment. We will email you when they are."
        )
    if entry.status == WaitlistEntry.Status.CLOSED:
        return OfferLapsed("This workshop has been cancelled, so its waiting list is closed.")
    return OfferNotClaimable("You have left this workshop's waiting list.")


def entry_context(request: HttpRequest, entry: WaitlistEntry) -> dict:
    workshop = entry.workshop
    return {
        "entry": entry,
        "workshop": workshop,
        "host": workshop.host,
        "guest_zone": zone_from_name(entry.guest_timezone) or request.user_timezone,
        "price_display": ""
        if workshop.is_free
        else format_money(workshop.price_amount * entry.seats, workshop.currency),
        "claim_url": waitlist_claim_url(entry),
        "leave_url": waitlist_leave_url(entry),
    }


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@ratelimit("waitlist", rate_setting="MAGIC_LINK_RATE", methods=("GET", "POST"))
def waitlist_claim(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the seats offered, until when, and a "claim" button. POST: book them (free: the
    confirmation; paid: off to the checkout)."""
    try:
        entry = entry_for(token)
    except BookingError as exc:
        return render_refusal(request, exc)
    context = entry_context(request, entry)
    form = ClaimOfferForm(request.POST if request.method == "POST" else None)
    context["form"] = form
    refusal = offer_refusal(entry)
    if refusal is not None:
        return render(request, CLAIM_PAGE, {**context, "refusal": refusal.message}, status=refusal.http_status)
    if request.method == "GET" or not form.is_valid():
        return render(request, CLAIM_PAGE, context, status=200 if request.method == "GET" else 422)
    try:
        result = claim_offer(entry=entry, phone=form.cleaned_data["phone"], notes=form.cleaned_data["notes"])
    except BookingError as exc:
        entry.refresh_from_db()
        return render(request, CLAIM_PAGE, {**context, "refusal": exc.message}, status=exc.http_status)
    if result.checkout_url:
        return HttpResponseRedirect(result.checkout_url, status=303)
    booking = result.booking
    return render(
        request,
        CLAIM_PAGE,
        {**context, "booking": booking, "host_zone": booking.host.zone, "ics_url": ics_url(booking)},
    )


@require_http_methods(["GET", "POST"])
@private_page(referrer_policy="same-origin")
@ratelimit("waitlist", rate_setting="MAGIC_LINK_RATE", methods=("GET", "POST"))
def waitlist_leave(request: HttpRequest, token: str) -> HttpResponse:
    """GET: "leave the waiting list?" POST: leave it (idempotent), then say so."""
    try:
        entry = entry_for(token)
    except BookingError as exc:
        return render_refusal(request, exc)
    if request.method == "POST":
        entry = leave_waitlist(entry=entry)
        return HttpResponseRedirect(f"{request.path}?done=left", status=303)
    context = entry_context(request, entry)
    context["left"] = request.GET.get("done") == "left" and entry.status == WaitlistEntry.Status.LEFT
    return render(request, LEAVE_PAGE, context)
