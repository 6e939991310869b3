"""Pages as fast as the brain, and never stale: the calendar months kept in the shared cache
(schedule/cache.py), the kept pages (web/page_cache.py) and what replaces them (freshness.py).

Each change a calendar can see is made, then the next render shows it — through the services, the
admin's models, a Google pull, the clock. Two web processes seeing one another's changes at once is
in config/tests/test_two_web_processes.py.
"""

import gzip
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.freshness import current_versions, schedule_changed
from coaching.models import Booking, WeeklyHours
from coaching.policy import get_policy
from coaching.schedule.cache import month_key, month_schedule
from coaching.services import cancel_booking, create_booking, expire_holds, google_sync, reschedule_booking
from coaching.services.availability import add_availability_block, bulk_add_availability
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachFactory,
    GuestFactory,
    SessionTypeFactory,
    WorkshopFactory,
    session_type_of,
)
from coaching.tests.http import HTMX
from coaching.tests.standins.google import connected_coach, freebusy_answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
LONDON = zoneinfo.ZoneInfo("Europe/London")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
MONDAY = date(2030, 1, 7)
SCHEDULE_TABLES = ("coaching_booking", "coaching_availabilityblock", "coaching_weeklyhours", "coaching_coachbusyslot")


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@pytest.fixture
def coach():
    """Free sessions of an hour, Monday 7 January 09:00–12:00 London (= UTC in January)."""
    coach = CoachFactory(name="Amara Okafor", slug="amara", timezone="Europe/London", session_minutes=60)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(12))
    return coach


@pytest.fixture
def guest():
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    return client


def day_times(client, coach, day: date = MONDAY, *, kept: bool = False, session_type: str = "") -> list[str]:
    """The times a day's list shows, as the guest reads them (in their zone); `kept`: answered
    from the kept page; `session_type`: the slug of the type chosen (`?type=`)."""
    url = reverse("coaching:coach_day", args=[coach.slug, day.isoformat()])
    response = client.get(url + (f"?type={session_type}" if session_type else ""), **HTMX)
    assert response.status_code == 200
    assert not kept or response["X-Page-Cache"] == "hit"
    return re.findall(r'<time datetime="[^"]+" class="text-sm font-semibold">([^<]+)</time>', response.content.decode())


def month_says(client, coach, label: str = "Monday 7 January") -> str:
    response = client.get(reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01", **HTMX)
    said = re.search(rf"{label}: ([^<]*?)\s*</span>", response.content.decode())
    return " ".join(said.group(1).split()) if said else "no openings"


def shown_twice(client, coach) -> list[str]:
    """The day's times, drawn once and then again from what was kept."""
    first = day_times(client, coach)
    assert day_times(client, coach, kept=True) == first
    return first


# --- every kind of change shows at the next render -----------------------------------------------------


def test_a_booking_made_takes_its_time_off_the_kept_day_and_month(coach, guest):
    assert shown_twice(guest, coach) == ["09:00", "10:00", "11:00"]
    assert month_says(guest, coach) == "3 times available"
    create_booking(guest=GuestFactory(), coach=coach, start_at=at(10), actor="guest")
    assert day_times(guest, coach) == ["09:00", "11:00"]
    assert month_says(guest, coach) == "2 times available"


def test_a_cancellation_gives_the_time_back_at_once(coach, guest):
    booking = BookingFactory(coach=coach, start_at=at(10))
    assert shown_twice(guest, coach) == ["09:00", "11:00"]
    cancel_booking(booking=booking, actor="owner")
    assert day_times(guest, coach) == ["09:00", "10:00", "11:00"]


def test_a_reschedule_frees_the_old_time_and_takes_the_new_one(coach, guest):
    booking = BookingFactory(coach=coach, start_at=at(9), confirmed_at=NOW)
    assert shown_twice(guest, coach) == ["10:00", "11:00"]
    reschedule_booking(booking=booking, new_start_at=at(11), actor="owner")
    assert day_times(guest, coach) == ["09:00", "10:00"]


def test_a_hold_that_lapses_frees_its_time_when_it_lapses_even_before_the_expiry_job(coach, guest, frozen_clock):
    BookingFactory(coach=coach, start_at=at(10), held=True, hold_expires_at=NOW + timedelta(minutes=15))
    assert shown_twice(guest, coach) == ["09:00", "11:00"]
    frozen_clock.move_to(NOW + timedelta(minutes=16))
    assert day_times(guest, coach) == ["09:00", "10:00", "11:00"]  # the clock alone: the kept month lapsed
    assert expire_holds() == 1
    assert day_times(guest, coach) == ["09:00", "10:00", "11:00"]


def test_a_google_pull_takes_the_coachs_busy_time_off_at_once(guest, google_api):
    coach = connected_coach(slug="grace", timezone="Europe/London", session_minutes=60)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(12))
    assert shown_twice(guest, coach) == ["09:00", "10:00", "11:00"]
    google_api(freebusy_answer(("2030-01-07T10:00:00Z", "2030-01-07T10:30:00Z")))
    assert google_sync.pull_busy_times(coach=coach, now=NOW) == 1
    assert day_times(guest, coach) == ["09:00", "11:00"]


