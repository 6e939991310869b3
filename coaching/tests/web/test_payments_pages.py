"""The built-in test checkout (no Stripe keys), the return page that waits for the webhook, and the cancel link."""

from datetime import UTC, datetime, timedelta

import pytest

from coaching.models import Booking, BookingLog, ProcessedStripeEvent
from coaching.services import Guest, create_booking, expire_holds, payment
from coaching.tests.factories import AvailabilityBlockFactory, PaidCoachFactory, WorkshopFactory
from coaching.tests.http import HTMX
from coaching.tests.standins.stripe import use_stripe_standin

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
TEN = datetime(2030, 1, 7, 10, tzinfo=UTC)
GUEST = Guest(name="Grace Hopper", email="grace@example.com", timezone="America/New_York")


@pytest.fixture
def hold():
    coach = PaidCoachFactory(slug="bea")
    AvailabilityBlockFactory(coach=coach, start_at=TEN - timedelta(hours=1), end_at=TEN + timedelta(hours=2))
    result = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW)
    return result


def path_of(url, settings):
    assert url.startswith(settings.SITE_URL)
    return url.removeprefix(settings.SITE_URL)


def test_without_keys_checkout_is_the_local_test_page(hold, settings):
    booking = hold.booking
    assert booking.stripe_checkout_session_id.startswith(payment.LOCAL_SESSION_PREFIX)
    assert hold.checkout_url == f"{settings.SITE_URL}/stripe/test-checkout/{booking.stripe_checkout_session_id}/"


def test_test_checkout_page_shows_the_booking_amount_and_both_buttons(client, hold, settings):
    response = client.get(path_of(hold.checkout_url, settings))
    html = response.content.decode()
    assert response.status_code == 200
    assert "£60.00" in html and hold.booking.reference in html and "1-on-1 session with Bea Brown" in html
    assert "Pay (test)" in html and ">Cancel<" in html


