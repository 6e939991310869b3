"""Availability from rules: weekly hours, date overrides and time off, expanded on read, plus
Bulk-add blocks as one-off extras — what guests are offered, and what the booking write accepts."""

import os
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coaching.exceptions import OutsideAvailability
from coaching.models import Booking, Coach
from coaching.schedule import free_slots, get_month_schedule, merge_intervals, validate_slot
from coaching.schedule.rules import subtract, time_off_span
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachBusySlotFactory,
    CoachFactory,
    DateOverrideFactory,
    TimeOffFactory,
    WeeklyHoursFactory,
    WorkshopFactory,
    session_type_of,
)
from coaching.wallclock import format_days_in_zone, local_day_bounds, local_to_utc

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
MONDAY = date(2030, 1, 7)


def weekly(coach, weekdays, *ranges, **validity):
    for weekday in weekdays:
        for start, end in ranges:
            WeeklyHoursFactory(coach=coach, weekday=weekday, start_time=start, end_time=end, **validity)


def local_starts(coach, day: date, *, now=NOW, viewer=None) -> list[time]:
    """Start times offered on the coach's local `day`, read on the coach's clock (or `viewer`'s)."""
    zone = coach.zone
    start, end = local_day_bounds(day, zone)
    return [
        slot.start_at.astimezone(viewer or zone).time()
        for slot in free_slots(coach=coach, start=start, end=end, now=now)
    ]


def hours(*values) -> list[time]:
    return [time(*value) if isinstance(value, tuple) else time(value) for value in values]


# --- DST: 09:00 stays 09:00 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone_name, before, after",
    [
        pytest.param("Europe/London", date(2030, 3, 29), date(2030, 4, 1), id="London-spring-forward-31-Mar"),
        pytest.param("Europe/London", date(2030, 10, 25), date(2030, 10, 28), id="London-fall-back-27-Oct"),
        pytest.param("America/New_York", date(2030, 3, 8), date(2030, 3, 11), id="New-York-spring-forward-10-Mar"),
        pytest.param("America/New_York", date(2030, 11, 1), date(2030, 11, 4), id="New-York-fall-back-3-Nov"),
    ],
)
def test_weekly_hours_stay_at_the_same_wall_clock_time_on_both_sides_of_each_clock_change(zone_name, before, after):
    coach = CoachFactory(timezone=zone_name, session_minutes=60)
    weekly(coach, range(7), (time(9), time(12)), (time(14), time(17)))
    expected = hours(9, 10, 11, 14, 15, 16)
    assert local_starts(coach, before) == expected
    assert local_starts(coach, after) == expected
    # Same wall clock, different UTC instant: the offset really changed in between.
    first = {day: local_to_utc(day, time(9), coach.zone) for day in (before, after)}
    assert first[before].hour != first[after].hour


@pytest.mark.parametrize(
    "zone_name, change_day",
    [
        pytest.param("Europe/London", date(2030, 3, 31), id="London-23-hour-day"),
        pytest.param("Europe/London", date(2030, 10, 27), id="London-25-hour-day"),
        pytest.param("America/New_York", date(2030, 3, 10), id="New-York-23-hour-day"),
        pytest.param("America/New_York", date(2030, 11, 3), id="New-York-25-hour-day"),
    ],
)
def test_on_the_clock_change_day_itself_the_hours_are_wall_clock_hours(zone_name, change_day):
    coach = CoachFactory(timezone=zone_name, session_minutes=60)
    weekly(coach, range(7), (time(0, 0), time(4)), (time(9), time(12)))
    starts = local_starts(coach, change_day)
    assert starts[-3:] == hours(9, 10, 11)
    # 00:00–04:00 local is 3 hours long on a spring-forward day and 5 on a fall-back day: sessions
    # are real 60-minute spans, so their count follows the real length.
    night = local_day_bounds(change_day, coach.zone)[0]
    length = local_to_utc(change_day, time(4), coach.zone) - night
    assert len(starts) - 3 == length // timedelta(hours=1)


