"""The write side of the brain, through its service functions."""

from datetime import UTC, datetime, timedelta

import pytest

from coaching import exceptions
from coaching.models import Booking, BookingLog
from coaching.schedule import free_slots
from coaching.services import (
    Guest,
    cancel_booking,
    confirm_paid_booking,
    create_booking,
    expire_holds,
    reschedule_booking,
)
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory, WorkshopFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
DAY = datetime(2030, 1, 7, tzinfo=UTC)
GUEST = Guest(name="Ada Lovelace", email="ada@example.com", timezone="Europe/London")


def at(hour, minute=0):
    return DAY.replace(hour=hour, minute=minute)


@pytest.fixture
def coach():
    coach = CoachFactory(timezone="UTC", session_minutes=60, buffer_minutes=0)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(13))
    return coach


def actions(booking):
    return list(BookingLog.objects.filter(booking=booking).values_list("action", flat=True))


def test_free_booking_is_confirmed_at_once_and_logged(coach):
    result = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW)
    booking = result.booking
    assert result.checkout_url is None
    assert booking.status == Booking.Status.CONFIRMED
    assert (booking.start_at, booking.end_at) == (at(10), at(11))
    assert booking.guest_timezone == "Europe/London" and booking.amount_due == 0
    assert len(booking.reference) == 8
    assert actions(booking) == ["confirmed"]
    assert at(10) not in [s.start_at for s in free_slots(coach=coach, start=DAY, end=DAY + timedelta(days=1), now=NOW)]


def test_logged_in_user_is_linked_to_the_booking(coach, django_user_model):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw")
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), user=user, now=NOW).booking
    assert booking.user == user


@pytest.mark.parametrize(
    "start, error",
    [
        pytest.param(at(10), exceptions.SlotUnavailable, id="taken"),
        pytest.param(at(10, 30), exceptions.OutsideAvailability, id="off-grid"),
        pytest.param(at(15), exceptions.OutsideAvailability, id="outside-availability"),
        pytest.param(at(12, 30), exceptions.OutsideAvailability, id="would-end-after-availability"),
    ],
)
def test_slot_errors_have_guest_readable_messages_and_write_nothing(coach, start, error):
    BookingFactory(coach=coach, start_at=at(10), end_at=at(11))
    with pytest.raises(error) as caught:
        create_booking(guest=GUEST, coach=coach, start_at=start, now=NOW)
    assert caught.value.message and 400 <= caught.value.status_code < 500
    assert Booking.objects.count() == 1


def test_past_notice_and_horizon_are_refused(coach):
    coach.min_notice_minutes = 120
    coach.horizon_days = 10
    coach.save()
    with pytest.raises(exceptions.SlotInPast):
        create_booking(guest=GUEST, coach=coach, start_at=at(10), now=at(11))
    with pytest.raises(exceptions.InsideMinimumNotice, match="2 hours"):
        create_booking(guest=GUEST, coach=coach, start_at=at(10), now=at(9))
    with pytest.raises(exceptions.BeyondHorizon, match="10 days"):
        create_booking(guest=GUEST, coach=coach, start_at=at(10), now=at(10) - timedelta(days=11))
    assert Booking.objects.count() == 0


def test_bad_guest_details_are_refused(coach):
    with pytest.raises(exceptions.InvalidDetails):
        create_booking(guest=Guest(name="A", email="not-an-email"), coach=coach, start_at=at(10), now=NOW)
    with pytest.raises(exceptions.InvalidDetails):
        create_booking(guest=Guest(name=" ", email="a@example.com"), coach=coach, start_at=at(10), now=NOW)
    with pytest.raises(exceptions.InvalidDetails):
        create_booking(
            guest=Guest(name="A", email="a@example.com", timezone="Mars/Olympus"), coach=coach, start_at=at(10), now=NOW
        )
    assert Booking.objects.count() == 0


