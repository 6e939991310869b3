"""Creating and changing a workshop, together with the seats it has already sold.

Seat bookings copy their workshop's start and end when they are made, and everything after reads
the booking's own times: the host's schedule, the guest's invite and reminder, the manage page. So
a workshop is written only here, and moving one moves its active seats in the same transaction.

Everything happens under the workshop's row lock, the lock a seat booking takes too: no seat is
sold at the old time while the workshop moves, and the capacity never drops below a seat sold a
moment earlier. `lock_workshop` also locks the host's row (select_related under FOR UPDATE), so a
1-on-1 booking of the host waits for the change and then sees the workshop where it now is.

`cancel_workshop` is the owner's "cancel the whole workshop": every seat cancelled and refunded, every
guest told in the owner's words, the waiting list closed, in one transaction under the same lock.

The admin's Workshop snippet saves through these functions (backoffice/forms.py, WorkshopForm.save).
Workshop must stay a plain model: with Wagtail's DraftStateMixin, publishing a revision writes the
row directly and would bypass this module.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log as log_admin_action

from coaching import policy
from coaching.exceptions import CapacityBelowSeatsSold, HostHasSessions, InvalidWorkshop, WorkshopNotChangeable
from coaching.models import Booking, Refund, WaitlistEntry, Workshop
from coaching.schedule import host_sessions_during, seats_offered, seats_sold
from coaching.signals import announce
from coaching.vocabulary import Actor, Change, LogAction

from .changes import cancel_locked_booking
from .google_sync import schedule_workshop_sync
from .holds import expire_checkout_quietly, release_lapsed_holds
from .locks import booking_transaction, lock_active_seats, lock_coach, lock_workshop
from .log import log_booking
from .waitlist import schedule_advance
from .waitlist_offers import close_waitlist

# The owner's "Cancel workshop" in Wagtail's history of the workshop (registered in wagtail_hooks.py).
CANCEL_LOG_ACTION = "coaching.cancel_workshop"

# What the owner may set on a workshop; ids and timestamps are the system's.
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "slug",
        "series",
        "summary",
        "host",
        "start_at",
        "end_at",
        "capacity",
        "price_amount",
        "currency",
        "location",
        "online_url",
        "is_published",
        "waitlist_enabled",
    }
)


@dataclass(frozen=True)
class WorkshopChange:
    """What `change_workshop` did: the workshop as saved, its time before, and the seats it moved."""

    workshop: Workshop
    old_start_at: datetime
    old_end_at: datetime
    moved_bookings: list[Booking]


def create_workshop(*, values: Mapping[str, Any], allow_host_clash: bool = False) -> Workshop:
    """Create a workshop from `values` (field name → value).

    Guarantees: the workshop passes the model's validation, and a published one does not sit on
    its host's active 1-on-1 bookings unless `allow_host_clash` (the owner has sorted them out).
    Raises InvalidWorkshop, HostHasSessions or Busy; nothing is written when it raises.
    """
    workshop = Workshop()
    _apply(workshop, values)
    _validate(workshop)
    with booking_transaction():
        if workshop.is_published and not allow_host_clash:
            lock_coach(workshop.host)
            _refuse_host_sessions(workshop)
        workshop.save()
        schedule_workshop_sync(workshop=workshop)
    return workshop


def change_workshop(
    *,
    workshop: Workshop,
    changes: Mapping[str, Any],
    actor: str = Actor.OWNER,
    user=None,
    allow_host_clash: bool = False,
    now: datetime | None = None,
) -> WorkshopChange:
    """Apply `changes` (field name → new value) to a workshop and its seats, in one transaction.

    Guarantees, all under the workshop's row lock:
    - the capacity is not below the seats sold (confirmed and unexpired holds; lapsed holds are
      released first, as a seat booking would release them) plus the seats offered to the
      waiting list; a raised capacity is offered to the people waiting after commit;
    - a published workshop does not sit on its host's active 1-on-1 bookings unless
      `allow_host_clash` (the owner has sorted them out);
    - the workshop's event in its host's Google Calendar follows the change after commit;
    - when the start or end changes, every active seat booking (confirmed or held for payment)
      moves to the new time with its invite SEQUENCE bumped, a WORKSHOP_MOVED entry in its log
      (by `actor` and `user`, old and new times) and a WORKSHOP_MOVED announcement, which owes each
      confirmed guest a "your workshop has moved" email with the updated invite. A hold keeps its
      hold and its checkout (same workshop). Cancelled and expired bookings keep their time.
    Raises CapacityBelowSeatsSold, HostHasSessions, InvalidWorkshop or Busy; nothing is written
    when it raises.
    """
    now = now or timezone.now()
    with booking_transaction():
        locked = lock_workshop(workshop)
        before = copy.copy(locked)
        old_start_at, old_end_at, old_host_id = locked.start_at, locked.end_at, locked.host_id
        old_capacity, old_waitlist = locked.capacity, locked.waitlist_enabled
        _apply(locked, changes)
        _validate(locked)
        if locked.host_id != old_host_id:
            # lock_workshop locked the old host; the new one's sessions are checked below.
            lock_coach(locked.host)

        release_lapsed_holds(Booking.objects.filter(workshop=locked), now=now)
        sold, offered = seats_sold(locked, now=now), seats_offered(locked, now=now)
        if locked.capacity < sold + offered:
            raise CapacityBelowSeatsSold(sold, offered)
        if locked.is_published and not allow_host_clash:
            _refuse_host_sessions(locked)
        locked.save()
        if locked.capacity > old_capacity or (locked.waitlist_enabled and not old_waitlist):
            # New seats go to the people waiting first, once this change is committed.
            schedule_advance(locked.pk)

        moved_bookings = []
        if locked.start_at != old_start_at or locked.end_at != old_end_at:
            moved_bookings = _move_seats(
                locked, old_start_at=old_start_at, old_end_at=old_end_at, actor=actor, user=user
            )
        # The workshop itself is in its host's calendar (seats never are): moved, renamed,
        # unpublished or handed to another host, the event follows after commit.
        schedule_workshop_sync(workshop=locked, previous=before)
    return WorkshopChange(
        workshop=locked, old_start_at=old_start_at, old_end_at=old_end_at, moved_bookings=moved_bookings
    )


@dataclass(frozen=True)
class WorkshopCancellation:
    """What `cancel_workshop` did: the seats cancelled, the refunds owed, the waiting list closed."""

    workshop: Workshop
    cancelled_bookings: list[Booking]
    refunds: list[Refund]
    closed_entries: list[WaitlistEntry]


def cancel_workshop(
    *, workshop: Workshop, message: str, actor: str = Actor.OWNER, user=None, now: datetime | None = None
) -> WorkshopCancellation:
    """Cancel a workshop and everything sold for it, in one transaction under its row lock.

    Guarantees:
    - every active seat (confirmed or held for payment) is cancelled: invite SEQUENCE bumped, a
      WORKSHOP_CANCELLED entry in its log (by `actor` and `user`, with `message`), and its guest
      owed an email with the owner's `message`, the refund and a METHOD:CANCEL invite;
    - everything paid is refunded in full: owed here, under the lock, and sent to the payment
      provider after commit with retries (services/refunds.py); a refund that fails is marked
      failed, logged and reported to the owner, and listed in the admin with a Retry button, so
      one failing refund never stops the others; the checkouts of held seats are closed after commit;
    - everyone on the waiting list is taken off it and told, in the owner's words;
    - the workshop is marked cancelled and unpublished (no longer listed or bookable), the change
      is in Wagtail's history of the workshop, and its event leaves the host's Google Calendar.
    Raises InvalidWorkshop (no message), WorkshopNotChangeable (already cancelled) or Busy; nothing
    is written when it raises.
    """
    message = (message or "").strip()
    if not message:
        raise InvalidWorkshop("Please write a few words to the guests: they receive them with the cancellation.")
    now = now or timezone.now()
    with booking_transaction():
        locked = lock_workshop(workshop)
        if locked.cancelled_at is not None:
            raise WorkshopNotChangeable("This workshop is already cancelled.")
        before = copy.copy(locked)
        cancelled, refunds = [], []
        for booking in lock_active_seats(locked):
            was_pending = booking.status == Booking.Status.PENDING_PAYMENT
            refund_amount = policy.refundable_amount(booking)
            refund = cancel_locked_booking(
                booking,
                actor=actor,
                user=user,
                refund_amount=refund_amount,
                reason=message,
                now=now,
                change=Change.WORKSHOP_CANCELLED,
                refund_reason="Workshop cancelled",
            )
            if refund is not None:
                refunds.append(refund)
            if was_pending:
                transaction.on_commit(functools.partial(expire_checkout_quietly, booking))
            cancelled.append(booking)
        closed = close_waitlist(locked, message=message, now=now)
        locked.cancelled_at = now
        locked.cancellation_message = message
        locked.is_published = False
        locked.save(update_fields=["cancelled_at", "cancellation_message", "is_published", "updated_at"])
        schedule_workshop_sync(workshop=locked, previous=before)  # out of the host's calendar
        log_admin_action(
            instance=locked,
            action=CANCEL_LOG_ACTION,
            user=user,
            data={"seats_cancelled": len(cancelled), "refunds": len(refunds), "waiting_list_closed": len(closed)},
        )
    return WorkshopCancellation(workshop=locked, cancelled_bookings=cancelled, refunds=refunds, closed_entries=closed)


def _move_seats(workshop: Workshop, *, old_start_at: datetime, old_end_at: datetime, actor: str, user) -> list[Booking]:
    start_at, end_at = workshop.start_at.astimezone(UTC), workshop.end_at.astimezone(UTC)
    old_start_at, old_end_at = old_start_at.astimezone(UTC), old_end_at.astimezone(UTC)
    seats = lock_active_seats(workshop)
    for booking in seats:
        booking.start_at, booking.end_at = start_at, end_at
        booking.ics_sequence += 1
        booking.save(update_fields=["start_at", "end_at", "ics_sequence", "updated_at"])
        log_booking(
            booking,
            LogAction.WORKSHOP_MOVED,
            actor=actor,
            user=user,
            message=f"Workshop moved from {old_start_at:%Y-%m-%d %H:%M} UTC to {start_at:%Y-%m-%d %H:%M} UTC.",
            old_start_at=old_start_at,
            old_end_at=old_end_at,
            new_start_at=start_at,
            new_end_at=end_at,
        )
        announce(booking, Change.WORKSHOP_MOVED, actor=actor, old_start_at=old_start_at, old_end_at=old_end_at)
    return seats


def _apply(workshop: Workshop, values: Mapping[str, Any]) -> None:
    unknown = set(values) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Not editable on a workshop: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        setattr(workshop, name, value)


def _validate(workshop: Workshop) -> None:
    try:
        workshop.full_clean()
    except ValidationError as exc:
        raise InvalidWorkshop(" ".join(exc.messages)) from exc


def _refuse_host_sessions(workshop: Workshop) -> None:
    clashes = host_sessions_during(host=workshop.host, start_at=workshop.start_at, end_at=workshop.end_at)
    if clashes:
        raise HostHasSessions(host_name=workshop.host.name, references=[booking.reference for booking in clashes])