def test_a_new_york_guest_sees_london_weekly_hours_move_while_only_one_zone_has_changed():
    """US clocks change on 10 March 2030, UK clocks on 31 March: for three weeks 09:00 London is
    05:00 in New York, not 04:00."""
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(5), (time(9), time(10)))
    march = get_month_schedule(coach=coach, year=2030, month=3, tz=NEW_YORK, now=NOW)
    first = {day.date: day.slots[0].start_at.astimezone(NEW_YORK).time() for day in march.days if day.slots}
    assert first[date(2030, 3, 5)] == time(4)
    assert first[date(2030, 3, 20)] == time(5)
    april = get_month_schedule(coach=coach, year=2030, month=4, tz=NEW_YORK, now=NOW)
    assert april.day(date(2030, 4, 2)).slots[0].start_at.astimezone(NEW_YORK).time() == time(4)


# --- across the date line ------------------------------------------------------------------------


def test_a_tokyo_coachs_monday_morning_is_sunday_afternoon_for_a_guest_in_los_angeles():
    coach = CoachFactory(timezone="Asia/Tokyo", session_minutes=60)
    weekly(coach, [0], (time(9), time(12)))  # Mondays only, Tokyo time
    schedule = get_month_schedule(coach=coach, year=2030, month=1, tz=LOS_ANGELES, now=NOW)
    days_with_slots = [day.date for day in schedule.days if day.slots]
    # Tokyo Monday 09:00 (UTC+9) is Sunday 16:00 in Los Angeles (UTC-8) in January.
    assert days_with_slots and all(day.weekday() == 6 for day in days_with_slots)
    sunday = schedule.day(date(2030, 1, 6))
    assert [slot.start_at.astimezone(LOS_ANGELES).time() for slot in sunday.slots] == hours(16, 17, 18)
    assert [slot.start_at.astimezone(TOKYO).date() for slot in sunday.slots] == [MONDAY] * 3
    # The coach's own calendar still says Monday.
    assert get_month_schedule(coach=coach, year=2030, month=1, tz=TOKYO, now=NOW).day(MONDAY).slots


def test_a_tokyo_coachs_last_monday_of_the_month_lands_in_los_angeles_month_before():
    coach = CoachFactory(timezone="Asia/Tokyo", session_minutes=60)
    weekly(coach, [3], (time(8), time(9)))  # Thursday 1 August 2030, 08:00 Tokyo
    july = get_month_schedule(coach=coach, year=2030, month=7, tz=LOS_ANGELES, now=NOW)
    assert [slot.start_at.astimezone(TOKYO).date() for slot in july.day(date(2030, 7, 31)).slots] == [date(2030, 8, 1)]
    august = get_month_schedule(coach=coach, year=2030, month=8, tz=LOS_ANGELES, now=NOW)
    assert date(2030, 8, 1) not in {slot.start_at.astimezone(TOKYO).date() for slot in august.days[0].slots}


# --- overrides -----------------------------------------------------------------------------------


def test_a_date_override_replaces_that_days_weekly_hours_and_only_that_day():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(5), (time(9), time(12)), (time(14), time(17)))
    DateOverrideFactory(coach=coach, date=MONDAY, start_time=time(7), end_time=time(9))
    DateOverrideFactory(coach=coach, date=MONDAY, start_time=time(18), end_time=time(20))
    assert local_starts(coach, MONDAY) == hours(7, 8, 18, 19)
    assert local_starts(coach, MONDAY + timedelta(days=7)) == hours(9, 10, 11, 14, 15, 16)


def test_an_override_can_open_a_day_without_weekly_hours():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(5), (time(9), time(12)))
    saturday = date(2030, 1, 12)
    DateOverrideFactory(coach=coach, date=saturday, start_time=time(10), end_time=time(12))
    assert local_starts(coach, saturday) == hours(10, 11)
    assert local_starts(coach, saturday + timedelta(days=7)) == []


