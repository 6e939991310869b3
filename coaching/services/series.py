"""Dates in a series: moving a guest's seat to another date of the same workshop.

Each date is a Workshop row with its own capacity, so a move takes seats on one row and gives them
back on another. Both workshops are locked, always in id order (two guests moving in opposite
directions never wait on each other in a circle), before the seat booking itself; the target date
is brought up to date first (lapsed holds released, its waiting list served), so a move never takes
seats freed for the people waiting there and never oversells it. The seats given back on the old
date go to its waiting list after commit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from coaching.exceptions import BookingNotReschedulable
from coaching.models import Booking, Workshop
from coaching.schedule import seat_move_refusal, seats_left
from coaching.signals import announce
from coaching.vocabulary import Change, LogAction

from .changes import refuse_move
from .locks import booking_transaction, lock_booking, lock_workshop
from .log import log_booking
from .waitlist import schedule_advance
from .waitlist_offers import settle_workshop


def move_seat(
    *, booking: Booking, to_workshop: Workshop, actor: str, user=None, now: datetime | None = None
) -> Booking:
    """Move a confirmed seat booking to another date of its workshop's series, atomically.

    Guarantees: the booking keeps its reference, payment and invite UID; its workshop, start and
    end become the new date's, its invite SEQUENCE and move count go up, its log records the move
    (by `actor` and `user`) and the guest is emailed the new date with an updated invite. The new
    date must be in the same series, at the same price, bookable, with seats left for all of the
    booking's seats (seats offered to its waiting list count as taken). Guests are held to the
    policy's reschedule cut-off and limit. Raises BookingNotReschedulable, the workshop refusals
    (sold out, not enough seats, started, cancelled) or Busy; nothing is written when it raises.
    """
    now = now or timezone.now()
    with booking_transaction():
        source_id = Booking.objects.filter(pk=booking.pk).values_list("workshop_id", flat=True).first()
        if source_id is None:
            raise BookingNotReschedulable("Only workshop seats can move to another date.")
        locked_workshops = {pk: lock_workshop(Workshop(pk=pk)) for pk in sorted({source_id, to_workshop.pk})}
        locked = lock_booking(booking)
        if locked.workshop_id != source_id:
            raise BookingNotReschedulable("This booking changed a moment ago; please reload the page.")
        source = locked.workshop = locked_workshops[source_id]
        refuse_move(locked, actor=actor, now=now)
        target, _ = settle_workshop(locked_workshops[to_workshop.pk], now=now)
        refusal = seat_move_refusal(locked, target, seats_left=seats_left(target, now=now), now=now)
        if refusal is not None:
            raise refusal

        old_start_at, old_end_at = locked.start_at.astimezone(UTC), locked.end_at.astimezone(UTC)
        locked.workshop = target
        locked.start_at, locked.end_at = target.start_at, target.end_at
        locked.reschedule_count += 1
        locked.ics_sequence += 1
        locked.save(update_fields=["workshop", "start_at", "end_at", "reschedule_count", "ics_sequence", "updated_at"])
        log_booking(
            locked,
            LogAction.SEAT_MOVED,
            actor=actor,
            user=user,
            message=f"Moved from {source.title} on {old_start_at:%Y-%m-%d %H:%M} UTC "
            f"to {target.title} on {target.start_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.",
            old_workshop=source.pk,
            new_workshop=target.pk,
            old_start_at=old_start_at,
            new_start_at=target.start_at,
        )
        announce(locked, Change.RESCHEDULED, actor=actor, old_start_at=old_start_at, old_end_at=old_end_at)
        # The seats given back on the old date go to the people waiting there, once this commits.
        schedule_advance(source.pk)
    booking.refresh_from_db()
    return locked
