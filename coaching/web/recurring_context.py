"""What a recurring series adds to an occurrence's manage page (shared by web/manage.py and
web/recurring.py, which are views and do not import each other)."""

from __future__ import annotations

from datetime import datetime

from coaching import policy
from coaching.links import manage_url
from coaching.models import Booking
from coaching.money import format_money


def series_panel(booking: Booking, *, now: datetime) -> dict:
    """Every occurrence of the booking's series (this one marked), each with its own manage link,
    and how many are still to come; {} for a booking that is not part of a series."""
    if not booking.series_id:
        return {}
    occurrences = list(booking.series.occurrences.select_related("coach").order_by("start_at"))
    remaining = sum(1 for occurrence in occurrences if occurrence.is_active and occurrence.start_at > now)
    return {
        "series": booking.series,
        "series_rows": [
            {
                "booking": occurrence,
                "manage_url": manage_url(occurrence),
                "is_this": occurrence.pk == booking.pk,
                "is_past": occurrence.start_at <= now,
            }
            for occurrence in occurrences
        ],
        "series_remaining": remaining,
        "series_cancel_label": f"Cancel all {remaining} remaining session{'s' if remaining != 1 else ''}",
    }


def remaining_with_refunds(booking: Booking, *, now: datetime) -> list[dict]:
    """The series' occurrences still to come, each with what cancelling it now refunds (the
    owner's policy, per occurrence) or why the guest can no longer cancel it."""
    current = policy.get_policy()
    rows = []
    for occurrence in booking.series.occurrences.active().filter(start_at__gt=now).order_by("start_at"):
        refusal = policy.guest_cancel_refusal(occurrence, now=now, policy=current)
        refund = 0 if refusal else policy.refund_due_on_cancel(occurrence, now=now, policy=current)
        rows.append(
            {
                "booking": occurrence,
                "refusal": refusal,
                "refund": refund,
                "refund_display": format_money(refund, occurrence.currency) if refund else "",
                "paid": bool(occurrence.amount_paid),
            }
        )
    return rows
