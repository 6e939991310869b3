"""Outbox, emails, invites, magic links and reminders (locmem mail; the SMTP path is in *_smtp.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail, signing
from django.db import transaction
from icalendar import Calendar

from coaching.invites import build_ics
from coaching.links import (
    ExpiredManageLink,
    InvalidManageLink,
    make_manage_token,
    manage_url,
    read_manage_token,
)
from coaching.models import Booking, BookingLog, Notification
from coaching.services import Guest, cancel_booking, create_booking, delivery, outbox, reschedule_booking
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

# A fixed "now" so every time in the assertions is known: Monday 2 Dec 2030 08:00 UTC.
NOW = datetime(2030, 12, 2, 8, 0, tzinfo=UTC)
SESSION = datetime(2030, 12, 5, 14, 0, tzinfo=UTC)  # Thu 14:00 London = 09:00 New York


@pytest.fixture
def coach():
    coach = CoachFactory(name="Grace Hopper", email="grace@coach.example", timezone="Europe/London")
    AvailabilityBlockFactory(coach=coach, start_at=SESSION.replace(hour=9), end_at=SESSION.replace(hour=17))
    return coach


@pytest.fixture
def book(coach, django_capture_on_commit_callbacks):
    def book(start_at=SESSION, **guest):
        guest = {"name": "Ada Lovelace", "email": "ada@guest.example", "timezone": "America/New_York", **guest}
        with django_capture_on_commit_callbacks(execute=True):
            return create_booking(guest=Guest(**guest), coach=coach, start_at=start_at).booking

    return book


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    def run(action, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(**kwargs)

    return run


def attached_calendar(message) -> tuple[str, Calendar]:
    (part,) = [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]
    return part.get_param("method"), Calendar.from_ical(part.get_payload(decode=True))


# --- owing ----------------------------------------------------------------------------------------


def test_free_booking_owes_a_guest_confirmation_and_a_coach_notice(book):
    booking = book()

    rows = {row.kind: row for row in Notification.objects.filter(booking=booking)}
    assert set(rows) == {"confirmation", "coach_new"}
    assert rows["confirmation"].recipient == "ada@guest.example"
    assert rows["coach_new"].recipient == "grace@coach.example"
    assert {row.status for row in rows.values()} == {Notification.Status.SENT}
    assert sorted(message.to[0] for message in mail.outbox) == ["ada@guest.example", "grace@coach.example"]


def test_recording_the_same_change_twice_owes_each_message_once(book):
    booking = book()
    mail.outbox.clear()

    with transaction.atomic():
        again = outbox.record_notifications(booking=booking, change="confirmed")

    assert again == []
    assert Notification.objects.filter(booking=booking).count() == 2
    assert mail.outbox == []


def test_a_rolled_back_change_owes_and_sends_nothing(coach, django_capture_on_commit_callbacks):
    booking = BookingFactory(coach=coach, start_at=SESSION)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                outbox.record_notifications(booking=booking, change="confirmed")
                raise RuntimeError("the booking change failed")

    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_held_change_owes_nothing_while_the_guest_is_paying(coach):
    booking = BookingFactory(coach=coach, held=True)

    with transaction.atomic():
        assert outbox.record_notifications(booking=booking, change="held") == []


def test_withdrawn_unpaid_hold_tells_the_guest_but_not_the_coach(coach, on_commit):
    booking = BookingFactory(coach=coach, start_at=SESSION, end_at=SESSION + timedelta(hours=1), held=True)

    on_commit(cancel_booking, booking=booking, actor="owner")

    assert [row.kind for row in Notification.objects.filter(booking=booking)] == ["cancellation"]


# --- what the emails say --------------------------------------------------------------------------


def test_confirmation_shows_both_zones_the_magic_link_and_a_request_invite(book):
    booking = book()

    (message,) = [message for message in mail.outbox if message.to == ["ada@guest.example"]]
    html = message.alternatives[0][0]
    assert message.subject.startswith("Confirmed: 1-on-1 session with Grace Hopper")
    for body in (message.body, html):
        assert "Thu 05 Dec 2030, 09:00 EST (America/New_York)" in body
        assert "Thu 05 Dec 2030, 14:00 GMT (Europe/London)" in body
        assert manage_url(booking) in body
        assert booking.reference in body
    method, calendar = attached_calendar(message)
    assert method == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"


def test_coach_notice_puts_the_coaches_zone_first_and_has_no_guest_link(book):
    book()

    (message,) = [message for message in mail.outbox if message.to == ["grace@coach.example"]]
    assert message.subject == "New booking: Ada Lovelace on Thu 05 Dec 2030, 14:00 GMT (Europe/London) – 15:00"
    assert "14:00 GMT (Europe/London) – 15:00 (your time)" in message.body
    assert "09:00 EST (America/New_York) – 10:00 (Ada Lovelace's time)" in message.body
    assert "/bookings/manage/" not in message.body


def test_reschedule_email_names_the_old_and_new_time(book, on_commit):
    booking = book()
    mail.outbox.clear()

    on_commit(reschedule_booking, booking=booking, new_start_at=SESSION + timedelta(hours=2), actor="guest")

    guest_mail = next(message for message in mail.outbox if message.to == ["ada@guest.example"])
    assert (
        guest_mail.subject
        == "Moved: 1-on-1 session with Grace Hopper is now on Thu 05 Dec 2030, 11:00 EST (America/New_York) – 12:00"
    )
    assert "Previously: Thu 05 Dec 2030, 09:00 EST (America/New_York) – 10:00 (your time)" in guest_mail.body
    method, calendar = attached_calendar(guest_mail)
    assert method == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == SESSION + timedelta(hours=2)


def test_cancellation_email_states_the_refund_and_cancels_the_invite(coach, on_commit):
    booking = BookingFactory(
        coach=coach,
        start_at=SESSION,
        confirmed_at=NOW,
        is_paid=True,
        amount_paid=7500,
        amount_due=7500,
    )

    with transaction.atomic():
        outbox.record_notifications(booking=booking, change="cancelled", refund_amount=7500)
    delivery.deliver_pending()

    (message,) = [message for message in mail.outbox if message.to == [booking.guest_email]]
    assert "A refund of £75.00 is on its way" in message.body
    method, calendar = attached_calendar(message)
    assert (method, calendar["METHOD"]) == ("CANCEL", "CANCEL")


def test_refund_already_announced_by_the_cancellation_is_not_mailed_again(coach):
    booking = BookingFactory(coach=coach, confirmed_at=NOW, is_paid=True, amount_paid=5000)
    with transaction.atomic():
        outbox.record_notifications(booking=booking, change="cancelled", refund_amount=5000)
    Booking.objects.filter(pk=booking.pk).update(amount_refunded=5000)
    booking.refresh_from_db()

    with transaction.atomic():
        assert outbox.record_notifications(booking=booking, change="refunded") == []


def test_hold_expired_email_has_no_invite(coach):
    booking = BookingFactory(coach=coach, expired=True)
    with transaction.atomic():
        outbox.record_notifications(booking=booking, change="expired")
    delivery.deliver_pending()

    (message,) = mail.outbox
    assert message.subject.startswith("Not booked: your hold on")
    assert message.attachments == []


# --- the invite -----------------------------------------------------------------------------------


def test_invite_carries_stable_uid_sequence_stamp_people_and_description(coach):
    booking = BookingFactory(coach=coach, start_at=SESSION, ics_sequence=3)

    calendar = Calendar.from_ical(build_ics(booking, method="REQUEST"))

    (event,) = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == booking.ics_uid == f"booking-{booking.reference.lower()}@testserver"
    assert event["SEQUENCE"] == 3
    assert event.decoded("DTSTAMP") == NOW
    assert event.decoded("DTSTART") == SESSION
    assert event.decoded("DTEND") == SESSION + timedelta(hours=1)
    assert str(event["SUMMARY"]) == "1-on-1 session with Grace Hopper"
    assert str(event["LOCATION"])
    assert manage_url(booking) in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == "mailto:bookings@example.com"
    assert {str(attendee) for attendee in event["ATTENDEE"]} == {
        f"mailto:{booking.guest_email}",
        "mailto:grace@coach.example",
    }


def test_cancel_invite_keeps_the_uid_and_marks_the_event_cancelled(coach):
    booking = BookingFactory(coach=coach, ics_sequence=2)

    (event,) = Calendar.from_ical(build_ics(booking, method="CANCEL")).walk("VEVENT")

    assert str(event["UID"]) == booking.ics_uid
    assert str(event["STATUS"]) == "CANCELLED"


# --- magic link -----------------------------------------------------------------------------------


def test_manage_link_names_the_booking_without_its_database_id(coach):
    booking = BookingFactory(coach=coach, start_at=SESSION)

    token = make_manage_token(booking)

    assert read_manage_token(token) == booking.reference
    assert manage_url(booking) == f"http://testserver/bookings/manage/{token}/"
    assert signing.loads(token, salt="coaching.manage-booking.v1") == booking.reference


def test_tampered_manage_link_is_refused(coach):
    booking = BookingFactory(coach=coach, start_at=SESSION)
    token = make_manage_token(booking)
    other = signing.dumps("ZZZZZZZZ", salt="coaching.manage-booking.v1")

    with pytest.raises(InvalidManageLink):
        read_manage_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(InvalidManageLink):
        read_manage_token(signing.dumps(booking.reference, salt="another-purpose"))
    with pytest.raises(InvalidManageLink):
        read_manage_token(other)


def test_manage_link_expires_the_policys_days_after_the_booking_ends(coach, frozen_clock):
    booking = BookingFactory(coach=coach, start_at=SESSION)
    token = make_manage_token(booking)

    frozen_clock.move_to(booking.end_at + timedelta(days=1))
    assert read_manage_token(token) == booking.reference
    frozen_clock.move_to(booking.end_at + timedelta(days=1, seconds=1))
    with pytest.raises(ExpiredManageLink):
        read_manage_token(token)


# --- delivery, retries, failure ---------------------------------------------------------------------


def test_a_message_is_sent_once_however_often_delivery_runs(book):
    booking = book()
    guest_row = Notification.objects.get(booking=booking, kind="confirmation")
    mail.outbox.clear()

    assert delivery.deliver_notification(guest_row.pk) == "skipped"
    assert delivery.deliver_pending() == {}
    assert mail.outbox == []


def test_failing_smtp_is_retried_with_backoff_then_given_up_and_reported(coach, settings, smtp, frozen_clock):
    booking = BookingFactory(coach=coach, start_at=SESSION)
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    smtp.mailbox.reject = "451 4.3.0 Mailbox temporarily unavailable"
    with transaction.atomic():
        (row,) = outbox.record_notifications(booking=booking, change="expired")

    assert delivery.deliver_notification(row.pk) == "retry"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, NOW + timedelta(seconds=60))
    assert "451" in row.last_error
    assert delivery.deliver_notification(row.pk) == "skipped"  # not due yet

    frozen_clock.move_to(NOW + timedelta(seconds=60))
    assert delivery.deliver_pending() == {"retry": 1}
    row.refresh_from_db()
    assert row.next_attempt_at == NOW + timedelta(seconds=60 + 120)

    frozen_clock.move_to(row.next_attempt_at)
    # The third failure is the last: the row gives up.
    smtp.mailbox.reject = "554 5.7.1 Rejected"
    assert delivery.deliver_pending() == {"failed": 1}

    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED and row.attempts == 3
    assert Notification.objects.filter(status="failed").get() == row
    assert BookingLog.objects.filter(booking=booking, action="email_failed").exists()
    alert = Notification.objects.get(kind="delivery_failed")
    assert alert.recipient == "owner@example.com"
    assert alert.context["failed_recipient"] == booking.guest_email


def test_a_failed_attempt_is_delivered_by_the_next_due_run(coach, smtp, frozen_clock):
    booking = BookingFactory(coach=coach, start_at=SESSION)
    smtp.mailbox.reject = "421 4.3.2 Service not available"
    with transaction.atomic():
        (row,) = outbox.record_notifications(booking=booking, change="expired")
    assert delivery.deliver_notification(row.pk) == "retry"

    smtp.mailbox.reject = None
    frozen_clock.move_to(NOW + outbox.retry_delay(1))
    assert delivery.deliver_pending() == {"sent": 1}

    assert [message["To"] for message in smtp.mailbox.messages] == [booking.guest_email]
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT


# --- reminders --------------------------------------------------------------------------------------


def test_a_booking_a_day_ahead_gets_exactly_one_reminder_however_often_the_task_runs(book, frozen_clock):
    booking = book()
    mail.outbox.clear()
    frozen_clock.move_to(SESSION - timedelta(hours=23))

    for _ in range(3):
        delivery.send_due_reminders()
        delivery.deliver_pending()
    frozen_clock.move_to(SESSION - timedelta(hours=1))
    delivery.send_due_reminders()
    delivery.deliver_pending()

    reminders = [message for message in mail.outbox if message.subject.startswith("Reminder:")]
    assert len(reminders) == 1
    assert reminders[0].to == [booking.guest_email]
    assert "/bookings/manage/" in reminders[0].body


def test_no_reminder_before_the_window_or_for_a_cancelled_booking(coach, frozen_clock):
    confirmed = BookingFactory(coach=coach, start_at=SESSION)
    BookingFactory(
        coach=coach,
        start_at=SESSION + timedelta(hours=2),
        end_at=SESSION + timedelta(hours=3),
        cancelled=True,
    )

    frozen_clock.move_to(SESSION - timedelta(hours=25))
    assert delivery.send_due_reminders() == 0
    frozen_clock.move_to(SESSION - timedelta(hours=20))
    assert delivery.send_due_reminders() == 1
    assert Notification.objects.get(kind="reminder").booking == confirmed


def test_a_rescheduled_booking_is_reminded_of_its_new_time(book, on_commit, frozen_clock):
    booking = book()
    frozen_clock.move_to(SESSION - timedelta(hours=23))
    assert delivery.send_due_reminders() == 1

    frozen_clock.move_to(NOW)
    on_commit(reschedule_booking, booking=booking, new_start_at=SESSION + timedelta(hours=2), actor="owner")
    frozen_clock.move_to(SESSION - timedelta(hours=20))

    assert delivery.send_due_reminders() == 1
    assert Notification.objects.filter(booking=booking, kind="reminder").count() == 2


def test_send_notifications_command_delivers_what_is_owed_and_reminders_once(book, frozen_clock):
    from io import StringIO

    from django.core.management import call_command

    booking = book()
    mail.outbox.clear()
    frozen_clock.move_to(SESSION - timedelta(hours=2))

    for _ in range(2):
        output = StringIO()
        call_command("send_notifications", stdout=output)

    assert [message.subject.split(":")[0] for message in mail.outbox] == ["Reminder"]
    assert mail.outbox[0].to == [booking.guest_email]
    assert "Delivery: nothing due" in output.getvalue()


def test_guest_details_are_plain_in_the_text_part_and_escaped_in_the_html(book):
    book(name="Seán O'Brien <b>", email="sean@guest.example")

    (message,) = [message for message in mail.outbox if message.to == ["grace@coach.example"]]
    html = message.alternatives[0][0]
    assert message.subject.startswith("New booking: Seán O'Brien <b> on")
    assert "Seán O'Brien <b>" in message.body
    assert "Seán O&#x27;Brien &lt;b&gt;" in html and "O'Brien <b>" not in html


def test_an_invites_uid_survives_a_change_of_site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    booking = BookingFactory()
    uid = booking.ics_uid
    assert uid == f"booking-{booking.reference.lower()}@127.0.0.1:8000"

    settings.SITE_URL = "https://bookings.example.com"  # the site moves to its real domain
    booking.refresh_from_db()
    assert booking.ics_uid == uid
    assert f"UID:{uid}" in build_ics(booking, method="REQUEST").decode()


def test_new_invites_use_the_configured_uid_domain(settings):
    settings.INVITE_UID_DOMAIN = "northstar-coaching.example"
    booking = BookingFactory()
    assert booking.ics_uid == f"booking-{booking.reference.lower()}@northstar-coaching.example"
