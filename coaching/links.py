"""Links a guest follows: the signed ones they hold instead of an account (the manage-booking link,
the calendar-file link, the checkout "back" link and the waiting-list link to claim offered seats
or leave the list), and the page where they book again.

Each token is the booking reference signed with Django's signing (`SECRET_KEY`) and a
purpose-specific salt: it carries no database id and cannot be forged, altered or reused for
another purpose. Rotating `SECRET_KEY` invalidates every link already sent.

The manage link stops working `BookingPolicy.link_lifetime_days_after_end` days after the booking
ends, checked against the booking's *current* end (a link from before a reschedule keeps working);
`link_still_works` is the one place that rule lives.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from coaching.exceptions import BookingError

MANAGE_LINK_SALT = "coaching.manage-booking.v1"
ICS_SALT = "coaching.booking-ics.v1"
CHECKOUT_CANCEL_SALT = "coaching.checkout-cancel"
WAITLIST_SALT = "coaching.waitlist-entry.v1"


class InvalidManageLink(BookingError):
    status_code = 404
    default_message = "This booking link is not valid. Please use the link from your latest booking email."


class ExpiredManageLink(InvalidManageLink):
    status_code = 410
    default_message = "This booking link has expired because the booking is over."


# --- the manage-booking link --------------------------------------------------------------------


def make_manage_token(booking) -> str:
    """An unforgeable token naming this booking (by reference, never by database id)."""
    return signing.dumps(booking.reference, salt=MANAGE_LINK_SALT, compress=False)


def link_still_works(end_at: datetime, *, now: datetime | None = None) -> bool:
    """Whether a manage link of a booking ending at `end_at` still opens (the policy's lifetime)."""
    from coaching.policy import get_policy

    lifetime = timedelta(days=get_policy().link_lifetime_days_after_end)
    return (now or timezone.now()) <= end_at + lifetime


def read_manage_token(token: str, *, now: datetime | None = None) -> str:
    """The booking reference inside `token`.

    Raises InvalidManageLink for a tampered or unknown token, ExpiredManageLink once the booking
    ended more than the policy's link lifetime ago.
    """
    from coaching.models import Booking

    try:
        reference = signing.loads(token, salt=MANAGE_LINK_SALT)
    except signing.BadSignature as exc:
        raise InvalidManageLink() from exc
    if not isinstance(reference, str):
        raise InvalidManageLink()
    end_at = Booking.objects.filter(reference=reference).values_list("end_at", flat=True).first()
    if end_at is None:
        raise InvalidManageLink()
    if not link_still_works(end_at, now=now):
        raise ExpiredManageLink()
    return reference


def manage_url(booking) -> str:
    """Absolute URL of the guest's manage-booking page (built from SITE_URL, never the Host header)."""
    return f"{settings.SITE_URL}{reverse('coaching:manage_booking', args=[make_manage_token(booking)])}"


# --- the calendar file (.ics) link --------------------------------------------------------------


def make_ics_token(booking) -> str:
    return signing.dumps(booking.reference, salt=ICS_SALT, compress=False)


def read_ics_token(token: str) -> str | None:
    """The reference the token was signed for, or None for a bad token."""
    try:
        reference = signing.loads(token, salt=ICS_SALT)
    except signing.BadSignature:
        return None
    return reference if isinstance(reference, str) else None


def ics_url(booking) -> str:
    """Site-relative URL of the booking's calendar file."""
    return f"{reverse('coaching:booking_ics', args=[booking.reference])}?{urlencode({'t': make_ics_token(booking)})}"


# --- the checkout "back" link -------------------------------------------------------------------


def make_checkout_cancel_token(booking) -> str:
    """Signed so nobody can release someone else's hold by guessing its reference."""
    return signing.Signer(salt=CHECKOUT_CANCEL_SALT).sign(booking.reference)


def read_checkout_cancel_token(token: str) -> str | None:
    try:
        return signing.Signer(salt=CHECKOUT_CANCEL_SALT).unsign(token)
    except signing.BadSignature:
        return None


# --- where a guest books -----------------------------------------------------------------------


def booking_page_path(booking) -> str:
    """Site-relative path of the page where this booking's guest books (again): the coach's (or
    the workshop's) live Wagtail page, else the plain /book/ page."""
    target = booking.workshop if booking.workshop_id else booking.coach
    # CoachPage.coach / WorkshopPage.workshop point here (related_name "pages"); no import of pages.
    page = target.pages.live().order_by("path").first()
    parts = page.get_url_parts() if page is not None else None
    if parts:
        return parts[2]
    name = "coaching:workshop_book" if booking.workshop_id else "coaching:coach_calendar"
    return reverse(name, args=[target.slug])


def booking_page_url(booking) -> str:
    """Absolute URL of `booking_page_path` (for emails: built from SITE_URL)."""
    return f"{settings.SITE_URL}{booking_page_path(booking)}"


# --- the waiting-list link (claim the seats offered, or leave the list) ---------------------------


class InvalidWaitlistLink(BookingError):
    status_code = 404
    default_message = "This waiting-list link is not valid. Please use the link from your latest email."


def make_waitlist_token(entry) -> str:
    """An unforgeable token naming a waiting-list entry (by its reference, never its database id)."""
    return signing.dumps(entry.reference, salt=WAITLIST_SALT, compress=False)


def read_waitlist_token(token: str) -> str:
    """The entry reference inside `token`. Raises InvalidWaitlistLink for a tampered token.

    Whether the link still does anything (an offer open, a place in line) is the entry's state,
    checked by the waiting-list services under the workshop's lock.
    """
    try:
        reference = signing.loads(token, salt=WAITLIST_SALT)
    except signing.BadSignature as exc:
        raise InvalidWaitlistLink() from exc
    if not isinstance(reference, str):
        raise InvalidWaitlistLink()
    return reference


def waitlist_claim_url(entry) -> str:
    """Absolute URL of the page where the guest claims the seats offered to them."""
    return f"{settings.SITE_URL}{reverse('coaching:waitlist_claim', args=[make_waitlist_token(entry)])}"


def waitlist_leave_url(entry) -> str:
    """Absolute URL of the page where the guest leaves the waiting list."""
    return f"{settings.SITE_URL}{reverse('coaching:waitlist_leave', args=[make_waitlist_token(entry)])}"


# --- the package link (credits left, expiry, bookings made with it) and its checkout "back" link ---

PACKAGE_LINK_SALT = "coaching.package-purchase.v1"
PACKAGE_CHECKOUT_CANCEL_SALT = "coaching.package-checkout-cancel.v1"


class InvalidPackageLink(BookingError):
    status_code = 404
    default_message = "This package link is not valid. Please use the link from your purchase email."


def make_package_token(purchase) -> str:
    """An unforgeable token naming a purchase by its order reference (never its database id or code)."""
    return signing.dumps(purchase.order.reference, salt=PACKAGE_LINK_SALT, compress=False)


def read_package_token(token: str) -> str:
    """The order reference inside `token`. Raises InvalidPackageLink for a tampered token. The link
    never expires: an expired package still shows what it booked."""
    try:
        reference = signing.loads(token, salt=PACKAGE_LINK_SALT)
    except signing.BadSignature as exc:
        raise InvalidPackageLink() from exc
    if not isinstance(reference, str):
        raise InvalidPackageLink()
    return reference


def package_url(purchase) -> str:
    """Absolute URL of the buyer's package page."""
    return f"{settings.SITE_URL}{reverse('coaching:package', args=[make_package_token(purchase)])}"


def make_package_cancel_token(order) -> str:
    return signing.Signer(salt=PACKAGE_CHECKOUT_CANCEL_SALT).sign(order.reference)


def read_package_cancel_token(token: str) -> str | None:
    try:
        return signing.Signer(salt=PACKAGE_CHECKOUT_CANCEL_SALT).unsign(token)
    except signing.BadSignature:
        return None
