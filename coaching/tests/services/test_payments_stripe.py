"""Real Stripe mode: the `stripe` SDK against a local stand-in of Stripe's API (no mocks of our code)."""

from datetime import UTC, datetime, timedelta

import pytest

from coaching.exceptions import PaymentUnavailable
from coaching.integrations import stripe as stripe_api
from coaching.models import Booking, BookingLog
from coaching.schedule import free_slots
from coaching.services import Guest, cancel_booking, create_booking, expire_holds, payment, refunds
from coaching.tasks import expire_holds_task
from coaching.tests.factories import AvailabilityBlockFactory, GuestFactory, PaidCoachFactory, WorkshopFactory
from coaching.tests.http import HTMX
from coaching.tests.standins.stripe import parse_form, pay

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
TEN = datetime(2030, 1, 7, 10, tzinfo=UTC)
GUEST = Guest(name="Grace Hopper", email="grace@example.com", timezone="America/New_York")


@pytest.fixture
def coach():
    coach = PaidCoachFactory()
    AvailabilityBlockFactory(coach=coach, start_at=TEN - timedelta(hours=1), end_at=TEN + timedelta(hours=2))
    return coach


def creates(standin):
    return standin.requests_to("POST", "/v1/checkout/sessions")


def test_form_encoding_is_decoded_like_stripe_does():
    assert parse_form("a[0][b]=1&a[0][c][d]=x&e=2") == {"a": [{"b": "1", "c": {"d": "x"}}], "e": "2"}


# --- creating the checkout ------------------------------------------------------------------------


def test_checkout_sends_the_server_side_price_reference_email_urls_and_expiry(stripe_standin, coach, settings):
    result = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW)
    booking = result.booking
    (request,) = creates(stripe_standin)
    params = request.params
    item = params["line_items"][0]
    assert item["price_data"]["unit_amount"] == "6000" and item["price_data"]["currency"] == "gbp"
    assert item["quantity"] == "1" and item["price_data"]["product_data"]["name"] == "1-on-1 session with Bea Brown"
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == booking.reference
    assert params["metadata"] == {"booking_reference": booking.reference}
    assert params["customer_email"] == "grace@example.com"
    assert params["success_url"] == f"{settings.SITE_URL}/bookings/checkout/return/?session_id={{CHECKOUT_SESSION_ID}}"
    assert params["cancel_url"].startswith(f"{settings.SITE_URL}/bookings/checkout/cancel/?booking=")
    # Stripe's minimum session lifetime is 30 minutes; our 15-minute hold is enforced by the task.
    assert int(params["expires_at"]) == int((booking.hold_expires_at + timedelta(minutes=30)).timestamp())
    assert booking.hold_expires_at == NOW + timedelta(minutes=15)
    assert request.idempotency_key == f"booking-{booking.reference}-checkout"
    assert result.checkout_url == stripe_standin.sessions[booking.stripe_checkout_session_id]["url"]
    assert BookingLog.objects.filter(booking=booking, action="checkout_started").exists()


def test_workshop_checkout_charges_price_per_seat_times_seats(stripe_standin):
    workshop = WorkshopFactory(price_amount=2500, currency="EUR")
    booking = create_booking(guest=GUEST, workshop=workshop, seats=3).booking
    item = creates(stripe_standin)[0].params["line_items"][0]
    assert (item["price_data"]["unit_amount"], item["quantity"], item["price_data"]["currency"]) == ("2500", "3", "eur")
    assert stripe_standin.sessions[booking.stripe_checkout_session_id]["amount_total"] == 7500


def test_starting_checkout_again_for_the_same_booking_returns_the_same_session(stripe_standin, coach):
    result = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW)
    again = payment.start_checkout(booking=result.booking)
    assert again == result.checkout_url
    assert len(stripe_standin.sessions) == 1
    assert {r.idempotency_key for r in creates(stripe_standin)} == {f"booking-{result.booking.reference}-checkout"}


def test_a_lost_response_is_retried_by_the_sdk_without_making_a_second_session(stripe_standin, coach, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    stripe_standin.fail_next(status=500, after_processing=True)  # Stripe made the session; the answer was lost
    result = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW)
    assert [r.status for r in creates(stripe_standin)] == [500, 200]
    assert len({r.idempotency_key for r in creates(stripe_standin)}) == 1
    assert len(stripe_standin.sessions) == 1
    assert result.booking.stripe_checkout_session_id in stripe_standin.sessions


