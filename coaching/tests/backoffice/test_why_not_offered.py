""" "Why is this time not offered?" on weekly hours: the day's windows (weekly hours or the date
override, Bulk-add blocks, time off), every candidate session with what removes it, one asked-about
time, and no lapsed hold reported as blocking a time guests can book."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from coaching.models import Booking
from coaching.schedule import diagnosis as diagnostics
from coaching.schedule import free_slots
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachFactory,
    DateOverrideFactory,
    TimeOffFactory,
    WeeklyHoursFactory,
)
from coaching.wallclock import local_day_bounds, local_to_utc

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
MONDAY = date(2030, 1, 7)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


# --- why is this time not offered? ---------------------------------------------------------------


@pytest.fixture
def rules_coach():
    """Weekly 09:00–12:00 Mon–Fri (London); Tue overridden 10:00–11:00; Wed unavailable; Thu time off
    from 10:30; a Bulk-add block Mon 18:00–19:00."""
    coach = CoachFactory(timezone="Europe/London", session_minutes=60, min_notice_minutes=0)
    for weekday in range(5):
        WeeklyHoursFactory(coach=coach, weekday=weekday, start_time=time(9), end_time=time(12))
    DateOverrideFactory(coach=coach, date=MONDAY + timedelta(days=1), start_time=time(10), end_time=time(11))
    DateOverrideFactory(coach=coach, date=MONDAY + timedelta(days=2), start_time=None, end_time=None, unavailable=True)
    TimeOffFactory(
        coach=coach,
        start_date=MONDAY + timedelta(days=3),
        start_time=time(10, 30),
        end_date=MONDAY + timedelta(days=3),
        end_time=None,
        reason="Conference",
    )
    AvailabilityBlockFactory(
        coach=coach, start_at=local_to_utc(MONDAY, time(18), LONDON), end_at=local_to_utc(MONDAY, time(19), LONDON)
    )
    return coach


def kinds(diagnosis):
    return {
        entry.slot.start_at.astimezone(LONDON).strftime("%H:%M"): [reason.kind for reason in entry.reasons]
        for entry in diagnosis.slots
    }


def test_diagnosis_lists_sessions_from_weekly_hours_and_blocks(rules_coach):
    diagnosis = diagnostics.explain_day(coach=rules_coach, day=MONDAY, now=NOW)
    assert kinds(diagnosis) == {"09:00": [], "10:00": [], "11:00": [], "18:00": []}
    assert diagnosis.hours.source == "weekly" and diagnosis.hours_text == "09:00–12:00"
    assert len(diagnosis.blocks) == 1


def test_diagnosis_names_the_date_override_for_the_weekly_sessions_it_replaced(rules_coach):
    tuesday = diagnostics.explain_day(coach=rules_coach, day=MONDAY + timedelta(days=1), now=NOW)
    assert kinds(tuesday) == {"09:00": ["override"], "10:00": [], "11:00": ["override"]}
    assert "instead of the weekly 09:00–12:00" in tuesday.slots[0].reasons[0].label
    wednesday = diagnostics.explain_day(coach=rules_coach, day=MONDAY + timedelta(days=2), now=NOW)
    assert kinds(wednesday) == {"09:00": ["override"], "10:00": ["override"], "11:00": ["override"]}
    assert wednesday.slots[0].reasons[0].label == "Date override: unavailable all day."


def test_diagnosis_names_the_time_off_with_its_reason(rules_coach):
    thursday = diagnostics.explain_day(coach=rules_coach, day=MONDAY + timedelta(days=3), now=NOW)
    assert kinds(thursday) == {"09:00": [], "10:00": ["time_off"], "11:00": ["time_off"]}
    assert thursday.slots[1].reasons[0].label == "Time off: Conference"
    assert [window.label for window in thursday.time_off] == ["Conference"]


def test_diagnosis_explains_a_time_outside_weekly_hours(rules_coach):
    monday = diagnostics.explain_day(coach=rules_coach, day=MONDAY, now=NOW, at=time(8))
    assert [(r.kind, r.label) for r in monday.asked.reasons] == [
        ("outside_hours", "Outside weekly hours (Monday: 09:00–12:00).")
    ]
    saturday = diagnostics.explain_day(coach=rules_coach, day=MONDAY + timedelta(days=5), now=NOW, at=time(10))
    assert [r.label for r in saturday.asked.reasons] == ["Outside weekly hours: no weekly hours on Saturdays."]
    offered = diagnostics.explain_day(coach=rules_coach, day=MONDAY, now=NOW, at=time(10))
    assert offered.asked.offered
    off_grid = diagnostics.explain_day(coach=rules_coach, day=MONDAY, now=NOW, at=time(9, 30))
    assert [r.kind for r in off_grid.asked.reasons] == ["off_grid"]


@pytest.mark.parametrize("offset", range(7))
def test_diagnosis_offers_exactly_what_guests_are_offered_on_every_kind_of_day(rules_coach, offset):
    day = MONDAY + timedelta(days=offset)
    BookingFactory(
        coach=rules_coach,
        start_at=local_to_utc(MONDAY, time(10), LONDON),
        end_at=local_to_utc(MONDAY, time(11), LONDON),
    )
    diagnosis = diagnostics.explain_day(coach=rules_coach, day=day, now=NOW)
    start, end = local_day_bounds(day, LONDON)
    assert [entry.slot for entry in diagnosis.slots if entry.offered] == free_slots(
        coach=rules_coach, start=start, end=end, now=NOW
    )


def test_a_lapsed_hold_is_not_reported_as_blocking_a_time_guests_can_book(rules_coach):
    """The bug: the diagnosis counted every pending_payment booking, also holds whose 15 minutes
    were up — which the guests' schedule already offers again."""
    lapsed = BookingFactory(
        coach=rules_coach,
        status=Booking.Status.PENDING_PAYMENT,
        hold_expires_at=NOW - timedelta(minutes=1),
        start_at=local_to_utc(MONDAY, time(9), LONDON),
        end_at=local_to_utc(MONDAY, time(10), LONDON),
    )
    running = BookingFactory(
        coach=rules_coach,
        status=Booking.Status.PENDING_PAYMENT,
        hold_expires_at=NOW + timedelta(minutes=10),
        start_at=local_to_utc(MONDAY, time(11), LONDON),
        end_at=local_to_utc(MONDAY, time(12), LONDON),
    )
    diagnosis = diagnostics.explain_day(coach=rules_coach, day=MONDAY, now=NOW)
    assert kinds(diagnosis) == {"09:00": [], "10:00": [], "11:00": ["booking"], "18:00": []}
    assert running.reference in diagnosis.slots[2].reasons[0].label
    start, end = local_day_bounds(MONDAY, LONDON)
    offered = free_slots(coach=rules_coach, start=start, end=end, now=NOW)
    assert lapsed.start_at in {slot.start_at for slot in offered}


def test_why_view_shows_the_days_windows_and_answers_for_one_time(admin_client, rules_coach):
    url = reverse("coaching_google:why", args=[rules_coach.pk])
    thursday = admin_client.get(url, {"date": "2030-01-10", "time": "08:00"})
    assert thursday.status_code == 200
    html = thursday.content.decode()
    assert 'data-window="weekly"' in html and "09:00–12:00" in html
    assert 'data-window="time_off"' in html and "Time off — Conference: Thu 10 Jan 2030, from 10:30" in html
    assert 'data-reason="time_off"' in html
    assert 'id="why-asked"' in html and 'data-reason="outside_hours"' in html
    wednesday = admin_client.get(url, {"date": "2030-01-09"}).content.decode()
    assert 'data-window="unavailable"' in wednesday and 'data-reason="override"' in wednesday
    monday = admin_client.get(url, {"date": "2030-01-07"}).content.decode()
    assert 'data-window="block"' in monday
    bad = admin_client.get(url, {"date": "2030-01-07", "time": "8 o'clock"})
    assert bad.status_code == 200 and "That time is not valid" in bad.content.decode()
