"""Changing a workshop (services/workshops.py): its seats move with it, under the workshop's lock.

The emails of a move are sent by the outbox's periodic task through Django's SMTP backend to a real
aiosmtpd server on loopback and parsed back with `email` and `icalendar`, as the guest's mail client
and calendar would read them.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from coaching.exceptions import CapacityBelowSeatsSold, HostHasSessions, InvalidWorkshop
from coaching.models import Booking, BookingLog, Notification, Workshop
from coaching.schedule import seats_sold
from coaching.services import Guest, confirm_paid_booking, create_booking, locks, outbox
from coaching.services.workshops import WorkshopChange, change_workshop, create_workshop
from coaching.tasks import deliver_pending_notifications
from coaching.tests.factories import BookingFactory, CoachFactory, WorkshopFactory
from coaching.tests.services.test_races import race
from coaching.tests.standins.smtp import html_body, invite, text_body
from coaching.vocabulary import Actor, Change, LogAction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
START = datetime(2031, 3, 10, 13, 0, tzinfo=UTC)  # Mon 13:00 GMT London = 22:00 JST Tokyo
MOVED = datetime(2031, 3, 12, 17, 0, tzinfo=UTC)  # Wed 17:00 GMT London = Thu 02:00 JST Tokyo
TWO_HOURS = timedelta(hours=2)


@pytest.fixture
def workshop():
    host = CoachFactory(name="Grace Hopper", email="grace@coach.example", timezone="Europe/London")
    return WorkshopFactory(title="Writing for humans", host=host, start_at=START, end_at=START + TWO_HOURS, capacity=10)


def seat(workshop, **fields):
    """A seat booking as create_booking writes it: the workshop's own times copied onto the row."""
    return BookingFactory(coach=None, workshop=workshop, start_at=workshop.start_at, end_at=workshop.end_at, **fields)


def move(workshop, start_at, *, user=None, **changes):
    return change_workshop(
        workshop=workshop, changes={"start_at": start_at, "end_at": start_at + TWO_HOURS, **changes}, user=user
    )


def test_moving_a_workshop_moves_its_active_seats_and_emails_each_confirmed_guest_an_updated_invite(
    workshop, owner, smtp
):
    kenji = seat(workshop, guest_name="Kenji Sato", guest_email="kenji@guest.example", guest_timezone="Asia/Tokyo")
    ada = seat(workshop, guest_email="ada@guest.example", seats=2, ics_sequence=2)
    hold = seat(workshop, status=Booking.Status.PENDING_PAYMENT, hold_expires_at=NOW + timedelta(minutes=10))
    cancelled = seat(workshop, status=Booking.Status.CANCELLED, ics_sequence=1)
    expired = seat(workshop, status=Booking.Status.EXPIRED)
    elsewhere = seat(WorkshopFactory(start_at=START, end_at=START + TWO_HOURS))

    change = move(workshop, MOVED, user=owner)
    deliver_pending_notifications()

    assert {booking.pk for booking in change.moved_bookings} == {kenji.pk, ada.pk, hold.pk}
    for booking, sequence in ((kenji, 1), (ada, 3), (hold, 1)):
        booking.refresh_from_db()
        assert (booking.start_at, booking.end_at, booking.ics_sequence) == (MOVED, MOVED + TWO_HOURS, sequence)
    hold.refresh_from_db()
    assert hold.status == Booking.Status.PENDING_PAYMENT and hold.hold_expires_at == NOW + timedelta(minutes=10)
    for untouched, sequence in ((cancelled, 1), (expired, 0), (elsewhere, 0)):
        untouched.refresh_from_db()
        assert (untouched.start_at, untouched.ics_sequence) == (START, sequence)

    (entry,) = BookingLog.objects.filter(booking=kenji, action=LogAction.WORKSHOP_MOVED)
    assert (entry.actor, entry.actor_user) == (Actor.OWNER, owner)
    assert entry.message == "Workshop moved from 2031-03-10 13:00 UTC to 2031-03-12 17:00 UTC."
    assert entry.data == {
        "old_start_at": START.isoformat(),
        "old_end_at": (START + TWO_HOURS).isoformat(),
        "new_start_at": MOVED.isoformat(),
        "new_end_at": (MOVED + TWO_HOURS).isoformat(),
    }
    assert BookingLog.objects.filter(action=LogAction.WORKSHOP_MOVED).count() == 3

    # Only the confirmed guests are written to; the coach and the guest still paying are not.
    mailbox = smtp.mailbox
    assert sorted(to for recipients in mailbox.envelope_recipients for to in recipients) == [
        "ada@guest.example",
        "kenji@guest.example",
    ]
    (message,) = mailbox.to("kenji@guest.example")
    assert message["Subject"].strip() == (
        "Workshop moved: Writing for humans is now on Thu 13 Mar 2031, 02:00 JST (Asia/Tokyo) – 04:00"
    )
    text = text_body(message)
    assert "Thu 13 Mar 2031, 02:00 JST (Asia/Tokyo) – 04:00 (your time)" in text
    assert "Wed 12 Mar 2031, 17:00 GMT (Europe/London) – 19:00 (Grace Hopper's time)" in text
    assert "Previously: Mon 10 Mar 2031, 22:00 JST (Asia/Tokyo) – 00:00 (your time)" in text
    assert "<s>Mon 10 Mar 2031, 22:00 JST (Asia/Tokyo) – 00:00</s>" in html_body(message)
    assert "http://testserver/bookings/manage/" in text

    method, calendar = invite(message)
    assert method == "REQUEST" and calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == kenji.ics_uid
    assert int(event["SEQUENCE"]) == 1
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (MOVED, MOVED + TWO_HOURS)
    (ada_message,) = mailbox.to("ada@guest.example")
    (ada_event,) = invite(ada_message)[1].walk("VEVENT")
    assert (str(ada_event["UID"]), int(ada_event["SEQUENCE"])) == (ada.ics_uid, 3)


