"""Many guests at once: the brain never double-books, on PostgreSQL and on SQLite.

Threads start together at a barrier and each books through the real service on its own database
connection. The "race is real" tests switch the lock off (a test-only switch, as pretix does) and
show the oversell the lock prevents.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from coaching.exceptions import BookingError
from coaching.models import Booking
from coaching.services import create_booking
from coaching.services import locks as booking_service
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory, GuestFactory, WorkshopFactory

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
DAY = datetime(2030, 1, 7, tzinfo=UTC)
CLIENTS = 20


def race(calls):
    """Run the callables at once (released together by a barrier); return (successes, refusals)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            return call()
        except BookingError as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        outcomes = list(pool.map(run, calls))
    successes = [o for o in outcomes if not isinstance(o, Exception)]
    refusals = [o for o in outcomes if isinstance(o, BookingError)]
    assert len(successes) + len(refusals) == len(calls), outcomes
    return successes, refusals


def book_slot(coach, start):
    guest = GuestFactory(timezone="UTC")
    return lambda: create_booking(guest=guest, coach=coach, start_at=start, now=NOW)


def book_seats(workshop):
    guest = GuestFactory(timezone="UTC")
    return lambda: create_booking(guest=guest, workshop=workshop, now=NOW)


def seats_sold(workshop):
    return sum(Booking.objects.active().filter(workshop=workshop).values_list("seats", flat=True))


@pytest.fixture
def coach(transactional_db):
    coach = CoachFactory(timezone="UTC", session_minutes=60, buffer_minutes=30)
    AvailabilityBlockFactory(coach=coach, start_at=DAY.replace(hour=9), end_at=DAY.replace(hour=17))
    return coach


def _same_slot(coach):
    successes, refusals = race([book_slot(coach, DAY.replace(hour=10, minute=30)) for _ in range(CLIENTS)])
    assert len(successes) == 1
    assert {type(r).__name__ for r in refusals} == {"SlotUnavailable"}
    assert Booking.objects.active().filter(coach=coach).count() == 1


def _last_seats(workshop_factory):
    workshop = workshop_factory(start_at=DAY.replace(hour=18), end_at=DAY.replace(hour=20), capacity=3)
    successes, refusals = race([book_seats(workshop) for _ in range(CLIENTS)])
    assert len(successes) == 3
    assert seats_sold(workshop) == 3
    assert {type(r).__name__ for r in refusals} == {"WorkshopFull"}


def _conflicting_different_slots():
    # Two availability blocks 10 minutes apart: 09:00 and 10:10 are both offered, but with a
    # 30-minute buffer whichever is booked first removes the other.
    coach = CoachFactory(timezone="UTC", session_minutes=60, buffer_minutes=30)
    AvailabilityBlockFactory(coach=coach, start_at=DAY.replace(hour=9), end_at=DAY.replace(hour=10))
    AvailabilityBlockFactory(
        coach=coach, start_at=DAY.replace(hour=10, minute=10), end_at=DAY.replace(hour=11, minute=10)
    )
    starts = [DAY.replace(hour=9), DAY.replace(hour=10, minute=10)]
    successes, _ = race([book_slot(coach, starts[n % 2]) for n in range(CLIENTS)])
    assert len(successes) == 1
    assert Booking.objects.active().filter(coach=coach).count() == 1


@pytest.mark.postgres
def test_twenty_guests_racing_for_one_slot_on_postgres_get_exactly_one_booking(coach):
    _same_slot(coach)


@pytest.mark.postgres
def test_twenty_guests_racing_for_the_last_three_seats_on_postgres_buy_exactly_three(transactional_db):
    _last_seats(WorkshopFactory)


@pytest.mark.postgres
def test_racing_for_different_but_conflicting_slots_on_postgres_books_one(transactional_db):
    _conflicting_different_slots()


def test_twenty_guests_racing_for_one_slot_on_sqlite_get_exactly_one_booking(coach):
    if connection.vendor != "sqlite":
        pytest.skip("this variant proves the embedded SQLite mode; the PostgreSQL variant runs on PostgreSQL")
    _same_slot(coach)


def test_last_seats_race_on_sqlite_sells_exactly_three(transactional_db):
    if connection.vendor != "sqlite":
        pytest.skip("this variant proves the embedded SQLite mode; the PostgreSQL variant runs on PostgreSQL")
    _last_seats(WorkshopFactory)


@pytest.mark.postgres
def test_without_the_workshop_lock_the_race_oversells(transactional_db, monkeypatch):
    """Proves the race exists: with the row lock switched off, concurrent guests oversell seats."""
    monkeypatch.setattr(booking_service, "LOCKING_ENABLED", False)
    oversold = False
    for attempt in range(10):  # a race is probabilistic; a handful of rounds shows it reliably
        workshop = WorkshopFactory(
            start_at=DAY.replace(hour=18) + timedelta(days=attempt),
            end_at=DAY.replace(hour=20) + timedelta(days=attempt),
            capacity=3,
        )
        race([book_seats(workshop) for _ in range(CLIENTS)])
        if seats_sold(workshop) > workshop.capacity:
            oversold = True
            break
    assert oversold, "expected an oversell with locking off; the race tests would then prove nothing"


@pytest.mark.postgres
def test_without_the_coach_lock_the_exclusion_constraint_still_allows_only_one(coach, monkeypatch):
    """The database is the last line of defence: even unlocked, one slot gets one booking."""
    monkeypatch.setattr(booking_service, "LOCKING_ENABLED", False)
    _same_slot(coach)
