"""POST /stripe/webhook/: signed with the real `stripe` library's scheme, the only confirmer of paid bookings."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.test import Client

from coaching.models import Booking, BookingLog, ProcessedStripeEvent
from coaching.services import Guest, create_booking, expire_holds, refunds
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory, WorkshopFactory
from coaching.tests.standins.stripe import session_event

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"  # config/settings/test.py
NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
GUEST = Guest(name="Grace Hopper", email="grace@example.com", timezone="America/New_York")
URL = "/stripe/webhook/"


def post(client, payload, *, secret=SECRET, timestamp=None, header=None):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    if header is None:
        header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return client.post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def hold():
    """A paid 1-on-1 hold made through the service (test checkout: no Stripe key in test settings)."""
    coach = CoachFactory(timezone="Europe/London", price_amount=6000, currency="GBP")
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2030, 1, 7, 9, tzinfo=UTC), end_at=datetime(2030, 1, 7, 12, tzinfo=UTC)
    )
    result = create_booking(guest=GUEST, coach=coach, start_at=datetime(2030, 1, 7, 10, tzinfo=UTC), now=NOW)
    assert result.checkout_url and result.booking.status == Booking.Status.PENDING_PAYMENT
    return result.booking


def actions(booking):
    return list(BookingLog.objects.filter(booking=booking).values_list("action", flat=True))


def test_valid_completed_event_confirms_the_hold_once(client, hold):
    response = post(client, session_event(hold, payment_intent="pi_abc"))
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CONFIRMED
    assert hold.is_paid and hold.amount_paid == 6000 and hold.stripe_payment_intent_id == "pi_abc"
    assert hold.hold_expires_at is None
    assert actions(hold).count("confirmed") == 1 and actions(hold).count("paid") == 1
    assert BookingLog.objects.get(booking=hold, action="confirmed").actor == "webhook"


def test_replayed_event_is_a_no_op(client, hold):
    event = session_event(hold)
    assert post(client, event).status_code == 200
    log_before = actions(hold)
    response = post(client, event)
    assert response.status_code == 200 and response.json()["outcome"] == "duplicate"
    assert actions(hold) == log_before
    assert ProcessedStripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_a_second_event_for_an_already_confirmed_session_changes_nothing(client, hold):
    post(client, session_event(hold, payment_intent="pi_abc"))
    log_before = actions(hold)
    post(client, session_event(hold, event_type="checkout.session.async_payment_succeeded", payment_intent="pi_abc"))
    assert actions(hold) == log_before


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({"header": ""}, id="unsigned"),
        pytest.param({"header": "t=1900000000,v1=" + "0" * 64}, id="forged-signature"),
        pytest.param({"secret": "whsec_someone_else"}, id="wrong-secret"),
        pytest.param({"timestamp": int(time.time()) - 301}, id="stale-timestamp"),
    ],
)
def test_unverifiable_deliveries_are_refused_with_400_and_change_nothing(client, hold, how):
    response = post(client, session_event(hold), **how)
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT and not hold.is_paid
    assert not ProcessedStripeEvent.objects.exists()


def test_a_body_tampered_after_signing_is_refused(client, hold):
    genuine = json.dumps(session_event(hold, payment_status="unpaid"))
    header = stripe.WebhookSignature.generate_signature_header(genuine, SECRET)
    tampered = genuine.replace('"unpaid"', '"paid"')
    response = client.post(URL, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT


def test_signed_but_malformed_json_is_refused_with_400(client, hold):
    response = post(client, '{"id": "evt_1", "type": "checkout.session.completed", ')
    assert response.status_code == 400
    assert not ProcessedStripeEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_unknown_event_type_is_acknowledged_and_ignored(client, hold):
    event = session_event(hold, event_type="customer.created")
    response = post(client, event)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT


def test_event_for_an_unknown_booking_is_acknowledged(client, hold):
    event = session_event(hold)
    event["data"]["object"].update(client_reference_id="NOSUCHREF", metadata={}, id="cs_other")
    response = post(client, event)
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_booking"


def test_webhook_works_without_a_csrf_token(hold):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, session_event(hold)).status_code == 200


def test_completed_but_unpaid_waits_then_async_success_confirms(client, hold):
    response = post(client, session_event(hold, payment_status="unpaid"))
    assert response.json()["outcome"] == "awaiting_payment"
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT and not hold.is_paid

    post(client, session_event(hold, event_type="checkout.session.async_payment_succeeded"))
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CONFIRMED and hold.is_paid


def test_async_payment_failed_releases_the_hold(client, hold):
    post(client, session_event(hold, payment_status="unpaid"))
    post(client, session_event(hold, event_type="checkout.session.async_payment_failed", payment_status="unpaid"))
    hold.refresh_from_db()
    assert hold.status == Booking.Status.EXPIRED and not hold.is_paid
    assert BookingLog.objects.get(booking=hold, action="payment_failed").actor == "webhook"


def test_session_expired_event_releases_the_hold(client, hold):
    post(client, session_event(hold, event_type="checkout.session.expired", payment_status="unpaid"))
    hold.refresh_from_db()
    assert hold.status == Booking.Status.EXPIRED


def test_expired_event_for_another_session_does_not_release_the_hold(client, hold):
    event = session_event(hold, event_type="checkout.session.expired", payment_status="unpaid")
    event["data"]["object"]["id"] = "cs_some_older_session"
    post(client, event)
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT


def test_expired_event_arriving_after_payment_leaves_the_booking_confirmed(client, hold):
    post(client, session_event(hold))
    post(client, session_event(hold, event_type="checkout.session.expired", payment_status="unpaid"))
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CONFIRMED


def test_workshop_seats_are_confirmed_with_the_full_amount(client):
    workshop = WorkshopFactory(price_amount=2500, currency="EUR", capacity=5)
    booking = create_booking(guest=GUEST, workshop=workshop, seats=2).booking
    post(client, session_event(booking))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 5000 and booking.seats == 2


def test_a_failing_handler_records_no_event_so_stripe_retries(client, hold):
    # The database refuses the confirmation (a failure inside the handler, not the event's fault).
    def refuse_booking_updates(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "coaching_booking" in sql:
            raise DatabaseError("disk full")
        return execute(sql, params, many, context)

    event = session_event(hold, payment_intent="pi_abc")
    with connection.execute_wrapper(refuse_booking_updates):
        assert post(client, event).status_code == 500
    assert not ProcessedStripeEvent.objects.filter(event_id=event["id"]).exists()
    hold.refresh_from_db()
    assert not hold.is_paid and hold.status == Booking.Status.PENDING_PAYMENT  # rolled back as a whole

    assert post(client, event).status_code == 200  # Stripe's retry
    hold.refresh_from_db()
    assert hold.is_paid and hold.status == Booking.Status.CONFIRMED


def test_a_late_payment_whose_refund_fails_at_stripe_is_still_acknowledged_and_refunded_once_later(
    client, stripe_standin, django_capture_on_commit_callbacks
):
    coach = CoachFactory(price_amount=6000)
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2030, 1, 7, 9, tzinfo=UTC), end_at=datetime(2030, 1, 7, 12, tzinfo=UTC)
    )
    late = create_booking(guest=GUEST, coach=coach, start_at=datetime(2030, 1, 7, 10, tzinfo=UTC), now=NOW).booking
    expire_holds(now=NOW + timedelta(minutes=16))
    create_booking(guest=GUEST, coach=coach, start_at=late.start_at, now=NOW + timedelta(minutes=17))
    stripe_standin.fail_next(status=500)  # the late payment's refund cannot reach Stripe the first time

    event = session_event(late, payment_intent="pi_late")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, event).status_code == 200  # the event is handled: the refund is owed, not lost
    assert ProcessedStripeEvent.objects.filter(event_id=event["id"]).exists()
    late.refresh_from_db()
    assert late.is_paid and late.amount_refunded == 0 and late.status == Booking.Status.EXPIRED
    (refund,) = late.refunds.all()
    assert refund.status == "pending" and refund.attempts == 1 and "PaymentUnavailable" in refund.last_error

    assert post(client, event).json()["outcome"] == "duplicate"  # Stripe's retry of the event changes nothing
    assert refunds.send_due_refunds(now=refund.next_attempt_at) == {"refunded": 1}
    assert refunds.send_due_refunds(now=refund.next_attempt_at + timedelta(hours=1)) == {}
    late.refresh_from_db()
    assert late.amount_refunded == 6000
    sent = [r for r in stripe_standin.requests_to("POST", "/v1/refunds") if r.status == 200]
    assert [r.params["amount"] for r in sent] == ["6000"] and len(stripe_standin.refunds) == 1
    assert {r.idempotency_key for r in stripe_standin.requests_to("POST", "/v1/refunds")} == {f"refund-{refund.pk}"}


# --- events Stripe would never send, and payments that do not match ---------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[1,2,3]", id="a-json-list"),
        pytest.param('"just a string"', id="a-json-string"),
        pytest.param('{"id":"evt_x","type":"checkout.session.completed","data":"x"}', id="data-a-string"),
        pytest.param('{"id":"evt_x","type":"checkout.session.completed","data":{"object":[1]}}', id="object-a-list"),
        pytest.param('{"id":"evt_x","type":"checkout.session.completed"}', id="no-data"),
        pytest.param('{"id":5,"type":"checkout.session.completed","data":{"object":{}}}', id="id-a-number"),
        pytest.param('{"id":"evt_\u0000","type":"customer.created"}', id="nul-in-the-id"),
    ],
)
def test_signed_but_malformed_events_are_refused_with_400_and_nothing_written(client, hold, body, caplog):
    response = post(client, body)
    assert response.status_code == 400
    assert not ProcessedStripeEvent.objects.exists()
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT and not hold.is_paid
    assert "Rejected Stripe webhook" in caplog.text  # logged for the owner's engineer


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"currency": 5}, id="currency-a-number"),
        pytest.param({"amount_total": "abc"}, id="amount-a-string"),
        pytest.param({"amount_total": True}, id="amount-a-boolean"),
        pytest.param({"amount_total": -1}, id="amount-negative"),
        pytest.param({"metadata": ["x"]}, id="metadata-a-list"),
        pytest.param({"id": None}, id="no-session-id"),
        pytest.param({"client_reference_id": "X" * 300}, id="reference-too-long"),
    ],
)
def test_a_checkout_session_with_wrong_field_types_is_refused_with_400(client, hold, change):
    event = session_event(hold)
    event["data"]["object"].update(change)
    assert post(client, event).status_code == 400
    assert not ProcessedStripeEvent.objects.exists()
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT and not hold.is_paid


def test_a_signature_from_the_future_is_refused(client, hold):
    response = post(client, session_event(hold), timestamp=int(time.time()) + 3600)
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount_total": 1}, id="amount-below-the-price"),
        pytest.param({"id": "cs_someone_elses_session", "amount_total": 100_000}, id="another-session"),
        pytest.param({"currency": "jpy"}, id="another-currency"),
    ],
)
def test_a_payment_that_does_not_match_its_booking_is_refunded_and_flagged_never_confirmed(
    client, hold, change, stripe_standin, django_capture_on_commit_callbacks
):
    event = session_event(hold, payment_intent="pi_wrong")
    event["data"]["object"].update(change)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, event)
    assert response.status_code == 200 and response.json()["outcome"] == "flagged"
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT and not hold.is_paid and hold.amount_paid == 0
    assert "payment_flagged" in actions(hold) and "confirmed" not in actions(hold)
    (refund,) = hold.refunds.all()
    paid = event["data"]["object"]["amount_total"]
    assert (refund.amount, refund.payment_intent_id, refund.counts_toward_booking) == (paid, "pi_wrong", False)
    assert refund.status == "succeeded"
    assert [r.params["payment_intent"] for r in stripe_standin.requests_to("POST", "/v1/refunds")] == ["pi_wrong"]
    alert = hold.notifications.get(kind="payment_flagged")
    assert alert.recipient == settings.OWNER_EMAIL
    assert hold.amount_refunded == 0  # not the booking's money: its own amounts are untouched


def test_a_matching_payment_still_confirms_after_a_flagged_one(client, hold):
    wrong = session_event(hold, payment_intent="pi_wrong")
    wrong["data"]["object"]["amount_total"] = 1
    post(client, wrong)
    post(client, session_event(hold, payment_intent="pi_right"))
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CONFIRMED and hold.amount_paid == 6000


# --- concurrency on PostgreSQL -------------------------------------------------------------------


def _deliver_concurrently(bodies):
    barrier = threading.Barrier(len(bodies))
    statuses = []

    def deliver(body):
        try:
            barrier.wait()
            statuses.append(post(Client(), body).status_code)
        finally:
            connections.close_all()  # this thread's connection, so the test database can be dropped

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.postgres
def test_concurrent_deliveries_of_one_event_on_postgres_confirm_once(transactional_db, hold):
    body = json.dumps(session_event(hold, event_id="evt_same"))
    statuses = _deliver_concurrently([body] * 8)
    assert statuses == [200] * 8
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CONFIRMED
    assert actions(hold).count("confirmed") == 1 and actions(hold).count("paid") == 1
    assert ProcessedStripeEvent.objects.count() == 1


@pytest.mark.postgres
def test_concurrent_completed_and_async_succeeded_on_postgres_confirm_once(transactional_db, hold):
    bodies = [
        json.dumps(session_event(hold, event_type=kind))
        for kind in ["checkout.session.completed", "checkout.session.async_payment_succeeded"] * 4
    ]
    statuses = _deliver_concurrently(bodies)
    assert statuses == [200] * 8
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CONFIRMED and hold.amount_paid == 6000
    assert actions(hold).count("confirmed") == 1 and actions(hold).count("paid") == 1
    assert hold.notifications.filter(kind="confirmation").count() == 1