def test_unavailable_all_day_offers_nothing_that_day_not_even_a_bulk_added_block():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(5), (time(9), time(12)))
    AvailabilityBlockFactory(
        coach=coach, start_at=local_to_utc(MONDAY, time(18), LONDON), end_at=local_to_utc(MONDAY, time(20), LONDON)
    )
    DateOverrideFactory(coach=coach, date=MONDAY, start_time=None, end_time=None, unavailable=True)
    assert local_starts(coach, MONDAY) == []
    assert local_starts(coach, MONDAY + timedelta(days=1)) == hours(9, 10, 11)


def test_bulk_added_blocks_add_to_weekly_hours_and_an_override_keeps_them():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(5), (time(9), time(11)))
    for day in (MONDAY, MONDAY + timedelta(days=1)):
        AvailabilityBlockFactory(
            coach=coach, start_at=local_to_utc(day, time(18), LONDON), end_at=local_to_utc(day, time(19), LONDON)
        )
    DateOverrideFactory(coach=coach, date=MONDAY + timedelta(days=1), start_time=time(13), end_time=time(14))
    assert local_starts(coach, MONDAY) == hours(9, 10, 18)
    assert local_starts(coach, MONDAY + timedelta(days=1)) == hours(13, 18)


def test_a_block_touching_the_weekly_hours_extends_them_and_sessions_step_from_the_start():
    coach = CoachFactory(timezone="Europe/London", session_minutes=45)
    weekly(coach, [0], (time(9), time(12)))
    AvailabilityBlockFactory(
        coach=coach, start_at=local_to_utc(MONDAY, time(12), LONDON), end_at=local_to_utc(MONDAY, time(13), LONDON)
    )
    assert local_starts(coach, MONDAY) == hours(9, (9, 45), (10, 30), (11, 15), 12)


# --- time off ------------------------------------------------------------------------------------


def test_time_off_across_a_month_boundary_empties_the_end_of_one_month_and_the_start_of_the_next():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(7), (time(9), time(12)))
    TimeOffFactory(coach=coach, start_date=date(2030, 1, 29), end_date=date(2030, 2, 3), reason="Ski trip")
    january = get_month_schedule(coach=coach, year=2030, month=1, tz=LONDON, now=NOW)
    february = get_month_schedule(coach=coach, year=2030, month=2, tz=LONDON, now=NOW)
    assert [day.date.day for day in january.days if not day.slots] == [29, 30, 31]
    assert [day.date.day for day in february.days if not day.slots] == [1, 2, 3]
    assert len(january.day(date(2030, 1, 28)).slots) == 3
    assert len(february.day(date(2030, 2, 4)).slots) == 3
    # Time off is the owner's: the guest's calendar never names it.
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("coaching:coach_calendar", args=[coach.slug]), {"month": "2030-01"})
    assert page.status_code == 200 and "Ski trip" not in page.content.decode()


def test_time_off_removes_bulk_added_blocks_too():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    AvailabilityBlockFactory(
        coach=coach, start_at=local_to_utc(MONDAY, time(9), LONDON), end_at=local_to_utc(MONDAY, time(12), LONDON)
    )
    TimeOffFactory(coach=coach, start_date=MONDAY, end_date=MONDAY, reason="Dentist")
    assert local_starts(coach, MONDAY) == []


def test_time_off_with_times_takes_only_those_hours_and_sessions_resume_when_it_ends():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(7), (time(9), time(17)))
    # From Monday 15:00 to Wednesday 10:30.
    TimeOffFactory(
        coach=coach,
        start_date=MONDAY,
        start_time=time(15),
        end_date=MONDAY + timedelta(days=2),
        end_time=time(10, 30),
        reason="Conference",
    )
    assert local_starts(coach, MONDAY) == hours(9, 10, 11, 12, 13, 14)
    assert local_starts(coach, MONDAY + timedelta(days=1)) == []
    assert local_starts(coach, MONDAY + timedelta(days=2)) == hours(
        (10, 30), (11, 30), (12, 30), (13, 30), (14, 30), (15, 30)
    )


