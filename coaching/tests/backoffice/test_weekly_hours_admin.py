"""Weekly hours, date overrides and time off in the Wagtail admin: edited inline on the Coach
snippet, checked with clear messages, previewed for the next 14 days in the coach's zone, and named
by "why is this time not offered?"."""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from coaching.models import DateOverride, TimeOff, WeeklyHours
from coaching.schedule import free_slots
from coaching.tests.factories import (
    BookingFactory,
    CoachFactory,
    DateOverrideFactory,
    TimeOffFactory,
    WeeklyHoursFactory,
)
from coaching.wallclock import local_day_bounds, local_to_utc

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
MONDAY = date(2030, 1, 7)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def edit_url(coach) -> str:
    return reverse("wagtailsnippets_coaching_coach:edit", args=[coach.pk])


def coach_post(coach, *, weekly_hours=(), date_overrides=(), time_off=()):
    """The Coach edit form as the admin posts it: the coach's fields and the three inline lists
    (new rows only; each row a dict of its fields as typed)."""
    data = {
        "name": coach.name,
        "slug": coach.slug,
        "email": coach.email,
        "headline": coach.headline,
        "bio": coach.bio,
        "timezone": coach.timezone,
        "min_notice_minutes": coach.min_notice_minutes,
        "horizon_days": coach.horizon_days,
        "is_active": "on" if coach.is_active else "",
        "google_calendar_id": "",
        "google_busy_calendar_ids": "[]",
    }
    for relation, rows in (("weekly_hours", weekly_hours), ("date_overrides", date_overrides), ("time_off", time_off)):
        data.update({f"{relation}-TOTAL_FORMS": str(len(rows)), f"{relation}-INITIAL_FORMS": "0"})
        data[f"{relation}-MAX_NUM_FORMS"] = ""
        for index, row in enumerate(rows):
            data[f"{relation}-{index}-id"] = ""
            data[f"{relation}-{index}-DELETE"] = ""
            data.update({f"{relation}-{index}-{name}": value for name, value in row.items()})
    return data


def row_errors(response, relation):
    formset = response.context["form"].formsets[relation]
    return [str(error) for form in formset.forms for errors in form.errors.values() for error in errors]


# --- editing -------------------------------------------------------------------------------------


