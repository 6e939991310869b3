"""The Bulk add slots tool in real Chromium: log in, fill, preview, confirm, see the slots on the site."""

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone

from coaching.models import AvailabilityBlock
from coaching.tests.factories import CoachFactory

LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_owner_bulk_adds_slots_and_guests_see_them_on_the_coachs_calendar(live_server, browser_page, django_user_model):
    django_user_model.objects.create_superuser("owner", "owner@example.com", "correct-horse-battery")
    coach = CoachFactory(
        name="Bea Brown", slug="bea", timezone="Europe/London", session_minutes=60, min_notice_minutes=0
    )
    today = timezone.now().astimezone(LONDON).date()
    first_monday = today + timedelta(days=14 + (7 - today.weekday()) % 7)
    wednesday = first_monday + timedelta(days=2)
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/coaching/bulk-add-slots/")
    page.select_option("#id_coach", str(coach.pk))
    for number in range(7):
        checkbox = page.locator(f"input[name=weekdays][value='{number}']")
        checkbox.set_checked(number in (0, 2))
    page.fill("#id_time_ranges", "09:00-12:00")
    page.fill("#id_start_date", first_monday.isoformat())
    page.fill("#id_end_date", (first_monday + timedelta(days=6)).isoformat())
    page.click("button[value=preview]")

    preview = page.locator("#bulk-add-preview")
    preview.wait_for()
    assert preview.locator("#spans-to-create tbody tr").count() == 2
    assert AvailabilityBlock.objects.filter(coach=coach).count() == 0

    page.click("button[value=confirm]")
    page.locator("#bulk-add-result").wait_for()
    assert "Added 2 blocks for Bea Brown" in page.locator("#bulk-add-result h2").inner_text()
    assert AvailabilityBlock.objects.filter(coach=coach).count() == 2

    # The guest's side: the month page answers, and the chosen days list the new times.
    response = page.goto(f"{live_server.url}/book/coach/bea/?month={wednesday:%Y-%m}")
    assert response.status == 200
    page.goto(f"{live_server.url}/book/coach/bea/day/{wednesday.isoformat()}/")
    times = page.locator("#day-slots time").all_inner_texts()
    assert times == ["09:00", "10:00", "11:00"]
    page.goto(f"{live_server.url}/book/coach/bea/day/{(first_monday + timedelta(days=1)).isoformat()}/")
    assert page.locator("#day-slots time").count() == 0
