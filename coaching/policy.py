"""The owner's booking policy (Settings → Booking policy) applied to one booking."""

from datetime import datetime, timedelta

from django.utils import timezone
from wagtail.models import Site

from coaching.models import Booking, BookingPolicy


def get_policy() -> BookingPolicy:
    """The policy of the default site (created with defaults on first use)."""
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        return BookingPolicy()
    return BookingPolicy.for_site(site)


def refundable_amount(booking: Booking) -> int:
    return max(booking.amount_paid - booking.amount_refunded, 0)


def is_before_cancellation_cutoff(booking: Booking, *, policy: BookingPolicy, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return now <= booking.start_at - timedelta(hours=policy.cancellation_cutoff_hours)


def refund_due_on_cancel(booking: Booking, *, now: datetime | None = None, policy: BookingPolicy | None = None) -> int:
    """What a guest gets back for cancelling now: everything before the cut-off, nothing after."""
    policy = policy or get_policy()
    if policy.refund_rule == BookingPolicy.RefundRule.NONE:
        return 0
    if is_before_cancellation_cutoff(booking, policy=policy, now=now):
        return refundable_amount(booking)
    return 0


def guest_cancel_refusal(booking: Booking, *, now: datetime | None = None, policy: BookingPolicy | None = None) -> str:
    """Why a guest may not cancel this booking now ('' when they may). The one home of that wording."""
    policy = policy or get_policy()
    now = now or timezone.now()
    if not booking.is_active:
        return f"This booking is already {booking.get_status_display().lower()}."
    if booking.start_at <= now:
        return "This booking has already started, so it can no longer be cancelled here."
    if not policy.allow_cancel_after_cutoff and not is_before_cancellation_cutoff(booking, policy=policy, now=now):
        return (
            f"Cancelling is no longer possible: bookings can be cancelled up to {policy.cancellation_cutoff_hours} "
            f"hours before they start, and this one starts {time_until(booking.start_at, now=now)}."
        )
    return ""


def guest_reschedule_refusal(
    booking: Booking, *, now: datetime | None = None, policy: BookingPolicy | None = None
) -> str:
    """Why a guest may not move this booking now ('' when they may). A workshop seat may move only
    between the dates of a series (to which date: schedule/workshops.py, seat_move_refusal)."""
    policy = policy or get_policy()
    now = now or timezone.now()
    if booking.is_workshop and booking.workshop.series_id is None:
        return "Workshop seats cannot be moved to another date; you can cancel instead."
    if booking.status != Booking.Status.CONFIRMED:
        return "Only confirmed bookings can be moved."
    if booking.start_at <= now:
        return "This booking has already started, so it can no longer be moved."
    if now > booking.start_at - timedelta(hours=policy.reschedule_cutoff_hours):
        return (
            f"Moving is no longer possible: bookings can be moved up to {policy.reschedule_cutoff_hours} hours "
            f"before they start, and this one starts {time_until(booking.start_at, now=now)}."
        )
    if booking.reschedule_count >= policy.max_reschedules:
        moved = booking.reschedule_count
        return f"This booking has already been moved {moved} time{'s' if moved != 1 else ''}, the most we allow."
    return ""


def time_until(moment: datetime, *, now: datetime) -> str:
    """'in 5 hours', 'in 40 minutes', 'in 3 days' (rounded down, as a guest reads a countdown)."""
    minutes = max(int((moment - now).total_seconds() // 60), 0)
    if minutes < 60:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    return f"in {hours // 24} days"
