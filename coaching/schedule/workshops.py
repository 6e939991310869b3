"""Workshop seats: how many are sold and left, whether a workshop can be booked now, and which of
its host's 1-on-1 sessions it would sit on.

`workshop_refusal` is the one home of "is this workshop bookable": the booking service checks it
under the workshop's lock, the booking view before showing the form, the workshop page before
showing its "Book a seat" button. `seats_sold` and `host_sessions_during` are what the workshop
service (services/workshops.py) checks under the same lock before changing a workshop.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.exceptions import BookingError, NotBookable, NotEnoughSeats, SlotInPast, WorkshopFull
from coaching.models import Booking, Coach, Workshop, holds_time_q


def seats_sold(workshop: Workshop, *, now: datetime | None = None) -> int:
    """Seats of confirmed bookings and unexpired holds: what the capacity may not go below."""
    now = now or timezone.now()
    taken = Booking.objects.filter(holds_time_q(now), workshop=workshop).aggregate(total=Coalesce(Sum("seats"), 0))
    return taken["total"]


def seats_left(workshop: Workshop, *, now: datetime | None = None) -> int:
    """Capacity minus the seats of confirmed bookings and unexpired holds."""
    return max(workshop.capacity - seats_sold(workshop, now=now), 0)


def host_sessions_during(*, host: Coach, start_at: datetime, end_at: datetime, limit: int = 10) -> list[Booking]:
    """The host's active 1-on-1 bookings that a workshop from `start_at` to `end_at` would sit on
    (at most `limit`, earliest first)."""
    return list(Booking.objects.active().filter(coach=host).overlapping(start_at, end_at).order_by("start_at")[:limit])


def workshop_refusal(workshop: Workshop, *, seats_left: int, now: datetime, seats: int = 1) -> BookingError | None:
    """Why `seats` seats of `workshop` cannot be booked now, or None when they can."""
    if not workshop.is_published:
        return NotBookable()
    if workshop.start_at <= now:
        return SlotInPast("This workshop has already started.")
    if seats_left <= 0:
        return WorkshopFull()
    if seats > seats_left:
        return NotEnoughSeats(f"Only {seats_left} seat{'s' if seats_left != 1 else ''} left — please choose fewer.")
    return None
