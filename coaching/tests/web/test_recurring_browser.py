"""A guest books a weekly series in real Chromium: from a time's booking panel to the series page,
six weeks shown in both zones with the one already taken marked, the other five booked in one go,
each with its own manage link."""

import os
import zoneinfo
from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from coaching.models import BookingSeries, Coach, Refund
from coaching.schedule.recurrence import WEEKLY, occurrence_starts
from coaching.tests.factories import BookingFactory, CoachFactory, WeeklyHoursFactory, allow_weekly_series
from coaching.tests.web.test_browser_booking import ensure_wagtail_root
from coaching.wallclock import local_to_utc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_a_guest_books_five_of_six_weekly_sessions_from_the_slot_panel(browser_page, live_server, tmp_path):
    coach = CoachFactory(name="Amara Okafor", slug="amara-series", timezone="Europe/London", horizon_days=120)
    allow_weekly_series(coach)
    next_week = timezone.now().astimezone(LONDON).date() + timedelta(days=7)
    WeeklyHoursFactory(coach=coach, weekday=next_week.weekday(), start_time=time(9), end_time=time(12))
    first = local_to_utc(next_week, time(10), LONDON)
    weeks = occurrence_starts(first, zone=LONDON, every_weeks=WEEKLY, count=6)
    BookingFactory(coach=coach, start_at=weeks[2], end_at=weeks[2] + timedelta(hours=1))
    page = browser_page

    page.goto(f"{live_server.url}/book/coach/{coach.slug}/slot/?start={first:%Y-%m-%dT%H:%M:%SZ}")
    page.click("[data-series-link]")
    page.select_option("#id_count", "6")
    page.click("[data-show-dates]")

    expect(page.locator("[data-occurrence]")).to_have_count(6)
    expect(page.locator('[data-occurrence][data-free="false"]')).to_have_count(1)
    expect(page.locator('[data-occurrence="3"] [data-not-free]')).to_be_visible()
    expect(page.locator("[data-series-page]")).to_contain_text("5 of 6 free")
    page.screenshot(path=str(tmp_path / "series.png"), full_page=True)
    page.fill("#id_name", "Series Guest")
    page.fill("#id_email", "series@example.com")
    page.click("[data-submit]")

    expect(page.locator("[data-series-booked]")).to_be_visible()
    expect(page.locator("[data-booked-occurrence]")).to_have_count(5)
    series = BookingSeries.objects.get(guest_email="series@example.com")
    assert sorted(series.occurrences.values_list("series_number", flat=True)) == [1, 2, 4, 5, 6]
    assert [booking.start_at.astimezone(LONDON).time() for booking in series.occurrences.order_by("start_at")] == [
        time(10)
    ] * 5
    page.screenshot(path=str(tmp_path / "series-booked.png"), full_page=True)

    # The first session's magic link shows the whole series; the guest cancels all that remain.
    page.locator("[data-booked-occurrence='1'] [data-manage-link]").click()
    expect(page.locator("[data-manage-series]")).to_contain_text("This session is part of a series")
    expect(page.locator("[data-series-occurrence]")).to_have_count(5)
    page.screenshot(path=str(tmp_path / "series-manage.png"), full_page=True)
    page.click("[data-cancel-series]")
    expect(page.locator("[data-remaining-occurrence]")).to_have_count(5)
    page.screenshot(path=str(tmp_path / "series-cancel.png"), full_page=True)
    page.click("[data-confirm-cancel-series]")
    expect(page.locator("[data-done]")).to_contain_text("remaining sessions of your series are cancelled")
    assert set(series.occurrences.values_list("status", flat=True)) == {"cancelled"}


def test_from_the_demo_a_guest_books_six_weekly_sessions_moves_week_3_and_cancels_the_rest(browser_page, live_server):
    """The issue's "done when", clicked through on the seeded demo: Amara's career session (£75, one
    required question) allows weekly series (tools/demo/seed.py); one test checkout pays for all six."""
    ensure_wagtail_root()
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    amara = Coach.objects.get(slug="amara-okafor")
    tuesday = timezone.now().astimezone(LONDON).date() + timedelta(days=7)
    tuesday += timedelta(days=(1 - tuesday.weekday()) % 7)
    first = local_to_utc(tuesday, time(9), LONDON)
    page = browser_page

    page.goto(
        f"{live_server.url}/book/coach/{amara.slug}/slot/?start={first:%Y-%m-%dT%H:%M:%SZ}&type=amara-career-session"
    )
    page.click("[data-series-link]")
    page.select_option("#id_count", "6")
    page.click("[data-show-dates]")
    expect(page.locator('[data-occurrence][data-free="true"]')).to_have_count(6)
    expect(page.locator("[data-series-page]")).to_contain_text("£75.00 per session")
    page.fill("#id_name", "Demo Guest")
    page.fill("#id_email", "demo-series@example.com")
    page.get_by_label("Between jobs").check()
    page.click("[data-submit]")
    page.wait_for_url("**/stripe/test-checkout/series/**")
    expect(page.locator("[data-amount]")).to_have_text("£450.00")
    page.get_by_role("button", name="Pay (test)").click()
    expect(page.locator("[data-booked-occurrence]")).to_have_count(6)
    series = BookingSeries.objects.get(guest_email="demo-series@example.com")
    assert {booking.intake_answers[0]["answer"] for booking in series.occurrences.all()} == {"Between jobs"}

    # Week 3 moves to 10:15 the same day, from its own magic link.
    page.locator("[data-booked-occurrence='3'] [data-manage-link]").click()
    page.click("[data-reschedule]")
    week3 = series.occurrences.get(series_number=3)
    page.click(f"#calendar a[data-day='{week3.start_at.astimezone(LONDON):%Y-%m-%d}']")
    later = local_to_utc(week3.start_at.astimezone(LONDON).date(), time(10, 15), LONDON)
    page.click(f"#day-slots a[data-start='{later:%Y-%m-%dT%H:%M:%SZ}']")
    page.locator("[data-confirm-move]").click()
    page.wait_for_url("**?done=rescheduled")
    week3.refresh_from_db()
    assert week3.start_at == later and week3.ics_sequence == 1

    # And cancels all the rest from the same page, each refunded by the policy (all before the cut-off).
    page.click("[data-cancel-series]")
    expect(page.locator("[data-remaining-occurrence]")).to_have_count(6)
    expect(page.locator("[data-refund-total]")).to_have_text("£450.00")
    page.click("[data-confirm-cancel-series]")
    expect(page.locator("[data-done]")).to_contain_text("remaining sessions of your series are cancelled")
    assert set(series.occurrences.values_list("status", flat=True)) == {"cancelled"}
    assert sorted(Refund.objects.filter(booking__series=series).values_list("amount", flat=True)) == [7500] * 6
