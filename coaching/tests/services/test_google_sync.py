"""Google Calendar sync: pull busy times, push/patch/delete events, and every failure mode.

Google itself is replaced by googleapiclient's HttpMockSequence (scripted HTTP answers, every request
recorded) behind the library's bundled discovery document: no network, and our own code runs as is.
"""

import json
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from celery.signals import task_retry
from django.core import mail

from coaching import tasks
from coaching.crypto import decrypt_text, encrypt_text
from coaching.integrations import google
from coaching.models import Booking, BookingLog, Coach, CoachBusySlot
from coaching.schedule import get_month_schedule
from coaching.services import create_booking, google_sync
from coaching.signals import booking_changed
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachBusySlotFactory,
    CoachFactory,
    GuestFactory,
)
from coaching.tests.standins.google import (
    FREEBUSY_URI,
    TOKEN_URI,
    connected_coach,
    error,
    event_answer,
    freebusy_answer,
    invalid_grant,
    token_answer,
)
from coaching.wallclock import expand_weekly_pattern

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


def slot_starts(coach, year, month, tz=LONDON, now=NOW):
    schedule = get_month_schedule(coach=coach, year=year, month=month, tz=tz, now=now)
    return [slot.start_at for day in schedule.days for slot in day.slots]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- pull ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pull_turns_busy_answer_into_slots_that_remove_exactly_the_overlapping_sessions(google_api):
    coach = connected_coach()
    AvailabilityBlockFactory(coach=coach, start_at=utc(2030, 1, 7, 9), end_at=utc(2030, 1, 7, 17))
    before = slot_starts(coach, 2030, 1)
    mock = google_api(freebusy_answer(("2030-01-07T12:00:00Z", "2030-01-07T13:30:00Z")))

    stored = google_sync.pull_busy_times(coach=coach, now=NOW)

    assert stored == 1
    after = slot_starts(coach, 2030, 1)
    assert sorted(set(before) - set(after)) == [utc(2030, 1, 7, 12), utc(2030, 1, 7, 13)]
    assert set(after) < set(before)
    uri, method, body, _ = mock.request_sequence[0]
    assert (uri.split("?")[0], method) == (FREEBUSY_URI, "POST")
    query = json.loads(body)
    assert query["items"] == [{"id": "primary"}]
    assert query["timeMin"] == "2030-01-01T08:00:00Z"
    assert query["timeMax"] == "2030-02-01T08:00:00Z"  # horizon (30 days) plus one day


@pytest.mark.django_db
def test_busy_span_across_midnight_removes_sessions_on_both_days(google_api):
    coach = connected_coach()
    AvailabilityBlockFactory(coach=coach, start_at=utc(2030, 1, 7, 20), end_at=utc(2030, 1, 8, 4))
    before = slot_starts(coach, 2030, 1)
    google_api(freebusy_answer(("2030-01-07T23:30:00Z", "2030-01-08T01:00:00Z")))

    google_sync.pull_busy_times(coach=coach, now=NOW)

    after = slot_starts(coach, 2030, 1)
    assert sorted(set(before) - set(after)) == [utc(2030, 1, 7, 23), utc(2030, 1, 8, 0)]
    assert len(after) == len(before) - 2


@pytest.mark.django_db
def test_busy_span_across_the_spring_dst_change_removes_the_right_local_sessions(google_api):
    # 31 March 2030: London clocks jump from 01:00 GMT to 02:00 BST.
    coach = connected_coach()
    now = utc(2030, 3, 20, 8)
    for start_at, end_at in expand_weekly_pattern(
        zone=LONDON,
        weekdays=[6],
        time_ranges=[(time(0), time(6))],
        start_date=date(2030, 3, 31),
        end_date=date(2030, 3, 31),
    ):
        AvailabilityBlockFactory(coach=coach, start_at=start_at, end_at=end_at)
    # Google answers with offsets: 00:30 GMT until 02:30 BST (= 01:30 UTC).
    google_api(freebusy_answer(("2030-03-31T00:30:00+00:00", "2030-03-31T02:30:00+01:00")))

    google_sync.pull_busy_times(coach=coach, now=now)

    schedule = get_month_schedule(coach=coach, year=2030, month=3, tz=LONDON, now=now)
    local_starts = [
        slot.start_at.astimezone(LONDON).strftime("%H:%M %Z") for slot in schedule.day(date(2030, 3, 31)).slots
    ]
    assert local_starts == ["03:00 BST", "04:00 BST", "05:00 BST"]
    assert list(CoachBusySlot.objects.values_list("start_at", "end_at")) == [
        (utc(2030, 3, 31, 0, 30), utc(2030, 3, 31, 1, 30))
    ]


