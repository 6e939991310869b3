"""The series page over HTTP: every occurrence in both zones with the ones not free marked, the
free ones booked in one go (free at once, paid through one checkout), and a page gone stale refused
without booking anything."""

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from coaching.links import make_manage_token
from coaching.models import Booking, BookingSeries, Notification, Refund
from coaching.schedule.recurrence import WEEKLY, occurrence_starts
from coaching.tests.factories import BookingFactory, CoachFactory, WeeklyHoursFactory, allow_weekly_series

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = datetime(2030, 3, 1, 9, tzinfo=UTC)
FIRST = datetime(2030, 3, 12, 18, tzinfo=UTC)  # Tuesday 18:00 in London (GMT); BST from 31 March
WEEKS = occurrence_starts(FIRST, zone=LONDON, every_weeks=WEEKLY, count=8)
DETAILS = {"name": "Grace Hopper", "email": "grace@example.com"}


def coach_with_tuesday_evenings(**fields):
    coach = CoachFactory(name="Amara Okafor", slug="amara", timezone="Europe/London", horizon_days=365, **fields)
    allow_weekly_series(coach)
    WeeklyHoursFactory(coach=coach, weekday=1, start_time=time(17), end_time=time(20))
    return coach


def series_url(coach, count=6, start=FIRST):
    return f"{reverse('coaching:coach_series', args=[coach.slug])}?start={start:%Y-%m-%dT%H:%M:%SZ}&count={count}"


@pytest.fixture
def new_york_client():
    client = Client()
    client.cookies["USER_TIMEZONE"] = "America/New_York"
    return client


def occurrence_rows(html: str) -> dict[int, str]:
    return {int(number): free for number, free in re.findall(r'data-occurrence="(\d+)" data-free="(\w+)"', html)}


def test_the_series_page_shows_every_occurrence_in_both_zones_and_marks_the_taken_week(
    new_york_client, django_assert_max_num_queries
):
    coach = coach_with_tuesday_evenings()
    BookingFactory(coach=coach, start_at=WEEKS[2], end_at=WEEKS[2] + timedelta(hours=1))

    # The coach, the session type and its questions, the coach's availability and blockers over all 8
    # weeks in one load (four queries), the session: 9 whatever the number of weeks (35 with one load
    # per week).
    with django_assert_max_num_queries(9):
        response = new_york_client.get(series_url(coach, count=8))

    html = response.content.decode()
    assert response.status_code == 200
    assert occurrence_rows(html) == {
        1: "true",
        2: "true",
        3: "false",
        4: "true",
        5: "true",
        6: "true",
        7: "true",
        8: "true",
    }
    assert "7 of 8 free" in html
    assert "Already booked" in html  # why week 3 cannot be booked
    # The guest's clock (New York) moves from 14:00 to 13:00 when London changes; London's stays 18:00.
    assert "14:00" in html and "13:00" in html and "18:00" in html
    assert "data-go-back" in html


def test_booking_the_free_weeks_of_a_series_from_the_page(new_york_client):
    coach = coach_with_tuesday_evenings()
    BookingFactory(coach=coach, start_at=WEEKS[2], end_at=WEEKS[2] + timedelta(hours=1))

    response = new_york_client.post(series_url(coach), {**DETAILS, "numbers": ["1", "2", "4", "5", "6"]})

    html = response.content.decode()
    assert response.status_code == 200 and "data-series-booked" in html
    series = BookingSeries.objects.get()
    assert sorted(series.occurrences.values_list("series_number", flat=True)) == [1, 2, 4, 5, 6]
    assert series.guest_timezone == "America/New_York"
    assert html.count("data-manage-link") == 5
    assert Notification.objects.filter(recipient="grace@example.com").count() == 1


def test_a_week_taken_after_the_page_was_drawn_books_nothing_and_shows_the_dates_again(new_york_client):
    coach = coach_with_tuesday_evenings()
    new_york_client.get(series_url(coach))
    BookingFactory(coach=coach, start_at=WEEKS[3], end_at=WEEKS[3] + timedelta(hours=1))

    response = new_york_client.post(series_url(coach), {**DETAILS, "numbers": ["1", "2", "3", "4", "5", "6"]})

    html = response.content.decode()
    assert response.status_code == 409
    assert "Session 4" in html and "Nothing was booked" in html
    assert occurrence_rows(html)[4] == "false"
    assert not BookingSeries.objects.exists()


