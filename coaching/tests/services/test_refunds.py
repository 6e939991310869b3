"""Refunds are owed under the lock and sent after commit: a slow or failing Stripe never blocks
another guest, and a refund is made exactly once however often it is retried."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import close_old_connections
from django.test import Client

from coaching.models import Booking, BookingLog, Refund
from coaching.services import Guest, cancel_booking, create_booking, expire_holds, locks, refunds
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory
from coaching.tests.standins.stripe import pay

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
GUEST = Guest(name="Grace Hopper", email="grace@example.com", timezone="Europe/London")
OTHER = Guest(name="Ada Lovelace", email="ada@example.com", timezone="Europe/London")


@pytest.fixture
def coach(db):
    coach = CoachFactory(price_amount=6000, currency="GBP")
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2030, 1, 7, 9, tzinfo=UTC), end_at=datetime(2030, 1, 7, 13, tzinfo=UTC)
    )
    return coach


def at(hour):
    return datetime(2030, 1, 7, hour, tzinfo=UTC)


@pytest.mark.postgres
def test_a_slow_stripe_refund_never_blocks_another_guest_booking_the_same_coach(
    transactional_db, coach, stripe_standin, settings, monkeypatch
):
    # A late payment for a time someone else has taken is refunded. Stripe takes 3 s to answer the
    # refund; the lock timeout is 1 s. Before refunds were sent after commit, the webhook held the
    # coach's row for those 3 s and the second guest got "we are busy".
    monkeypatch.setattr(locks, "LOCK_TIMEOUT_MS", 1000)
    settings.STRIPE_TIMEOUT_SECONDS = 10
    late = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    expire_holds(now=NOW + timedelta(minutes=16))
    create_booking(guest=OTHER, coach=coach, start_at=at(10), now=NOW + timedelta(minutes=17))
    stripe_standin.delay_next(3)

    webhook_statuses = []

    def deliver_late_payment():
        try:
            webhook_statuses.append(pay(Client(), late, payment_intent="pi_late").status_code)
        finally:
            close_old_connections()

    webhook = threading.Thread(target=deliver_late_payment)
    webhook.start()
    assert stripe_standin.refund_arrived.wait(10), "the refund never reached Stripe"
    started = time.monotonic()
    third = create_booking(guest=Guest(name="Third", email="third@example.com"), coach=coach, start_at=at(12), now=NOW)
    took = time.monotonic() - started
    webhook.join(15)

    assert third.booking.status == Booking.Status.PENDING_PAYMENT  # booked (held for payment), not "busy"
    assert took < 1.0, f"the second booking waited {took:.2f}s"
    assert webhook_statuses == [200]
    late.refresh_from_db()
    assert late.amount_refunded == 6000
    assert len(stripe_standin.refunds) == 1


def test_a_refund_that_stripe_answers_with_500_is_retried_and_made_exactly_once(
    coach, stripe_standin, django_capture_on_commit_callbacks
):
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    pay(Client(), booking, payment_intent="pi_paid")
    booking.refresh_from_db()
    stripe_standin.fail_next(status=500, after_processing=True)  # Stripe refunded, but the answer was lost

    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=booking, actor="owner", refund=True, now=NOW)
    refund = Refund.objects.get(booking=booking)
    assert refund.status == Refund.Status.PENDING and refund.attempts == 1

    assert refunds.send_due_refunds(now=refund.next_attempt_at) == {"refunded": 1}
    booking.refresh_from_db()
    assert booking.amount_refunded == 6000
    assert len(stripe_standin.refunds) == 1  # the retry reused the idempotency key: Stripe's first answer
    keys = {r.idempotency_key for r in stripe_standin.requests_to("POST", "/v1/refunds")}
    assert keys == {f"refund-{refund.pk}"}
    assert BookingLog.objects.filter(booking=booking, action="refunded").count() == 1


def test_a_refund_stripe_refuses_is_failed_logged_and_the_owner_is_emailed(
    coach, stripe_standin, django_capture_on_commit_callbacks, settings
):
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    pay(Client(), booking, payment_intent="pi_paid")
    booking.refresh_from_db()
    stripe_standin.fail_next(status=400)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=booking, actor="owner", refund=True, now=NOW)
    refund = Refund.objects.get(booking=booking)
    assert refund.status == Refund.Status.FAILED
    assert BookingLog.objects.filter(booking=booking, action="refund_failed").exists()
    alert = booking.notifications.get(kind="refund_failed")
    assert alert.recipient == settings.OWNER_EMAIL
    from coaching.services import delivery

    delivery.deliver_notification(alert.pk)
    (message,) = [m for m in mail.outbox if m.to == [settings.OWNER_EMAIL]]
    assert "Refund not made: £60.00" in message.subject and booking.reference in message.subject

    # The owner retries once Stripe is fine again.
    with django_capture_on_commit_callbacks(execute=True):
        refunds.retry_refund(refund=refund)
    refund.refresh_from_db()
    booking.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and booking.amount_refunded == 6000


def test_giving_up_after_the_last_attempt_tells_the_owner(
    coach, stripe_standin, settings, django_capture_on_commit_callbacks
):
    settings.REFUND_MAX_ATTEMPTS = 2
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    pay(Client(), booking, payment_intent="pi_paid")
    booking.refresh_from_db()
    stripe_standin.fail_next(times=2, status=503)
    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=booking, actor="owner", refund=True, now=NOW)
    refund = Refund.objects.get(booking=booking)
    assert refunds.send_due_refunds(now=refund.next_attempt_at) == {"failed": 1}
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED and refund.attempts == 2
    assert booking.notifications.filter(kind="refund_failed").count() == 1
    assert not stripe_standin.refunds
