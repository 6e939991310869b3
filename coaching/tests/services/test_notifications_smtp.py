"""A whole booking lifecycle (book, reschedule, cancel) delivered to a real SMTP server on loopback.

The messages go through Django's SMTP backend to aiosmtpd and are parsed back with `email` and
`icalendar`, the way a guest's mail client and calendar would read them.
"""

from datetime import UTC, datetime, timedelta

import pytest

from coaching.links import read_manage_token
from coaching.services import Guest, cancel_booking, create_booking, reschedule_booking
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory
from coaching.tests.standins.smtp import html_body, invite, text_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
FIRST = datetime(2031, 3, 6, 13, 0, tzinfo=UTC)  # 13:00 GMT London = 22:00 JST Tokyo
MOVED = datetime(2031, 3, 6, 15, 0, tzinfo=UTC)  # 15:00 GMT London = 00:00 JST (next day) Tokyo


def test_book_reschedule_cancel_reaches_guest_and_coach_with_one_updating_invite(
    smtp, django_capture_on_commit_callbacks
):
    coach = CoachFactory(name="Grace Hopper", email="grace@coach.example", timezone="Europe/London")
    AvailabilityBlockFactory(coach=coach, start_at=FIRST.replace(hour=9), end_at=FIRST.replace(hour=17))
    guest = Guest(name="Kenji Sato", email="kenji@guest.example", timezone="Asia/Tokyo")

    with django_capture_on_commit_callbacks(execute=True):
        booking = create_booking(guest=guest, coach=coach, start_at=FIRST).booking
    with django_capture_on_commit_callbacks(execute=True):
        reschedule_booking(booking=booking, new_start_at=MOVED, actor="guest")
    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=booking, actor="guest", reason="Travelling")

    mailbox = smtp.mailbox
    assert sorted(recipient for recipients in mailbox.envelope_recipients for recipient in recipients) == sorted(
        ["kenji@guest.example"] * 3 + ["grace@coach.example"] * 3
    )
    guest_mail = mailbox.to("kenji@guest.example")
    coach_mail = mailbox.to("grace@coach.example")
    assert [message["Subject"].strip() for message in guest_mail] == [
        "Confirmed: 1-on-1 session with Grace Hopper on Thu 06 Mar 2031, 22:00 JST (Asia/Tokyo) – 23:00",
        "Moved: 1-on-1 session with Grace Hopper is now on Fri 07 Mar 2031, 00:00 JST (Asia/Tokyo) – 01:00",
        "Cancelled: 1-on-1 session with Grace Hopper on Fri 07 Mar 2031, 00:00 JST (Asia/Tokyo) – 01:00",
    ]
    assert [message["Subject"].strip() for message in coach_mail] == [
        "New booking: Kenji Sato on Thu 06 Mar 2031, 13:00 GMT (Europe/London) – 14:00",
        "Moved: Kenji Sato is now on Thu 06 Mar 2031, 15:00 GMT (Europe/London) – 16:00",
        "Cancelled: Kenji Sato on Thu 06 Mar 2031, 15:00 GMT (Europe/London) – 16:00",
    ]
    assert all(message["From"] == "Bookings <bookings@example.com>" for message in mailbox.messages)

    # Every message shows the time in both zones, in its plain text and its HTML.
    for message in guest_mail + coach_mail:
        for body in (text_body(message), html_body(message)):
            assert "(Asia/Tokyo)" in body and "(Europe/London)" in body
    assert "Fri 07 Mar 2031, 00:00 JST (Asia/Tokyo) – 01:00 (your time)" in text_body(guest_mail[1])
    assert "Thu 06 Mar 2031, 15:00 GMT (Europe/London) – 16:00 (Grace Hopper's time)" in text_body(guest_mail[1])

    # The guest's confirmation and move carry the magic link; it names this booking.
    for message in guest_mail[:2]:
        (link,) = {word for word in text_body(message).split() if "/bookings/manage/" in word}
        assert link.startswith("http://testserver/bookings/manage/") and link in html_body(message)
        token = link.removeprefix("http://testserver/bookings/manage/").rstrip("/")
        assert read_manage_token(token) == booking.reference
    assert "/bookings/manage/" not in text_body(coach_mail[0])

    # One event in the guest's calendar: same UID, SEQUENCE going up, REQUEST, REQUEST, CANCEL.
    invites = [invite(message) for message in guest_mail]
    assert [method for method, _ in invites] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [calendar["METHOD"] for _, calendar in invites] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [calendar.walk("VEVENT")[0] for _, calendar in invites]
    assert len({str(event["UID"]) for event in events}) == 1
    assert str(events[0]["UID"]) == booking.ics_uid
    sequences = [int(event["SEQUENCE"]) for event in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert [event.decoded("DTSTART") for event in events] == [FIRST, MOVED, MOVED]
    assert events[1].decoded("DTEND") == MOVED + timedelta(hours=1)
    assert str(events[2]["STATUS"]) == "CANCELLED"
    assert all(event.decoded("DTSTAMP") == NOW for event in events)
    assert all(str(event["ORGANIZER"]) == "mailto:bookings@example.com" for event in events)
    assert all("mailto:kenji@guest.example" in [str(a) for a in event["ATTENDEE"]] for event in events)
