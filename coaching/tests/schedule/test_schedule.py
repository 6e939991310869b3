"""The month schedule: what a guest is offered, in their own time zone."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coaching.models import Booking
from coaching.schedule import (
    Slot,
    candidate_starts,
    free_slots,
    get_month_schedule,
    get_workshops_month,
    merge_intervals,
    remove_blocked,
)
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachBusySlotFactory,
    CoachFactory,
    WorkshopFactory,
    session_type_of,
)
from coaching.wallclock import expand_weekly_pattern

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def add_daily_availability(coach, start: date, end: date, *, hours=(time(9), time(17))):
    for start_at, end_at in expand_weekly_pattern(
        zone=coach.zone, weekdays=range(7), time_ranges=[hours], start_date=start, end_date=end
    ):
        AvailabilityBlockFactory(coach=coach, start_at=start_at, end_at=end_at)


def slots_on(schedule, day: date) -> list[Slot]:
    return schedule.day(day).slots


# --- DST -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "before, after",
    [
        pytest.param(date(2030, 3, 30), date(2030, 4, 1), id="spring-forward-31-March-2030"),
        pytest.param(date(2030, 10, 26), date(2030, 10, 28), id="fall-back-27-October-2030"),
    ],
)
def test_london_coach_offers_nine_oclock_local_on_both_sides_of_dst(before, after):
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    add_daily_availability(coach, before - timedelta(days=2), after + timedelta(days=2))
    for day in (before, after):
        schedule = get_month_schedule(coach=coach, year=day.year, month=day.month, tz=LONDON, now=NOW)
        day_slots = slots_on(schedule, day)
        assert [slot.start_at.astimezone(LONDON).time() for slot in day_slots] == [time(h) for h in range(9, 17)]
        assert all(slot.end_at - slot.start_at == timedelta(minutes=60) for slot in day_slots)
    # The UTC instants differ by the DST shift: same wall clock, different offset.
    offsets = {
        day: slots_on(get_month_schedule(coach=coach, year=day.year, month=day.month, tz=LONDON, now=NOW), day)[
            0
        ].start_at.hour
        for day in (before, after)
    }
    assert offsets[before] != offsets[after]


def test_new_york_viewer_sees_london_slots_shifted_by_the_right_amount_as_each_zone_changes():
    """US DST starts 10 March 2030, UK 31 March: for three weeks the gap is 4 hours, not 5."""
    coach = CoachFactory(timezone="Europe/London")
    add_daily_availability(coach, date(2030, 3, 1), date(2030, 4, 5))
    schedule = get_month_schedule(coach=coach, year=2030, month=3, tz=NEW_YORK, now=NOW)
    first_local = {day.date: day.slots[0].start_at.astimezone(NEW_YORK).time() for day in schedule.days if day.slots}
    assert first_local[date(2030, 3, 5)] == time(4)  # GMT vs EST: 5 hours
    assert first_local[date(2030, 3, 20)] == time(5)  # GMT vs EDT: 4 hours
    april = get_month_schedule(coach=coach, year=2030, month=4, tz=NEW_YORK, now=NOW)
    assert april.day(date(2030, 4, 2)).slots[0].start_at.astimezone(NEW_YORK).time() == time(4)  # BST vs EDT


def test_tokyo_viewer_sees_a_late_utc_slot_on_the_next_day():
    coach = CoachFactory(timezone="UTC", session_minutes=30)
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2030, 1, 15, 23, 30, tzinfo=UTC), end_at=datetime(2030, 1, 16, 0, 0, tzinfo=UTC)
    )
    tokyo = get_month_schedule(coach=coach, year=2030, month=1, tz=TOKYO, now=NOW)
    assert tokyo.day(date(2030, 1, 15)).slots == []
    assert [s.start_at for s in tokyo.day(date(2030, 1, 16)).slots] == [datetime(2030, 1, 15, 23, 30, tzinfo=UTC)]
    london = get_month_schedule(coach=coach, year=2030, month=1, tz=LONDON, now=NOW)
    assert len(london.day(date(2030, 1, 15)).slots) == 1


def test_month_boundary_is_the_viewers_midnight():
    coach = CoachFactory(timezone="UTC", session_minutes=60)
    # 31 Jan 16:00 UTC is already 1 Feb 01:00 in Tokyo.
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2030, 1, 31, 16, tzinfo=UTC), end_at=datetime(2030, 1, 31, 17, tzinfo=UTC)
    )
    assert get_month_schedule(coach=coach, year=2030, month=1, tz=TOKYO, now=NOW).slot_count == 0
    assert get_month_schedule(coach=coach, year=2030, month=2, tz=TOKYO, now=NOW).slot_count == 1
    assert get_month_schedule(coach=coach, year=2030, month=1, tz=LONDON, now=NOW).slot_count == 1


# --- the rules, one at a time -------------------------------------------------------------------


DAY = datetime(2030, 1, 7, tzinfo=UTC)


def day_starts(coach, *, now=NOW):
    return [s.start_at for s in free_slots(coach=coach, start=DAY, end=DAY + timedelta(days=1), now=now)]


def at(hour, minute=0):
    return DAY.replace(hour=hour, minute=minute)


def test_slots_step_by_session_length_and_end_inside_availability():
    coach = CoachFactory(timezone="UTC", session_minutes=45)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(12))
    assert day_starts(coach) == [at(9), at(9, 45), at(10, 30), at(11, 15)]


def test_buffer_spaces_slots_and_keeps_clear_of_bookings():
    coach = CoachFactory(timezone="UTC", session_minutes=60, buffer_minutes=15)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(14))
    assert day_starts(coach) == [at(9), at(10, 15), at(11, 30), at(12, 45)]
    BookingFactory(coach=coach, start_at=at(10, 15), end_at=at(11, 15))
    # 09:00–10:00 ends exactly 15 minutes before the booking: allowed. 11:30 starts 15 after: allowed.
    assert day_starts(coach) == [at(9), at(11, 30), at(12, 45)]


def test_buffer_removes_a_slot_that_would_end_inside_it():
    coach = CoachFactory(timezone="UTC", session_minutes=60, buffer_minutes=30)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(13))
    BookingFactory(coach=coach, start_at=at(10, 45), end_at=at(11, 15))  # written directly, off-grid
    # 09:00–10:00 +30 = 10:30 < 10:45 → fine; 10:30–11:30 overlaps; 12:00 starts 45 min after → fine.
    assert day_starts(coach) == [at(9), at(12)]


def test_minimum_notice_removes_slots_starting_too_soon():
    coach = CoachFactory(timezone="UTC", session_minutes=60, min_notice_minutes=120)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(14))
    assert day_starts(coach, now=at(8)) == [at(10), at(11), at(12), at(13)]


def test_never_offers_the_past():
    coach = CoachFactory(timezone="UTC", session_minutes=60, min_notice_minutes=0)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(13))
    assert day_starts(coach, now=at(10, 30)) == [at(11), at(12)]


def test_horizon_removes_slots_too_far_ahead():
    coach = CoachFactory(timezone="UTC", session_minutes=60, horizon_days=1)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(13))
    assert day_starts(coach, now=at(10) - timedelta(days=1)) == [at(9), at(10)]


def test_google_busy_slot_removes_exactly_the_overlapping_slots():
    coach = CoachFactory(timezone="UTC", session_minutes=60)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(14))
    CoachBusySlotFactory(coach=coach, start_at=at(10, 30), end_at=at(11, 30))
    assert day_starts(coach) == [at(9), at(12), at(13)]


def test_pending_holds_block_like_confirmed_bookings_and_cancelled_ones_do_not():
    coach = CoachFactory(timezone="UTC", session_minutes=60)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(12))
    BookingFactory(coach=coach, start_at=at(9), end_at=at(10), held=True)
    BookingFactory(coach=coach, start_at=at(10), end_at=at(11), cancelled=True)
    BookingFactory(coach=coach, start_at=at(11), end_at=at(12), expired=True)
    assert day_starts(coach) == [at(10), at(11)]


def test_the_coachs_own_workshops_block_their_time_and_appear_in_the_grid():
    coach = CoachFactory(timezone="UTC", session_minutes=60)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(14))
    workshop = WorkshopFactory(host=coach, start_at=at(11), end_at=at(12, 30), capacity=5)
    assert day_starts(coach) == [at(9), at(10), at(13)]
    schedule = get_month_schedule(coach=coach, year=2030, month=1, tz=LONDON, now=NOW)
    offers = schedule.day(DAY.date()).workshops
    assert [(o.workshop, o.seats_left) for o in offers] == [(workshop, 5)]


def test_full_workshop_is_shown_as_full_and_unpublished_is_hidden_but_still_blocks():
    coach = CoachFactory(timezone="UTC", session_minutes=60)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(14))
    full = WorkshopFactory(host=coach, start_at=at(9), end_at=at(10), capacity=2)
    BookingFactory(workshop=full, seats=2)
    WorkshopFactory(host=coach, start_at=at(12), end_at=at(13), is_published=False)
    schedule = get_month_schedule(coach=coach, year=2030, month=1, tz=LONDON, now=NOW)
    day = schedule.day(DAY.date())
    assert [(o.workshop, o.is_full) for o in day.workshops] == [(full, True)]
    assert [s.start_at for s in day.slots] == [at(10), at(11), at(13)]


def test_inactive_coach_offers_nothing():
    coach = CoachFactory(timezone="UTC", is_active=False)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(14))
    assert day_starts(coach) == []


def test_workshops_month_lists_published_workshops_with_seats_left():
    first = WorkshopFactory(start_at=at(18), end_at=at(20), capacity=3)
    BookingFactory(workshop=first, seats=2)
    WorkshopFactory(start_at=at(18) + timedelta(days=40), end_at=at(20) + timedelta(days=40))
    WorkshopFactory(start_at=at(9), end_at=at(10), is_published=False)
    schedule = get_workshops_month(year=2030, month=1, tz=LONDON, now=NOW)
    offers = [offer for day in schedule.days for offer in day.workshops]
    assert [(o.workshop, o.seats_left) for o in offers] == [(first, 1)]


def test_month_schedule_runs_a_constant_handful_of_queries(django_assert_max_num_queries):
    coach = CoachFactory(timezone="Europe/London", session_minutes=30)
    add_daily_availability(coach, date(2030, 1, 1), date(2030, 1, 31))
    for day in range(1, 29):
        BookingFactory(
            coach=coach,
            start_at=datetime(2030, 1, day, 10, tzinfo=UTC),
            end_at=datetime(2030, 1, day, 10, 30, tzinfo=UTC),
        )
        CoachBusySlotFactory(
            coach=coach, start_at=datetime(2030, 1, day, 14, tzinfo=UTC), end_at=datetime(2030, 1, day, 15, tzinfo=UTC)
        )
    for day in (5, 12, 19):
        WorkshopFactory(
            host=coach, start_at=datetime(2030, 1, day, 12, tzinfo=UTC), end_at=datetime(2030, 1, day, 13, tzinfo=UTC)
        )
    session_type = session_type_of(coach)
    with django_assert_max_num_queries(4):
        schedule = get_month_schedule(coach=coach, year=2030, month=1, tz=TOKYO, now=NOW, session_type=session_type)
        assert schedule.slot_count > 300


# --- properties ----------------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=24 * 60)


def spans(max_size):
    return st.lists(
        st.tuples(minutes, st.integers(min_value=5, max_value=300)).map(
            lambda p: (DAY + timedelta(minutes=p[0]), DAY + timedelta(minutes=p[0] + p[1]))
        ),
        max_size=max_size,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    availability=spans(4),
    bookings=spans(4),
    busy=spans(3),
    workshops=spans(2),
    session=st.sampled_from([15, 30, 45, 60, 90]),
    buffer=st.sampled_from([0, 5, 15, 30]),
)
def test_no_offered_slot_ever_overlaps_a_blocker_and_every_slot_lies_in_availability(
    availability, bookings, busy, workshops, session, buffer
):
    Booking.objects.all().delete()
    coach = CoachFactory(timezone="UTC", session_minutes=session, buffer_minutes=buffer)
    for start, end in availability:
        AvailabilityBlockFactory(coach=coach, start_at=start, end_at=end)
    # Active bookings of one coach never overlap (PostgreSQL's exclusion constraint forbids it).
    bookings = merge_intervals(bookings)
    for start, end in bookings:
        BookingFactory(coach=coach, start_at=start, end_at=end, status=Booking.Status.CONFIRMED)
    for start, end in busy:
        CoachBusySlotFactory(coach=coach, start_at=start, end_at=end)
    for start, end in workshops:
        WorkshopFactory(host=coach, start_at=start, end_at=end)
    offered = free_slots(coach=coach, start=DAY - timedelta(days=1), end=DAY + timedelta(days=2), now=NOW)
    pad = timedelta(minutes=buffer)
    merged_availability = merge_intervals(availability)
    for slot in offered:
        assert slot.end_at - slot.start_at == timedelta(minutes=session)
        assert any(start <= slot.start_at and slot.end_at <= end for start, end in merged_availability)
        for start, end in bookings + busy + workshops:
            assert not (slot.start_at < end + pad and start - pad < slot.end_at), (slot, start, end)
    # Offered slots never overlap each other.
    for earlier, later in zip(offered, offered[1:], strict=False):
        assert earlier.end_at <= later.start_at


@given(
    blockers=st.lists(st.tuples(minutes, st.integers(1, 200)), max_size=8),
    length=st.sampled_from([15, 30, 60]),
)
def test_sweep_matches_brute_force(blockers, length):
    base = DAY
    intervals = merge_intervals([(base + timedelta(minutes=s), base + timedelta(minutes=s + d)) for s, d in blockers])
    slots = candidate_starts(
        [(base, base + timedelta(hours=24))], length=timedelta(minutes=length), step=timedelta(minutes=length)
    )
    expected = [s for s in slots if not any(b0 < s.end_at and s.start_at < b1 for b0, b1 in intervals)]
    assert remove_blocked(slots, intervals) == expected
