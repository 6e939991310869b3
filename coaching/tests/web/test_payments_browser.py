"""The paid flow in real Chromium, with the built-in test checkout (no Stripe keys)."""

import json
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
import requests
import stripe
from django.utils import timezone

from coaching.models import Booking, BookingLog
from coaching.services import create_booking
from coaching.tests.factories import AvailabilityBlockFactory, GuestFactory, PaidCoachFactory
from coaching.tests.standins.stripe import session_event

LONDON = zoneinfo.ZoneInfo("Europe/London")


def paid_coach():
    coach = PaidCoachFactory(slug="bea")
    day = timezone.now().astimezone(LONDON).date() + timedelta(days=3)
    start = datetime.combine(day, time(9), tzinfo=LONDON)
    AvailabilityBlockFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=3))
    return coach, day


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_guest_books_a_paid_session_from_the_coach_page_and_pays_on_the_test_checkout(live_server, browser_page):
    coach, day = paid_coach()
    page = browser_page

    page.goto(f"{live_server.url}/book/coach/bea/?month={day:%Y-%m}")
    page.click(f"a[data-day='{day:%Y-%m-%d}']")
    page.locator("#day-slots a[data-start]").first.click()
    page.fill("#id_name", "Grace Hopper")
    page.fill("#id_email", "grace@example.com")
    page.click("[data-submit]")

    page.wait_for_url("**/stripe/test-checkout/**")
    booking = Booking.objects.get(coach=coach)
    assert booking.status == Booking.Status.PENDING_PAYMENT
    assert page.get_by_text("£60.00").is_visible()
    page.get_by_role("button", name="Pay (test)").click()

    page.wait_for_url("**/bookings/checkout/return/**")
    page.get_by_text("you're booked", exact=False).wait_for()
    assert page.locator("[data-reference]").inner_text() == booking.reference
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 6000
    assert BookingLog.objects.get(booking=booking, action="confirmed").actor == "webhook"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_return_page_shows_confirming_then_updates_itself_when_the_webhook_arrives(live_server, browser_page, settings):
    coach, day = paid_coach()
    start = datetime.combine(day, time(10), tzinfo=LONDON)
    booking = create_booking(guest=GuestFactory(), coach=coach, start_at=start).booking
    page = browser_page

    page.goto(f"{live_server.url}/bookings/checkout/return/?session_id={booking.stripe_checkout_session_id}")
    page.get_by_text("Confirming your payment…").wait_for()

    # Stripe's webhook lands after the guest is back on our page.
    body = json.dumps(session_event(booking))
    header = stripe.WebhookSignature.generate_signature_header(body, settings.STRIPE_WEBHOOK_SECRET)
    response = requests.post(
        f"{live_server.url}/stripe/webhook/",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200

    page.get_by_text("you're booked", exact=False).wait_for()  # the 2 s poll picked it up, no reload
    assert page.locator("[data-reference]").inner_text() == booking.reference