@pytest.mark.django_db
def test_re_pulling_replaces_the_windows_busy_slots_instead_of_adding(google_api):
    coach = connected_coach()
    beyond_window = CoachBusySlotFactory(coach=coach, start_at=utc(2030, 6, 1, 9), end_at=utc(2030, 6, 1, 10))
    CoachBusySlotFactory(coach=coach, start_at=utc(2029, 12, 1, 9), end_at=utc(2029, 12, 1, 10))  # long over
    google_api(
        freebusy_answer(
            ("2030-01-07T12:00:00Z", "2030-01-07T13:00:00Z"), ("2030-01-09T12:00:00Z", "2030-01-09T13:00:00Z")
        ),
        freebusy_answer(("2030-01-08T15:00:00Z", "2030-01-08T16:00:00Z")),
    )

    google_sync.pull_busy_times(coach=coach, now=NOW)
    google_sync.pull_busy_times(coach=coach, now=NOW + timedelta(minutes=15))

    assert list(CoachBusySlot.objects.filter(coach=coach).values_list("start_at", "end_at")) == [
        (utc(2030, 1, 8, 15), utc(2030, 1, 8, 16)),
        (beyond_window.start_at, beyond_window.end_at),
    ]


@pytest.mark.django_db
def test_pull_records_the_time_of_the_last_successful_sync(google_api):
    coach = connected_coach(google_last_error="old trouble")
    google_api(freebusy_answer())

    google_sync.pull_busy_times(coach=coach, now=NOW)

    coach.refresh_from_db()
    assert coach.google_last_synced_at == NOW
    assert coach.google_last_error == ""


@pytest.mark.django_db
def test_pull_server_error_is_transient_and_keeps_the_cached_busy_slots(google_api):
    coach = connected_coach()
    CoachBusySlotFactory(coach=coach, start_at=utc(2030, 1, 7, 12), end_at=utc(2030, 1, 7, 13))
    google_api(error(503, "backendError"))

    with pytest.raises(google.TransientError):
        google_sync.pull_busy_times(coach=coach, now=NOW)

    coach.refresh_from_db()
    assert CoachBusySlot.objects.filter(coach=coach).count() == 1
    assert "503" in coach.google_last_error
    assert coach.google_last_synced_at is None


@pytest.mark.django_db
def test_unauthorised_answer_refreshes_the_token_once_and_stores_the_new_one(google_api):
    coach = connected_coach()
    mock = google_api(error(401, "authError"), token_answer("ya29.fresh"), freebusy_answer())

    assert google_sync.pull_busy_times(coach=coach, now=NOW) == 0

    assert [request[0].split("?")[0] for request in mock.request_sequence] == [FREEBUSY_URI, TOKEN_URI, FREEBUSY_URI]
    assert mock.request_sequence[2][3]["authorization"] == "Bearer ya29.fresh"
    coach.refresh_from_db()
    stored = json.loads(decrypt_text(coach.google_credentials))
    assert stored["token"] == "ya29.fresh"
    assert stored["refresh_token"] == "1//stored-refresh"


@pytest.mark.django_db
def test_second_unauthorised_answer_after_a_refresh_is_not_retried_inline(google_api):
    coach = connected_coach()
    mock = google_api(error(401), token_answer(), error(401))

    with pytest.raises(google.AuthRefreshNeeded):
        google_sync.pull_busy_times(coach=coach, now=NOW)

    assert len(mock.request_sequence) == 3
    coach.refresh_from_db()
    assert coach.google_status == Coach.GoogleStatus.CONNECTED


@pytest.mark.django_db
def test_revoked_grant_marks_the_connection_broken_and_emails_the_owner_once(
    google_api, django_capture_on_commit_callbacks
):
    coach = connected_coach(expiry="2020-01-01T00:00:00+00:00")  # expired access token → refresh first
    google_api(invalid_grant())

    with django_capture_on_commit_callbacks(execute=True):
        assert google_sync.pull_busy_times(coach=coach, now=NOW) is None
        coach.refresh_from_db()
        assert google_sync.pull_busy_times(coach=coach, now=NOW) is None  # no further call to Google

    coach.refresh_from_db()
    assert coach.google_status == Coach.GoogleStatus.BROKEN
    assert "invalid_grant" in coach.google_last_error
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]
    assert coach.name in mail.outbox[0].subject


