"""The owner's desk, service by service: attendance, partial refunds (bounds, a refused or timed-out
refund retried against the Stripe stand-in), retrying an email given up on, and the "Google
connection broken" alert through the outbox."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from coaching.exceptions import AttendanceNotMarkable, BookingNotReschedulable, RefundNotAllowed, SlotUnavailable
from coaching.models import Booking, BookingLog, Coach, Notification, Refund
from coaching.money import to_minor_units
from coaching.services import Guest, create_booking, delivery, google_sync, refunds
from coaching.services.attendance import mark_attendance
from coaching.services.desk import move_booking
from coaching.services.refunds import refund_part
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory
from coaching.tests.standins.google import connected_coach, invalid_grant
from coaching.tests.standins.stripe import pay

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
GUEST = Guest(name="Grace Hopper", email="grace@example.com", timezone="Europe/London")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def at(hour):
    return datetime(2030, 1, 7, hour, tzinfo=UTC)


@pytest.fixture
def paid_booking(stripe_standin, after_commit):
    """A £60 session paid through Stripe (the stand-in), 7 January 10:00 UTC."""
    coach = CoachFactory(price_amount=6000, currency="GBP")
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(13))
    booking = create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW).booking
    after_commit(lambda: pay(Client(), booking, payment_intent="pi_paid"))
    booking.refresh_from_db()
    assert booking.amount_paid == 6000
    return booking


# --- attendance ------------------------------------------------------------------------------------


def test_attendance_is_refused_before_the_session_starts_and_logged_after(frozen_clock):
    booking = BookingFactory(start_at=at(10), end_at=at(11))
    with pytest.raises(AttendanceNotMarkable, match="once the session has started"):
        mark_attendance(booking=booking, attendance="no_show")

    frozen_clock.move_to(at(10) + timedelta(minutes=5))
    mark_attendance(booking=booking, attendance="no_show")
    mark_attendance(booking=booking, attendance="no_show")  # the same answer again logs nothing new
    mark_attendance(booking=booking, attendance="attended")  # they turned up late after all

    booking.refresh_from_db()
    assert booking.attendance == Booking.Attendance.ATTENDED
    assert list(BookingLog.objects.filter(booking=booking).values_list("action", flat=True)) == [
        "no_show",
        "attended",
    ]


def test_attendance_is_refused_on_a_cancelled_booking(frozen_clock):
    booking = BookingFactory(cancelled=True, start_at=at(10), end_at=at(11))
    frozen_clock.move_to(at(12))
    with pytest.raises(AttendanceNotMarkable, match="cancelled"):
        mark_attendance(booking=booking, attendance="attended")


# --- partial refunds -------------------------------------------------------------------------------


def test_amounts_are_typed_in_the_currencys_real_units():
    assert to_minor_units("30", "GBP") == 3000
    assert to_minor_units("30.5", "GBP") == 3050
    assert to_minor_units("1,234.56", "EUR") == 123456
    assert to_minor_units("5000", "JPY") == 5000
    for wrong, currency in [("30.555", "GBP"), ("10.5", "JPY"), ("-1", "GBP"), ("abc", "GBP")]:
        with pytest.raises(ValueError):
            to_minor_units(wrong, currency)


def test_a_partial_refund_is_made_and_never_above_what_is_left(paid_booking, stripe_standin, after_commit):
    half = after_commit(lambda: refund_part(booking=paid_booking, amount=3000, reason="Half: late start"))
    half.refresh_from_db()
    paid_booking.refresh_from_db()
    assert half.status == Refund.Status.SUCCEEDED
    assert paid_booking.amount_refunded == 3000
    assert paid_booking.status == Booking.Status.CONFIRMED  # a refund is not a cancellation
    (request,) = stripe_standin.requests_to("POST", "/v1/refunds")
    assert request.params["amount"] == "3000"

    with pytest.raises(RefundNotAllowed, match=r"at most £30\.00"):
        refund_part(booking=paid_booking, amount=3001, reason="Too much")
    with pytest.raises(RefundNotAllowed, match="reason"):
        refund_part(booking=paid_booking, amount=100, reason="  ")
    with pytest.raises(RefundNotAllowed, match="above zero"):
        refund_part(booking=paid_booking, amount=0, reason="Nothing")
    after_commit(lambda: refund_part(booking=paid_booking, amount=3000, reason="The rest"))
    with pytest.raises(RefundNotAllowed, match="Nothing is left"):
        refund_part(booking=paid_booking, amount=1, reason="One more penny")
    paid_booking.refresh_from_db()
    assert paid_booking.amount_refunded == paid_booking.amount_paid == 6000
    assert BookingLog.objects.filter(booking=paid_booking, action="refund_requested").count() == 2


def test_a_refund_owed_but_not_yet_sent_counts_against_what_is_left(paid_booking):
    # Not sent yet (no after_commit): the owner cannot owe the same money twice.
    refund_part(booking=paid_booking, amount=4000, reason="Most of it")
    with pytest.raises(RefundNotAllowed, match=r"at most £20\.00"):
        refund_part(booking=paid_booking, amount=2500, reason="And more")


def test_a_refused_refund_shows_for_retry_alerts_the_owner_and_retry_makes_it(
    paid_booking, stripe_standin, after_commit, settings
):
    stripe_standin.fail_next(status=400)
    refund = after_commit(lambda: refund_part(booking=paid_booking, amount=3000, reason="Half"))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    alert = paid_booking.notifications.get(kind="refund_failed")
    assert alert.recipient == settings.OWNER_EMAIL

    after_commit(lambda: refunds.retry_refund(refund=refund))
    refund.refresh_from_db()
    paid_booking.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert paid_booking.amount_refunded == 3000


def test_a_refund_that_times_out_waits_for_retry_and_the_owner_is_told_once(
    paid_booking, stripe_standin, after_commit, settings
):
    stripe_standin.hang_next()  # Stripe never answers: the SDK gives up after STRIPE_TIMEOUT_SECONDS
    refund = after_commit(lambda: refund_part(booking=paid_booking, amount=1500, reason="Quarter"))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING and refund.attempts == 1 and refund.last_error
    (alert,) = paid_booking.notifications.filter(kind="refund_delayed")
    assert alert.recipient == settings.OWNER_EMAIL
    sent = [m for m in mail.outbox if m.to == [settings.OWNER_EMAIL]]
    assert sent and "Refund delayed: £15.00" in sent[0].subject
    assert reverse("coaching_booking_modeladmin_inspect", args=[paid_booking.pk]) in sent[0].body

    after_commit(lambda: refunds.retry_refund(refund=refund))  # the owner's Retry
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert paid_booking.notifications.filter(kind="refund_delayed").count() == 1


# --- the Notifications screen's "retry now" --------------------------------------------------------


def test_retry_now_sends_a_message_given_up_on(after_commit):
    booking = BookingFactory()
    row = Notification.objects.create(
        booking=booking,
        kind="confirmation",
        recipient=booking.guest_email,
        dedupe_key="test:retry",
        context={"start_at": booking.start_at.isoformat(), "end_at": booking.end_at.isoformat(), "sequence": 0},
        status=Notification.Status.FAILED,
        attempts=6,
        last_error="SMTPRecipientsRefused",
    )
    after_commit(lambda: delivery.retry_notification(notification=row))
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT and row.attempts == 1 and not row.last_error
    assert [m.to for m in mail.outbox] == [[booking.guest_email]]

    # A sent message is left alone.
    after_commit(lambda: delivery.retry_notification(notification=row))
    assert len(mail.outbox) == 1


def test_the_delivery_failed_alert_links_to_the_notifications_screen(settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    settings.EMAIL_BACKEND = "coaching.tests.services.test_desk_services.RefusingBackend"
    booking = BookingFactory()
    row = Notification.objects.create(
        booking=booking,
        kind="confirmation",
        recipient=booking.guest_email,
        dedupe_key="test:alert",
        context={"start_at": booking.start_at.isoformat(), "end_at": booking.end_at.isoformat(), "sequence": 0},
    )
    assert delivery.deliver_notification(row.pk) == "failed"  # the alert's own delivery waits for commit
    alert = Notification.objects.get(kind="delivery_failed")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    delivery.deliver_notification(alert.pk)
    (message,) = mail.outbox
    assert f"{settings.SITE_URL}/admin/coaching/notifications/?status=failed" in message.body


class RefusingBackend:
    """An email backend whose server refuses every message (for the give-up path)."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server refused the connection")


