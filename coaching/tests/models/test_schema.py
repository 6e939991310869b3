"""The database itself refuses what must never be true, whatever code writes the rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from coaching.models import Booking, BookingLog, ProcessedStripeEvent
from coaching.tests.factories import BookingFactory, CoachFactory, WorkshopFactory

pytestmark = pytest.mark.django_db
T = datetime(2030, 1, 7, 10, tzinfo=UTC)


@pytest.mark.postgres
def test_exclusion_constraint_exists_on_postgres():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            ["booking_no_overlapping_active_one_on_one"],
        )
        row = cursor.fetchone()
    assert row is not None
    assert "EXCLUDE USING gist" in row[0] and "tstzrange" in row[0]


@pytest.mark.postgres
def test_postgres_rejects_overlapping_active_bookings_written_directly():
    coach = CoachFactory()
    BookingFactory(coach=coach, start_at=T, end_at=T + timedelta(hours=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            coach=coach,
            start_at=T + timedelta(minutes=30),
            end_at=T + timedelta(minutes=90),
            guest_name="B",
            guest_email="b@example.com",
            status=Booking.Status.PENDING_PAYMENT,
        )
    assert Booking.objects.count() == 1


@pytest.mark.postgres
def test_postgres_accepts_overlap_once_first_booking_is_cancelled():
    coach = CoachFactory()
    first = BookingFactory(coach=coach, start_at=T, end_at=T + timedelta(hours=1))
    first.status = Booking.Status.CANCELLED
    first.save()
    Booking.objects.create(
        coach=coach, start_at=T, end_at=T + timedelta(hours=1), guest_name="B", guest_email="b@example.com"
    )
    assert Booking.objects.active().count() == 1


@pytest.mark.postgres
def test_postgres_allows_back_to_back_and_other_coaches():
    coach, other = CoachFactory(), CoachFactory()
    BookingFactory(coach=coach, start_at=T, end_at=T + timedelta(hours=1))
    BookingFactory(coach=coach, start_at=T + timedelta(hours=1), end_at=T + timedelta(hours=2))
    BookingFactory(coach=other, start_at=T, end_at=T + timedelta(hours=1))
    assert Booking.objects.count() == 3


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"end_at": T}, id="end-equals-start"),
        pytest.param({"end_at": T - timedelta(minutes=1)}, id="end-before-start"),
        pytest.param({"coach": None}, id="neither-coach-nor-workshop"),
        pytest.param({"seats": 0}, id="zero-seats"),
        pytest.param({"seats": 2}, id="one-on-one-with-two-seats"),
        pytest.param({"amount_paid": 100, "amount_refunded": 200}, id="refund-above-paid"),
    ],
)
def test_check_constraints_reject_bad_booking_rows(overrides):
    coach = CoachFactory()
    fields = dict(coach=coach, start_at=T, end_at=T + timedelta(hours=1), guest_name="A", guest_email="a@example.com")
    fields.update(overrides)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(**fields)
    assert Booking.objects.count() == 0


def test_booking_cannot_have_both_coach_and_workshop():
    workshop = WorkshopFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            coach=workshop.host,
            workshop=workshop,
            start_at=workshop.start_at,
            end_at=workshop.end_at,
            guest_name="A",
            guest_email="a@example.com",
        )


def test_workshop_capacity_and_times_are_checked():
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopFactory(capacity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopFactory(start_at=T, end_at=T)


def test_stripe_session_id_and_event_id_are_unique():
    coach = CoachFactory()
    BookingFactory(coach=coach, stripe_checkout_session_id="cs_test_1")
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(
            coach=coach,
            start_at=T + timedelta(hours=3),
            end_at=T + timedelta(hours=4),
            stripe_checkout_session_id="cs_test_1",
        )
    ProcessedStripeEvent.objects.create(event_id="evt_1", event_type="checkout.session.completed")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcessedStripeEvent.objects.create(event_id="evt_1", event_type="checkout.session.completed")


def test_free_bookings_may_all_have_no_stripe_session():
    coach = CoachFactory()
    BookingFactory(coach=coach)
    BookingFactory(coach=coach, start_at=T + timedelta(hours=2), end_at=T + timedelta(hours=3))
    assert Booking.objects.filter(stripe_checkout_session_id__isnull=True).count() == 2


def test_booking_log_is_append_only():
    entry = BookingLog.objects.create(booking=BookingFactory(), action="created", actor="guest")
    entry.message = "rewritten"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