@pytest.mark.django_db
def test_beat_task_pulls_only_coaches_with_a_working_connection(google_api):
    connected = connected_coach()
    CoachFactory(google_status=Coach.GoogleStatus.BROKEN, google_credentials="x")
    CoachFactory()
    mock = google_api(freebusy_answer(("2099-01-07T12:00:00Z", "2099-01-07T13:00:00Z")))

    assert tasks.pull_all_busy_times.delay().get() == 1

    assert len(mock.request_sequence) == 1
    connected.refresh_from_db()
    assert connected.google_last_synced_at is not None


# --- push / patch / delete -------------------------------------------------------------------------


def confirmed_booking(coach, **fields) -> Booking:
    fields.setdefault("confirmed_at", NOW)
    return BookingFactory(coach=coach, start_at=utc(2030, 1, 7, 10), end_at=utc(2030, 1, 7, 11), **fields)


@pytest.mark.django_db
def test_push_inserts_the_event_with_the_deterministic_id_and_guest_as_attendee(google_api):
    coach = connected_coach()
    booking = confirmed_booking(coach)
    event_id = google.event_id_for(booking.reference)
    mock = google_api(event_answer(event_id))

    assert google_sync.push_booking_event(booking=booking) == "created"

    uri, method, body, _ = mock.request_sequence[0]
    assert (urlsplit(uri).path, method) == ("/calendar/v3/calendars/primary/events", "POST")
    assert parse_qs(urlsplit(uri).query)["sendUpdates"] == ["none"]
    event = json.loads(body)
    assert event["id"] == event_id
    assert event["start"] == {"dateTime": "2030-01-07T10:00:00+00:00", "timeZone": "Europe/London"}
    assert event["end"]["dateTime"] == "2030-01-07T11:00:00+00:00"
    assert event["attendees"] == [{"email": booking.guest_email, "displayName": booking.guest_name}]
    assert booking.reference in event["description"]
    booking.refresh_from_db()
    assert booking.google_event_id == event_id


def test_event_id_uses_only_base32hex_characters_and_is_stable():
    event_id = google.event_id_for("AB23XYZW")
    assert event_id == google.event_id_for("AB23XYZW")
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(event_id) <= 1024
    assert event_id != google.event_id_for("AB23XYZX")


@pytest.mark.django_db
def test_retried_push_updates_the_existing_event_instead_of_creating_a_duplicate(google_api):
    coach = connected_coach()
    booking = confirmed_booking(coach)
    event_id = google.event_id_for(booking.reference)
    mock = google_api(error(409, "duplicate"), event_answer(event_id))

    assert google_sync.push_booking_event(booking=booking) == "updated"

    (insert_uri, insert_method, *_), (patch_uri, patch_method, patch_body, _) = mock.request_sequence
    assert insert_method == "POST"
    assert (urlsplit(patch_uri).path, patch_method) == (f"/calendar/v3/calendars/primary/events/{event_id}", "PATCH")
    assert json.loads(patch_body)["status"] == "confirmed"


@pytest.mark.django_db
def test_reschedule_patches_the_event_to_the_new_time(google_api):
    coach = connected_coach()
    booking = confirmed_booking(coach, google_event_id="bkexisting")
    booking.start_at, booking.end_at = utc(2030, 1, 8, 14), utc(2030, 1, 8, 15)
    booking.save()
    mock = google_api(event_answer("bkexisting"))

    assert google_sync.patch_booking_event(booking=booking) == "updated"

    uri, method, body, _ = mock.request_sequence[0]
    assert (urlsplit(uri).path, method) == ("/calendar/v3/calendars/primary/events/bkexisting", "PATCH")
    changes = json.loads(body)
    assert changes["start"]["dateTime"] == "2030-01-08T14:00:00+00:00"
    assert changes["end"]["dateTime"] == "2030-01-08T15:00:00+00:00"


@pytest.mark.django_db
@pytest.mark.parametrize("status", [404, 410])
def test_patching_an_event_the_coach_deleted_counts_as_done(google_api, status):
    coach = connected_coach()
    booking = confirmed_booking(coach, google_event_id="bkexisting")
    mock = google_api(error(status, "notFound" if status == 404 else "deleted"))

    assert tasks.patch_booking_event_task.delay(booking.pk).get() == "gone"
    assert len(mock.request_sequence) == 1


@pytest.mark.django_db
def test_cancel_deletes_the_event(google_api):
    coach = connected_coach()
    booking = confirmed_booking(coach, google_event_id="bkexisting", cancelled=True)
    mock = google_api(({"status": "204"}, ""))

    assert google_sync.delete_booking_event(booking=booking) == "deleted"

    uri, method, body, _ = mock.request_sequence[0]
    assert (urlsplit(uri).path, method) == ("/calendar/v3/calendars/primary/events/bkexisting", "DELETE")
    booking.refresh_from_db()
    assert booking.google_event_id == ""
    assert BookingLog.objects.filter(booking=booking, action="google_event_deleted").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [404, 410])