@pytest.mark.parametrize(
    "start, end, text",
    [
        ((date(2030, 1, 10), None), (date(2030, 1, 10), None), "Thu 10 Jan 2030 (all day)"),
        ((date(2030, 3, 29), None), (date(2030, 4, 1), None), "Fri 29 Mar – Mon 01 Apr 2030 (whole days)"),
        ((date(2030, 1, 10), time(10, 30)), (date(2030, 1, 10), None), "Thu 10 Jan 2030, from 10:30"),
        ((date(2030, 1, 10), None), (date(2030, 1, 10), time(13)), "Thu 10 Jan 2030, until 13:00"),
        ((date(2030, 1, 10), time(9)), (date(2030, 1, 10), time(13)), "Thu 10 Jan 2030, 09:00–13:00"),
        ((date(2030, 1, 10), time(15)), (date(2030, 1, 12), time(10)), "Thu 10 Jan 15:00 – Sat 12 Jan 2030, 10:00"),
        ((date(2030, 1, 10), time(15)), (date(2030, 1, 12), None), "Thu 10 Jan 15:00 – Sat 12 Jan 2030 (end of day)"),
    ],
)
def test_time_off_reads_back_the_way_the_owner_entered_it_even_across_a_clock_change(start, end, text):
    span = time_off_span(start[0], start[1], end[0], end[1], LONDON)
    assert format_days_in_zone(*span, LONDON) == text


# --- valid from / until --------------------------------------------------------------------------


def test_valid_from_and_until_switch_to_a_new_schedule_in_the_middle_of_a_month():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60)
    weekly(coach, range(7), (time(9), time(11)), valid_until=date(2030, 1, 15))
    weekly(coach, range(7), (time(13), time(15)), valid_from=date(2030, 1, 16))
    january = get_month_schedule(coach=coach, year=2030, month=1, tz=LONDON, now=NOW)
    by_day = {day.date.day: [s.start_at.astimezone(LONDON).time() for s in day.slots] for day in january.days}
    assert by_day[15] == hours(9, 10)
    assert by_day[16] == hours(13, 14)
    assert all(by_day[d] == hours(9, 10) for d in range(1, 16))
    assert all(by_day[d] == hours(13, 14) for d in range(16, 32))


def test_weekly_hours_never_run_dry_years_ahead():
    coach = CoachFactory(timezone="Europe/London", session_minutes=60, horizon_days=60)
    weekly(coach, range(5), (time(9), time(12)))
    later = datetime(2041, 6, 10, tzinfo=UTC)
    schedule = get_month_schedule(coach=coach, year=2041, month=7, tz=LONDON, now=later)
    assert schedule.slot_count == 23 * 3  # every weekday of July 2041, within the 60-day horizon


# --- the booking write checks the same rules -----------------------------------------------------


def test_validate_slot_accepts_exactly_what_the_calendar_offers_on_a_rules_day():
    coach = CoachFactory(timezone="Europe/London", session_minutes=45, buffer_minutes=15)
    weekly(coach, range(7), (time(9), time(12)), (time(13), time(17)))
    TimeOffFactory(coach=coach, start_date=MONDAY, start_time=time(10, 30), end_date=MONDAY, end_time=time(13, 30))
    start, end = local_day_bounds(MONDAY, LONDON)
    offered = free_slots(coach=coach, start=start, end=end, now=NOW)
    assert [s.start_at.astimezone(LONDON).time() for s in offered] == hours(9, (13, 30), (14, 30), (15, 30))
    for slot in offered:
        assert validate_slot(coach=coach, start_at=slot.start_at, now=NOW) == slot
    for minute in range(0, 24 * 60, 15):
        start_at = start + timedelta(minutes=minute)
        if start_at not in {slot.start_at for slot in offered}:
            with pytest.raises(OutsideAvailability):
                validate_slot(coach=coach, start_at=start_at, now=NOW)


