"""The Google Calendar admin: OAuth connect/callback, sync now, disconnect, and "why is this slot not offered?"."""

import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from coaching.backoffice.google import SESSION_KEY, STATE_SALT
from coaching.crypto import decrypt_text
from coaching.integrations import google
from coaching.models import Coach, CoachBusySlot
from coaching.schedule import diagnosis as diagnostics
from coaching.schedule import free_slots
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachBusySlotFactory,
    CoachFactory,
    WorkshopFactory,
)
from coaching.tests.standins.google import OK, connected_coach, freebusy_answer


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def soon_busy() -> tuple[str, str]:
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


def start_connect(client, coach) -> dict:
    response = client.get(reverse("coaching_google:connect", args=[coach.pk]))
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


@pytest.mark.django_db
def test_connect_sends_the_coach_to_google_for_offline_access_with_narrow_scopes(admin_client, google_api):
    coach = CoachFactory()

    response = admin_client.get(reverse("coaching_google:connect", args=[coach.pk]))

    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert (location.netloc, location.path) == ("accounts.google.com", "/o/oauth2/auth")
    assert query["access_type"] == ["offline"]
    assert query["redirect_uri"] == ["http://testserver/admin/coaching/google/callback/"]
    assert set(query["scope"][0].split()) == {
        "https://www.googleapis.com/auth/calendar.freebusy",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    }
    assert query["code_challenge_method"] == ["S256"]
    assert signing.loads(query["state"][0], salt=STATE_SALT)["coach"] == coach.pk


@pytest.mark.django_db
def test_callback_with_the_right_state_stores_encrypted_credentials_and_pulls(admin_client, google_api):
    coach = CoachFactory(horizon_days=30)
    query = start_connect(admin_client, coach)
    mock = google_api(
        (
            OK,
            json.dumps(
                {
                    "access_token": "ya29.new",
                    "refresh_token": "1//new-refresh",
                    "expires_in": 3599,
                    "scope": " ".join(google.SCOPES),
                    "token_type": "Bearer",
                }
            ),
        ),
        (
            OK,
            json.dumps(
                {"items": [{"id": "coach@example.com", "summary": "Coach", "primary": True, "accessRole": "owner"}]}
            ),
        ),
        freebusy_answer(soon_busy()),
    )

    response = admin_client.get(
        reverse("coaching_google:callback"), {"state": query["state"][0], "code": "4/auth-code"}
    )

    assert response.status_code == 302
    token_request = parse_qs(mock.request_sequence[0][2])
    assert token_request["code"] == ["4/auth-code"]
    assert token_request["grant_type"] == ["authorization_code"]
    assert token_request["code_verifier"][0]  # PKCE verifier kept in the session
    coach.refresh_from_db()
    assert coach.google_status == Coach.GoogleStatus.CONNECTED
    assert coach.google_account_email == "coach@example.com"
    assert "1//new-refresh" not in coach.google_credentials
    assert json.loads(decrypt_text(coach.google_credentials))["refresh_token"] == "1//new-refresh"
    assert coach.google_last_synced_at is not None
    assert CoachBusySlot.objects.filter(coach=coach).count() == 1
    assert SESSION_KEY not in admin_client.session


@pytest.mark.django_db
def test_callback_rejects_a_forged_state(admin_client, google_api):
    coach = CoachFactory()
    start_connect(admin_client, coach)
    mock = google_api()

    response = admin_client.get(reverse("coaching_google:callback"), {"state": "forged", "code": "4/auth-code"})

    assert response.status_code == 400
    assert mock.request_sequence == []
    coach.refresh_from_db()
    assert coach.google_status == Coach.GoogleStatus.DISCONNECTED


@pytest.mark.django_db
def test_callback_rejects_a_missing_state(admin_client, google_api):
    start_connect(admin_client, CoachFactory())

    assert admin_client.get(reverse("coaching_google:callback"), {"code": "4/auth-code"}).status_code == 400