# --- the Google alert goes through the outbox ------------------------------------------------------


def test_a_broken_google_connection_is_an_owner_alert_in_the_outbox(google_api, after_commit, frozen_clock):
    coach = connected_coach(expiry="2020-01-01T00:00:00+00:00")
    google_api(invalid_grant())
    after_commit(lambda: google_sync.pull_busy_times(coach=coach, now=NOW))
    coach.refresh_from_db()
    assert coach.google_status == Coach.GoogleStatus.BROKEN
    (alert,) = Notification.objects.filter(kind="google_broken")
    assert alert.recipient == "owner@example.com" and alert.status == Notification.Status.SENT
    assert alert.context["coach_name"] == coach.name
    (message,) = mail.outbox
    assert f"/admin/coaching/google/coaches/{coach.pk}/" in message.body

    # Reconnected and broken again later: a second alert (one per breakage).
    Coach.objects.filter(pk=coach.pk).update(google_status=Coach.GoogleStatus.CONNECTED)
    coach.refresh_from_db()
    google_api(invalid_grant())
    frozen_clock.move_to(NOW + timedelta(hours=1))
    after_commit(lambda: google_sync.pull_busy_times(coach=coach, now=NOW + timedelta(hours=1)))
    assert Notification.objects.filter(kind="google_broken").count() == 2