@pytest.mark.parametrize(
    "when, why",
    [
        pytest.param(datetime(2030, 1, 7, 18, tzinfo=UTC), "outside weekly hours", id="outside-weekly-hours"),
        pytest.param(datetime(2030, 1, 8, 9, tzinfo=UTC), "unavailable all day", id="override-unavailable"),
        pytest.param(datetime(2030, 1, 9, 10, tzinfo=UTC), "time off", id="time-off"),
        pytest.param(datetime(2030, 1, 12, 10, tzinfo=UTC), "a Saturday without hours", id="weekend"),
    ],
)
def test_a_forged_booking_post_outside_the_rules_is_refused_and_writes_nothing(when, why):
    coach = CoachFactory(slug="rules-coach", timezone="Europe/London", session_minutes=60)
    weekly(coach, range(5), (time(9), time(12)))
    DateOverrideFactory(coach=coach, date=date(2030, 1, 8), start_time=None, end_time=None, unavailable=True)
    TimeOffFactory(coach=coach, start_date=date(2030, 1, 9), end_date=date(2030, 1, 9))
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    url = reverse("coaching:coach_slot", args=[coach.slug]) + "?start=" + when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with time_machine.travel(NOW, tick=False):
        refused = client.post(url, {"name": "Jo Guest", "email": "jo@example.com"}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 409, why
        assert "That time is not offered" in refused.content.decode()
        assert not Booking.objects.exists()
        # The same form, posted for a time the rules do offer, books.
        good = datetime(2030, 1, 10, 9, tzinfo=UTC)
        url = reverse("coaching:coach_slot", args=[coach.slug]) + "?start=" + good.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (
            client.post(url, {"name": "Jo Guest", "email": "jo@example.com"}, HTTP_HX_REQUEST="true").status_code == 200
        )
    assert Booking.objects.get().start_at == good


# --- query budget --------------------------------------------------------------------------------


def test_a_month_on_rules_runs_four_queries_whatever_it_holds(django_assert_max_num_queries):
    """The issue allows five; the three rule tables come back with the blocks in one UNION ALL query."""
    coach = CoachFactory(timezone="Europe/London", session_minutes=30)
    weekly(coach, range(5), (time(9), time(12)), (time(13), time(17)), valid_until=date(2030, 1, 20))
    weekly(coach, range(7), (time(10), time(16)), valid_from=date(2030, 1, 21))
    for day in (3, 10, 17):
        DateOverrideFactory(coach=coach, date=date(2030, 1, day), start_time=time(8), end_time=time(10))
    DateOverrideFactory(coach=coach, date=date(2030, 1, 24), start_time=None, end_time=None, unavailable=True)
    TimeOffFactory(coach=coach, start_date=date(2030, 1, 14), end_date=date(2030, 1, 16))
    TimeOffFactory(coach=coach, start_date=date(2030, 1, 28), end_date=date(2030, 2, 2))
    for day in range(1, 29):
        AvailabilityBlockFactory(
            coach=coach,
            start_at=local_to_utc(date(2030, 1, day), time(19), LONDON),
            end_at=local_to_utc(date(2030, 1, day), time(20), LONDON),
        )
        BookingFactory(
            coach=coach,
            start_at=datetime(2030, 1, day, 10, tzinfo=UTC),
            end_at=datetime(2030, 1, day, 10, 30, tzinfo=UTC),
        )
        CoachBusySlotFactory(
            coach=coach, start_at=datetime(2030, 1, day, 15, tzinfo=UTC), end_at=datetime(2030, 1, day, 16, tzinfo=UTC)
        )
    for day in (5, 12, 19):
        WorkshopFactory(
            host=coach, start_at=datetime(2030, 1, day, 12, tzinfo=UTC), end_at=datetime(2030, 1, day, 13, tzinfo=UTC)
        )
    session_type = session_type_of(coach)
    with django_assert_max_num_queries(4):
        schedule = get_month_schedule(coach=coach, year=2030, month=1, tz=TOKYO, now=NOW, session_type=session_type)
    assert schedule.slot_count > 150
    slot = next(day.slots[0] for day in schedule.days[20:] if day.slots)
    with django_assert_max_num_queries(4):
        validate_slot(coach=coach, start_at=slot.start_at, now=NOW, session_type=session_type)


# --- properties ----------------------------------------------------------------------------------

WEEK = [MONDAY + timedelta(days=n) for n in range(7)]
quarter_hours = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, q % 4 * 15))


