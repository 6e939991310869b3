"""The calendar's "Next available" jump: the first bookable time from a date, up to the horizon."""

from datetime import UTC, datetime, timedelta

import pytest

from coaching.schedule.next_available import next_free_slot, workshops_with_seats
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachFactory,
    WorkshopFactory,
    session_type_of,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)


def block(coach, day: int, month: int = 1, hours: int = 2):
    start = datetime(2030, month, day, 9, tzinfo=UTC)
    AvailabilityBlockFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=hours))
    return start


def test_next_free_slot_skips_an_empty_month_and_a_fully_booked_day():
    coach = CoachFactory(horizon_days=90)
    booked = block(coach, 10, hours=1)
    BookingFactory(coach=coach, start_at=booked, end_at=booked + timedelta(hours=1))
    first_free = block(coach, 12, month=3)  # nothing at all in February
    block(coach, 20, month=3)
    assert next_free_slot(coach=coach, after=NOW, now=NOW).start_at == first_free
    # From a later date: the first one at or after it.
    assert next_free_slot(coach=coach, after=datetime(2030, 3, 13, tzinfo=UTC), now=NOW).start_at == datetime(
        2030, 3, 20, 9, tzinfo=UTC
    )


def test_next_free_slot_respects_minimum_notice_and_the_horizon():
    coach = CoachFactory(horizon_days=30, min_notice_minutes=48 * 60)
    block(coach, 2)  # inside the 48-hour notice
    too_far = block(coach, 5, month=2)  # 35 days ahead: past the horizon
    assert next_free_slot(coach=coach, after=NOW, now=NOW) is None
    soon_enough = block(coach, 4)
    assert next_free_slot(coach=coach, after=NOW, now=NOW).start_at == soon_enough
    assert next_free_slot(coach=coach, after=too_far, now=NOW) is None  # beyond the horizon: nothing


def test_next_free_slot_costs_four_queries_however_far_it_looks(django_assert_num_queries):
    coach = CoachFactory(horizon_days=365)
    for month in range(2, 13):
        start = block(coach, 3, month=month)
        BookingFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=2))
    last = block(coach, 20, month=12)
    session_type = session_type_of(coach)
    with django_assert_num_queries(4):
        assert next_free_slot(coach=coach, after=NOW, now=NOW, session_type=session_type).start_at == last


def test_inactive_coach_has_no_next_slot(django_assert_num_queries):
    coach = CoachFactory(is_active=False)
    block(coach, 7)
    with django_assert_num_queries(0):
        assert next_free_slot(coach=coach, after=NOW, now=NOW) is None


def test_workshops_with_seats_skips_sold_out_started_and_unpublished_ones(django_assert_num_queries):
    def workshop(day, hour=18, **extra):
        start = datetime(2030, 1, day, hour, tzinfo=UTC)
        return WorkshopFactory(start_at=start, end_at=start + timedelta(hours=2), capacity=2, **extra)

    workshop(1, hour=7)  # started an hour before NOW
    full = workshop(3)
    BookingFactory(coach=None, workshop=full, start_at=full.start_at, end_at=full.end_at, seats=2)
    workshop(4, is_published=False)
    later = workshop(9)
    tonight = workshop(1)
    with django_assert_num_queries(1):
        assert workshops_with_seats(after=NOW, now=NOW) == [tonight, later]
    assert workshops_with_seats(after=NOW, now=NOW, exclude=tonight) == [later]