def test_each_move_owes_its_own_email_and_recording_a_move_again_owes_nothing_new(workshop):
    booking = seat(workshop)

    move(workshop, MOVED)
    move(workshop, MOVED + timedelta(days=1))
    booking.refresh_from_db()
    again = outbox.record_notifications(booking=booking, change=Change.WORKSHOP_MOVED, old_start_at=MOVED)

    assert again == []
    owed = Notification.objects.filter(booking=booking, kind="workshop_moved").order_by("id")
    assert [row.dedupe_key for row in owed] == [
        f"booking:{booking.pk}:workshop_moved:seq1",
        f"booking:{booking.pk}:workshop_moved:seq2",
    ]
    assert [row.context["start_at"] for row in owed] == [MOVED.isoformat(), (MOVED + timedelta(days=1)).isoformat()]
    assert [row.context["old_start_at"] for row in owed] == [START.isoformat(), MOVED.isoformat()]


def test_a_moved_hold_is_not_emailed_and_its_confirmation_invites_to_the_new_time(workshop):
    workshop.price_amount = 2500
    workshop.save()
    hold = seat(workshop, status=Booking.Status.PENDING_PAYMENT, hold_expires_at=NOW + timedelta(minutes=10))

    move(workshop, MOVED)
    deliver_pending_notifications()
    assert mail.outbox == []

    confirm_paid_booking(booking=hold, amount_paid=2500, payment_intent_id="pi_1")
    deliver_pending_notifications()
    (confirmation,) = [message for message in mail.outbox if message.subject.startswith("Confirmed")]
    (part,) = [part for part in confirmation.message().walk() if part.get_content_type() == "text/calendar"]
    assert b"DTSTART:20310312T170000Z" in part.get_payload(decode=True)
    assert b"SEQUENCE:1" in part.get_payload(decode=True)


def test_changing_only_the_details_moves_no_seat_and_owes_nothing(workshop):
    booking = seat(workshop)

    change = change_workshop(workshop=workshop, changes={"title": "Writing for people", "capacity": 12})

    assert change.moved_bookings == []
    assert Workshop.objects.get(pk=workshop.pk).title == "Writing for people"
    booking.refresh_from_db()
    assert booking.ics_sequence == 0
    assert not BookingLog.objects.exists() and not Notification.objects.exists()


def test_capacity_below_the_seats_sold_is_refused_and_nothing_is_written(workshop):
    moved_seats = [seat(workshop, seats=3), seat(workshop, seats=2)]
    seat(workshop, status=Booking.Status.PENDING_PAYMENT, hold_expires_at=NOW + timedelta(minutes=10))

    with pytest.raises(CapacityBelowSeatsSold) as refused:
        move(workshop, MOVED, capacity=5)

    assert refused.value.message == "6 seats are already sold; the capacity cannot be lower than that."
    stored = Workshop.objects.get(pk=workshop.pk)
    assert (stored.capacity, stored.start_at) == (10, START)
    assert set(Booking.objects.filter(workshop=workshop).values_list("start_at", "ics_sequence")) == {(START, 0)}
    assert not BookingLog.objects.exists() and not Notification.objects.exists()

    move(workshop, MOVED, capacity=6)
    assert Workshop.objects.get(pk=workshop.pk).capacity == 6
    assert all(Booking.objects.get(pk=booking.pk).start_at == MOVED for booking in moved_seats)


def test_a_lapsed_hold_is_not_sold_it_is_released_and_stays_at_the_old_time(workshop):
    seat(workshop, seats=4)
    lapsed = seat(workshop, seats=3, status=Booking.Status.PENDING_PAYMENT, hold_expires_at=NOW - timedelta(minutes=1))

    move(workshop, MOVED, capacity=4)

    lapsed.refresh_from_db()
    assert (lapsed.status, lapsed.start_at) == (Booking.Status.EXPIRED, START)
    assert Notification.objects.filter(booking=lapsed, kind="hold_expired").exists()
    assert seats_sold(Workshop.objects.get(pk=workshop.pk)) == 4