def _ranges(max_size):
    return st.lists(
        st.tuples(quarter_hours, st.integers(min_value=1, max_value=32)).map(
            lambda p: (p[0], (datetime.combine(date.min, p[0]) + timedelta(minutes=15 * p[1])).time())
        ),
        max_size=max_size,
    ).map(lambda ranges: [(s, e) for s, e in ranges if e > s or e == time(0)])


def _spans(max_size, *, max_minutes=300):
    base = datetime.combine(MONDAY, time(0), tzinfo=UTC)
    return st.lists(
        st.tuples(st.integers(0, 7 * 24 * 60), st.integers(5, max_minutes)).map(
            lambda p: (base + timedelta(minutes=p[0]), base + timedelta(minutes=p[0] + p[1]))
        ),
        max_size=max_size,
    )


def _without_overlaps(ranges):
    kept = []
    for start, end in sorted(ranges):
        if not kept or kept[-1][1] != time(0) and kept[-1][1] <= start:
            kept.append((start, end))
    return kept


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    zone_name=st.sampled_from(["Europe/London", "America/New_York", "Asia/Tokyo", "UTC"]),
    weekly_ranges=st.dictionaries(st.integers(0, 6), _ranges(3), max_size=7),
    override_days=st.dictionaries(st.sampled_from(WEEK), st.one_of(st.none(), _ranges(2)), max_size=3),
    blocks=_spans(4),
    time_off=st.lists(
        st.tuples(st.sampled_from(WEEK), st.integers(0, 2), st.one_of(st.none(), quarter_hours)), max_size=2
    ),
    bookings=_spans(4, max_minutes=120),
    busy=_spans(3),
    workshops=_spans(2),
    session=st.sampled_from([30, 45, 60]),
    buffer=st.sampled_from([0, 10, 15]),
)
def test_every_offered_slot_lies_in_weekly_hours_or_blocks_and_clear_of_time_off_and_every_blocker(
    zone_name, weekly_ranges, override_days, blocks, time_off, bookings, busy, workshops, session, buffer
):
    coach = CoachFactory(timezone=zone_name, session_minutes=session, buffer_minutes=buffer)
    zone = coach.zone
    for weekday, ranges in weekly_ranges.items():
        weekly(coach, [weekday], *_without_overlaps(ranges))
    for day, ranges in override_days.items():
        if ranges is None:
            DateOverrideFactory(coach=coach, date=day, start_time=None, end_time=None, unavailable=True)
        for start, end in _without_overlaps(ranges or []):
            DateOverrideFactory(coach=coach, date=day, start_time=start, end_time=end)
    for start, end in merge_intervals(blocks):
        AvailabilityBlockFactory(coach=coach, start_at=start, end_at=end)
    off_spans = []
    for first_day, length, start_time in time_off:
        TimeOffFactory(
            coach=coach, start_date=first_day, start_time=start_time, end_date=first_day + timedelta(days=length)
        )
        off_spans.append(
            (
                local_to_utc(first_day, start_time or time(0), zone),
                local_day_bounds(first_day + timedelta(days=length), zone)[1],
            )
        )
    bookings = merge_intervals(bookings)  # active bookings of one coach never overlap
    for start, end in bookings:
        BookingFactory(coach=coach, start_at=start, end_at=end)
    for start, end in busy:
        CoachBusySlotFactory(coach=coach, start_at=start, end_at=end)
    for start, end in workshops:
        WorkshopFactory(host=coach, start_at=start, end_at=end)

    # What the rules say, computed independently and naively, day by day in the coach's zone.
    opened, closed = [], list(off_spans)
    for day in [WEEK[0] - timedelta(days=n) for n in (2, 1)] + WEEK + [WEEK[-1] + timedelta(days=n) for n in (1, 2)]:
        if day in override_days and override_days[day] is None:
            closed.append(local_day_bounds(day, zone))
            continue
        # A date whose override ranges all fell away has no override rows: its weekly hours apply.
        ranges = _without_overlaps(override_days.get(day) or []) or _without_overlaps(
            weekly_ranges.get(day.weekday(), [])
        )
        for start, end in ranges:
            end_day = day + timedelta(days=1) if end == time(0) else day
            opened.append((local_to_utc(day, start, zone), local_to_utc(end_day, end, zone)))
    allowed = subtract(opened + merge_intervals(blocks), closed)

    window = (
        datetime.combine(MONDAY, time(0), tzinfo=UTC),
        datetime.combine(MONDAY + timedelta(days=7), time(0), tzinfo=UTC),
    )
    offered = free_slots(coach=coach, start=window[0], end=window[1], now=NOW)
    pad = timedelta(minutes=buffer)
    for slot in offered:
        assert slot.end_at - slot.start_at == timedelta(minutes=session)
        assert any(start <= slot.start_at and slot.end_at <= end for start, end in allowed), slot
        for start, end in off_spans:
            assert not (slot.start_at < end and start < slot.end_at), ("time off", slot)
        for start, end in bookings + busy + workshops:
            assert not (slot.start_at < end + pad and start - pad < slot.end_at), (slot, start, end)
        # The booking write accepts every time the calendar offers.
        assert validate_slot(coach=coach, start_at=slot.start_at, now=NOW) == slot
    for earlier, later in zip(offered, offered[1:], strict=False):
        assert earlier.end_at <= later.start_at


