"""Book for a client in real Chromium: the owner takes a phone booking — coach, a time from the
guests' own free times, the client's details, paid outside Stripe — and the client is emailed, the
booking is logged with the owner's login, and the time is gone from the guests' calendar."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from coaching.models import Booking
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory
from coaching.wallclock import local_to_utc


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_owner_books_a_client_by_phone(live_server, browser_page, django_user_model):
    owner = django_user_model.objects.create_superuser("owner", "owner@example.com", "correct-horse-battery")
    coach = CoachFactory(name="Bea Brown", slug="bea", timezone="America/New_York", min_notice_minutes=0)
    day = (timezone.now() + timedelta(days=3)).astimezone(coach.zone).date()
    nine = local_to_utc(day, time(9), coach.zone)
    AvailabilityBlockFactory(coach=coach, start_at=nine, end_at=nine + timedelta(hours=3))
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/coaching/book-for-a-client/")  # Bookings → Book for a client
    page.select_option("#id_coach", str(coach.pk))
    page.get_by_role("button", name="Show times").click()
    picker = page.locator("#slot-picker")
    assert "New York (GMT" in picker.inner_text()  # the coach's zone, named
    page.get_by_label("10:00–11:00").check()
    page.fill("#id_name", "Grace Hopper")
    page.fill("#id_email", "grace@example.com")
    page.fill("#id_client_timezone", "Europe/London")
    page.get_by_label("Paid outside Stripe").check()
    page.fill("#id_amount_paid", "60")
    page.fill("#id_payment_note", "Cash at the studio")
    page.get_by_role("button", name="Book it").click()

    page.wait_for_url("**/admin/coaching/booking/inspect/*/")
    facts = page.locator("#booking-facts").inner_text()
    assert "Grace Hopper" in facts and "£60.00" in facts and "Cash at the studio" in facts
    assert "EDT (America/New_York)" in facts or "EST (America/New_York)" in facts

    booking = Booking.objects.get(guest_email="grace@example.com")
    assert booking.status == Booking.Status.CONFIRMED and booking.start_at == nine + timedelta(hours=1)
    assert (booking.amount_paid, booking.is_paid) == (6000, True)
    assert booking.log_entries.filter(actor="owner", actor_user=owner).count() >= 2
    assert any(message.to == ["grace@example.com"] for message in mail.outbox)

    # The guests' calendar (this browser reads London time) no longer offers that time.
    london = ZoneInfo("Europe/London")
    page.goto(f"{live_server.url}/book/coach/bea/day/{booking.start_at.astimezone(london):%Y-%m-%d}/")
    offered = page.locator("#day-slots time").all_inner_texts()
    assert f"{nine.astimezone(london):%H:%M}" in offered
    assert f"{booking.start_at.astimezone(london):%H:%M}" not in offered