def test_deleting_an_already_deleted_event_counts_as_done(google_api, status):
    coach = connected_coach()
    booking = confirmed_booking(coach, cancelled=True)  # id never stored: derived one is used
    mock = google_api(error(status))

    assert tasks.delete_booking_event_task.delay(booking.pk).get() == "gone"

    assert urlsplit(mock.request_sequence[0][0]).path.endswith("/events/" + google.event_id_for(booking.reference))


# --- retries and failures in the tasks -------------------------------------------------------------


@pytest.fixture
def retry_countdowns():
    countdowns = []

    def record(sender=None, request=None, reason=None, **kwargs):
        countdowns.append(reason.when)

    task_retry.connect(record, weak=False)
    yield countdowns
    task_retry.disconnect(record)


@pytest.mark.django_db
def test_rate_limits_and_server_errors_are_retried_with_exponential_backoff(google_api, retry_countdowns):
    coach = connected_coach()
    booking = confirmed_booking(coach)
    mock = google_api(
        error(403, "rateLimitExceeded"), error(429, "rateLimitExceeded"), error(500, "backendError"), event_answer()
    )

    tasks.push_booking_event_task.delay(booking.pk)

    assert len(mock.request_sequence) == 4
    assert retry_countdowns == [30, 60, 120]
    booking.refresh_from_db()
    assert booking.google_event_id == google.event_id_for(booking.reference)


