"""The waiting list under concurrency, on real row locks: a freed seat is offered once however many
processes advance the line at once, and only the guests it was offered to can book it.

Threads start together at a barrier (coaching/tests/services/test_races.py) and each calls the real
service on its own database connection. As there, the "race is real" test switches the lock off
first and shows the double offer the lock prevents.
"""

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from coaching.models import Booking, WaitlistEntry
from coaching.services import create_booking, waitlist_offers
from coaching.services import locks as booking_locks
from coaching.services.waitlist import advance_waitlist, claim_offer, join_waitlist
from coaching.tests.factories import BookingFactory, GuestFactory, WorkshopFactory
from coaching.tests.services.test_races import race

pytestmark = pytest.mark.usefixtures("frozen_clock")

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
START = datetime(2030, 1, 7, 18, tzinfo=UTC)
GUESTS = 20


def sold_out_with_a_line(*, start_at=START, capacity=5, freed=2):
    """A workshop of `capacity` sold out, 20 guests in line, then `freed` seats given back without
    anyone advancing the line yet (as if the after-commit job had not run)."""
    workshop = WorkshopFactory(start_at=start_at, end_at=start_at + timedelta(hours=2), capacity=capacity)
    sold = [BookingFactory(workshop=workshop, confirmed_at=NOW) for _ in range(capacity)]
    line = [join_waitlist(workshop=workshop, guest=GuestFactory()) for _ in range(GUESTS)]
    Booking.objects.filter(pk__in=[b.pk for b in sold[:freed]]).update(status=Booking.Status.CANCELLED)
    return workshop, line


def active_seats(workshop) -> int:
    return sum(Booking.objects.active().filter(workshop=workshop).values_list("seats", flat=True))


def _advancers_offer_each_freed_seat_once():
    workshop, line = sold_out_with_a_line()

    race([lambda: advance_waitlist(workshop=workshop) for _ in range(10)])

    offered = WaitlistEntry.objects.filter(workshop=workshop, status=WaitlistEntry.Status.OFFERED)
    assert list(offered.order_by("joined_at", "pk")) == line[:2]


def _only_the_offered_guests_can_claim():
    workshop, line = sold_out_with_a_line()
    advance_waitlist(workshop=workshop)
    newcomers = [GuestFactory() for _ in range(5)]

    successes, refusals = race(
        [lambda entry=entry: claim_offer(entry=entry) for entry in line]
        + [lambda guest=guest: create_booking(guest=guest, workshop=workshop) for guest in newcomers]
    )

    assert sorted(result.booking.guest_email for result in successes) == sorted(e.guest_email for e in line[:2])
    assert {type(refusal).__name__ for refusal in refusals} == {"OfferNotClaimable", "WorkshopFull"}
    assert active_seats(workshop) == workshop.capacity  # never oversold
    assert WaitlistEntry.objects.filter(workshop=workshop, status=WaitlistEntry.Status.CLAIMED).count() == 2


@pytest.mark.postgres
def test_ten_processes_advancing_at_once_on_postgres_offer_each_freed_seat_once(transactional_db):
    _advancers_offer_each_freed_seat_once()


@pytest.mark.postgres
def test_twenty_guests_racing_for_two_freed_seats_on_postgres_only_the_offered_two_book(transactional_db):
    _only_the_offered_guests_can_claim()


def test_twenty_guests_racing_for_two_freed_seats_on_sqlite_only_the_offered_two_book(transactional_db):
    if connection.vendor != "sqlite":
        pytest.skip("this variant proves the embedded SQLite mode; the PostgreSQL variant runs on PostgreSQL")
    _only_the_offered_guests_can_claim()


def slow_counting(monkeypatch):
    """Widen the race window: the n-th advancer waits n × 50 ms between counting the free seats and
    reading the line, so the first has written its offers by the time the others read it."""
    real, calls = waitlist_offers.seats_left, itertools.count()

    def counted_then_slow(*args, **kwargs):
        free = real(*args, **kwargs)
        time.sleep(0.05 * next(calls))
        return free

    monkeypatch.setattr(waitlist_offers, "seats_left", counted_then_slow)


@pytest.mark.postgres
@pytest.mark.parametrize("locking", [False, True], ids=["lock off: offered twice", "lock on: offered once"])
def test_the_workshop_lock_is_what_stops_two_advancers_offering_the_same_seats_twice(
    transactional_db, monkeypatch, locking
):
    """Proves the race exists and that the lock stops it: with the row lock switched off, advancers
    that counted the same two free seats offer them to different people; with it on, to two."""
    monkeypatch.setattr(booking_locks, "LOCKING_ENABLED", locking)
    slow_counting(monkeypatch)
    workshop, line = sold_out_with_a_line()

    race([lambda: advance_waitlist(workshop=workshop) for _ in range(4)])

    offered = WaitlistEntry.objects.filter(workshop=workshop, status=WaitlistEntry.Status.OFFERED).count()
    if locking:
        assert offered == 2
    else:
        assert offered > 2, "expected a double offer with locking off; the tests above would then prove nothing"
