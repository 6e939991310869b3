"""Recurring sessions, read side: when each occurrence falls (the coach's wall clock, across DST)
and which occurrences of a series a guest is shown as free."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coaching.exceptions import BeyondHorizon, RecurringNotAllowed, SlotUnavailable
from coaching.schedule.recurrence import (
    FORTNIGHTLY,
    WEEKLY,
    occurrence_starts,
    recurrence_offer,
    recurrence_refusal,
    series_preview,
)
from coaching.tests.factories import BookingFactory, CoachFactory, WeeklyHoursFactory
from coaching.wallclock import local_to_utc

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = datetime(2030, 3, 1, tzinfo=UTC)
# Tuesday 12 March 2030, 18:00 in London (GMT); British Summer Time starts on Sunday 31 March.
FIRST = datetime(2030, 3, 12, 18, tzinfo=UTC)


def weekly_preview(coach, *, count: int, now=NOW):
    """The weekly series from FIRST of the coach's first session type, as the guest is shown it."""
    return series_preview(
        coach=coach,
        session_type=coach.default_session_type(),
        first_start_at=FIRST,
        count=count,
        every_weeks=WEEKLY,
        now=now,
    )


def test_eight_weekly_occurrences_across_a_dst_change_keep_their_local_time():
    starts = occurrence_starts(FIRST, zone=LONDON, every_weeks=WEEKLY, count=8)

    assert len(starts) == 8
    assert [start.astimezone(LONDON).time() for start in starts] == [time(18)] * 8
    assert [start.astimezone(LONDON).date() for start in starts] == [
        date(2030, 3, 12) + timedelta(weeks=week) for week in range(8)
    ]
    # The wall clock stays put, so the instant moves: 18:00 GMT is 18:00 UTC, 18:00 BST is 17:00 UTC.
    assert [start.hour for start in starts] == [18, 18, 18, 17, 17, 17, 17, 17]
    assert {start.astimezone(LONDON).tzname() for start in starts[3:]} == {"BST"}


def test_a_guest_in_new_york_sees_the_series_move_on_their_clock_where_the_two_changes_differ():
    # The US changes on 10 March, Britain on 31 March: for three weeks London is 4 hours ahead.
    starts = occurrence_starts(FIRST, zone=LONDON, every_weeks=WEEKLY, count=4)

    assert [start.astimezone(NEW_YORK).time() for start in starts] == [time(14), time(14), time(14), time(13)]


def test_fortnightly_occurrences_are_two_weeks_apart_on_the_wall_clock():
    starts = occurrence_starts(FIRST, zone=LONDON, every_weeks=FORTNIGHTLY, count=3)

    assert [start.astimezone(LONDON).replace(tzinfo=None) for start in starts] == [
        datetime(2030, 3, 12, 18),
        datetime(2030, 3, 26, 18),
        datetime(2030, 4, 9, 18),
    ]


def test_a_weekly_time_skipped_by_the_spring_forward_moves_forward_by_the_gap_that_week_only():
    # 01:30 does not exist in London on Sunday 31 March 2030 (01:00 GMT jumps to 02:00 BST).
    first = local_to_utc(date(2030, 3, 24), time(1, 30), LONDON)
    starts = occurrence_starts(first, zone=LONDON, every_weeks=WEEKLY, count=3)

    assert [start.astimezone(LONDON).strftime("%d %H:%M %Z") for start in starts] == [
        "24 01:30 GMT",
        "31 02:30 BST",  # forward, never back to 00:30 GMT
        "07 01:30 BST",
    ]


@given(
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2035, 12, 31)),
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    every_weeks=st.sampled_from([WEEKLY, FORTNIGHTLY]),
    zone=st.sampled_from([LONDON, NEW_YORK, zoneinfo.ZoneInfo("Australia/Sydney")]),
)
def test_every_occurrence_is_on_the_same_weekday_and_wall_time_unless_a_spring_forward_skips_it(
    day, minutes, every_weeks, zone
):
    wall = time(minutes // 60, minutes % 60)
    first = local_to_utc(day, wall, zone)
    starts = occurrence_starts(first, zone=zone, every_weeks=every_weeks, count=12)

    first_local = first.astimezone(zone)
    for index, start in enumerate(starts):
        local = start.astimezone(zone)
        assert local.date() == first_local.date() + timedelta(weeks=every_weeks * index)
        if local.time() != first_local.time():
            # Only a wall time that does not exist that day (a spring-forward gap) may move: forward, by the gap.
            assert local_to_utc(local.date(), first_local.time(), zone) == start
            assert local.time() > first_local.time()


@pytest.mark.django_db
def test_one_taken_week_is_shown_as_taken_and_the_other_seven_as_free():
    coach = CoachFactory(timezone="Europe/London", horizon_days=365)
    WeeklyHoursFactory(coach=coach, weekday=1, start_time=time(17), end_time=time(20))
    taken_week = occurrence_starts(FIRST, zone=LONDON, every_weeks=WEEKLY, count=8)[4]
    BookingFactory(coach=coach, start_at=taken_week, end_at=taken_week + timedelta(hours=1))

    preview = weekly_preview(coach, count=8)

    assert [occurrence.number for occurrence in preview if occurrence.is_free] == [1, 2, 3, 4, 6, 7, 8]
    assert isinstance(preview[4].refusal, SlotUnavailable)
    assert preview[4].start_at == taken_week


@pytest.mark.django_db
def test_occurrences_beyond_the_horizon_are_shown_with_the_reason():
    coach = CoachFactory(timezone="Europe/London", horizon_days=30)
    WeeklyHoursFactory(coach=coach, weekday=1, start_time=time(17), end_time=time(20))

    preview = weekly_preview(coach, count=4)

    assert [occurrence.is_free for occurrence in preview] == [True, True, True, False]
    assert isinstance(preview[3].refusal, BeyondHorizon)


@pytest.mark.django_db
def test_a_session_type_allows_a_series_only_when_the_owner_says_so():
    coach = CoachFactory()
    session_type = coach.default_session_type()
    assert recurrence_offer(coach=coach) is None  # single sessions only, by default

    session_type.recurring_every_weeks = FORTNIGHTLY
    session_type.recurring_max_occurrences = 6
    session_type.save()

    offer = recurrence_offer(coach=coach)
    assert (offer.every_weeks, offer.max_occurrences, offer.repeat_display) == (2, 6, "fortnightly")
    assert recurrence_refusal(coach=coach, every_weeks=FORTNIGHTLY, count=6) is None
    assert isinstance(recurrence_refusal(coach=coach, every_weeks=WEEKLY, count=6), RecurringNotAllowed)
    assert isinstance(recurrence_refusal(coach=coach, every_weeks=FORTNIGHTLY, count=7), RecurringNotAllowed)