def test_availability_edits_show_at_once_weekly_hours_one_block_and_bulk_add(coach, guest):
    assert shown_twice(guest, coach) == ["09:00", "10:00", "11:00"]
    WeeklyHours.objects.create(coach=coach, weekday=0, start_time=time(14), end_time=time(16))
    assert day_times(guest, coach) == ["09:00", "10:00", "11:00", "14:00", "15:00"]
    add_availability_block(coach=coach, start_at=at(17), end_at=at(18))
    assert day_times(guest, coach)[-1] == "17:00"
    bulk_add_availability(
        coach=coach, weekdays=[0], time_ranges=[(time(19), time(20))], start_date=MONDAY, end_date=MONDAY
    )
    assert day_times(guest, coach)[-1] == "19:00"
    WeeklyHours.objects.filter(coach=coach).get().delete()
    assert day_times(guest, coach) == ["09:00", "10:00", "11:00", "17:00", "19:00"]


def test_the_coachs_own_settings_and_a_workshops_seats_show_at_once(coach, guest):
    workshop = WorkshopFactory(host=coach, start_at=at(14), end_at=at(16), capacity=3, title="Career lab")
    assert shown_twice(guest, coach) == ["09:00", "10:00", "11:00"]
    BookingFactory(workshop=workshop, seats=2)
    assert "1 left" in guest.get(reverse("coaching:coach_day", args=["amara", "2030-01-07"]), **HTMX).content.decode()
    session_type = session_type_of(coach)
    session_type.duration_minutes = 90
    session_type.save()
    assert day_times(guest, coach) == ["09:00", "10:30"]


