"""A sold-out workshop's waiting list (services/waitlist.py, services/waitlist_offers.py): seats that
free up are offered, after the freeing change commits, to the first entries in line that fit; an
offer holds its seats for its guest only, and lapses to the next in line when not claimed in time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction

from coaching.exceptions import (
    AlreadyOnWaitlist,
    CapacityBelowSeatsSold,
    OfferLapsed,
    OfferNotClaimable,
    PaymentUnavailable,
    SeatsAvailable,
    WaitlistClosed,
    WorkshopFull,
)
from coaching.models import Booking, Notification, WaitlistEntry
from coaching.policy import get_policy
from coaching.schedule import get_workshops_month, seats_left
from coaching.services import cancel_booking, create_booking, expire_holds
from coaching.services.waitlist import (
    advance_due_waitlists,
    advance_waitlist,
    claim_offer,
    join_waitlist,
    leave_waitlist,
    waitlist_position,
)
from coaching.services.workshops import change_workshop
from coaching.tests.factories import BookingFactory, CoachFactory, GuestFactory, WorkshopFactory
from coaching.vocabulary import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
START = datetime(2031, 3, 10, 13, 0, tzinfo=UTC)


@pytest.fixture
def workshop():
    host = CoachFactory(name="Grace Hopper", email="grace@coach.example")
    return WorkshopFactory(
        title="Writing for humans", host=host, start_at=START, end_at=START + timedelta(hours=2), capacity=2
    )


@pytest.fixture
def full(workshop):
    """The workshop sold out to two guests who booked through the service."""
    return [create_booking(guest=GuestFactory(), workshop=workshop).booking for _ in range(2)]


def join(workshop, name, seats=1, **guest):
    return join_waitlist(
        workshop=workshop, guest=GuestFactory(name=name, email=f"{name.lower()}@guest.example", **guest), seats=seats
    )


def status_of(entry):
    entry.refresh_from_db()
    return entry.status


def test_a_sold_out_workshop_takes_waiting_list_entries_in_order(workshop, full, after_commit):
    ada = after_commit(lambda: join(workshop, "Ada", seats=2))
    bob = join(workshop, "Bob", timezone="Asia/Tokyo")

    assert [ada.status, bob.status] == [WaitlistEntry.Status.WAITING] * 2
    assert (waitlist_position(ada), waitlist_position(bob)) == (1, 2)
    assert (bob.guest_email, bob.guest_timezone, bob.seats) == ("bob@guest.example", "Asia/Tokyo", 1)
    (message,) = mail.outbox
    assert message.to == ["ada@guest.example"]
    assert message.subject.startswith("You're on the waiting list: Writing for humans on Mon 10 Mar 2031, 13:00 GMT")
    assert "number 1 in line" in message.body and "Seats:     2" in message.body
    assert "http://testserver/waitlist/" in message.body and "/leave/" in message.body


def test_the_waiting_list_is_only_for_seats_that_are_sold_out(workshop):
    BookingFactory(workshop=workshop)
    with pytest.raises(SeatsAvailable, match="1 seat is still available"):
        join(workshop, "Ada")
    join(workshop, "Ada", seats=2)  # one seat left is not enough for two: they may wait

    workshop.waitlist_enabled = False
    workshop.save()
    with pytest.raises(WaitlistClosed):
        join(workshop, "Bob", seats=2)
    assert WaitlistEntry.objects.count() == 1


def test_a_guest_already_in_line_is_told_so_rather_than_queued_twice(workshop, full):
    join(workshop, "Ada")
    with pytest.raises(AlreadyOnWaitlist):
        join_waitlist(workshop=workshop, guest=GuestFactory(email="ADA@guest.example"))
    assert WaitlistEntry.objects.count() == 1


def test_a_cancelled_seat_is_offered_after_commit_to_the_first_in_line_who_is_emailed_a_claim_link(
    workshop, full, after_commit
):
    ada, bob = join(workshop, "Ada"), join(workshop, "Bob")

    after_commit(lambda: cancel_booking(booking=full[0], actor=Actor.GUEST))

    assert (status_of(ada), status_of(bob)) == (WaitlistEntry.Status.OFFERED, WaitlistEntry.Status.WAITING)
    assert ada.offer_expires_at == NOW + timedelta(minutes=15)
    assert Notification.objects.get(waitlist_entry=ada, kind="waitlist_offer").status == Notification.Status.SENT
    (message,) = [m for m in mail.outbox if m.to == ["ada@guest.example"] and "claim" in m.subject]
    assert message.subject == "1 seat for you: Writing for humans — claim by Mon 03 Mar 2031, 08:15 GMT (Europe/London)"
    assert "http://testserver/waitlist/" in message.body and "/claim/" in message.body
    # The offered seat counts as taken for everyone else.
    assert seats_left(workshop) == 0
    with pytest.raises(WorkshopFull):
        create_booking(guest=GuestFactory(), workshop=workshop)


def test_the_offered_guest_claims_the_held_seat_through_the_normal_booking_flow(workshop, full, after_commit):
    ada = join(workshop, "Ada")
    after_commit(lambda: cancel_booking(booking=full[0], actor=Actor.GUEST))

    result = claim_offer(entry=ada, phone="+44 20 7946 0000")

    booking = result.booking
    assert booking.status == Booking.Status.CONFIRMED and result.checkout_url is None
    assert (booking.workshop, booking.seats, booking.guest_email, booking.guest_phone) == (
        workshop,
        1,
        "ada@guest.example",
        "+44 20 7946 0000",
    )
    ada.refresh_from_db()
    assert (ada.status, ada.booking, ada.claimed_at) == (WaitlistEntry.Status.CLAIMED, booking, NOW)
    assert Booking.objects.active().filter(workshop=workshop).count() == 2
    with pytest.raises(OfferNotClaimable, match="already claimed"):
        claim_offer(entry=ada)
    assert Booking.objects.active().filter(workshop=workshop).count() == 2


def test_an_unclaimed_offer_lapses_and_its_seats_pass_to_the_next_in_line(workshop, full, after_commit, frozen_clock):
    ada, bob = join(workshop, "Ada"), join(workshop, "Bob")
    after_commit(lambda: cancel_booking(booking=full[0], actor=Actor.GUEST))
    frozen_clock.move_to(NOW + timedelta(minutes=15))

    assert seats_left(workshop) == 1  # the lapsed offer no longer holds the seat…
    offered = after_commit(advance_due_waitlists)  # …and the sweep passes it on

    assert offered == 1
    assert (status_of(ada), status_of(bob)) == (WaitlistEntry.Status.LAPSED, WaitlistEntry.Status.OFFERED)
    assert bob.offer_expires_at == NOW + timedelta(minutes=30)
    assert seats_left(workshop) == 0
    with pytest.raises(OfferLapsed):
        claim_offer(entry=ada)
    assert Booking.objects.active().filter(workshop=workshop).count() == 1
    lapsed = [m for m in mail.outbox if m.to == ["ada@guest.example"] and m.subject.startswith("Your offer has lapsed")]
    assert len(lapsed) == 1 and "gone to the next person" in lapsed[0].body
    assert claim_offer(entry=bob).booking.status == Booking.Status.CONFIRMED


def test_a_newcomer_booking_before_the_advance_job_ran_never_takes_the_seat_from_the_line(workshop, full):
    ada = join(workshop, "Ada")
    cancel_booking(booking=full[0], actor=Actor.GUEST)  # committed, but its after-commit job has not run

    # Under the lock the newcomer's booking first offers the free seat to the line, then finds none.
    with pytest.raises(WorkshopFull):
        create_booking(guest=GuestFactory(), workshop=workshop)

    # (The refused booking wrote nothing; the sweep makes the offer if the job never comes.)
    assert status_of(ada) == WaitlistEntry.Status.WAITING
    assert advance_due_waitlists() == 1 and status_of(ada) == WaitlistEntry.Status.OFFERED


def test_raising_the_capacity_offers_the_new_seats_to_the_people_waiting(workshop, full, after_commit):
    ada, bob, cy = join(workshop, "Ada"), join(workshop, "Bob", seats=2), join(workshop, "Cy")

    after_commit(lambda: change_workshop(workshop=workshop, changes={"capacity": 4}))

    # Two new seats: Ada's one, then Bob's two no longer fit, so Cy (one) is offered the other.
    assert [status_of(e) for e in (ada, bob, cy)] == ["offered", "waiting", "offered"]
    assert seats_left(workshop) == 0


def test_the_capacity_cannot_drop_below_the_seats_sold_and_offered(workshop, full, after_commit):
    join(workshop, "Ada")
    after_commit(lambda: change_workshop(workshop=workshop, changes={"capacity": 3}))

    with pytest.raises(CapacityBelowSeatsSold, match="2 seats are already sold and 1 more is offered"):
        change_workshop(workshop=workshop, changes={"capacity": 2})


def test_advancing_again_offers_nothing_new(workshop, full):
    join(workshop, "Ada"), join(workshop, "Bob")
    cancel_booking(booking=full[0], actor=Actor.GUEST)

    assert len(advance_waitlist(workshop=workshop)) == 1
    assert advance_waitlist(workshop=workshop) == []
    assert advance_due_waitlists() == 0
    assert WaitlistEntry.objects.filter(status="offered").count() == 1


def test_an_offer_never_runs_past_the_workshops_start(workshop, full, frozen_clock):
    ada = join(workshop, "Ada")
    frozen_clock.move_to(START - timedelta(minutes=5))
    cancel_booking(booking=full[0], actor=Actor.OWNER)

    advance_waitlist(workshop=workshop)

    ada.refresh_from_db()
    assert ada.offer_expires_at == START


def test_the_offer_time_is_the_owners_setting(workshop, full):
    policy = get_policy()
    policy.waitlist_offer_minutes = 45
    policy.save()
    ada = join(workshop, "Ada")
    cancel_booking(booking=full[0], actor=Actor.GUEST)

    advance_waitlist(workshop=workshop)

    ada.refresh_from_db()
    assert ada.offer_expires_at == NOW + timedelta(minutes=45)


def test_leaving_with_an_open_offer_passes_the_seats_on(workshop, full, after_commit):
    ada, bob = join(workshop, "Ada"), join(workshop, "Bob")
    after_commit(lambda: cancel_booking(booking=full[0], actor=Actor.GUEST))

    after_commit(lambda: leave_waitlist(entry=ada))

    assert (status_of(ada), status_of(bob)) == (WaitlistEntry.Status.LEFT, WaitlistEntry.Status.OFFERED)
    assert leave_waitlist(entry=ada).status == WaitlistEntry.Status.LEFT  # idempotent
    with pytest.raises(OfferNotClaimable):
        claim_offer(entry=ada)


def test_a_paid_claim_holds_the_seats_for_payment_and_an_unpaid_hold_goes_to_the_next_in_line(
    workshop, after_commit, frozen_clock
):
    workshop.price_amount = 2500
    workshop.save()
    sold = BookingFactory(workshop=workshop, seats=2)
    ada, bob = join(workshop, "Ada", seats=2), join(workshop, "Bob", seats=2)
    after_commit(lambda: cancel_booking(booking=sold, actor=Actor.OWNER))

    result = claim_offer(entry=ada)

    assert result.checkout_url  # the built-in test checkout (no Stripe keys here)
    hold = result.booking
    assert (hold.status, hold.seats, hold.amount_due) == (Booking.Status.PENDING_PAYMENT, 2, 5000)
    assert status_of(ada) == WaitlistEntry.Status.CLAIMED and seats_left(workshop) == 0
    frozen_clock.move_to(NOW + timedelta(minutes=16))
    after_commit(expire_holds)  # Ada never paid: her hold lapses and the seats go on

    assert status_of(bob) == WaitlistEntry.Status.OFFERED
    assert status_of(ada) == WaitlistEntry.Status.CLAIMED  # one offer per place in line


def test_a_checkout_that_cannot_open_gives_the_offer_back(workshop, full, after_commit, settings):
    workshop.price_amount = 2500
    workshop.save()
    settings.STRIPE_TEST_CHECKOUT = False  # no Stripe keys and no test checkout: payments unavailable
    ada = join(workshop, "Ada")
    after_commit(lambda: cancel_booking(booking=full[0], actor=Actor.OWNER))

    with pytest.raises(PaymentUnavailable):
        claim_offer(entry=ada)

    ada.refresh_from_db()
    assert (ada.status, ada.booking, ada.offer_expires_at) == ("offered", None, NOW + timedelta(minutes=15))
    assert seats_left(workshop) == 0


def test_a_rolled_back_cancellation_offers_nothing(workshop, full, django_capture_on_commit_callbacks):
    ada = join(workshop, "Ada")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            cancel_booking(booking=full[0], actor=Actor.GUEST)
            raise RuntimeError("rolled back")

    assert callbacks == [] and status_of(ada) == WaitlistEntry.Status.WAITING


def test_the_workshops_calendar_says_seats_left_waiting_list_or_sold_out(workshop, full):
    open_one = WorkshopFactory(start_at=START + timedelta(days=1), capacity=5)
    closed = WorkshopFactory(start_at=START + timedelta(days=2), capacity=1, waitlist_enabled=False)
    BookingFactory(workshop=closed)
    join(workshop, "Ada")

    schedule = get_workshops_month(year=2031, month=3, tz=UTC)

    states = {offer.workshop: (offer.state, offer.seats_left) for offer in schedule.workshop_offers}
    assert states == {workshop: ("waitlist", 0), open_one: ("seats", 5), closed: ("sold_out", 0)}
