"""What an owed email says: subject, plain text, HTML and, where the kind has one, an invite.

Templates are coaching/templates/coaching/emails/<kind>.txt, <kind>.html and <kind>_subject.txt.
A row names a booking, or (the waiting list's emails) a waiting-list entry.
"""

import zoneinfo
from datetime import datetime
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from coaching.invites import build_ics
from coaching.links import booking_page_url, manage_url, package_url, waitlist_claim_url, waitlist_leave_url
from coaching.models import Notification
from coaching.money import format_money
from coaching.wallclock import format_in_zone

from .outbox import COACH, GUEST, KINDS, OWNER
from .recurring_email import series_context, series_invites

# Emails whose guest has nothing booked any more, and a "Book again" link to where they booked.
BOOK_AGAIN_KINDS = {"hold_expired", "payment_failed"}


def render_email(notification: Notification) -> EmailMultiAlternatives:
    """The email for an outbox row: subject, plain text, HTML and, where the kind has one, an invite."""
    kind = KINDS[notification.kind]
    booking = notification.booking
    context = email_context(notification)
    template = f"coaching/emails/{notification.kind}"
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={"X-Booking-Reference": booking.reference} if booking else {},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    if kind.ics_method and booking:
        # A recurring series' email carries one invite per occurrence (services/recurring_email.py).
        for occurrence, filename in series_invites(notification):
            message.attach(invite_part(build_ics(occurrence, method=kind.ics_method), kind.ics_method, filename))
        if not message.attachments:
            message.attach(_ics_attachment(notification, kind.ics_method))
    return message