def test_ticking_nothing_is_asked_again(new_york_client):
    coach = coach_with_tuesday_evenings()
    response = new_york_client.post(series_url(coach), DETAILS)
    assert response.status_code == 422 and "Please tick at least one session" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_paid_series_goes_through_one_test_checkout_and_the_webhook_confirms_it(new_york_client):
    coach = coach_with_tuesday_evenings(price_amount=5000)

    response = new_york_client.post(series_url(coach), {**DETAILS, "numbers": ["1", "2", "3", "4", "5", "6"]})
    assert response.status_code == 303
    checkout = response["Location"].removeprefix("http://testserver")
    page = new_york_client.get(checkout)
    assert "£300.00" in page.content.decode()

    paid = new_york_client.post(checkout, {"pay": "1"}, follow=True)

    html = paid.content.decode()
    assert 'data-state="confirmed"' in html and html.count("data-booked-occurrence") == 6
    assert set(Booking.objects.values_list("status", flat=True)) == {"confirmed"}


def test_going_back_from_the_series_checkout_releases_every_week(new_york_client):
    coach = coach_with_tuesday_evenings(price_amount=5000)
    response = new_york_client.post(series_url(coach), {**DETAILS, "numbers": ["1", "2", "3"]})
    checkout = response["Location"].removeprefix("http://testserver")

    back = new_york_client.post(checkout, {"cancel": "1"}, follow=True)

    assert "Payment cancelled — nothing was booked" in back.content.decode()
    assert set(Booking.objects.values_list("status", flat=True)) == {"cancelled"}
    assert occurrence_rows(back.content.decode()) == {n: "true" for n in range(1, 7)}


def test_the_slot_panel_offers_the_time_as_a_weekly_series(new_york_client):
    coach = coach_with_tuesday_evenings()
    slot = f"{reverse('coaching:coach_slot', args=[coach.slug])}?start={FIRST:%Y-%m-%dT%H:%M:%SZ}"

    html = new_york_client.get(slot).content.decode()

    assert "data-series-link" in html and "Book this time weekly" in html
    assert series_url(coach).split("&count")[0].replace(":", "%3A") in html


# --- the magic link manages the series --------------------------------------------------------------


def test_six_weekly_sessions_then_week_3_moved_and_the_rest_cancelled_from_the_magic_link(new_york_client):
    coach = coach_with_tuesday_evenings(price_amount=5000)
    checkout = new_york_client.post(series_url(coach), {**DETAILS, "numbers": [str(n) for n in range(1, 7)]})
    new_york_client.post(checkout["Location"].removeprefix("http://testserver"), {"pay": "1"})
    series = BookingSeries.objects.get()
    week3 = series.occurrences.get(series_number=3)
    token = make_manage_token(week3)

    # Week 3 moves to 19:00 the same evening; only its invite changes.
    page = new_york_client.get(reverse("coaching:manage_booking", args=[token])).content.decode()
    assert "This session is part of a series" in page and page.count("data-series-occurrence") == 6
    new_start = week3.start_at + timedelta(hours=1)
    confirm = reverse("coaching:manage_reschedule_confirm", args=[token]) + f"?start={new_start:%Y-%m-%dT%H:%M:%SZ}"
    assert new_york_client.post(confirm).status_code == 303
    week3.refresh_from_db()
    assert week3.start_at == new_start and week3.ics_sequence == 1
    assert set(series.occurrences.exclude(pk=week3.pk).values_list("ics_sequence", flat=True)) == {0}

    # A week later (week 1 over, week 2 inside the 24-hour cut-off) the guest cancels the rest.
    later = datetime(2030, 3, 18, 20, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        cancel_page = reverse("coaching:manage_cancel_series", args=[token])
        shown = new_york_client.get(cancel_page).content.decode()
        assert shown.count("data-remaining-occurrence") == 5
        assert "No refund (inside the cancellation cut-off)" in shown and "£200.00" in shown
        response = new_york_client.post(cancel_page)

    assert response.status_code == 303 and response["Location"].endswith("?done=series_cancelled")
    statuses = dict(series.occurrences.values_list("series_number", "status"))
    assert statuses == {1: "confirmed", 2: "cancelled", 3: "cancelled", 4: "cancelled", 5: "cancelled", 6: "cancelled"}
    assert sorted(Refund.objects.values_list("booking__series_number", "amount")) == [
        (3, 5000),
        (4, 5000),
        (5, 5000),
        (6, 5000),
    ]


def test_the_cancel_series_page_refuses_a_forged_link(new_york_client):
    response = new_york_client.get(reverse("coaching:manage_cancel_series", args=["not-a-token"]))
    assert response.status_code == 404