def test_a_published_workshop_is_not_moved_onto_its_hosts_sessions_unless_the_owner_allows_it(workshop):
    session = BookingFactory(coach=workshop.host, start_at=MOVED + timedelta(hours=1), end_at=MOVED + TWO_HOURS)
    seat(workshop)

    with pytest.raises(HostHasSessions) as refused:
        move(workshop, MOVED)
    assert session.reference in refused.value.message and "Grace Hopper" in refused.value.message
    assert Workshop.objects.get(pk=workshop.pk).start_at == START

    change_workshop(workshop=workshop, changes={"start_at": MOVED, "end_at": MOVED + TWO_HOURS}, allow_host_clash=True)
    assert Workshop.objects.get(pk=workshop.pk).start_at == MOVED


def test_handing_a_workshop_to_another_host_checks_the_new_hosts_sessions(workshop):
    other = CoachFactory(name="Ada")
    BookingFactory(coach=other, start_at=START, end_at=START + timedelta(hours=1))

    with pytest.raises(HostHasSessions, match="Ada already has 1-on-1 bookings"):
        change_workshop(workshop=workshop, changes={"host": other})
    assert Workshop.objects.get(pk=workshop.pk).host_id != other.pk


def test_creating_a_workshop_validates_it_and_refuses_the_hosts_sessions():
    host = CoachFactory(name="Grace Hopper")
    values = {"title": "Intro", "slug": "intro", "host": host, "capacity": 8, "start_at": START}

    with pytest.raises(InvalidWorkshop, match="A workshop must end after it starts."):
        create_workshop(values={**values, "end_at": START})
    BookingFactory(coach=host, start_at=START, end_at=START + timedelta(hours=1))
    with pytest.raises(HostHasSessions):
        create_workshop(values={**values, "end_at": START + TWO_HOURS})
    assert not Workshop.objects.exists()

    created = create_workshop(values={**values, "end_at": START + TWO_HOURS, "is_published": False})
    assert Workshop.objects.get(slug="intro") == created


def test_a_field_the_owner_does_not_edit_is_a_programming_error(workshop):
    with pytest.raises(TypeError, match="created_at"):
        change_workshop(workshop=workshop, changes={"created_at": NOW})


# --- races (PostgreSQL row locks) -----------------------------------------------------------------


def cut_capacity_while_guests_book(attempt: int = 0):
    """3 seats sold of 10; five guests book a seat each while the owner cuts the capacity to 5.
    Returns the cut's outcome, the seats sold and the capacity afterwards."""
    day = timedelta(days=attempt)
    workshop = WorkshopFactory(start_at=START + day, end_at=START + day + TWO_HOURS, capacity=10)
    for _ in range(3):
        seat(workshop)

    def book(n):
        guest = Guest(name=f"Guest {n}", email=f"guest{n}@example.com")
        return lambda: create_booking(guest=guest, workshop=workshop, now=NOW)

    def cut():
        return change_workshop(workshop=workshop, changes={"capacity": 5}, now=NOW)

    successes, refusals = race([book(n) for n in range(5)] + [cut])
    (cut_outcome,) = [o for o in successes + refusals if isinstance(o, WorkshopChange | CapacityBelowSeatsSold)]
    return cut_outcome, seats_sold(workshop, now=NOW), Workshop.objects.get(pk=workshop.pk).capacity


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cutting_the_capacity_while_guests_book_never_leaves_more_seats_sold_than_the_capacity():
    cut, sold, capacity = cut_capacity_while_guests_book()

    if isinstance(cut, CapacityBelowSeatsSold):
        # The guests came first: all five seats sold, and the cut named more than 5 sold.
        assert (capacity, sold) == (10, 8) and cut.seats_sold > 5
    else:
        # The cut came first (or after at most two guests): the rest found it full.
        assert (capacity, sold) == (5, 5), cut


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_the_workshop_lock_a_capacity_cut_races_past_the_seats_being_sold(monkeypatch):
    """Proves the race above exists: unlocked, the cut counts the seats before the guests' commit."""
    monkeypatch.setattr(locks, "LOCKING_ENABLED", False)
    for attempt in range(10):  # a race is probabilistic; a handful of rounds shows it reliably
        cut, sold, capacity = cut_capacity_while_guests_book(attempt)
        if sold > capacity:
            break
    assert sold > capacity, "expected an oversell with locking off; the race test above would prove nothing"


def test_a_late_payment_for_a_seat_held_before_a_move_is_confirmed_at_the_workshops_new_time(workshop, owner):
    priced = Workshop.objects.filter(pk=workshop.pk)
    priced.update(price_amount=2500)
    workshop.refresh_from_db()
    held = create_booking(guest=Guest(name="Late Payer", email="late@example.com"), workshop=workshop).booking
    Booking.objects.filter(pk=held.pk).update(status=Booking.Status.EXPIRED, hold_expires_at=None)
    move(workshop, MOVED, user=owner)

    confirmed = confirm_paid_booking(booking=held, amount_paid=2500, payment_intent_id="pi_test_local_late")

    assert confirmed.status == Booking.Status.CONFIRMED
    assert (confirmed.start_at, confirmed.end_at) == (MOVED, MOVED + TWO_HOURS)