def email_context(notification: Notification) -> dict:
    booking = notification.booking
    snapshot = notification.context
    audience = KINDS[notification.kind].audience
    context = {
        "notification": notification,
        # Owner alerts read like the coach's view: the guest's details and both times.
        "audience": GUEST if audience == GUEST else COACH,
        "site_name": settings.WAGTAIL_SITE_NAME,
        "site_url": settings.SITE_URL,
    }
    for key in (
        "failed_kind",
        "failed_recipient",
        "error",
        "reason",
        "amount_display",
        "problem",
        "message",
        "order_reference",
        "package_title",
        "buyer_email",
    ):
        if key in snapshot:
            context[key] = snapshot[key]
    context.update(desk_links(notification))
    if booking is None:
        if notification.waitlist_entry is not None:
            context.update(_waitlist_context(notification, snapshot))
        elif notification.package_purchase is not None:
            context.update(_package_context(notification))
        return context
    guest_zone = zoneinfo.ZoneInfo(booking.guest_timezone)
    coach_zone = booking.host.zone
    start_at = _instant(snapshot.get("start_at")) or booking.start_at
    end_at = _instant(snapshot.get("end_at")) or booking.end_at
    context.update(
        booking=booking,
        host=booking.host,
        start_at=start_at,
        end_at=end_at,
        when=_both_zones(start_at, end_at, guest_zone, coach_zone),
        duration_minutes=int((end_at - start_at).total_seconds() // 60),
        refund_display=format_money(snapshot.get("refund_amount") or 0, booking.currency),
        refund_amount=snapshot.get("refund_amount") or 0,
        paid_display=format_money(booking.amount_paid, booking.currency),
    )
    old_start_at, old_end_at = _instant(snapshot.get("old_start_at")), _instant(snapshot.get("old_end_at"))
    if old_start_at and old_end_at:
        context["old_when"] = _both_zones(old_start_at, old_end_at, guest_zone, coach_zone)
    context.update(series_context(notification))
    if KINDS[notification.kind].audience == GUEST:
        context["manage_url"] = manage_url(booking)
        if notification.kind in BOOK_AGAIN_KINDS:
            context["book_again_url"] = booking_page_url(booking)  # the coach's (or workshop's) page
    return context


def desk_links(notification: Notification) -> dict:
    """What the owner's alerts and the desk's emails link to: the admin's Notifications screen, the
    booking's admin page, a coach's calendar connection; the payment link a client is sent."""
    snapshot = notification.context
    links = {}
    if KINDS[notification.kind].audience == OWNER:
        links["notifications_url"] = f"{settings.SITE_URL}{reverse('coaching_admin:notifications')}?status=failed"
        if notification.booking_id:
            links["booking_admin_url"] = (
                f"{settings.SITE_URL}{reverse('coaching_booking_modeladmin_inspect', args=[notification.booking_id])}"
            )
    for key in ("coach_name", "reconnect_url", "payment_url", "hold_deadline"):
        if key in snapshot:
            links[key] = snapshot[key]
    return links


def _waitlist_context(notification: Notification, snapshot: dict) -> dict:
    """A waiting-list email: the workshop's time in both zones, the seats, and the guest's links."""
    entry = notification.waitlist_entry
    workshop = entry.workshop
    guest_zone = zoneinfo.ZoneInfo(entry.guest_timezone)
    start_at = _instant(snapshot.get("start_at")) or workshop.start_at
    end_at = _instant(snapshot.get("end_at")) or workshop.end_at
    seats = snapshot.get("seats", entry.seats)
    context = {
        "entry": entry,
        "workshop": workshop,
        "host": workshop.host,
        "when": _both_zones(start_at, end_at, guest_zone, workshop.host.zone),
        "seats": seats,
        "position": snapshot.get("position"),
        "price_display": "" if workshop.is_free else format_money(workshop.price_amount * seats, workshop.currency),
        "workshops_url": f"{settings.SITE_URL}{reverse('coaching:workshops_calendar')}",
    }
    offer_expires_at = _instant(snapshot.get("offer_expires_at"))
    if offer_expires_at is not None:
        context["offer_deadline"] = format_in_zone(offer_expires_at, guest_zone)
    if entry.is_active or notification.kind == "waitlist_offer":
        context["leave_url"] = waitlist_leave_url(entry)
    if notification.kind == "waitlist_offer":
        context["claim_url"] = waitlist_claim_url(entry)
    return context


def _package_context(notification: Notification) -> dict:
    """A package email: what was bought, its code and link, credits and expiry in the buyer's zone."""
    purchase = notification.package_purchase
    package = purchase.package
    zone = zoneinfo.ZoneInfo(purchase.buyer_timezone)
    return {
        "purchase": purchase,
        "package": package,
        "coach": package.coach,
        "expires": format_in_zone(purchase.expires_at, zone),
        "paid_display": format_money(purchase.order.amount_paid, purchase.order.currency),
        "discount_display": format_money(purchase.order.discount_amount, purchase.order.currency)
        if purchase.order.discount_amount
        else "",
        "package_url": package_url(purchase),
    }


def _both_zones(start_at, end_at, guest_zone, coach_zone) -> dict:
    """A time range as the guest and as the coach read it (each with its zone named)."""
    return {
        "guest": f"{format_in_zone(start_at, guest_zone)} – {end_at.astimezone(guest_zone):%H:%M}",
        "coach": f"{format_in_zone(start_at, coach_zone)} – {end_at.astimezone(coach_zone):%H:%M}",
        "same_zone": guest_zone.key == coach_zone.key,
    }


def _instant(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _ics_attachment(notification: Notification, method: str) -> MIMEText:
    booking = notification.booking
    snapshot = notification.context
    ics = build_ics(
        booking,
        method=method,
        sequence=snapshot.get("sequence", booking.ics_sequence),
        start_at=_instant(snapshot.get("start_at")),
        end_at=_instant(snapshot.get("end_at")),
    )
    return invite_part(ics, method, "cancel.ics" if method == "CANCEL" else "invite.ics")


def invite_part(ics: bytes, method: str, filename: str) -> MIMEText:
    # text/calendar with the method parameter is what makes Outlook and Gmail offer "update" rather
    # than "import"; the filename makes it an attachment everywhere else.
    part = MIMEText(ics.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part
