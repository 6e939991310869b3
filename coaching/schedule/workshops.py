"""Workshop seats: how many are left, and whether a workshop can be booked now.

`workshop_refusal` is the one home of "is this workshop bookable": the booking service checks it
under the workshop's lock, the booking view before showing the form, the workshop page before
showing its "Book a seat" button.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.exceptions import BookingError, NotBookable, NotEnoughSeats, SlotInPast, WorkshopFull
from coaching.models import Booking, Workshop, holds_time_q


def seats_left(workshop: Workshop, *, now: datetime | None = None) -> int:
    """Capacity minus the seats of confirmed bookings and unexpired holds."""
    now = now or timezone.now()
    taken = Booking.objects.filter(holds_time_q(now), workshop=workshop).aggregate(total=Coalesce(Sum("seats"), 0))
    return max(workshop.capacity - taken["total"], 0)


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