def test_backoff_grows_exponentially_and_is_capped():
    assert [tasks.google_retry_delay(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


@pytest.mark.django_db
def test_persistent_outage_gives_up_after_the_last_retry_and_records_the_error(google_api, retry_countdowns):
    coach = connected_coach()
    booking = confirmed_booking(coach)
    mock = google_api(*[error(503, "backendError")] * (tasks.GOOGLE_MAX_RETRIES + 1))

    tasks.push_booking_event_task.delay(booking.pk)

    assert len(mock.request_sequence) == tasks.GOOGLE_MAX_RETRIES + 1
    assert len(retry_countdowns) == tasks.GOOGLE_MAX_RETRIES
    coach.refresh_from_db()
    assert coach.google_last_error.startswith("Gave up after 7 attempts")
    assert coach.google_status == Coach.GoogleStatus.CONNECTED


@pytest.mark.django_db
def test_revoked_grant_during_push_breaks_the_connection_without_retrying(google_api, retry_countdowns):
    coach = connected_coach()
    booking = confirmed_booking(coach)
    mock = google_api(error(401), invalid_grant())

    assert tasks.push_booking_event_task.delay(booking.pk).get() == "skipped"

    assert len(mock.request_sequence) == 2
    assert retry_countdowns == []
    coach.refresh_from_db()
    assert coach.google_status == Coach.GoogleStatus.BROKEN


@pytest.mark.django_db
def test_broken_coach_is_not_called_until_reconnected(google_api):
    coach = connected_coach()
    coach.google_status = Coach.GoogleStatus.BROKEN
    coach.save()
    booking = confirmed_booking(coach)
    mock = google_api()  # nothing scripted: any request would fail

    assert google_sync.push_booking_event(booking=booking) == "skipped"
    assert google_sync.pull_busy_times(coach=coach, now=NOW) is None
    assert mock.request_sequence == []


# --- wiring: booking changes → tasks ---------------------------------------------------------------


@pytest.mark.django_db
def test_free_booking_lands_in_the_coachs_calendar_after_commit(google_api, django_capture_on_commit_callbacks):
    coach = connected_coach(min_notice_minutes=0)
    AvailabilityBlockFactory(coach=coach, start_at=utc(2030, 1, 7, 9), end_at=utc(2030, 1, 7, 17))
    mock = google_api(event_answer())

    with django_capture_on_commit_callbacks(execute=True):
        result = create_booking(guest=GuestFactory(), coach=coach, start_at=utc(2030, 1, 7, 10), now=NOW)

    inserts = [request for request in mock.request_sequence if request[1] == "POST" and "/events" in request[0]]
    assert len(inserts) == 1
    assert json.loads(inserts[0][2])["id"] == google.event_id_for(result.booking.reference)


@pytest.mark.django_db
def test_book_reschedule_cancel_through_the_services_insert_patch_and_delete_one_event(
    google_api, django_capture_on_commit_callbacks
):
    from coaching.services import cancel_booking, reschedule_booking

    coach = connected_coach(min_notice_minutes=0)
    AvailabilityBlockFactory(coach=coach, start_at=utc(2030, 1, 7, 9), end_at=utc(2030, 1, 7, 17))
    mock = google_api(event_answer(), event_answer(), ({"status": "204"}, ""))

    with django_capture_on_commit_callbacks(execute=True):
        booking = create_booking(guest=GuestFactory(), coach=coach, start_at=utc(2030, 1, 7, 10), now=NOW).booking
    booking.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        booking = reschedule_booking(booking=booking, new_start_at=utc(2030, 1, 7, 14), actor="owner", now=NOW)
    booking.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking=booking, actor="owner", now=NOW)

    calendar_requests = [(method, urlsplit(uri).path) for uri, method, *_ in mock.request_sequence]
    event_path = "/calendar/v3/calendars/primary/events/" + google.event_id_for(booking.reference)
    assert calendar_requests == [
        ("POST", "/calendar/v3/calendars/primary/events"),
        ("PATCH", event_path),
        ("DELETE", event_path),
    ]
    assert json.loads(mock.request_sequence[1][2])["start"]["dateTime"] == "2030-01-07T14:00:00+00:00"


@pytest.mark.django_db
def test_google_outage_never_blocks_a_booking(google_api, django_capture_on_commit_callbacks):
    coach = connected_coach(min_notice_minutes=0)
    AvailabilityBlockFactory(coach=coach, start_at=utc(2030, 1, 7, 9), end_at=utc(2030, 1, 7, 17))
    google_api(*[error(503, "backendError")] * (tasks.GOOGLE_MAX_RETRIES + 1))

    with django_capture_on_commit_callbacks(execute=True):
        result = create_booking(guest=GuestFactory(), coach=coach, start_at=utc(2030, 1, 7, 10), now=NOW)

    result.booking.refresh_from_db()
    assert result.booking.status == Booking.Status.CONFIRMED
    assert result.booking.google_event_id == ""


@pytest.mark.django_db
def test_pending_hold_is_not_pushed(google_api, django_capture_on_commit_callbacks):
    coach = connected_coach(price_amount=5000)
    hold = BookingFactory(coach=coach, held=True, confirmed_at=None)
    mock = google_api()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking_changed.send(sender=Booking, booking=hold, change="held", actor="guest")
        hold.status = Booking.Status.EXPIRED
        booking_changed.send(sender=Booking, booking=hold, change="expired", actor="task")

    assert mock.request_sequence == []
    assert [c for c in callbacks if c.__qualname__.startswith("schedule_calendar_sync")] == []


@pytest.mark.django_db
def test_booking_changes_enqueue_the_matching_calendar_task(google_api, django_capture_on_commit_callbacks):
    from coaching.services.google_sync import schedule_calendar_sync

    coach = connected_coach()
    booking = confirmed_booking(coach)
    assert schedule_calendar_sync(booking=booking, change="confirmed") == tasks.push_booking_event_task.name
    assert schedule_calendar_sync(booking=booking, change="rescheduled") == tasks.patch_booking_event_task.name
    with django_capture_on_commit_callbacks() as callbacks:
        schedule_calendar_sync(booking=booking, change="payment_received")
    assert [c.__qualname__ for c in callbacks] == ["schedule_calendar_sync.<locals>.<lambda>"]
    booking.status = Booking.Status.CANCELLED
    assert schedule_calendar_sync(booking=booking, change="cancelled") == tasks.delete_booking_event_task.name
    unconnected = confirmed_booking(CoachFactory())
    assert schedule_calendar_sync(booking=unconnected, change="confirmed") is None


# --- storage -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_credentials_are_stored_encrypted(google_api):
    coach = google_sync.connect_coach(
        coach=CoachFactory(), credentials_info={"token": "ya29.a", "refresh_token": "1//secret-refresh", "scopes": []}
    )
    coach.refresh_from_db()
    assert "1//secret-refresh" not in coach.google_credentials
    assert json.loads(decrypt_text(coach.google_credentials))["refresh_token"] == "1//secret-refresh"


def test_encryption_key_can_be_rotated(settings):
    from cryptography.fernet import Fernet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old_key
    token = encrypt_text("refresh-token")
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    assert decrypt_text(token) == "refresh-token"
    settings.FIELD_ENCRYPTION_KEY = new_key
    with pytest.raises(Exception, match="cannot be decrypted"):
        decrypt_text(token)
