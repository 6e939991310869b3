"""A workshop's waiting list under the workshop's row lock: lapse offers whose time is up, offer freed
seats to the next in line, and hand an offer over to the booking that claims it.

Every function here runs inside the caller's transaction, with the workshop locked
(`locks.lock_workshop`): the booking service before it sells a seat, the waiting-list service when
a guest joins or leaves and when the after-commit job or the sweep advances the line, the workshop
service when it cancels a workshop. So two processes advancing at once offer each seat once: the
second waits for the first's commit and then counts its offers as taken. Nothing here calls an
outside service; the emails are owed in the outbox and sent after commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coaching.exceptions import OfferLapsed, OfferNotClaimable
from coaching.models import Booking, WaitlistEntry, Workshop
from coaching.policy import get_policy
from coaching.schedule import first_entries_that_fit, seats_left, workshop_refusal

from .holds import release_lapsed_holds
from .locks import lock_workshop
from .outbox import record_waitlist_message


def settle_workshop(workshop: Workshop, *, now: datetime) -> tuple[Workshop, list[WaitlistEntry]]:
    """Lock the workshop and bring its seats up to date before anyone counts them: lapsed payment
    holds released (guests told), lapsed offers passed on, free seats offered to the people waiting.
    Inside the caller's transaction. Returns the locked workshop and the entries offered seats now.
    """
    locked = lock_workshop(workshop)
    release_lapsed_holds(Booking.objects.filter(workshop=locked), now=now)
    return locked, bring_waitlist_up_to_date(locked, now=now)


def bring_waitlist_up_to_date(workshop: Workshop, *, now: datetime) -> list[WaitlistEntry]:
    """Lapse the workshop's offers whose time is up (each guest told), then offer the seats left to
    the first entries in line that fit (each guest emailed a claim link). The caller holds the
    workshop's lock and has released its lapsed payment holds. Returns the entries offered now.

    Nothing is offered for a workshop that cannot be booked (unpublished, cancelled, started).
    """
    for entry in WaitlistEntry.objects.filter(workshop=workshop).lapsed_offers(now).order_by("pk"):
        entry.workshop = workshop  # the locked row: the email's snapshot reads its times
        entry.status = WaitlistEntry.Status.LAPSED
        entry.ended_at = now
        entry.save(update_fields=["status", "ended_at"])
        record_waitlist_message(entry, "waitlist_lapsed")
    free = seats_left(workshop, now=now)
    if free <= 0 or workshop_refusal(workshop, seats_left=free, now=now) is not None:
        return []
    chosen = first_entries_that_fit(WaitlistEntry.objects.filter(workshop=workshop).in_line(), free)
    if not chosen:
        return []
    # Never past the start: seats of a workshop under way are no use to anyone.
    expires_at = min(now + timedelta(minutes=get_policy().waitlist_offer_minutes), workshop.start_at)
    for entry in chosen:
        entry.workshop = workshop  # the locked row: the email's snapshot reads its times
        entry.status = WaitlistEntry.Status.OFFERED
        entry.offered_at = now
        entry.offer_expires_at = expires_at
        entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
        record_waitlist_message(entry, "waitlist_offer")
    return chosen


def claimable_offer(offer: WaitlistEntry, *, workshop: Workshop, seats: int, now: datetime) -> WaitlistEntry:
    """The offer as it stands now, if its guest may book `seats` of `workshop` with it (the caller
    holds the workshop's lock and has brought the waiting list up to date). Raises OfferLapsed (the
    time is over) or OfferNotClaimable (claimed, left, another workshop, other seats)."""
    current = WaitlistEntry.objects.filter(pk=offer.pk).first()
    if current is None or current.workshop_id != workshop.pk:
        raise OfferNotClaimable()
    if current.status == WaitlistEntry.Status.CLAIMED:
        raise OfferNotClaimable("You have already claimed these seats; your confirmation email has the details.")
    if current.status == WaitlistEntry.Status.LAPSED or (
        current.status == WaitlistEntry.Status.OFFERED and current.offer_expires_at <= now
    ):
        raise OfferLapsed()
    if current.status != WaitlistEntry.Status.OFFERED:
        raise OfferNotClaimable("You are no longer on this workshop's waiting list.")
    if seats != current.seats:
        raise OfferNotClaimable(f"This offer is for {current.seats} seat{'s' if current.seats != 1 else ''}.")
    return current


def take_offer(offer: WaitlistEntry, *, booking: Booking, now: datetime) -> None:
    """The offer's seats now belong to `booking` (made in the same transaction, under the same lock)."""
    offer.status = WaitlistEntry.Status.CLAIMED
    offer.claimed_at = now
    offer.booking = booking
    offer.save(update_fields=["status", "claimed_at", "booking"])


def reopen_offer(offer: WaitlistEntry) -> bool:
    """Give an offer back to its guest when the booking that claimed it never got to checkout
    (the payment provider was down): the seats stay theirs until the offer's own deadline. The
    caller holds the workshop's lock. Returns False when there is nothing to give back."""
    current = WaitlistEntry.objects.select_related("booking").filter(pk=offer.pk).first()
    if current is None or current.status != WaitlistEntry.Status.CLAIMED or current.booking is None:
        return False
    if current.booking.status != Booking.Status.EXPIRED or current.booking.stripe_checkout_session_id:
        return False
    current.status = WaitlistEntry.Status.OFFERED
    current.claimed_at = None
    current.booking = None
    current.save(update_fields=["status", "claimed_at", "booking"])
    return True


def close_waitlist(workshop: Workshop, *, message: str, now: datetime) -> list[WaitlistEntry]:
    """The workshop is cancelled: take everyone off its waiting list and owe each the owner's
    `message`. The caller holds the workshop's lock. Returns the entries closed."""
    closed = list(WaitlistEntry.objects.filter(workshop=workshop).active().order_by("joined_at", "pk"))
    for entry in closed:
        entry.workshop = workshop  # the locked row: the email's snapshot reads its times
        entry.status = WaitlistEntry.Status.CLOSED
        entry.ended_at = now
        entry.save(update_fields=["status", "ended_at"])
        record_waitlist_message(entry, "waitlist_closed", message=message)
    return closed