@pytest.mark.django_db
def test_callback_rejects_a_validly_signed_state_from_another_session(admin_client, google_api):
    coach = CoachFactory()
    start_connect(admin_client, coach)
    someone_elses = signing.dumps({"coach": coach.pk, "nonce": "another-sessions-nonce"}, salt=STATE_SALT)

    response = admin_client.get(reverse("coaching_google:callback"), {"state": someone_elses, "code": "4/x"})

    assert response.status_code == 400


@pytest.mark.django_db
def test_callback_rejects_a_state_issued_for_another_coach(admin_client, google_api):
    coach, other = CoachFactory(), CoachFactory()
    query = start_connect(admin_client, coach)
    nonce = signing.loads(query["state"][0], salt=STATE_SALT)["nonce"]
    swapped = signing.dumps({"coach": other.pk, "nonce": nonce}, salt=STATE_SALT)

    assert admin_client.get(reverse("coaching_google:callback"), {"state": swapped, "code": "4/x"}).status_code == 400


@pytest.mark.django_db
def test_sync_now_button_pulls_busy_times_for_one_coach(admin_client, google_api):
    coach = connected_coach()
    google_api(freebusy_answer(soon_busy()))

    response = admin_client.post(reverse("coaching_google:sync", args=[coach.pk]))

    assert response.status_code == 302
    assert CoachBusySlot.objects.filter(coach=coach).count() == 1


@pytest.mark.django_db
def test_disconnect_forgets_credentials_and_busy_times(admin_client, google_api):
    coach = connected_coach()
    CoachBusySlotFactory(coach=coach)

    admin_client.post(reverse("coaching_google:disconnect", args=[coach.pk]))

    coach.refresh_from_db()
    assert (coach.google_status, coach.google_credentials) == (Coach.GoogleStatus.DISCONNECTED, "")
    assert not CoachBusySlot.objects.filter(coach=coach).exists()


@pytest.mark.django_db
def test_coach_page_shows_a_broken_connection_with_a_reconnect_button(admin_client, google_api):
    coach = connected_coach(google_last_error="invalid_grant: Token has been expired or revoked.")
    Coach.objects.filter(pk=coach.pk).update(google_status=Coach.GoogleStatus.BROKEN)

    response = admin_client.get(reverse("coaching_google:coach", args=[coach.pk]))

    html = response.content.decode()
    assert "Connection broken" in html
    assert "Reconnect Google Calendar" in html
    assert "invalid_grant" in html


@pytest.mark.django_db
def test_other_coaches_cannot_open_a_coachs_calendar_settings(client, django_user_model):
    user = django_user_model.objects.create_user("coach-b", password="pw")
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    CoachFactory(user=user)
    client.force_login(user)
    someone_else = CoachFactory()

    own = client.get(reverse("coaching_google:coach", args=[user.coach_profile.pk]))
    assert own.status_code == 200
    refused = client.get(reverse("coaching_google:coach", args=[someone_else.pk]))
    # Wagtail turns PermissionDenied inside the admin into a redirect to the dashboard.
    assert (refused.status_code, refused["Location"]) == (302, "/admin/")


# --- why is this slot not offered? ----------------------------------------------------------------


@pytest.fixture
def busy_day():
    coach = CoachFactory(buffer_minutes=0, google_last_synced_at=utc(2030, 1, 6, 7, 45))
    AvailabilityBlockFactory(coach=coach, start_at=utc(2030, 1, 7, 9), end_at=utc(2030, 1, 7, 15))
    booking = BookingFactory(coach=coach, start_at=utc(2030, 1, 7, 10), end_at=utc(2030, 1, 7, 11))
    CoachBusySlotFactory(coach=coach, start_at=utc(2030, 1, 7, 11, 30), end_at=utc(2030, 1, 7, 12, 30))
    WorkshopFactory(host=coach, start_at=utc(2030, 1, 7, 14), end_at=utc(2030, 1, 7, 16))
    return coach, booking


