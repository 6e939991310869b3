"""Session types: one coach, several kinds of session. Slots step by each type's own length + buffer,
a coach's bookings of any type block each other (buffers combine by the larger), a booking is for an
active type its coach offers and keeps the snapshot it was made with."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from coaching import exceptions
from coaching.models import Booking, Refund
from coaching.policy import refund_due_on_cancel
from coaching.schedule import free_slots, validate_slot
from coaching.services import Guest, cancel_booking, create_booking, reschedule_booking
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory, SessionTypeFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
DAY = datetime(2030, 1, 7, tzinfo=UTC)
GUEST = Guest(name="Ada Lovelace", email="ada@example.com", timezone="Europe/London")


def at(hour, minute=0):
    return DAY + timedelta(hours=hour, minutes=minute)


@pytest.fixture
def coach():
    coach = CoachFactory(timezone="UTC", default_session_type=None)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(17))
    return coach


@pytest.fixture
def hour(coach):
    return SessionTypeFactory(title="Session", duration_minutes=60, buffer_minutes=0, coaches=coach, sort_order=1)


@pytest.fixture
def deep_dive(coach):
    return SessionTypeFactory(
        title="Deep dive", duration_minutes=90, buffer_minutes=15, price_amount=15000, coaches=coach, sort_order=2
    )


def starts(coach, session_type):
    return [s.start_at for s in free_slots(coach=coach, session_type=session_type, start=DAY, end=at(24), now=NOW)]


def test_slots_step_by_each_types_own_length_and_buffer(coach, hour, deep_dive):
    assert starts(coach, hour) == [at(h) for h in range(9, 17)]
    # 90 minutes + 15 buffer: 09:00, 10:45, 12:30, 14:15 (16:00 would end after 17:00).
    assert starts(coach, deep_dive) == [at(9), at(10, 45), at(12, 30), at(14, 15)]


def test_a_90_minute_booking_blocks_overlapping_60_minute_starts_with_the_larger_buffer(coach, hour, deep_dive):
    create_booking(guest=GUEST, coach=coach, session_type=deep_dive, start_at=at(10, 45), now=NOW)
    # The deep dive takes 10:45–12:15 and keeps 15 minutes either side: 10:30–12:30.
    assert starts(coach, hour) == [at(9), at(13), at(14), at(15), at(16)]
    with pytest.raises(exceptions.SlotUnavailable):
        validate_slot(coach=coach, session_type=hour, start_at=at(12), now=NOW)


def test_a_60_minute_booking_blocks_overlapping_90_minute_starts(coach, hour, deep_dive):
    create_booking(guest=GUEST, coach=coach, session_type=hour, start_at=at(11), now=NOW)
    # 11:00–12:00 widened by the deep dive's 15 minutes (10:45–12:15): 10:45 is not offered, 12:30 is.
    assert starts(coach, deep_dive) == [at(9), at(12, 30), at(14, 15)]
    with pytest.raises(exceptions.SlotUnavailable):
        create_booking(guest=GUEST, coach=coach, session_type=deep_dive, start_at=at(10, 45), now=NOW)


def test_notice_and_horizon_come_from_the_type_or_else_the_coach(coach, hour):
    coach.min_notice_minutes, coach.horizon_days = 0, 365
    coach.save()
    hour.min_notice_minutes = 7 * 24 * 60  # a week's notice for this type only
    hour.save()
    with pytest.raises(exceptions.InsideMinimumNotice):
        validate_slot(coach=coach, session_type=hour, start_at=at(9), now=NOW)
    quick = SessionTypeFactory(duration_minutes=60, coaches=coach, horizon_days=3)
    with pytest.raises(exceptions.BeyondHorizon):
        validate_slot(coach=coach, session_type=quick, start_at=at(9), now=NOW)


def test_a_booking_snapshots_its_type_title_length_and_price(coach, deep_dive):
    booking = create_booking(guest=GUEST, coach=coach, session_type=deep_dive, start_at=at(9), now=NOW).booking
    assert booking.session_type == deep_dive
    assert (booking.session_title, booking.session_minutes) == ("Deep dive", 90)
    assert (booking.amount_due, booking.currency, booking.status) == (15000, "GBP", Booking.Status.PENDING_PAYMENT)
    assert (booking.start_at, booking.end_at) == (at(9), at(10, 30))
    assert booking.title == f"Deep dive with {coach.name}"


def test_a_price_change_after_booking_changes_neither_the_snapshot_nor_the_refund(coach, deep_dive):
    booking = create_booking(guest=GUEST, coach=coach, session_type=deep_dive, start_at=at(9), now=NOW).booking
    Booking.objects.filter(pk=booking.pk).update(
        status=Booking.Status.CONFIRMED, is_paid=True, amount_paid=15000, hold_expires_at=None
    )
    deep_dive.price_amount, deep_dive.duration_minutes, deep_dive.title = 99900, 120, "Longer dive"
    deep_dive.save()
    booking.refresh_from_db()
    assert (booking.amount_due, booking.session_minutes, booking.session_title) == (15000, 90, "Deep dive")
    assert refund_due_on_cancel(booking, now=NOW) == 15000
    cancelled = cancel_booking(booking=booking, actor="guest", now=NOW)
    assert cancelled.status == Booking.Status.CANCELLED
    assert Refund.objects.get(booking=booking).amount == 15000


def test_a_reschedule_keeps_the_bookings_type_and_length(coach, deep_dive):
    booking = create_booking(guest=GUEST, coach=coach, session_type=deep_dive, start_at=at(9), now=NOW).booking
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED, hold_expires_at=None)
    deep_dive.duration_minutes = 30  # edited since: the booking keeps its 90 minutes
    deep_dive.save()
    moved = reschedule_booking(booking=booking, new_start_at=at(12, 30), actor="owner", now=NOW)
    assert (moved.start_at, moved.end_at, moved.session_type) == (at(12, 30), at(14), deep_dive)


def test_another_coachs_type_or_an_inactive_type_is_refused_and_nothing_is_written(coach, hour):
    other = CoachFactory(timezone="UTC")
    AvailabilityBlockFactory(coach=other, start_at=at(9), end_at=at(17))
    with pytest.raises(exceptions.NotBookable):
        create_booking(guest=GUEST, coach=coach, session_type=other.default_session_type(), start_at=at(9), now=NOW)
    hour.is_active = False
    hour.save()
    with pytest.raises(exceptions.NotBookable):
        create_booking(guest=GUEST, coach=coach, session_type=hour, start_at=at(9), now=NOW)
    assert not Booking.objects.exists()


def test_a_type_shared_by_two_coaches_is_booked_in_each_ones_own_calendar(coach, hour):
    other = CoachFactory(timezone="UTC", default_session_type=None)
    AvailabilityBlockFactory(coach=other, start_at=at(9), end_at=at(17))
    hour.coaches.add(other)
    hour.save()
    create_booking(guest=GUEST, coach=coach, session_type=hour, start_at=at(9), now=NOW)
    assert at(9) not in starts(coach, hour) and at(9) in starts(other, hour)
    assert create_booking(guest=GUEST, coach=other, session_type=hour, start_at=at(9), now=NOW).booking.coach == other


def test_without_a_type_the_coachs_first_active_one_is_booked(coach, hour, deep_dive):
    assert coach.default_session_type() == hour
    assert create_booking(guest=GUEST, coach=coach, start_at=at(9), now=NOW).booking.session_type == hour
    hour.is_active = False
    hour.save()
    assert coach.default_session_type() == deep_dive


def test_a_coach_without_any_type_offers_nothing(coach):
    assert starts(coach, None) == []
    with pytest.raises(exceptions.NotBookable):
        create_booking(guest=GUEST, coach=coach, start_at=at(9), now=NOW)


@pytest.mark.postgres
def test_postgres_refuses_a_60_minute_booking_over_a_90_minute_one_written_directly(coach, hour, deep_dive):
    """The exclusion constraint is per coach, whatever the type: the last line of defence."""
    create_booking(guest=GUEST, coach=coach, session_type=deep_dive, start_at=at(9), now=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            coach=coach,
            session_type=hour,
            session_title=hour.title,
            session_minutes=60,
            start_at=at(10),
            end_at=at(11),
            guest_name="B",
            guest_email="b@example.com",
        )
    assert Booking.objects.count() == 1