def test_workshop_seats_are_sold_up_to_capacity():
    workshop = WorkshopFactory(start_at=at(18), end_at=at(20), capacity=3)
    first = create_booking(guest=GUEST, workshop=workshop, seats=2, now=NOW).booking
    assert first.status == Booking.Status.CONFIRMED and first.seats == 2
    with pytest.raises(exceptions.NotEnoughSeats, match="Only 1 seat left"):
        create_booking(guest=GUEST, workshop=workshop, seats=2, now=NOW)
    create_booking(guest=GUEST, workshop=workshop, seats=1, now=NOW)
    with pytest.raises(exceptions.WorkshopFull):
        create_booking(guest=GUEST, workshop=workshop, seats=1, now=NOW)
    assert sum(Booking.objects.filter(workshop=workshop).values_list("seats", flat=True)) == 3


@pytest.mark.parametrize("seats", [0, -1, 21])
def test_workshop_seat_count_must_be_sensible(seats):
    workshop = WorkshopFactory(start_at=at(18), end_at=at(20), capacity=50)
    with pytest.raises(exceptions.InvalidDetails):
        create_booking(guest=GUEST, workshop=workshop, seats=seats, now=NOW)


def test_unpublished_or_started_workshop_cannot_be_booked():
    hidden = WorkshopFactory(start_at=at(18), end_at=at(20), is_published=False)
    with pytest.raises(exceptions.NotBookable):
        create_booking(guest=GUEST, workshop=hidden, now=NOW)
    started = WorkshopFactory(start_at=at(18), end_at=at(20))
    with pytest.raises(exceptions.SlotInPast):
        create_booking(guest=GUEST, workshop=started, now=at(19))


