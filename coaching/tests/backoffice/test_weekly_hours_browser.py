"""Weekly hours in real Chromium: the owner adds a range on the Coach page, saves, sees the preview,
and a guest sees the times on the coach's calendar weeks ahead."""

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone

from coaching.models import WeeklyHours
from coaching.tests.factories import CoachFactory

LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_owner_sets_weekly_hours_once_and_guests_see_them_weeks_ahead(live_server, browser_page, django_user_model):
    django_user_model.objects.create_superuser("owner", "owner@example.com", "correct-horse-battery")
    coach = CoachFactory(name="Bea Brown", slug="bea", timezone="Europe/London", session_minutes=60, horizon_days=90)
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/snippets/coaching/coach/edit/{coach.pk}/")
    page.get_by_role("tab", name="Weekly hours").click()
    page.get_by_role("button", name="Add Range").click()
    page.select_option("#id_weekly_hours-0-weekday", "2")  # Wednesday
    page.fill("#id_weekly_hours-0-start_time", "09:00")
    page.fill("#id_weekly_hours-0-end_time", "12:00")
    page.keyboard.press("Escape")  # close the time picker
    page.locator("button.action-save").first.click()
    page.wait_for_url(f"{live_server.url}/admin/snippets/coaching/coach/")

    row = WeeklyHours.objects.get(coach=coach)
    assert (row.weekday, f"{row.start_time:%H:%M}", f"{row.end_time:%H:%M}") == (2, "09:00", "12:00")

    page.goto(f"{live_server.url}/admin/snippets/coaching/coach/edit/{coach.pk}/")
    page.get_by_role("tab", name="Weekly hours").click()
    preview = page.locator("#schedule-preview")
    wednesdays = preview.locator("tr[data-preview-day]").filter(has_text="Wed")
    assert "09:00–12:00" in wednesdays.first.inner_text()

    # Eight weeks ahead, nothing more done: the guest's calendar offers the Wednesday.
    today = timezone.now().astimezone(LONDON).date()
    wednesday = today + timedelta(days=56 + (2 - today.weekday()) % 7)
    page.goto(f"{live_server.url}/book/coach/bea/day/{wednesday.isoformat()}/")
    assert page.locator("#day-slots time").all_inner_texts() == ["09:00", "10:00", "11:00"]