@pytest.mark.django_db
def test_diagnosis_names_what_removes_each_slot(busy_day):
    coach, booking = busy_day

    diagnosis = diagnostics.explain_day(coach=coach, day=date(2030, 1, 7), now=utc(2030, 1, 1))

    reasons = {entry.slot.start_at.hour: [reason.kind for reason in entry.reasons] for entry in diagnosis.slots}
    assert reasons == {9: [], 10: ["booking"], 11: ["busy"], 12: ["busy"], 13: [], 14: ["workshop"]}
    assert booking.reference in diagnosis.slots[1].reasons[0].label
    assert diagnosis.last_pull_at == utc(2030, 1, 6, 7, 45)


@pytest.mark.django_db
def test_diagnosis_agrees_with_the_slots_guests_are_offered(busy_day):
    coach, _ = busy_day
    now = utc(2030, 1, 7, 8, 30)
    coach.min_notice_minutes = 60
    coach.save()

    diagnosis = diagnostics.explain_day(coach=coach, day=date(2030, 1, 7), now=now)

    offered = [entry.slot for entry in diagnosis.slots if entry.offered]
    assert offered == free_slots(coach=coach, start=utc(2030, 1, 7), end=utc(2030, 1, 8), now=now)
    assert [reason.kind for reason in diagnosis.slots[0].reasons] == ["notice"]


@pytest.mark.django_db
def test_why_view_lists_the_busy_slot_and_the_last_pull_time(admin_client, busy_day):
    coach, _ = busy_day

    response = admin_client.get(reverse("coaching_google:why", args=[coach.pk]), {"date": "2030-01-07"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-reason="busy"' in html
    assert 'data-reason="workshop"' in html
    assert "6 Jan 2030, 07:45" in html


@pytest.mark.django_db
def test_calendar_sync_index_lists_every_coach_with_its_status(admin_client):
    coach = CoachFactory(name="Robin Ember")

    response = admin_client.get(reverse("coaching_google:index"))

    assert "Robin Ember" in response.content.decode()
    assert reverse("coaching_google:coach", args=[coach.pk]) in response.content.decode()


@pytest.mark.django_db
def test_coach_snippet_listing_links_to_the_calendar_settings_and_the_why_view(admin_client):
    coach = CoachFactory()

    response = admin_client.get(reverse("wagtailsnippets_coaching_coach:list"))

    html = response.content.decode()
    assert reverse("coaching_google:coach", args=[coach.pk]) in html
    assert reverse("coaching_google:why", args=[coach.pk]) in html


@pytest.mark.django_db
def test_coach_picks_the_booking_calendar_and_the_busy_calendars(admin_client, google_api):
    coach = connected_coach()
    calendars = {
        "items": [
            {"id": "coach@example.com", "summary": "Coach", "primary": True, "accessRole": "owner"},
            {"id": "family@group.calendar.google.com", "summary": "Family", "accessRole": "reader"},
            {"id": "work@group.calendar.google.com", "summary": "Sessions", "accessRole": "writer"},
        ]
    }
    mock = google_api((OK, json.dumps(calendars)), freebusy_answer())

    page = admin_client.get(reverse("coaching_google:coach", args=[coach.pk])).content.decode()
    assert 'name="booking_calendar" value="work@group.calendar.google.com"' in page
    assert 'name="booking_calendar" value="family@group.calendar.google.com"' not in page  # read-only
    admin_client.post(
        reverse("coaching_google:coach", args=[coach.pk]),
        {
            "booking_calendar": "work@group.calendar.google.com",
            "busy_calendars": ["coach@example.com", "family@group.calendar.google.com"],
        },
    )

    coach.refresh_from_db()
    assert coach.google_calendar_id == "work@group.calendar.google.com"
    assert coach.google_busy_calendar_ids == ["coach@example.com", "family@group.calendar.google.com"]
    assert [item["id"] for item in json.loads(mock.request_sequence[1][2])["items"]] == coach.google_busy_calendar_ids
