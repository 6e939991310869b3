"""Workshops in their host's Google Calendar: one event per workshop (never one per seat), pushed
when published, patched when moved, deleted when cancelled — after commit, through the same tasks
by name and the same HttpMockSequence stand-in as 1-on-1 bookings (coaching/tests/standins/google.py)."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from coaching.integrations import google
from coaching.models import Workshop
from coaching.services import create_booking, google_sync
from coaching.services.workshops import cancel_workshop, change_workshop, create_workshop
from coaching.tests.factories import BookingFactory, CoachFactory, GuestFactory, WorkshopFactory
from coaching.tests.standins.google import connected_coach, error, event_answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
START = datetime(2030, 1, 9, 18, 0, tzinfo=UTC)
EVENTS = "/calendar/v3/calendars/primary/events"


@pytest.fixture
def host():
    return connected_coach(name="Yuki Tanaka", timezone="Asia/Tokyo")


def values(host, **overrides):
    return {
        "title": "Deep Work Sprint",
        "slug": "deep-work-sprint",
        "host": host,
        "summary": "Ninety minutes of guided focus.",
        "start_at": START,
        "end_at": START + timedelta(minutes=90),
        "capacity": 8,
        "price_amount": 0,
        "currency": "GBP",
        "location": "",
        "online_url": "https://meet.example.com/deep-work",
        "is_published": True,
        **overrides,
    }


def requests(mock):
    return [
        (urlsplit(uri).path, method, json.loads(body) if body else None)
        for uri, method, body, _ in mock.request_sequence
    ]


def test_a_published_workshop_is_pushed_to_its_hosts_calendar_after_commit(host, google_api, after_commit):
    mock = google_api(event_answer())

    workshop = after_commit(lambda: create_workshop(values=values(host)))

    event_id = google.event_id_for(f"workshop-{workshop.pk}")
    ((path, method, event),) = requests(mock)
    assert (path, method) == (EVENTS, "POST")
    assert parse_qs(urlsplit(mock.request_sequence[0][0]).query)["sendUpdates"] == ["none"]
    assert event["id"] == event_id and event["summary"] == "Workshop: Deep Work Sprint"
    assert event["start"] == {"dateTime": "2030-01-09T18:00:00+00:00", "timeZone": "Asia/Tokyo"}
    assert event["end"]["dateTime"] == "2030-01-09T19:30:00+00:00"
    assert event["location"] == "https://meet.example.com/deep-work"
    assert "attendees" not in event and "8 seats" in event["description"]
    assert f"/admin/coaching/workshops/{workshop.pk}/" in event["description"]
    workshop.refresh_from_db()
    assert workshop.google_event_id == event_id


def test_moving_the_workshop_patches_its_event(host, google_api, after_commit):
    workshop = WorkshopFactory(
        host=host, start_at=START, end_at=START + timedelta(hours=2), google_event_id="bk0123abc"
    )
    mock = google_api(event_answer("bk0123abc"))
    moved = START + timedelta(days=2)

    after_commit(
        lambda: change_workshop(workshop=workshop, changes={"start_at": moved, "end_at": moved + timedelta(hours=2)})
    )

    ((path, method, changes),) = requests(mock)
    assert (path, method) == (f"{EVENTS}/bk0123abc", "PATCH")
    assert changes["start"]["dateTime"] == "2030-01-11T18:00:00+00:00"


def test_a_change_the_event_does_not_show_calls_nobody(host, google_api, after_commit):
    workshop = WorkshopFactory(
        host=host, start_at=START, end_at=START + timedelta(hours=2), google_event_id="bk0123abc"
    )
    mock = google_api()

    after_commit(lambda: change_workshop(workshop=workshop, changes={"price_amount": 2500}))

    assert mock.request_sequence == []


def test_cancelling_the_workshop_deletes_its_event(host, google_api, after_commit):
    workshop = WorkshopFactory(
        host=host, start_at=START, end_at=START + timedelta(hours=2), google_event_id="bk0123abc"
    )
    mock = google_api(({"status": "204"}, ""))

    after_commit(lambda: cancel_workshop(workshop=workshop, message="Sorry."))

    assert [(path, method) for path, method, _ in requests(mock)] == [(f"{EVENTS}/bk0123abc", "DELETE")]
    workshop.refresh_from_db()
    assert workshop.google_event_id == ""


def test_an_event_the_host_already_deleted_counts_as_deleted(host, google_api):
    workshop = WorkshopFactory(host=host, google_event_id="bk0123abc", is_published=False)
    google_api(error(410, "deleted"))
    assert google_sync.delete_workshop_event(workshop=workshop) == "gone"


def test_a_retried_push_updates_the_existing_event_instead_of_adding_a_second(host, google_api):
    workshop = WorkshopFactory(host=host, start_at=START, end_at=START + timedelta(hours=2))
    mock = google_api(error(409, "duplicate"), event_answer())

    assert google_sync.push_workshop_event(workshop=workshop) == "updated"
    assert [method for _, method, _ in requests(mock)] == ["POST", "PATCH"]


def test_unpublishing_removes_the_event_and_publishing_puts_it_back(host, google_api, after_commit):
    workshop = WorkshopFactory(
        host=host, start_at=START, end_at=START + timedelta(hours=2), google_event_id="bk0123abc"
    )
    mock = google_api(({"status": "204"}, ""), event_answer())

    after_commit(lambda: change_workshop(workshop=workshop, changes={"is_published": False}))
    after_commit(lambda: change_workshop(workshop=workshop, changes={"is_published": True}))

    assert [(path, method) for path, method, _ in requests(mock)] == [
        (f"{EVENTS}/bk0123abc", "DELETE"),
        (EVENTS, "POST"),
    ]


def test_handing_the_workshop_to_another_host_moves_the_event_between_their_calendars(host, google_api, after_commit):
    workshop = WorkshopFactory(
        host=host, start_at=START, end_at=START + timedelta(hours=2), google_event_id="bk0123abc"
    )
    other = connected_coach(name="Amara Okafor")
    mock = google_api(({"status": "204"}, ""), event_answer())

    after_commit(lambda: change_workshop(workshop=workshop, changes={"host": other}))

    (deleted, pushed) = requests(mock)
    assert deleted[:2] == (f"{EVENTS}/bk0123abc", "DELETE")  # from the former host's calendar…
    assert pushed[1:] == ("POST", pushed[2]) and pushed[2]["id"] == "bk0123abc"  # …into the new host's
    assert Workshop.objects.get(pk=workshop.pk).google_event_id == "bk0123abc"


def test_seat_bookings_never_put_a_guest_in_the_hosts_calendar(host, google_api, after_commit):
    workshop = WorkshopFactory(
        host=host, start_at=START, end_at=START + timedelta(hours=2), google_event_id="bk0123abc"
    )
    mock = google_api()  # any call to Google would fail the test

    after_commit(lambda: create_booking(guest=GuestFactory(), workshop=workshop, seats=2))
    BookingFactory(workshop=workshop)

    assert mock.request_sequence == []


def test_a_host_without_a_connection_is_left_alone(google_api, after_commit):
    mock = google_api()
    after_commit(lambda: create_workshop(values=values(CoachFactory())))
    assert mock.request_sequence == []