def test_each_session_type_is_kept_apart_and_an_edit_of_one_shows_at_once(coach, guest):
    SessionTypeFactory(coaches=coach, slug="deep-dive", title="Deep dive", duration_minutes=90, sort_order=5)
    hour = day_times(guest, coach)
    assert hour == ["09:00", "10:00", "11:00"]
    assert day_times(guest, coach, session_type="deep-dive") == ["09:00", "10:30"]
    assert day_times(guest, coach, kept=True) == hour  # neither type's kept list answers for the other
    assert day_times(guest, coach, kept=True, session_type="deep-dive") == ["09:00", "10:30"]
    deep_dive = coach.session_types.get(slug="deep-dive")
    deep_dive.duration_minutes = 120
    deep_dive.save()
    assert day_times(guest, coach, session_type="deep-dive") == ["09:00"]
    page = guest.get(reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01", **HTMX)
    deep_dive.title = "Deep dive, two hours"
    deep_dive.save()
    again = guest.get(reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01", **HTMX)
    assert page["X-Page-Cache"] == "miss" and again["X-Page-Cache"] == "miss"


def test_a_policy_change_means_no_kept_page_is_answered_again(coach, guest):
    url = reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01"
    guest.get(url, **HTMX)
    assert guest.get(url, **HTMX)["X-Page-Cache"] == "hit"
    policy = get_policy()
    policy.waitlist_offer_minutes = 30
    policy.save()
    assert guest.get(url, **HTMX)["X-Page-Cache"] == "miss"


def test_a_time_that_goes_inside_the_notice_leaves_the_kept_month(coach, guest, frozen_clock):
    coach.min_notice_minutes = 60
    coach.save()
    frozen_clock.move_to(at(7, 30))
    assert shown_twice(guest, coach) == ["09:00", "10:00", "11:00"]
    frozen_clock.move_to(at(8, 1))
    assert day_times(guest, coach) == ["10:00", "11:00"]


def test_a_time_that_comes_into_the_horizon_shows_when_it_does(coach, guest, frozen_clock):
    coach.horizon_days = 5  # from 1 January 12:00: up to 6 January 12:00
    coach.save()
    AvailabilityBlockFactory(coach=coach, start_at=at(9, day=date(2030, 1, 3)), end_at=at(10, day=date(2030, 1, 3)))
    assert shown_twice(guest, coach) == []
    frozen_clock.move_to(datetime(2030, 1, 2, 9, 30, tzinfo=UTC))
    assert day_times(guest, coach) == ["09:00"]


# --- what a kept render costs ------------------------------------------------------------------------


def schedule_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if any(table in q["sql"] for table in SCHEDULE_TABLES)]


def test_a_kept_month_is_read_with_no_schedule_query(coach):
    session_type = session_type_of(coach)  # the page has chosen it already (web/context.py)
    month_schedule(coach=coach, year=2030, month=1, tz=LONDON, session_type=session_type)
    with CaptureQueriesContext(connection) as queries:
        again = month_schedule(coach=coach, year=2030, month=1, tz=LONDON, session_type=session_type)
    assert len(queries) == 0
    assert [slot.start_at for slot in again.day(MONDAY).slots] == [at(9), at(10), at(11)]


def test_a_kept_page_is_answered_with_no_query(coach, guest, django_assert_max_num_queries):
    url = reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01"
    first = guest.get(url, **HTMX)
    assert first["X-Page-Cache"] == "miss"
    with django_assert_max_num_queries(0):
        again = guest.get(url, **HTMX)
    assert again["X-Page-Cache"] == "hit"
    assert again.content == first.content


def test_with_a_session_the_page_is_drawn_but_the_month_still_costs_no_schedule_query(coach):
    signed_in = Client()
    signed_in.cookies["sessionid"] = "not-a-real-session"
    url = reverse("coaching:coach_day", args=[coach.slug, "2030-01-07"])
    signed_in.get(url, **HTMX)
    with CaptureQueriesContext(connection) as queries:
        response = signed_in.get(url, **HTMX)
    assert "X-Page-Cache" not in response
    assert schedule_queries(queries.captured_queries) == []
    assert len(queries) <= 3  # the coach, and the session lookup


# --- never shared between zones, coaches or session types --------------------------------------------------


def test_keys_differ_for_every_coach_zone_and_session_type(coach):
    other = CoachFactory(slug="other")
    versions = ("site", "coach")
    keys = {
        month_key(coach=coach, year=2030, month=1, zone=LONDON, versions=versions),
        month_key(coach=coach, year=2030, month=1, zone=TOKYO, versions=versions),
        month_key(coach=other, year=2030, month=1, zone=LONDON, versions=versions),
        month_key(coach=coach, year=2030, month=1, zone=LONDON, versions=versions, session_type=7),
        month_key(coach=coach, year=2030, month=2, zone=LONDON, versions=versions),
    }
    assert len(keys) == 5


def test_two_coaches_and_two_zones_never_see_one_anothers_kept_calendar(coach, guest):
    other = CoachFactory(name="Yuki Tanaka", slug="yuki", timezone="Asia/Tokyo", session_minutes=60)
    AvailabilityBlockFactory(coach=other, start_at=at(1), end_at=at(3))  # 10:00–12:00 in Tokyo
    assert shown_twice(guest, coach) == ["09:00", "10:00", "11:00"]
    assert shown_twice(guest, other) == ["01:00", "02:00"]
    tokyo = Client()
    tokyo.cookies["USER_TIMEZONE"] = "Asia/Tokyo"
    assert shown_twice(tokyo, other) == ["10:00", "11:00"]
    assert shown_twice(tokyo, coach) == ["18:00", "19:00", "20:00"]
    assert day_times(guest, coach) == ["09:00", "10:00", "11:00"]


# --- the kept page is everyone's: each guest gets their own CSRF token --------------------------------------


def test_a_kept_page_carries_each_guests_own_csrf_token_and_their_booking_goes_through(coach):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page = first.get(reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01")
    again = second.get(reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01")
    assert (page["X-Page-Cache"], again["X-Page-Cache"]) == ("miss", "hit")
    token = re.search(r'"X-CSRFToken": "(\w+)"', again.content.decode()).group(1)
    assert token not in page.content.decode() and "__page_cache" not in again.content.decode()
    url = reverse("coaching:coach_slot", args=[coach.slug]) + "?start=2030-01-07T09:00:00Z"
    booked = second.post(url, {"name": "Jo", "email": "jo@example.com"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert booked.status_code == 200
    assert Booking.objects.get().guest_name == "Jo"


# --- on the wire --------------------------------------------------------------------------------------------


def test_html_is_compressed_when_the_client_asks_and_only_then(coach, guest):
    url = reverse("coaching:coach_calendar", args=[coach.slug]) + "?month=2030-01"
    plain = guest.get(url)
    squeezed = guest.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert not plain.has_header("Content-Encoding")
    assert squeezed["Content-Encoding"] == "gzip"
    assert len(squeezed.content) * 3 < len(plain.content)
    html = gzip.decompress(squeezed.content).decode()
    assert "Monday 7 January: 3 times available" in html


def test_an_unchanged_region_answers_304_to_its_etag(coach, guest):
    url = reverse("coaching:coach_day", args=[coach.slug, "2030-01-07"])
    first = guest.get(url, **HTMX)
    assert first.has_header("ETag")
    again = guest.get(url, HTTP_IF_NONE_MATCH=first["ETag"], **HTMX)
    assert again.status_code == 304 and again.content == b""
    create_booking(guest=GuestFactory(), coach=coach, start_at=at(9), actor="guest")
    changed = guest.get(url, HTTP_IF_NONE_MATCH=first["ETag"], **HTMX)
    assert changed.status_code == 200


def test_a_change_without_a_transaction_commit_hook_still_retires_the_version():
    before = current_versions("schedule:v:coach:41")
    schedule_changed(coach_id=41)
    assert current_versions("schedule:v:coach:41") != before
