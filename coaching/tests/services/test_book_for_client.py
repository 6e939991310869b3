"""Booking for a client as staff: free, paid outside Stripe, or a payment link the webhook confirms;
refused for a taken time exactly as a guest is; the client gets the usual emails and magic link."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import Client

from coaching.exceptions import InvalidDetails, SlotUnavailable
from coaching.models import Booking, BookingLog, Notification
from coaching.services import Guest, create_booking
from coaching.services.desk import DeskPayment, book_for_client
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory
from coaching.tests.standins.stripe import pay

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
GRACE = Guest(name="Grace Hopper", email="grace@example.com", phone="+44 7700 900123", timezone="Europe/London")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def at(hour):
    return datetime(2030, 1, 7, hour, tzinfo=UTC)


@pytest.fixture
def coach():
    """Bea Brown, £60 a session, free on 7 January 09:00–17:00 UTC."""
    coach = CoachFactory(name="Bea Brown", price_amount=6000, currency="GBP")
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(17))
    return coach


def guest_mail(address="grace@example.com"):
    return [message for message in mail.outbox if message.to == [address]]


def test_a_free_booking_by_staff_confirms_at_once_and_the_client_gets_the_usual_email(coach, owner, after_commit):
    result = after_commit(
        lambda: book_for_client(guest=GRACE, coach=coach, start_at=at(10), user=owner, payment=DeskPayment.FREE)
    )
    booking = result.booking
    assert result.checkout_url is None
    assert (booking.status, booking.amount_due, booking.is_paid) == (Booking.Status.CONFIRMED, 0, False)
    assert booking.user is None  # the staff user made it; it is not their booking
    entry = BookingLog.objects.get(booking=booking, action="confirmed")
    assert (entry.actor, entry.actor_user) == ("owner", owner)
    (confirmation,) = guest_mail()
    assert "Confirmed" in confirmation.subject and "/manage/" in confirmation.body
    assert any("calendar" in str(part.get_content_type()) for part in confirmation.attachments)


def test_paid_outside_stripe_records_the_amount_and_the_note(coach, owner, after_commit):
    booking = after_commit(
        lambda: book_for_client(
            guest=GRACE,
            coach=coach,
            start_at=at(10),
            user=owner,
            payment=DeskPayment.OUTSIDE,
            amount_paid=5500,
            payment_note="Cash at the studio",
        )
    ).booking
    assert (booking.status, booking.amount_due, booking.amount_paid, booking.is_paid) == ("confirmed", 5500, 5500, True)
    assert booking.payment_note == "Cash at the studio"
    paid = BookingLog.objects.get(booking=booking, action="paid_outside_stripe")
    assert paid.actor_user == owner and "£55.00" in paid.message and "Cash at the studio" in paid.message
    (confirmation,) = guest_mail()
    assert "We received your payment of £55.00" in confirmation.body
    with pytest.raises(InvalidDetails, match="amount"):
        book_for_client(guest=GRACE, coach=coach, start_at=at(12), user=owner, payment=DeskPayment.OUTSIDE)


def test_a_payment_link_is_emailed_and_the_webhook_confirms_the_booking(coach, owner, stripe_standin, after_commit):
    result = after_commit(
        lambda: book_for_client(guest=GRACE, coach=coach, start_at=at(10), user=owner, payment=DeskPayment.LINK)
    )
    booking = result.booking
    assert booking.status == Booking.Status.PENDING_PAYMENT and booking.hold_expires_at is not None
    assert result.checkout_url.startswith("https://checkout.stripe.test/")  # a real Checkout (the stand-in's)
    link = Notification.objects.get(booking=booking, kind="payment_link")
    assert link.status == Notification.Status.SENT
    (email,) = guest_mail()
    assert "Please pay for your booking" in email.subject
    assert result.checkout_url in email.body and "£60.00" in email.body
    assert BookingLog.objects.filter(booking=booking, action="payment_link_sent", actor_user=owner).exists()

    after_commit(lambda: pay(Client(), booking, payment_intent="pi_client"))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 6000
    assert any("Confirmed" in message.subject for message in guest_mail())


def test_staff_booking_a_taken_time_is_refused_exactly_like_a_guest(coach, owner):
    create_booking(guest=Guest(name="Ada", email="ada@example.com"), coach=coach, start_at=at(10), now=NOW)
    with pytest.raises(SlotUnavailable) as staff_refusal:
        book_for_client(guest=GRACE, coach=coach, start_at=at(10), user=owner, payment=DeskPayment.FREE)
    with pytest.raises(SlotUnavailable) as guest_refusal:
        create_booking(guest=GRACE, coach=coach, start_at=at(10), now=NOW)
    assert staff_refusal.value.message == guest_refusal.value.message
    assert staff_refusal.value.http_status == guest_refusal.value.http_status
    assert not Booking.objects.filter(guest_email="grace@example.com").exists()