@pytest.mark.parametrize("outage", ["500", "timeout"])
def test_stripe_outage_tells_the_guest_to_try_again_and_leaves_no_hold(stripe_standin, coach, outage):
    if outage == "500":
        stripe_standin.fail_next(status=500)
    else:
        stripe_standin.hang_next()
    with pytest.raises(PaymentUnavailable) as caught:
        create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW)
    assert "try again" in caught.value.message.lower()
    assert not Booking.objects.active().exists()
    offered = free_slots(coach=coach, start=TEN - timedelta(hours=1), end=TEN + timedelta(hours=2), now=NOW)
    assert TEN in [slot.start_at for slot in offered]


def test_paid_workshop_form_redirects_htmx_to_checkout_with_the_server_side_price(stripe_standin, client):
    workshop = WorkshopFactory(slug="focus", price_amount=2500, currency="GBP")
    form = {"name": "Grace", "email": "grace@example.com", "seats": "2", "amount": "1", "unit_amount": "1"}
    response = client.post("/book/workshop/focus/", form, **HTMX)
    booking = Booking.objects.get(workshop=workshop)
    assert response.headers["HX-Redirect"] == stripe_standin.sessions[booking.stripe_checkout_session_id]["url"]
    item = creates(stripe_standin)[0].params["line_items"][0]
    assert (item["price_data"]["unit_amount"], item["quantity"]) == ("2500", "2")


def test_paid_workshop_form_without_javascript_gets_a_plain_redirect(stripe_standin, client):
    WorkshopFactory(slug="focus", price_amount=2500)
    response = client.post("/book/workshop/focus/", {"name": "Grace", "email": "grace@example.com", "seats": "1"})
    assert response.status_code == 303 and response["Location"].startswith("https://checkout.stripe.test/")


def test_stripe_outage_on_the_booking_form_tells_the_guest_to_try_again_and_keeps_no_hold(stripe_standin, client):
    WorkshopFactory(slug="focus", price_amount=2500)
    stripe_standin.fail_next(status=503)
    response = client.post(
        "/book/workshop/focus/", {"name": "Grace", "email": "grace@example.com", "seats": "1"}, **HTMX
    )
    # The guest flow answers refusals with a 4xx (its choice) and shows the message in the form.
    assert response.status_code >= 400 and "try again" in response.content.decode().lower()
    assert not Booking.objects.active().exists()


def test_stripe_refusing_the_request_is_not_reported_as_try_again(stripe_standin):
    with pytest.raises(stripe_api.StripeRefused):
        stripe_api.expire_checkout_session("cs_does_not_exist")


# --- hold expiry ----------------------------------------------------------------------------------


