"""A sold-out workshop's waiting list: join, leave, claim the seats offered, and advance the line.

How seats reach the people waiting (the README tells the owner the same story):

1. A guest joins while the workshop is sold out for the seats they want (`join_waitlist`).
2. Seats free up — a cancellation, a payment hold that lapsed, a seat moved to another date, a
   raised capacity, an offer given back. The change that frees them commits first; then an
   after-commit job (`schedule_advance` → the `advance_waitlist_task` task) takes the workshop's
   row lock and offers the free seats to the first entries in line that fit
   (services/waitlist_offers.py). Each is emailed a signed claim link; the seats are held for them
   for `BookingPolicy.waitlist_offer_minutes` and count as taken for everyone else.
3. The guest claims (`claim_offer`): the normal booking service books exactly those seats (free:
   confirmed; paid: a hold and the checkout), using the offer's own seats.
4. An offer not claimed in time lapses; its seats go to the next in line — when the periodic sweep
   (`advance_due_waitlists`, every minute) or anyone booking a seat of that workshop next takes
   its lock, whichever comes first.

Every change of an entry happens under the workshop's lock, so a seat is never offered to two people
at once and the workshop is never oversold.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coaching.exceptions import AlreadyOnWaitlist, BookingError, InvalidDetails
from coaching.models import Booking, WaitlistEntry, Workshop
from coaching.schedule import seats_left, waitlist_refusal
from coaching.vocabulary import Change

from .booking import MAX_SEATS_PER_BOOKING, BookingResult, Guest, create_booking, validate_guest
from .enqueue import enqueue
from .locks import booking_transaction, lock_workshop
from .outbox import record_waitlist_message
from .waitlist_offers import reopen_offer, settle_workshop

logger = logging.getLogger(__name__)

ADVANCE_TASK = "coaching.tasks.advance_waitlist_task"
# Booking changes that give seats back to a workshop.
FREEING_CHANGES = {Change.CANCELLED, Change.EXPIRED, Change.PAYMENT_FAILED}


def join_waitlist(*, workshop: Workshop, guest: Guest, seats: int = 1, now: datetime | None = None) -> WaitlistEntry:
    """Put a guest in line for `seats` seats of a sold-out workshop and email them their place.

    Guarantees: under the workshop's lock, the line is brought up to date first, and the guest
    joins only if the workshop is still sold out for that many seats (seats that are free are
    booked, not waited for). Raises SeatsAvailable, WaitlistClosed, AlreadyOnWaitlist, NotBookable,
    SlotInPast, InvalidDetails or Busy; nothing is written when it raises.
    """
    if not isinstance(seats, int) or seats < 1 or seats > MAX_SEATS_PER_BOOKING:
        raise InvalidDetails(f"Please choose between 1 and {MAX_SEATS_PER_BOOKING} seats.")
    validate_guest(guest)
    email = guest.email.strip().lower()
    now = now or timezone.now()
    with booking_transaction():
        locked, _ = settle_workshop(workshop, now=now)
        refusal = waitlist_refusal(locked, seats_left=seats_left(locked, now=now), now=now, seats=seats)
        if refusal is not None:
            raise refusal
        if WaitlistEntry.objects.active().filter(workshop=locked, guest_email=email).exists():
            raise AlreadyOnWaitlist()
        entry = WaitlistEntry(
            workshop=locked,
            seats=seats,
            guest_name=guest.name.strip(),
            guest_email=email,
            guest_timezone=guest.timezone,
            joined_at=now,
        )
        entry.full_clean(exclude=["reference", "workshop", "booking"], validate_constraints=False)
        entry.save()
        record_waitlist_message(entry, "waitlist_joined", position=waitlist_position(entry))
    return entry


def waitlist_position(entry: WaitlistEntry) -> int:
    """1 for the next in line (counting only entries still waiting)."""
    ahead = WaitlistEntry.objects.in_line().filter(workshop_id=entry.workshop_id, joined_at__lt=entry.joined_at).count()
    same_moment = (
        WaitlistEntry.objects.in_line()
        .filter(workshop_id=entry.workshop_id, joined_at=entry.joined_at, pk__lt=entry.pk)
        .count()
    )
    return ahead + same_moment + 1


def leave_waitlist(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    """Take an entry off the waiting list (the guest's "leave" link). Idempotent: an entry already
    off the list is returned as it is. Seats it was offered go to the next in line after commit."""
    now = now or timezone.now()
    with booking_transaction():
        lock_workshop(entry.workshop)
        current = WaitlistEntry.objects.get(pk=entry.pk)
        if not current.is_active:
            return current
        was_offered = current.status == WaitlistEntry.Status.OFFERED
        current.status = WaitlistEntry.Status.LEFT
        current.ended_at = now
        current.save(update_fields=["status", "ended_at"])
        if was_offered:
            schedule_advance(current.workshop_id)
    return current


def claim_offer(
    *, entry: WaitlistEntry, phone: str = "", notes: str = "", user=None, now: datetime | None = None
) -> BookingResult:
    """Book the seats offered to `entry`: the normal booking flow (free: confirmed at once; paid: a
    hold and a checkout URL), for exactly the seats offered, using the seats the offer holds.

    Raises OfferLapsed (410: too late, the seats went on), OfferNotClaimable (409: claimed already,
    left the list) or the booking service's refusals. Claiming twice books once. If the checkout
    cannot open, the offer is given back until its own deadline.
    """
    guest = Guest(
        name=entry.guest_name, email=entry.guest_email, phone=phone, notes=notes, timezone=entry.guest_timezone
    )
    try:
        return create_booking(guest=guest, workshop=entry.workshop, seats=entry.seats, offer=entry, user=user, now=now)
    except BookingError:
        with transaction.atomic():
            lock_workshop(entry.workshop)
            reopen_offer(entry)
        raise


def advance_waitlist(*, workshop: Workshop, now: datetime | None = None) -> list[WaitlistEntry]:
    """Bring a workshop's waiting list up to date under its lock: lapse offers whose time is up and
    offer the seats left to the first entries that fit. Safe to run any number of times, from any
    number of processes at once. Returns the entries offered seats now."""
    now = now or timezone.now()
    with booking_transaction():
        _, offered = settle_workshop(workshop, now=now)
    return offered


def advance_due_waitlists(*, now: datetime | None = None) -> int:
    """The periodic sweep: advance every upcoming workshop with a lapsed offer, or with people
    waiting (catching seats freed by anything whose after-commit job never ran). Returns how many
    seats offers were made."""
    now = now or timezone.now()
    workshop_ids = set(
        WaitlistEntry.objects.filter(workshop__start_at__gt=now)
        .filter(status__in=WaitlistEntry.ACTIVE_STATUSES)
        .exclude(status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=now)
        .values_list("workshop_id", flat=True)
    )
    offered = 0
    for workshop in Workshop.objects.filter(pk__in=workshop_ids).order_by("start_at"):
        try:
            offered += len(advance_waitlist(workshop=workshop, now=now))
        except BookingError:  # busy: the next sweep tries again
            logger.warning("Could not advance the waiting list of workshop %s now", workshop.pk)
    return offered


def schedule_advance(workshop_id: int) -> None:
    """Advance the workshop's waiting list after the current transaction commits (the seats it
    frees are then visible to the job, which takes the workshop's lock itself)."""
    transaction.on_commit(lambda: enqueue(ADVANCE_TASK, workshop_id))


def advance_after_change(*, booking: Booking, change: Change) -> bool:
    """Called for every booking change (the `booking_changed` receiver, inside its transaction): a
    seat given back owes the waiting list an advance after commit. Returns True when one is due."""
    if booking.workshop_id is None or change not in FREEING_CHANGES:
        return False
    schedule_advance(booking.workshop_id)
    return True