def test_pay_goes_through_the_signed_webhook_and_lands_on_the_confirmed_return_page(client, hold, settings):
    booking = hold.booking
    response = client.post(path_of(hold.checkout_url, settings), {"pay": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/bookings/checkout/return/?session_id={booking.stripe_checkout_session_id}"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 6000
    assert booking.stripe_payment_intent_id.startswith(payment.LOCAL_PAYMENT_INTENT_PREFIX)
    assert BookingLog.objects.get(booking=booking, action="confirmed").actor == "webhook"
    assert ProcessedStripeEvent.objects.filter(event_type="checkout.session.completed").count() == 1

    page = client.get(response["Location"]).content.decode()
    assert "you're booked" in page.lower() and booking.reference in page
    assert "(New York, GMT−5)" in page and "(London, GMT)" in page  # guest's and coach's zones
    assert f"/bookings/{booking.reference}/calendar.ics?t=" in page and "calendar.google.com" in page
    assert 'hx-trigger="every 2s"' not in page


def test_the_test_checkout_cannot_pay_with_a_secret_the_webhook_does_not_accept(client, hold, settings):
    # The page signs with STRIPE_WEBHOOK_SECRET; the webhook verifies with it. Proof it is the real path:
    # with the two out of step the payment is refused and nothing is confirmed.
    from coaching.services import local_checkout

    payload_secret = settings.STRIPE_WEBHOOK_SECRET
    settings.STRIPE_WEBHOOK_SECRET = ""
    accepted = local_checkout.deliver_test_payment(hold.booking)
    settings.STRIPE_WEBHOOK_SECRET = payload_secret
    assert accepted is False
    hold.booking.refresh_from_db()
    assert hold.booking.status == Booking.Status.PENDING_PAYMENT


def test_a_closed_test_checkout_cannot_be_paid(client, hold, settings):
    expire_holds(now=NOW + timedelta(minutes=16))
    response = client.post(path_of(hold.checkout_url, settings), {"pay": "1"})
    assert response.status_code == 409
    hold.booking.refresh_from_db()
    assert hold.booking.status == Booking.Status.EXPIRED and not hold.booking.is_paid


def test_cancel_on_the_test_checkout_cancels_the_hold_and_returns_to_the_same_time(client, hold, settings):
    response = client.post(path_of(hold.checkout_url, settings), {"cancel": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/book/coach/bea/?start=2030-01-07T10%3A00%3A00Z"
    hold.booking.refresh_from_db()
    assert hold.booking.status == Booking.Status.CANCELLED
    assert BookingLog.objects.get(booking=hold.booking, action="checkout_cancelled").actor == "guest"


def test_cancel_link_with_a_forged_token_is_404_and_keeps_the_hold(client, hold):
    response = client.get(f"/bookings/checkout/cancel/?booking={hold.booking.reference}:forged")
    assert response.status_code == 404
    hold.booking.refresh_from_db()
    assert hold.booking.status == Booking.Status.PENDING_PAYMENT


def test_cancel_link_for_a_workshop_returns_to_the_workshop_page(client, settings):
    workshop = WorkshopFactory(slug="focus", price_amount=2500)
    booking = create_booking(guest=GUEST, workshop=workshop).booking
    response = client.get(path_of(payment.cancel_url(booking), settings))
    assert response.status_code == 302 and response["Location"] == "/book/workshop/focus/"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_cancel_link_after_payment_changes_nothing(client, hold, settings):
    client.post(path_of(hold.checkout_url, settings), {"pay": "1"})
    client.get(path_of(payment.cancel_url(hold.booking), settings))
    hold.booking.refresh_from_db()
    assert hold.booking.status == Booking.Status.CONFIRMED


def test_return_page_polls_while_the_webhook_has_not_confirmed(client, hold):
    url = f"/bookings/checkout/return/?session_id={hold.booking.stripe_checkout_session_id}"
    page = client.get(url).content.decode()
    assert "Confirming your payment…" in page
    assert 'hx-trigger="every 2s"' in page and f'hx-get="{url}"' in page
    assert "<html" in page


def test_return_page_poll_gets_only_the_status_region_and_stops_once_confirmed(client, hold, settings):
    url = f"/bookings/checkout/return/?session_id={hold.booking.stripe_checkout_session_id}"
    fragment = client.get(url, **HTMX).content.decode()
    assert "<html" not in fragment and 'hx-trigger="every 2s"' in fragment
    client.post(path_of(hold.checkout_url, settings), {"pay": "1"})
    fragment = client.get(url, **HTMX).content.decode()
    assert "<html" not in fragment and "hx-trigger" not in fragment and hold.booking.reference in fragment


def test_return_page_after_the_hold_lapsed_says_so_and_stops_polling(client, hold):
    expire_holds(now=NOW + timedelta(minutes=16))
    page = client.get(
        f"/bookings/checkout/return/?session_id={hold.booking.stripe_checkout_session_id}"
    ).content.decode()
    assert "not completed" in page and "hx-trigger" not in page


def test_return_page_for_an_unknown_session_is_404(client):
    assert client.get("/bookings/checkout/return/?session_id=cs_nope").status_code == 404
    assert client.get("/bookings/checkout/return/").status_code == 404


def test_test_checkout_does_not_exist_when_real_keys_are_set(client, hold, settings):
    with use_stripe_standin(settings):
        response = client.get(path_of(hold.checkout_url, settings))
        assert response.status_code == 404
        assert client.post(path_of(hold.checkout_url, settings), {"pay": "1"}).status_code == 404
    hold.booking.refresh_from_db()
    assert hold.booking.status == Booking.Status.PENDING_PAYMENT


def test_real_mode_cancel_link_releases_the_hold_and_expires_the_stripe_session(client, settings, stripe_standin):
    workshop = WorkshopFactory(slug="focus", price_amount=2500)
    booking = create_booking(guest=GUEST, workshop=workshop).booking
    cancel = stripe_standin.requests_to("POST", "/v1/checkout/sessions")[0].params["cancel_url"]
    response = client.get(path_of(cancel, settings))
    assert response.status_code == 302
    assert stripe_standin.sessions[booking.stripe_checkout_session_id]["status"] == "expired"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