# --- the seeded demo never runs dry --------------------------------------------------------------


@pytest.mark.parametrize(
    "today",
    [
        pytest.param(None, id="today"),
        pytest.param(datetime(2031, 2, 10, 12, tzinfo=UTC), id="55-days-crosses-spring-forward"),
        pytest.param(datetime(2033, 9, 20, 12, tzinfo=UTC), id="55-days-crosses-fall-back"),
    ],
)
def test_the_seeded_demo_calendar_still_has_openings_55_days_ahead(today):
    travel = time_machine.travel(today, tick=False) if today else None
    if travel:
        travel.start()
    try:
        call_command("seed_demo", stdout=open(os.devnull, "w"))
        for coach in Coach.objects.all():
            client = Client()
            client.cookies["USER_TIMEZONE"] = coach.timezone
            local_today = datetime.now(UTC).astimezone(coach.zone).date()
            target = local_today + timedelta(days=55)
            # Demo coaches work Monday to Friday: a target on a weekend asks for the Monday after.
            day = target + timedelta(days=(7 - target.weekday()) % 7 if target.weekday() >= 5 else 0)
            assert (day - local_today).days < coach.horizon_days
            month = client.get(reverse("coaching:coach_calendar", args=[coach.slug]), {"month": f"{day:%Y-%m}"})
            assert month.status_code == 200
            assert f'data-day="{day.isoformat()}"' in month.content.decode(), coach.name
            listing = client.get(reverse("coaching:coach_day", args=[coach.slug, day.isoformat()]))
            assert listing.status_code == 200
            assert listing.content.decode().count("data-start=") >= 3, coach.name
    finally:
        if travel:
            travel.stop()
