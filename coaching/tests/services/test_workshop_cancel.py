"""The owner cancels a whole workshop (services/workshops.py, cancel_workshop): every seat cancelled
and refunded through the refund service (owed under the lock, sent after commit), every guest told in
the owner's words with a CANCEL invite, the waiting list closed, and a Stripe refusal of one refund
never stopping the others.

Stripe is the local HTTP stand-in driven by the real SDK; the emails go to a real SMTP server on
loopback and are parsed back with `email` and `icalendar`.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from wagtail.models import ModelLogEntry

from coaching.exceptions import InvalidWorkshop, NotBookable, WorkshopNotChangeable
from coaching.models import Booking, BookingLog, Refund, WaitlistEntry
from coaching.services import create_booking
from coaching.services.refunds import retry_refund
from coaching.services.waitlist import join_waitlist
from coaching.services.workshops import cancel_workshop
from coaching.tests.factories import CoachFactory, GuestFactory, WorkshopFactory
from coaching.tests.standins.smtp import html_body, invite, text_body
from coaching.tests.standins.stripe import pay
from coaching.vocabulary import Actor, LogAction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
START = datetime(2031, 3, 10, 13, 0, tzinfo=UTC)
APOLOGY = "Grace is unwell and we could not find a stand-in.\nWe are very sorry — we hope to see you at the next one."


@pytest.fixture
def workshop():
    host = CoachFactory(name="Grace Hopper", email="grace@coach.example")
    return WorkshopFactory(
        title="Writing for humans",
        host=host,
        start_at=START,
        end_at=START + timedelta(hours=2),
        capacity=4,
        price_amount=3000,
        currency="GBP",
    )


@pytest.fixture
def sold_out(workshop, stripe_standin):
    """Three paid seats (Ada, Bea with two seats, Kenji in Tokyo), one guest still paying, one waiting."""
    paid = []
    for name, seats, zone in (("Ada", 1, "Europe/London"), ("Bea", 2, "Europe/London"), ("Kenji", 1, "Asia/Tokyo")):
        guest = GuestFactory(name=name, email=f"{name.lower()}@guest.example", timezone=zone)
        booking = create_booking(guest=guest, workshop=workshop, seats=seats).booking
        assert pay(Client(), booking, payment_intent=f"pi_{name.lower()}").status_code == 200
        booking.refresh_from_db()
        paid.append(booking)
    assert sum(b.seats for b in paid) == 4
    Booking.objects.filter(pk=paid[2].pk).update(status=Booking.Status.PENDING_PAYMENT, is_paid=False, amount_paid=0)
    holding = Booking.objects.get(pk=paid[2].pk)  # Kenji is still at the checkout
    waiting = join_waitlist(workshop=workshop, guest=GuestFactory(name="Wes", email="wes@guest.example"))
    return paid[:2], holding, waiting


def test_cancelling_a_workshop_refunds_everyone_it_can_tells_every_guest_and_lists_the_refund_stripe_refused(
    workshop, sold_out, owner, stripe_standin, smtp, django_capture_on_commit_callbacks
):
    (ada, bea), kenji, wes = sold_out
    stripe_standin.fail_next(status=400)  # Stripe refuses the first refund sent: Ada's

    with django_capture_on_commit_callbacks(execute=True):
        result = cancel_workshop(workshop=workshop, message=APOLOGY, user=owner)

    assert [b.pk for b in result.cancelled_bookings] == [ada.pk, bea.pk, kenji.pk]
    for booking in (ada, bea, kenji):
        booking.refresh_from_db()
        assert (booking.status, booking.ics_sequence) == (Booking.Status.CANCELLED, 1)
        (entry,) = BookingLog.objects.filter(booking=booking, action=LogAction.WORKSHOP_CANCELLED)
        assert (entry.actor, entry.actor_user, entry.message) == (Actor.OWNER, owner, APOLOGY)
    workshop.refresh_from_db()
    assert workshop.cancelled_at == NOW and not workshop.is_published and workshop.cancellation_message == APOLOGY
    assert ModelLogEntry.objects.filter(
        object_id=str(workshop.pk), action="coaching.cancel_workshop", user=owner
    ).exists()

    # Refunds: Bea's went through; Ada's was refused and waits, listed, for the owner's retry.
    assert {r.booking_id: r.status for r in Refund.objects.all()} == {ada.pk: "failed", bea.pk: "succeeded"}
    assert (ada.amount_refunded, bea.amount_refunded, kenji.amount_refunded) == (0, 6000, 0)
    assert [r["amount"] for r in stripe_standin.refunds.values()] == [6000]
    failed = Refund.objects.get(status=Refund.Status.FAILED)
    assert failed.last_error and failed.amount == 3000
    expired = stripe_standin.requests_to("POST", r"/v1/checkout/sessions/[^/]+/expire")
    assert [r.path for r in expired] == [f"/v1/checkout/sessions/{kenji.stripe_checkout_session_id}/expire"]

    # Every guest is told, in the owner's words, with an invite that removes the event.
    mailbox = smtp.mailbox
    for booking, refund_line in ((ada, "£30.00"), (bea, "£60.00"), (kenji, None)):
        (message,) = [
            m for m in mailbox.to(booking.guest_email) if m["Subject"].strip().startswith("Workshop cancelled")
        ]
        text = text_body(message)
        assert "Grace is unwell and we could not find a stand-in." in text
        assert "Grace is unwell and we could not find a stand-in.<br>We are very sorry" in html_body(message)
        if refund_line:
            assert f"We are refunding everything you paid, {refund_line}" in text
        else:
            assert "Nothing was charged." in text
        method, calendar = invite(message)
        (event,) = calendar.walk("VEVENT")
        assert (method, str(calendar["METHOD"]), str(event["STATUS"])) == ("CANCEL", "CANCEL", "CANCELLED")
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (booking.ics_uid, 1)
        assert event.decoded("DTSTART") == START
    (kenji_message,) = mailbox.to("kenji@guest.example")
    assert "Mon 10 Mar 2031, 22:00 JST (Asia/Tokyo)" in kenji_message["Subject"]
    # The owner hears about the refund Stripe refused; the guest was not emailed a second time.
    (alert,) = mailbox.to("owner@example.com")
    assert "could not refund £30.00 to Ada" in text_body(alert).replace("\n", " ")
    assert not [m for m in mailbox.messages if "Refund" in m["Subject"] and "guest.example" in m["To"]]

    # Those waiting are told and taken off the list.
    wes.refresh_from_db()
    assert wes.status == WaitlistEntry.Status.CLOSED
    (closed,) = mailbox.to("wes@guest.example")
    assert closed["Subject"].strip().startswith("Workshop cancelled: Writing for humans") and APOLOGY.splitlines()[
        1
    ] in text_body(closed)

    # The owner's Retry sends the refused refund again.
    with django_capture_on_commit_callbacks(execute=True):
        retry_refund(refund=failed, user=owner)
    ada.refresh_from_db()
    assert ada.amount_refunded == 3000 and Refund.objects.get(pk=failed.pk).status == Refund.Status.SUCCEEDED


def test_a_cancelled_workshop_takes_no_more_bookings_and_cannot_be_cancelled_twice(workshop):
    cancel_workshop(workshop=workshop, message="Sorry!")

    with pytest.raises(NotBookable, match="cancelled"):
        create_booking(guest=GuestFactory(), workshop=workshop)
    with pytest.raises(WorkshopNotChangeable, match="already cancelled"):
        cancel_workshop(workshop=workshop, message="Sorry again")


def test_cancelling_needs_a_word_to_the_guests_and_writes_nothing_without_one(workshop):
    with pytest.raises(InvalidWorkshop, match="write a few words"):
        cancel_workshop(workshop=workshop, message="   ")
    workshop.refresh_from_db()
    assert workshop.cancelled_at is None and workshop.is_published