def test_expired_hold_expires_the_stripe_session_and_frees_the_slot(stripe_standin, coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    assert expire_holds(now=NOW + timedelta(minutes=14)) == 0
    assert expire_holds(now=NOW + timedelta(minutes=15)) == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    (expire,) = stripe_standin.requests_to("POST", r"/v1/checkout/sessions/[^/]+/expire")
    assert expire.path == f"/v1/checkout/sessions/{booking.stripe_checkout_session_id}/expire"
    assert stripe_standin.sessions[booking.stripe_checkout_session_id]["status"] == "expired"
    offered = free_slots(coach=coach, start=TEN - timedelta(hours=1), end=TEN + timedelta(hours=2), now=NOW)
    assert TEN in [slot.start_at for slot in offered]


def test_the_beat_task_expires_lapsed_holds(stripe_standin, coach, time_machine):
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    time_machine.move_to(NOW + timedelta(minutes=16))
    assert expire_holds_task.delay().get() == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert len(stripe_standin.requests_to("POST", r"/v1/checkout/sessions/[^/]+/expire")) == 1


def test_expiring_a_session_the_guest_already_paid_is_harmless(stripe_standin, coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    stripe_standin.pay_session(booking.stripe_checkout_session_id)
    assert expire_holds(now=NOW + timedelta(minutes=20)) == 1  # Stripe answers 400; the webhook brings the money


# --- late payment -----------------------------------------------------------------------------------


def test_payment_after_expiry_reconfirms_when_the_time_is_still_free(stripe_standin, coach, client):
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    expire_holds(now=NOW + timedelta(minutes=16))
    assert pay(client, booking, payment_intent="pi_late").status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 6000
    assert not stripe_standin.requests_to("POST", "/v1/refunds")


def test_payment_after_expiry_is_refunded_in_full_when_the_time_was_taken(
    stripe_standin, coach, client, django_capture_on_commit_callbacks
):
    late = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    expire_holds(now=NOW + timedelta(minutes=16))
    taken = create_booking(guest=GuestFactory(), coach=coach, start_at=TEN, now=NOW + timedelta(minutes=17)).booking
    assert pay(client, taken, payment_intent="pi_other").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):  # the refund is sent after the webhook commits
        assert pay(client, late, payment_intent="pi_late").status_code == 200
    late.refresh_from_db()
    assert late.status == Booking.Status.EXPIRED
    assert late.is_paid and late.amount_paid == 6000 and late.amount_refunded == 6000
    (refund,) = stripe_standin.requests_to("POST", "/v1/refunds")
    assert refund.params["payment_intent"] == "pi_late" and refund.params["amount"] == "6000"
    assert refund.idempotency_key
    assert late.stripe_refund_ids == [next(iter(stripe_standin.refunds))]
    assert late.notifications.filter(kind="refund").exists()
    assert "late_payment_unplaceable" in BookingLog.objects.filter(booking=late).values_list("action", flat=True)
    taken.refresh_from_db()
    assert taken.status == Booking.Status.CONFIRMED


# --- refunds on cancellation ----------------------------------------------------------------------------


@pytest.fixture
def paid_booking(stripe_standin, coach, client):
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    pay(client, booking, payment_intent="pi_paid")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    return booking


def test_guest_cancelling_before_the_cutoff_is_refunded_in_full(
    paid_booking, stripe_standin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=paid_booking, actor="guest", now=TEN - timedelta(hours=25))
    paid_booking.refresh_from_db()
    (refund,) = stripe_standin.requests_to("POST", "/v1/refunds")
    assert refund.params["amount"] == "6000" and refund.params["payment_intent"] == "pi_paid"
    assert paid_booking.amount_refunded == 6000 and paid_booking.status == Booking.Status.CANCELLED
    assert BookingLog.objects.get(booking=paid_booking, action="refunded").actor == "guest"


def test_guest_cancelling_after_the_cutoff_gets_no_refund(paid_booking, stripe_standin):
    cancel_booking(booking=paid_booking, actor="guest", now=TEN - timedelta(hours=23))
    paid_booking.refresh_from_db()
    assert not stripe_standin.requests_to("POST", "/v1/refunds")
    assert paid_booking.amount_refunded == 0 and paid_booking.status == Booking.Status.CANCELLED


def test_owner_can_refund_in_full_after_the_cutoff(paid_booking, stripe_standin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=paid_booking, actor="owner", refund=True, now=TEN - timedelta(hours=1))
    paid_booking.refresh_from_db()
    assert paid_booking.amount_refunded == 6000
    assert len(stripe_standin.requests_to("POST", "/v1/refunds")) == 1


def test_a_repeated_refund_call_makes_no_second_refund(
    paid_booking, stripe_standin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        refunds.request_refund(booking=paid_booking, amount=2000, actor="owner")
    paid_booking.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        refunds.request_refund(booking=paid_booking, amount=10_000, actor="owner")  # capped at what is left
    paid_booking.refresh_from_db()
    assert refunds.request_refund(booking=paid_booking, amount=1, actor="owner") is None  # nothing left
    paid_booking.refresh_from_db()
    assert [r.params["amount"] for r in stripe_standin.requests_to("POST", "/v1/refunds")] == ["2000", "4000"]
    assert paid_booking.amount_refunded == 6000 and len(paid_booking.stripe_refund_ids) == 2


def test_refund_failing_at_stripe_is_logged_for_the_owner(
    paid_booking, stripe_standin, django_capture_on_commit_callbacks
):
    stripe_standin.fail_next(status=500)
    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=paid_booking, actor="owner", refund=True, now=TEN - timedelta(hours=30))
    paid_booking.refresh_from_db()
    assert paid_booking.status == Booking.Status.CANCELLED and paid_booking.amount_refunded == 0
    assert BookingLog.objects.filter(booking=paid_booking, action="refund_failed").exists()


def test_cancelling_an_unpaid_hold_expires_its_stripe_session(stripe_standin, coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    cancel_booking(booking=booking, actor="owner", now=NOW + timedelta(minutes=1))
    assert stripe_standin.sessions[booking.stripe_checkout_session_id]["status"] == "expired"
    assert not stripe_standin.requests_to("POST", "/v1/refunds")


def test_expire_holds_command_releases_lapsed_holds_for_setups_without_beat(stripe_standin, coach, time_machine):
    from io import StringIO

    from django.core.management import call_command

    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN, now=NOW).booking
    time_machine.move_to(NOW + timedelta(minutes=16))
    out = StringIO()
    call_command("expire_holds", stdout=out)
    call_command("expire_holds", stdout=out)
    assert out.getvalue() == "Holds released: 1.\nHolds released: 0.\n"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
