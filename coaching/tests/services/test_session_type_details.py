"""What a session type asks and where it happens: required questions enforced (a bad answer names
the question and writes nothing), answers in the coach's email; the meeting place in every email,
the .ics (parsed back) and the Google event; a Google Meet made through the Google stand-in, stored
and sent to the guest; the Stripe line item naming the type with the time in both zones."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from icalendar import Calendar

from coaching import exceptions
from coaching.integrations import google
from coaching.invites import build_ics
from coaching.models import Booking, IntakeQuestion, LocationKind
from coaching.services import Guest, create_booking, delivery, google_sync, reschedule_booking
from coaching.services.payment import checkout_description
from coaching.tests.factories import AvailabilityBlockFactory, SessionTypeFactory
from coaching.tests.standins.google import OK, connected_coach

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 12, 2, 8, 0, tzinfo=UTC)
SESSION = datetime(2030, 12, 5, 14, 0, tzinfo=UTC)  # Thu 14:00 London = 09:00 New York
GUEST = Guest(name="Ada Lovelace", email="ada@guest.example", phone="+44 20 7946 0000", timezone="America/New_York")


@pytest.fixture
def coach():
    coach = connected_coach(name="Grace Hopper", email="grace@coach.example", default_session_type=None)
    AvailabilityBlockFactory(coach=coach, start_at=SESSION.replace(hour=9), end_at=SESSION.replace(hour=17))
    return coach


def with_questions(session_type):
    questions = [
        IntakeQuestion(label="What brings you here?", kind="short_text", required=True, sort_order=0),
        IntakeQuestion(label="Your stage", kind="single_choice", choices="Junior\nSenior", required=True, sort_order=1),
        IntakeQuestion(label="Topics", kind="multiple_choice", choices="CV\nInterviews\nPay", sort_order=2),
        IntakeQuestion(label="Been before?", kind="yes_no", required=True, sort_order=3),
        IntakeQuestion(label="Anything else", kind="long_text", sort_order=4),
    ]
    for question in questions:
        session_type.questions.add(question)
    session_type.save()
    return {f"q{q.pk}": q for q in session_type.questions.all()}


@pytest.fixture
def in_person(coach):
    return SessionTypeFactory(
        title="Career session",
        coaches=coach,
        location_kind=LocationKind.IN_PERSON,
        location_detail="12 Clerkenwell Road, London",
    )


def good_answers(keys):
    first, stage, topics, before, _ = keys
    return {first: "Changing jobs", stage: "Senior", topics: ["Pay", "CV"], before: "no"}


def book(session_type, *, after_commit, answers=None, guest=GUEST, start_at=SESSION):
    return after_commit(
        lambda: create_booking(
            guest=guest,
            coach=session_type.coaches.first(),
            session_type=session_type,
            answers=answers or {},
            start_at=start_at,
            now=NOW,
        )
    ).booking


def test_answers_are_stored_as_asked_and_shown_in_the_coachs_email_not_the_guests(in_person, after_commit):
    keys = list(with_questions(in_person))
    booking = book(in_person, after_commit=after_commit, answers=good_answers(keys))
    assert booking.intake_answers == [
        {"question": "What brings you here?", "kind": "short_text", "answer": "Changing jobs"},
        {"question": "Your stage", "kind": "single_choice", "answer": "Senior"},
        {"question": "Topics", "kind": "multiple_choice", "answer": ["CV", "Pay"]},
        {"question": "Been before?", "kind": "yes_no", "answer": "No"},
        {"question": "Anything else", "kind": "long_text", "answer": ""},
    ]
    delivery.deliver_pending()
    to_coach = next(m for m in mail.outbox if m.to == ["grace@coach.example"])
    to_guest = next(m for m in mail.outbox if m.to == ["ada@guest.example"])
    for body in (to_coach.body, to_coach.alternatives[0][0]):
        assert "What brings you here?" in body and "Changing jobs" in body and "CV, Pay" in body
    assert "Changing jobs" not in to_guest.body


@pytest.mark.parametrize(
    "change, named",
    [
        ({0: ""}, "What brings you here?"),  # required, left empty
        ({1: "Director"}, "Your stage"),  # not one of the choices
        ({2: ["Pay", "Golf"]}, "Topics"),
        ({3: "maybe"}, "Been before?"),
        ({0: "x" * 201}, "What brings you here?"),
    ],
)
def test_a_bad_answer_is_refused_naming_the_question_and_nothing_is_written(in_person, after_commit, change, named):
    keys = list(with_questions(in_person))
    answers = good_answers(keys)
    for index, value in change.items():
        answers[keys[index]] = value
    with pytest.raises(exceptions.InvalidDetails) as refused:
        book(in_person, after_commit=after_commit, answers=answers)
    assert named in refused.value.message and refused.value.http_status == 400
    assert not Booking.objects.exists()


def test_a_phone_session_needs_the_guests_number_and_says_who_calls(coach, after_commit):
    phone = SessionTypeFactory(coaches=coach, location_kind=LocationKind.PHONE)
    no_number = Guest(name="Ada", email="ada@guest.example", timezone="UTC")
    with pytest.raises(exceptions.InvalidDetails, match="phone number"):
        book(phone, after_commit=after_commit, guest=no_number)
    book(phone, after_commit=after_commit)
    delivery.deliver_pending()
    assert all("Phone call: Grace Hopper calls +44 20 7946 0000" in m.body for m in mail.outbox)


def invite_of(message) -> Calendar:
    (part,) = [p for p in message.message().walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def test_the_address_is_in_every_email_text_and_html_the_invite_and_the_google_event(
    in_person, after_commit, frozen_clock, google_api
):
    google_api(OK_EVENT, OK_EVENT)  # the coach's event: pushed, then moved
    booking = book(in_person, after_commit=after_commit)
    reschedule_booking(booking=booking, new_start_at=SESSION + timedelta(hours=1), actor="owner", now=NOW)
    after_commit(lambda: None)
    frozen_clock.move_to(SESSION + timedelta(hours=1) - timedelta(hours=23))
    delivery.send_due_reminders()
    delivery.deliver_pending()
    subjects = {m.subject.split(":")[0] for m in mail.outbox}
    assert len(mail.outbox) >= 5 and "Reminder" in subjects
    for message in mail.outbox:
        assert "12 Clerkenwell Road, London" in message.body, message.subject
        assert "12 Clerkenwell Road, London" in message.alternatives[0][0], message.subject
    invites = [m for m in mail.outbox if any(p.get_content_type() == "text/calendar" for p in m.message().walk())]
    assert len(invites) >= 2  # the confirmation and the reschedule
    for message in invites:
        event = next(iter(invite_of(message).walk("VEVENT")))
        assert str(event["LOCATION"]) == "12 Clerkenwell Road, London"
    assert google_sync.event_body(booking)["location"] == "12 Clerkenwell Road, London"


def test_a_video_link_is_the_invites_location_url_and_in_its_description(coach, after_commit):
    video = SessionTypeFactory(
        coaches=coach, location_kind=LocationKind.VIDEO, location_detail="https://video.example.com/grace"
    )
    booking = book(video, after_commit=after_commit)
    event = next(iter(Calendar.from_ical(build_ics(booking, method="REQUEST")).walk("VEVENT")))
    assert str(event["LOCATION"]) == str(event["URL"]) == "https://video.example.com/grace"
    assert "Join: https://video.example.com/grace" in str(event["DESCRIPTION"])


OK_EVENT = (OK, json.dumps({"kind": "calendar#event", "id": "x", "status": "confirmed"}))


def test_a_google_meet_is_requested_on_the_coachs_event_stored_and_sent_to_the_guest(coach, after_commit, google_api):
    meet = SessionTypeFactory(coaches=coach, location_kind=LocationKind.GOOGLE_MEET)
    booking = book(meet, after_commit=after_commit)
    assert "link follows" in next(m for m in mail.outbox if m.to == ["ada@guest.example"]).body
    mail.outbox.clear()
    answer = {
        "kind": "calendar#event",
        "id": google.event_id_for(booking.reference),
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
        "conferenceData": {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"}]},
    }
    mock = google_api((OK, json.dumps(answer)))

    after_commit(lambda: google_sync.push_booking_event(booking=booking))

    uri, method, body, _ = mock.request_sequence[0]
    assert "conferenceDataVersion=1" in uri and method == "POST"
    request = json.loads(body)["conferenceData"]["createRequest"]
    assert request["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    booking.refresh_from_db()
    assert booking.meeting_url == "https://meet.google.com/abc-defg-hij"
    assert booking.log_entries.filter(action="meeting_link").exists()
    delivery.deliver_pending()
    (sent,) = mail.outbox
    assert sent.to == ["ada@guest.example"] and "https://meet.google.com/abc-defg-hij" in sent.body
    event = next(iter(Calendar.from_ical(build_ics(booking, method="REQUEST")).walk("VEVENT")))
    assert str(event["LOCATION"]) == "https://meet.google.com/abc-defg-hij"

    # A retried push asks for no second Meet and sends nothing more.
    google_api(OK_EVENT)
    after_commit(lambda: google_sync.push_booking_event(booking=booking))
    delivery.deliver_pending()
    assert len(mail.outbox) == 1


def test_the_checkout_line_item_names_the_type_and_shows_the_time_in_both_zones(in_person, after_commit):
    in_person.price_amount = 7500
    in_person.save()
    booking = Booking(
        coach=in_person.coaches.first(),
        session_title="Career session",
        start_at=SESSION,
        end_at=SESSION + timedelta(hours=1),
        guest_timezone="America/New_York",
    )
    assert booking.title == "Career session with Grace Hopper"
    described = checkout_description(booking)
    assert "09:00" in described and "(your time)" in described
    assert "14:00" in described and "Grace Hopper's time" in described