# --- moving a booking as staff -----------------------------------------------------------------------


@pytest.fixture
def free_booking(after_commit):
    """A free session booked by a guest for 7 January 10:00 UTC, its confirmation sent."""
    coach = CoachFactory(name="Amara Okafor")
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(17))
    booking = after_commit(lambda: create_booking(guest=GUEST, coach=coach, start_at=at(10), now=NOW)).booking
    mail.outbox.clear()
    return booking


def test_staff_move_inside_the_cutoff_needs_the_override_and_logs_it(free_booking, after_commit, frozen_clock, owner):
    frozen_clock.move_to(at(10) - timedelta(hours=3))  # inside the 24-hour reschedule cut-off
    with pytest.raises(BookingNotReschedulable, match="Override the booking policy"):
        move_booking(booking=free_booking, new_start_at=at(14), user=owner)

    after_commit(lambda: move_booking(booking=free_booking, new_start_at=at(14), user=owner, override_policy=True))

    free_booking.refresh_from_db()
    assert (free_booking.start_at, free_booking.ics_sequence, free_booking.reschedule_count) == (at(14), 1, 1)
    moved, overridden = BookingLog.objects.filter(booking=free_booking, action__in=["rescheduled", "policy_overridden"])
    assert (moved.actor, moved.actor_user) == ("owner", owner)
    assert overridden.actor_user == owner and "24 hours" in overridden.message
    # The same emails as a guest's reschedule: the guest's update (SEQUENCE 1) and the coach's note.
    guest_mail, coach_mail = sorted(mail.outbox, key=lambda m: m.to != [GUEST.email])
    assert guest_mail.to == [GUEST.email] and coach_mail.to == [free_booking.coach.email]
    invite = next(part for part in guest_mail.attachments if "calendar" in str(part.get_content_type()))
    assert "SEQUENCE:1" in invite.get_payload(decode=True).decode()


def test_staff_move_outside_the_cutoff_needs_no_override_and_logs_none(free_booking, owner):
    move_booking(booking=free_booking, new_start_at=at(15), user=owner)
    free_booking.refresh_from_db()
    assert free_booking.start_at == at(15)
    assert not BookingLog.objects.filter(booking=free_booking, action="policy_overridden").exists()


def test_staff_move_to_a_taken_time_is_refused_like_a_guests(free_booking, owner):
    create_booking(guest=Guest(name="Ada", email="ada@example.com"), coach=free_booking.coach, start_at=at(12), now=NOW)
    with pytest.raises(SlotUnavailable) as refused:
        move_booking(booking=free_booking, new_start_at=at(12), user=owner, override_policy=True)
    assert refused.value.message == SlotUnavailable.default_message
    free_booking.refresh_from_db()
    assert free_booking.start_at == at(10)
