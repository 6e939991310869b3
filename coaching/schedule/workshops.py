"""Workshop seats: how many are sold, offered and left, whether a workshop can be booked now (or its
waiting list joined), and which of its host's 1-on-1 sessions it would sit on.

`workshop_refusal` is the one home of "is this workshop bookable": the booking service checks it
under the workshop's lock, the booking view before showing the form, the workshop page before
showing its "Book a seat" button. `waitlist_refusal` is the same for "may a guest join its waiting
list", and `first_entries_that_fit` decides who is offered freed seats. `seats_sold`,
`seats_offered` and `host_sessions_during` are what the workshop service (services/workshops.py)
checks under the same lock before changing a workshop.

Seats offered to someone on the waiting list count as taken for everyone else until the offer is
claimed or lapses; only the claim of that very offer may use them (`seats_left(..., claiming=)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.exceptions import (
    BookingError,
    BookingNotReschedulable,
    NotBookable,
    NotEnoughSeats,
    SeatsAvailable,
    SlotInPast,
    WaitlistClosed,
    WorkshopFull,
)
from coaching.models import Booking, Coach, WaitlistEntry, Workshop, holds_time_q

from .loading import seats_taken_annotation


def seats_sold(workshop: Workshop, *, now: datetime | None = None) -> int:
    """Seats of confirmed bookings and unexpired holds: what the capacity may not go below."""
    now = now or timezone.now()
    taken = Booking.objects.filter(holds_time_q(now), workshop=workshop).aggregate(total=Coalesce(Sum("seats"), 0))
    return taken["total"]


def seats_offered(workshop: Workshop, *, now: datetime | None = None, claiming: WaitlistEntry | None = None) -> int:
    """Seats held for guests on the waiting list by offers still open at `now` (except `claiming`'s)."""
    now = now or timezone.now()
    offers = WaitlistEntry.objects.live_offers(now).filter(workshop=workshop)
    if claiming is not None:
        offers = offers.exclude(pk=claiming.pk)
    return offers.aggregate(total=Coalesce(Sum("seats"), 0))["total"]


def seats_left(workshop: Workshop, *, now: datetime | None = None, claiming: WaitlistEntry | None = None) -> int:
    """Capacity minus the seats of confirmed bookings, unexpired holds and open waiting-list offers.

    `claiming`: the offer being claimed; its own seats are left for its guest to book.
    """
    now = now or timezone.now()
    taken = seats_sold(workshop, now=now) + seats_offered(workshop, now=now, claiming=claiming)
    return max(workshop.capacity - taken, 0)


def host_sessions_during(*, host: Coach, start_at: datetime, end_at: datetime, limit: int = 10) -> list[Booking]:
    """The host's active 1-on-1 bookings that a workshop from `start_at` to `end_at` would sit on
    (at most `limit`, earliest first)."""
    return list(Booking.objects.active().filter(coach=host).overlapping(start_at, end_at).order_by("start_at")[:limit])


def workshop_refusal(workshop: Workshop, *, seats_left: int, now: datetime, seats: int = 1) -> BookingError | None:
    """Why `seats` seats of `workshop` cannot be booked now, or None when they can."""
    closed = _closed(workshop, now=now)
    if closed is not None:
        return closed
    if seats_left <= 0:
        return WorkshopFull()
    if seats > seats_left:
        return NotEnoughSeats(f"Only {seats_left} seat{'s' if seats_left != 1 else ''} left — please choose fewer.")
    return None


def _closed(workshop: Workshop, *, now: datetime) -> BookingError | None:
    """Why nobody can book or wait for `workshop` at all now: cancelled, unpublished or started."""
    if workshop.cancelled_at is not None:
        return NotBookable("Sorry — this workshop has been cancelled.")
    if not workshop.is_published:
        return NotBookable()
    if workshop.start_at <= now:
        return SlotInPast("This workshop has already started.")
    return None


def waitlist_refusal(workshop: Workshop, *, seats_left: int, now: datetime, seats: int = 1) -> BookingError | None:
    """Why a guest cannot join `workshop`'s waiting list for `seats` seats now, or None when they can:
    only while it is sold out for that many (seats left are booked, not waited for)."""
    closed = _closed(workshop, now=now)
    if closed is not None:
        return closed
    if not workshop.waitlist_enabled:
        return WaitlistClosed()
    if seats <= seats_left:
        return SeatsAvailable(seats_left)
    return None


def first_entries_that_fit(line: Iterable[WaitlistEntry], free_seats: int) -> list[WaitlistEntry]:
    """Who is offered `free_seats` freed seats: the entries in line order whose seats still fit.

    An entry asking for more than is left is passed over (it keeps its place for the next seats
    that free up), so a group of four never holds back the single seat the next guest wants.
    """
    chosen = []
    for entry in line:
        if entry.seats <= free_seats:
            chosen.append(entry)
            free_seats -= entry.seats
        if free_seats <= 0:
            break
    return chosen


def listing_state(workshop: Workshop, *, seats_left: int) -> str:
    """How a listing shows a bookable workshop: "seats" (n left), "waitlist" (sold out, join the
    waiting list) or "sold_out"."""
    if seats_left > 0:
        return "seats"
    return "waitlist" if workshop.waitlist_enabled else "sold_out"


@dataclass(frozen=True)
class SeriesDate:
    """One date of a workshop series as a listing shows it."""

    workshop: Workshop
    seats_left: int

    @property
    def state(self) -> str:
        return listing_state(self.workshop, seats_left=self.seats_left)


def series_dates(workshop: Workshop, *, now: datetime | None = None) -> list[SeriesDate]:
    """The upcoming, bookable dates of `workshop`'s series (itself included), earliest first, with
    their seats left. [] for a single-date workshop. One query."""
    if workshop.series_id is None:
        return []
    now = now or timezone.now()
    dates = (
        Workshop.objects.published()
        .filter(series_id=workshop.series_id, cancelled_at__isnull=True, start_at__gt=now)
        .select_related("host")
        .annotate(seats_taken=seats_taken_annotation(now))
        .order_by("start_at")
    )
    return [SeriesDate(workshop=d, seats_left=max(d.capacity - d.seats_taken, 0)) for d in dates]


def seat_move_refusal(booking: Booking, target: Workshop, *, seats_left: int, now: datetime) -> BookingError | None:
    """Why `booking`'s seats cannot move to the date `target` now, or None when they can: only to
    another date of the same series, at the same price, with that many seats left there."""
    source = booking.workshop
    if source is None or source.series_id is None or target.series_id != source.series_id:
        return BookingNotReschedulable("Seats can only move to another date of the same workshop.")
    if target.pk == source.pk:
        return BookingNotReschedulable("That is already your date.")
    if target.currency != booking.currency or target.price_amount * booking.seats != booking.amount_due:
        return BookingNotReschedulable(
            "That date has a different price, so your seat cannot move there; you can cancel and book it instead."
        )
    return workshop_refusal(target, seats_left=seats_left, now=now, seats=booking.seats)