def test_owner_sets_weekly_hours_an_override_and_time_off_once_and_guests_can_book_them(admin_client):
    coach = CoachFactory(name="Bea Brown", timezone="Europe/London", session_minutes=60, horizon_days=365)
    weekly = [
        {"weekday": str(day), "start_time": start, "end_time": end, "valid_from": "", "valid_until": ""}
        for day in range(5)
        for start, end in (("09:00", "12:00"), ("14:00", "17:00"))
    ]
    response = admin_client.post(
        edit_url(coach),
        coach_post(
            coach,
            weekly_hours=weekly,
            date_overrides=[
                {"date": "2030-01-08", "start_time": "10:00", "end_time": "12:00", "unavailable": ""},
                {"date": "2030-01-09", "start_time": "", "end_time": "", "unavailable": "on"},
            ],
            time_off=[
                {
                    "start_date": "2030-01-14",
                    "start_time": "",
                    "end_date": "2030-01-18",
                    "end_time": "",
                    "reason": "Holiday",
                }
            ],
        ),
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert WeeklyHours.objects.filter(coach=coach).count() == 10
    assert DateOverride.objects.filter(coach=coach).count() == 2
    assert TimeOff.objects.get(coach=coach).reason == "Holiday"

    def starts(day):
        start, end = local_day_bounds(day, LONDON)
        return [slot.start_at.astimezone(LONDON).hour for slot in free_slots(coach=coach, start=start, end=end)]

    assert starts(MONDAY) == [9, 10, 11, 14, 15, 16]
    assert starts(date(2030, 1, 8)) == [10, 11]
    assert starts(date(2030, 1, 9)) == []
    assert all(starts(MONDAY + timedelta(days=7 + n)) == [] for n in range(5))
    # Any week up to the horizon, with nothing more to do.
    assert starts(date(2030, 12, 2)) == [9, 10, 11, 14, 15, 16]


def test_edit_page_has_the_three_inline_lists_and_a_preview_of_the_next_14_days_in_the_coachs_zone(admin_client):
    coach = CoachFactory(name="Yuki", timezone="Asia/Tokyo", session_minutes=60, min_notice_minutes=0)
    for weekday in range(7):
        WeeklyHoursFactory(coach=coach, weekday=weekday, start_time=time(9), end_time=time(11))
    # 1 Jan 2030 12:00 UTC is 21:00 in Tokyo: today's sessions are over, tomorrow's are not.
    DateOverrideFactory(coach=coach, date=date(2030, 1, 3), start_time=time(13), end_time=time(14))
    TimeOffFactory(coach=coach, start_date=date(2030, 1, 5), end_date=date(2030, 1, 6), reason="Family visit")
    BookingFactory(
        coach=coach,
        start_at=local_to_utc(date(2030, 1, 2), time(9), TOKYO),
        end_at=local_to_utc(date(2030, 1, 2), time(10), TOKYO),
    )

    response = admin_client.get(edit_url(coach))

    assert response.status_code == 200
    html = response.content.decode()
    for prefix in ("weekly_hours", "date_overrides", "time_off"):
        assert f'id="id_{prefix}-TOTAL_FORMS"' in html
    preview = html[html.index("data-schedule-preview") :]
    preview = preview[: preview.index("</table>")]
    rows = {chunk.split('"', 1)[0]: chunk for chunk in preview.split('data-preview-day="')[1:]}
    assert list(rows)[:2] == ["2030-01-01", "2030-01-02"] and len(rows) == 14
    assert "none" in rows["2030-01-01"]
    assert ">10:00<" in rows["2030-01-02"] and ">09:00<" not in rows["2030-01-02"]  # 09:00 is booked
    assert ">13:00<" in rows["2030-01-03"] and "date override" in rows["2030-01-03"]
    assert "Time off: Family visit" in rows["2030-01-05"] and ">09:00<" not in rows["2030-01-05"]
    assert ">09:00<" in rows["2030-01-04"] and ">10:00<" in rows["2030-01-04"]
    assert "Asia/Tokyo" in preview


@pytest.mark.parametrize(
    "relation, row, message",
    [
        pytest.param(
            "weekly_hours",
            {"weekday": "0", "start_time": "12:00", "end_time": "09:00", "valid_from": "", "valid_until": ""},
            "12:00–09:00 ends before it starts",
            id="weekly-end-before-start",
        ),
        pytest.param(
            "weekly_hours",
            {
                "weekday": "0",
                "start_time": "09:00",
                "end_time": "12:00",
                "valid_from": "2030-03-01",
                "valid_until": "2030-02-01",
            },
            "“Valid until” must not be before “valid from”",
            id="weekly-validity-backwards",
        ),
        pytest.param(
            "date_overrides",
            {"date": "2030-01-08", "start_time": "10:00", "end_time": "12:00", "unavailable": "on"},
            "Either tick “unavailable all day” or give the hours",
            id="override-both",
        ),
        pytest.param(
            "date_overrides",
            {"date": "2030-01-08", "start_time": "", "end_time": "", "unavailable": ""},
            "Give the hours for this date",
            id="override-neither",
        ),
        pytest.param(
            "time_off",
            {"start_date": "2030-01-10", "start_time": "", "end_date": "2030-01-09", "end_time": "", "reason": "Trip"},
            "The last day must not be before the first day",
            id="time-off-backwards",
        ),
        pytest.param(
            "time_off",
            {
                "start_date": "2030-01-10",
                "start_time": "15:00",
                "end_date": "2030-01-10",
                "end_time": "11:00",
                "reason": "Dentist",
            },
            "Time off must end after it starts",
            id="time-off-same-day-backwards",
        ),
    ],
)
def test_a_row_that_makes_no_sense_is_refused_with_a_clear_message_and_nothing_is_saved(
    admin_client, relation, row, message
):
    coach = CoachFactory(name="Bea")
    response = admin_client.post(edit_url(coach), coach_post(coach, **{relation: [row]}))
    assert response.status_code == 200
    assert any(message in error for error in row_errors(response, relation)), row_errors(response, relation)
    assert not (WeeklyHours.objects.exists() or DateOverride.objects.exists() or TimeOff.objects.exists())


def test_overlapping_ranges_on_one_weekday_are_refused_naming_both(admin_client):
    coach = CoachFactory(name="Bea")
    rows = [
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00", "valid_from": "", "valid_until": ""},
        {"weekday": "0", "start_time": "11:00", "end_time": "13:00", "valid_from": "", "valid_until": ""},
    ]
    response = admin_client.post(edit_url(coach), coach_post(coach, weekly_hours=rows))
    assert response.status_code == 200
    errors = row_errors(response, "weekly_hours")
    assert errors == [
        "Monday 11:00–13:00 overlaps Monday 09:00–12:00. Merge them into one range, or give the old hours a "
        "“valid until” date."
    ]
    assert not WeeklyHours.objects.exists()


def test_ranges_that_touch_or_whose_validity_never_meets_are_fine(admin_client):
    coach = CoachFactory(name="Bea")
    rows = [
        {"weekday": "0", "start_time": "09:00", "end_time": "12:00", "valid_from": "", "valid_until": "2030-01-31"},
        {"weekday": "0", "start_time": "12:00", "end_time": "13:00", "valid_from": "", "valid_until": ""},
        {"weekday": "0", "start_time": "10:00", "end_time": "12:00", "valid_from": "2030-02-01", "valid_until": ""},
        {"weekday": "0", "start_time": "20:00", "end_time": "00:00", "valid_from": "", "valid_until": ""},
    ]
    response = admin_client.post(edit_url(coach), coach_post(coach, weekly_hours=rows))
    assert response.status_code == 302
    assert WeeklyHours.objects.filter(coach=coach).count() == 4


def test_new_hours_overlapping_old_ones_without_an_end_date_say_from_when(admin_client):
    coach = CoachFactory(name="Bea")
    rows = [
        {"weekday": "2", "start_time": "09:00", "end_time": "17:00", "valid_from": "", "valid_until": ""},
        {"weekday": "2", "start_time": "10:00", "end_time": "18:00", "valid_from": "2030-02-01", "valid_until": ""},
    ]
    response = admin_client.post(edit_url(coach), coach_post(coach, weekly_hours=rows))
    assert row_errors(response, "weekly_hours") == [
        "Wednesday 10:00–18:00 overlaps Wednesday 09:00–17:00 from 01 Feb 2030. Merge them into one range, or "
        "give the old hours a “valid until” date."
    ]


@pytest.mark.parametrize(
    "rows, message",
    [
        pytest.param(
            [
                {"date": "2030-01-08", "start_time": "10:00", "end_time": "12:00", "unavailable": ""},
                {"date": "2030-01-08", "start_time": "11:00", "end_time": "13:00", "unavailable": ""},
            ],
            "On Tue 08 Jan 2030, 11:00–13:00 overlaps 10:00–12:00. Merge them into one range.",
            id="overlapping-hours",
        ),
        pytest.param(
            [
                {"date": "2030-01-08", "start_time": "10:00", "end_time": "12:00", "unavailable": ""},
                {"date": "2030-01-08", "start_time": "", "end_time": "", "unavailable": "on"},
            ],
            "Tue 08 Jan 2030 is both “unavailable all day” and has hours. Keep one of them.",
            id="unavailable-and-hours",
        ),
    ],
)
def test_contradicting_overrides_of_one_date_are_refused(admin_client, rows, message):
    coach = CoachFactory(name="Bea")
    response = admin_client.post(edit_url(coach), coach_post(coach, date_overrides=rows))
    assert row_errors(response, "date_overrides") == [message]
    assert not DateOverride.objects.exists()


def test_deleting_a_row_removes_those_hours(admin_client):
    coach = CoachFactory(name="Bea", timezone="Europe/London", session_minutes=60)
    kept = WeeklyHoursFactory(coach=coach, weekday=0, start_time=time(9), end_time=time(10))
    dropped = WeeklyHoursFactory(coach=coach, weekday=0, start_time=time(14), end_time=time(15))
    data = coach_post(coach)
    data.update({"weekly_hours-TOTAL_FORMS": "2", "weekly_hours-INITIAL_FORMS": "2"})
    for index, row in enumerate((kept, dropped)):
        data.update(
            {
                f"weekly_hours-{index}-id": str(row.pk),
                f"weekly_hours-{index}-weekday": "0",
                f"weekly_hours-{index}-start_time": f"{row.start_time:%H:%M}",
                f"weekly_hours-{index}-end_time": f"{row.end_time:%H:%M}",
                f"weekly_hours-{index}-valid_from": "",
                f"weekly_hours-{index}-valid_until": "",
                f"weekly_hours-{index}-DELETE": "1" if row is dropped else "",
            }
        )
    assert admin_client.post(edit_url(coach), data).status_code == 302
    assert list(WeeklyHours.objects.filter(coach=coach)) == [kept]
    start, end = local_day_bounds(MONDAY, LONDON)
    assert [s.start_at.astimezone(LONDON).hour for s in free_slots(coach=coach, start=start, end=end)] == [9]


# --- Remove availability on a coach with weekly hours --------------------------------------------


def test_remove_availability_warns_that_weekly_hours_still_offer_those_days_until_time_off_is_added(admin_client):
    coach = CoachFactory(name="Bea", timezone="Europe/London")
    WeeklyHoursFactory(coach=coach, weekday=0, start_time=time(9), end_time=time(12))
    data = {"coach": coach.pk, "start_date": "2030-01-07", "end_date": "2030-01-08", "action": "preview"}

    preview = admin_client.post(reverse("coaching_admin:remove_availability"), data)

    html = preview.content.decode()
    assert 'id="weekly-hours-kept"' in html
    assert "weekly hours still offer 1 window on these days" in html and "Mon 7 Jan 09:00–12:00" in html
    assert edit_url(coach) in html
    TimeOffFactory(coach=coach, start_date=MONDAY, end_date=MONDAY, reason="Holiday")
    after = admin_client.post(reverse("coaching_admin:remove_availability"), data).content.decode()
    assert 'id="weekly-hours-kept"' not in after