def test_cancel_frees_the_slot_bumps_the_invite_sequence_and_logs(coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    cancelled = cancel_booking(booking=booking, actor="guest", now=NOW)
    assert cancelled.status == Booking.Status.CANCELLED and cancelled.ics_sequence == 1
    assert actions(cancelled) == ["confirmed", "cancelled"]
    assert create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking.status == Booking.Status.CONFIRMED
    with pytest.raises(exceptions.BookingNotCancellable):
        cancel_booking(booking=cancelled, actor="guest", now=NOW)


def test_reschedule_moves_atomically_keeping_reference_and_payment(coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    Booking.objects.filter(pk=booking.pk).update(amount_paid=0)
    moved = reschedule_booking(booking=booking, new_start_at=at(12), actor="guest", now=NOW)
    assert moved.pk == booking.pk and moved.reference == booking.reference
    assert (moved.start_at, moved.end_at) == (at(12), at(13))
    assert moved.reschedule_count == 1 and moved.ics_sequence == 1
    offered = [s.start_at for s in free_slots(coach=coach, start=DAY, end=DAY + timedelta(days=1), now=NOW)]
    assert at(10) in offered and at(12) not in offered
    assert actions(moved)[-1] == "rescheduled"


def test_reschedule_may_overlap_its_own_old_time(coach):
    coach.session_types.update(duration_minutes=30)
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    moved = reschedule_booking(booking=booking, new_start_at=at(10, 30), actor="owner", now=NOW)
    assert moved.start_at == at(10, 30)


def test_reschedule_to_a_taken_slot_fails_cleanly(coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    BookingFactory(coach=coach, start_at=at(12), end_at=at(13))
    with pytest.raises(exceptions.SlotUnavailable):
        reschedule_booking(booking=booking, new_start_at=at(12), actor="guest", now=NOW)
    booking.refresh_from_db()
    assert booking.start_at == at(10) and booking.reschedule_count == 0


def test_guest_reschedule_limit_and_cutoff_hold(coach):
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(9), now=NOW).booking
    reschedule_booking(booking=booking, new_start_at=at(10), actor="guest", now=NOW)
    reschedule_booking(booking=booking, new_start_at=at(11), actor="guest", now=NOW)
    with pytest.raises(exceptions.BookingNotReschedulable, match="already been moved 2 times"):
        reschedule_booking(booking=booking, new_start_at=at(12), actor="guest", now=NOW)
    other = create_booking(guest=GUEST, coach=coach, start_at=at(9), now=NOW).booking
    with pytest.raises(exceptions.BookingNotReschedulable, match="24 hours"):
        reschedule_booking(booking=other, new_start_at=at(12), actor="guest", now=at(8))


def test_workshop_seats_cannot_be_rescheduled():
    workshop = WorkshopFactory(start_at=at(18), end_at=at(20))
    booking = create_booking(guest=GUEST, workshop=workshop, now=NOW).booking
    with pytest.raises(exceptions.BookingNotReschedulable):
        reschedule_booking(booking=booking, new_start_at=at(19), actor="guest", now=NOW)


def _hold(coach, start, *, expires):
    return BookingFactory(
        coach=coach,
        start_at=start,
        held=True,
        hold_expires_at=expires,
        amount_due=5000,
    )


def test_expire_holds_releases_only_lapsed_holds_and_frees_their_slots(coach):
    lapsed = _hold(coach, at(10), expires=NOW - timedelta(minutes=1))
    live = _hold(coach, at(11), expires=NOW + timedelta(minutes=5))
    assert expire_holds(now=NOW) == 1
    lapsed.refresh_from_db()
    live.refresh_from_db()
    assert lapsed.status == Booking.Status.EXPIRED and live.status == Booking.Status.PENDING_PAYMENT
    assert actions(lapsed) == ["expired"]
    assert expire_holds(now=NOW) == 0
    assert at(10) in [s.start_at for s in free_slots(coach=coach, start=DAY, end=DAY + timedelta(days=1), now=NOW)]


def test_confirm_paid_is_idempotent(coach):
    hold = _hold(coach, at(10), expires=NOW + timedelta(minutes=10))
    confirm_paid_booking(booking=hold, amount_paid=5000, payment_intent_id="pi_1", now=NOW)
    again = confirm_paid_booking(booking=hold, amount_paid=5000, payment_intent_id="pi_1", now=NOW)
    assert again.status == Booking.Status.CONFIRMED and again.is_paid and again.amount_paid == 5000
    assert actions(again) == ["paid", "confirmed"]


def test_late_payment_reconfirms_when_the_time_is_still_free(coach):
    hold = _hold(coach, at(10), expires=NOW - timedelta(minutes=1))
    expire_holds(now=NOW)
    booking = confirm_paid_booking(booking=hold, amount_paid=5000, payment_intent_id="pi_1", now=NOW)
    assert booking.status == Booking.Status.CONFIRMED
    assert actions(booking) == ["expired", "paid", "confirmed"]


def test_a_lapsed_hold_frees_its_time_even_before_the_expiry_task_runs(coach):
    """The embedded mode has no beat: the slot must come back by itself after the hold time."""
    hold = _hold(coach, at(10), expires=NOW - timedelta(seconds=1))
    offered = [s.start_at for s in free_slots(coach=coach, start=DAY, end=DAY + timedelta(days=1), now=NOW)]
    assert at(10) in offered
    # Booking over it expires the hold properly (log, signal) and the database accepts the new row.
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    hold.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert hold.status == Booking.Status.EXPIRED and actions(hold) == ["expired"]


def test_a_lapsed_workshop_hold_gives_its_seats_back():
    workshop = WorkshopFactory(start_at=at(18), end_at=at(20), capacity=2)
    BookingFactory(
        workshop=workshop,
        seats=2,
        held=True,
        hold_expires_at=NOW - timedelta(minutes=1),
    )
    booking = create_booking(guest=GUEST, workshop=workshop, seats=2, now=NOW).booking
    assert booking.status == Booking.Status.CONFIRMED
    assert Booking.objects.filter(workshop=workshop, status=Booking.Status.EXPIRED).count() == 1
