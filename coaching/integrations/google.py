"""Google Calendar behind one small interface.

This is the only module that imports the Google client libraries. Everything else talks to it in
our own words: an authorization URL, a code exchange, a free/busy query, and insert/patch/delete of
one event with an id we choose. Google's errors come back as the few exception classes below, each
of which tells the caller what to do (retry later, mark the connection broken, or treat as done).

Every HTTP request goes through `http_factory()`: production gets a real `httplib2.Http` with a
timeout; tests replace the factory with `googleapiclient.http.HttpMockSequence` (the outside world's
stand-in), and the bundled discovery document means no request ever goes to fetch it.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import google_auth_httplib2
import httplib2
from django.conf import settings
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

logger = logging.getLogger(__name__)

AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
TOKEN_URI = "https://oauth2.googleapis.com/token"
# The narrowest scopes that do the job: read busy times (not event details), write events, and list
# the coach's calendars so they can pick which ones count as busy and which receives bookings.
SCOPE_FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"
SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_CALENDAR_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
SCOPES = [SCOPE_FREEBUSY, SCOPE_EVENTS, SCOPE_CALENDAR_LIST]
REQUIRED_SCOPES = {SCOPE_FREEBUSY, SCOPE_EVENTS}

HTTP_TIMEOUT_SECONDS = 15
# freeBusy refuses very long ranges; we ask in pieces no longer than this.
FREEBUSY_MAX_SPAN = timedelta(days=60)
# …and for at most this many calendars per request (Google's documented limit is 50).
FREEBUSY_MAX_CALENDARS = 50


# --- our exceptions --------------------------------------------------------------------------------


class GoogleError(Exception):
    """Google refused the request for a reason retrying will not fix (bad request, no permission)."""


class AuthRefreshNeeded(GoogleError):
    """Google answered 401 even after we refreshed the access token once."""


class TransientError(GoogleError):
    """Network trouble or a 5xx: try again later, with backoff."""


class RateLimited(TransientError):
    """403 rateLimitExceeded / userRateLimitExceeded, or 429: back off and try again."""


class GrantRevoked(GoogleError):
    """The refresh token no longer works (revoked, expired, password change): the coach must reconnect."""


class Gone(GoogleError):
    """404/410: the event (or calendar) no longer exists."""


class Conflict(GoogleError):
    """409: an event with this id already exists (a retried insert)."""


_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def _error_reasons(error: HttpError) -> set[str]:
    try:
        payload = json.loads(error.content.decode("utf-8") if isinstance(error.content, bytes) else error.content)
    except (ValueError, AttributeError):
        return set()
    details = payload.get("error", {}) if isinstance(payload, dict) else {}
    if not isinstance(details, dict):
        return set()
    return {item.get("reason", "") for item in details.get("errors", []) if isinstance(item, dict)}


def translate_http_error(error: HttpError) -> GoogleError:
    status = int(error.resp.status)
    reasons = _error_reasons(error)
    message = f"Google Calendar answered {status}: {error._get_reason() if hasattr(error, '_get_reason') else error}"
    if status == 401:
        return AuthRefreshNeeded(message)
    if status == 429 or (status == 403 and reasons & _RATE_LIMIT_REASONS):
        return RateLimited(message)
    if status in (404, 410):
        return Gone(message)
    if status == 409:
        return Conflict(message)
    if status >= 500:
        return TransientError(message)
    return GoogleError(message)


def translate_refresh_error(error: RefreshError) -> GoogleError:
    text = str(error)
    # Google says invalid_grant for revoked, expired or password-changed refresh tokens, and
    # unauthorized_client/invalid_client when the OAuth client itself was deleted or reset: in both
    # cases only a human reconnecting helps.
    if any(code in text for code in ("invalid_grant", "unauthorized_client", "invalid_client")):
        return GrantRevoked(f"Google refused the stored authorisation: {text}")
    return TransientError(f"Could not refresh the Google access token: {text}")


# --- transport -----------------------------------------------------------------------------------


def _real_http() -> httplib2.Http:
    return httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS)


# Replaced in tests by a factory returning googleapiclient.http.HttpMockSequence.
http_factory = _real_http


def is_configured() -> bool:
    """Google Calendar is on only when the owner configured an OAuth client."""
    return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)


# --- OAuth ---------------------------------------------------------------------------------------


def _client_config(redirect_uri: str) -> dict:
    return {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": AUTH_URI,
            "token_uri": TOKEN_URI,
            "redirect_uris": [redirect_uri],
        }
    }


def authorization_url(*, redirect_uri: str, state: str) -> tuple[str, str]:
    """Where to send the coach to grant access, and the PKCE code verifier to keep for the exchange.

    `access_type=offline` gets a refresh token; `prompt=consent` makes Google issue a new one even to
    an account that connected before (otherwise a reconnect would come back without it).
    """
    flow = Flow.from_client_config(_client_config(redirect_uri), scopes=SCOPES, redirect_uri=redirect_uri)
    url, _ = flow.authorization_url(
        access_type="offline", prompt="consent", include_granted_scopes="false", state=state
    )
    return url, flow.code_verifier


def exchange_code(*, code: str, redirect_uri: str, code_verifier: str) -> dict:
    """Trade the authorization code for tokens; returns the credentials to store (encrypted).

    Raises GoogleError when Google refuses, no refresh token comes back, or the coach unticked a
    scope we cannot work without.
    """
    body = urlencode(
        {
            "code": code,
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "redirect_uri": redirect_uri,
            "grant_type": "authorization_code",
            "code_verifier": code_verifier,
        }
    )
    try:
        response, content = http_factory().request(
            TOKEN_URI, "POST", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    except (httplib2.HttpLib2Error, OSError) as exc:
        raise TransientError(f"Could not reach Google: {exc}") from exc
    try:
        payload = json.loads(content)
    except ValueError:
        payload = {}
    if int(response.status) != 200 or "access_token" not in payload:
        raise GoogleError(f"Google refused the authorization code ({response.status}: {payload.get('error', '')}).")
    if not payload.get("refresh_token"):
        raise GoogleError(
            "Google returned no refresh token; remove the app's access in the Google account and connect again."
        )
    granted = set(payload.get("scope", " ".join(SCOPES)).split())
    missing = REQUIRED_SCOPES - granted
    if missing:
        raise GoogleError(
            "Calendar access was only partly granted. Please connect again and allow reading free/busy "
            "times and managing events."
        )
    expiry = datetime.now(UTC) + timedelta(seconds=int(payload.get("expires_in", 3600)))
    return {
        "token": payload["access_token"],
        "refresh_token": payload["refresh_token"],
        "expiry": expiry.isoformat(),
        "scopes": sorted(granted),
    }


# --- the calendar client ---------------------------------------------------------------------------


def meet_request(request_id: str) -> dict:
    """What an event body carries to have Google make a Meet for it."""
    return {"createRequest": {"requestId": request_id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def meet_link(event: dict) -> str:
    """The Google Meet link of an event Google answered with ("" when none was made yet)."""
    if event.get("hangoutLink"):
        return event["hangoutLink"]
    for entry in (event.get("conferenceData") or {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return entry["uri"]
    return ""


def event_id_for(reference: str) -> str:
    """Our event id for a booking: only base32hex characters (0-9, a-v), as Google demands.

    Deterministic, so a retried insert hits the same event (409) instead of creating a second one.
    """
    encoded = base64.b32hexencode(reference.encode()).decode().rstrip("=").lower()
    return f"bk{encoded}"


@dataclass(frozen=True)
class CalendarInfo:
    id: str
    name: str
    primary: bool
    can_write: bool


@dataclass(frozen=True)
class FreeBusyAnswer:
    busy: list[tuple[datetime, datetime]]
    # calendar id → reason, for calendars Google could not read (deleted, no access).
    errors: dict[str, str]


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class CalendarClient:
    """One coach's calendar access. `credentials_info` reflects any refresh, for the caller to store."""

    def __init__(self, credentials_info: dict):
        expiry = credentials_info.get("expiry")
        self._credentials = Credentials(
            token=credentials_info.get("token"),
            refresh_token=credentials_info.get("refresh_token"),
            token_uri=TOKEN_URI,
            client_id=settings.GOOGLE_CLIENT_ID,
            client_secret=settings.GOOGLE_CLIENT_SECRET,
            scopes=credentials_info.get("scopes") or SCOPES,
            # google-auth compares expiry with naive UTC.
            expiry=_parse_time(expiry).replace(tzinfo=None) if expiry else None,
        )
        self._transport = http_factory()
        # We refresh on 401 ourselves (exactly once), so the wrapper must not.
        self._http = google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=self._transport, refresh_status_codes=()
        )
        self._service = build("calendar", "v3", http=self._http, static_discovery=True, cache_discovery=False)

    @property
    def credentials_info(self) -> dict:
        expiry = self._credentials.expiry
        return {
            "token": self._credentials.token,
            "refresh_token": self._credentials.refresh_token,
            "expiry": expiry.replace(tzinfo=UTC).isoformat() if expiry else None,
            "scopes": sorted(self._credentials.scopes or SCOPES),
        }

    def _refresh(self) -> None:
        try:
            self._credentials.refresh(google_auth_httplib2.Request(self._transport))
        except RefreshError as exc:
            raise translate_refresh_error(exc) from exc
        except GoogleTransportError as exc:
            raise TransientError(f"Could not reach Google: {exc}") from exc

    def _execute_once(self, make_request):
        try:
            return make_request().execute(num_retries=0)
        except HttpError as exc:
            raise translate_http_error(exc) from exc
        except RefreshError as exc:
            raise translate_refresh_error(exc) from exc
        except (GoogleTransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise TransientError(f"Could not reach Google: {exc}") from exc

    def _execute(self, make_request):
        """Run a request; on 401 refresh the access token and try exactly once more."""
        try:
            return self._execute_once(make_request)
        except AuthRefreshNeeded:
            self._refresh()
            return self._execute_once(make_request)

    def list_calendars(self) -> list[CalendarInfo]:
        answer = self._execute(lambda: self._service.calendarList().list(maxResults=250))
        return [
            CalendarInfo(
                id=item["id"],
                name=item.get("summaryOverride") or item.get("summary") or item["id"],
                primary=bool(item.get("primary")),
                can_write=item.get("accessRole") in ("owner", "writer"),
            )
            for item in answer.get("items", [])
        ]

    def free_busy(self, *, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusyAnswer:
        """Busy spans (UTC, clipped to [start, end)) of the given calendars, asked in allowed pieces."""
        busy: list[tuple[datetime, datetime]] = []
        errors: dict[str, str] = {}
        piece_start = start
        while piece_start < end:
            piece_end = min(piece_start + FREEBUSY_MAX_SPAN, end)
            for first in range(0, len(calendar_ids), FREEBUSY_MAX_CALENDARS):
                chunk = calendar_ids[first : first + FREEBUSY_MAX_CALENDARS]
                body = {
                    "timeMin": piece_start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "timeMax": piece_end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "timeZone": "UTC",
                    "items": [{"id": calendar_id} for calendar_id in chunk],
                }
                answer = self._execute(lambda body=body: self._service.freebusy().query(body=body))
                for calendar_id, calendar in answer.get("calendars", {}).items():
                    for error in calendar.get("errors", []):
                        errors[calendar_id] = error.get("reason", "unknown")
                    for span in calendar.get("busy", []):
                        span_start = max(_parse_time(span["start"]), piece_start)
                        span_end = min(_parse_time(span["end"]), piece_end)
                        if span_end > span_start:
                            busy.append((span_start, span_end))
            piece_start = piece_end
        return FreeBusyAnswer(busy=sorted(busy), errors=errors)

    def insert_event(self, *, calendar_id: str, event: dict) -> dict:
        """Insert with our own id. Raises Conflict when an event with that id already exists.
        An event asking for a Google Meet (`conferenceData.createRequest`) is sent with
        conferenceDataVersion=1, without which Google ignores the request."""
        # sendUpdates=none: our own confirmation email already carries the invite.
        version = {"conferenceDataVersion": 1} if "conferenceData" in event else {}
        return self._execute(
            lambda: self._service.events().insert(calendarId=calendar_id, body=event, sendUpdates="none", **version)
        )

    def patch_event(self, *, calendar_id: str, event_id: str, changes: dict) -> dict:
        """Raises Gone when the event was deleted."""
        version = {"conferenceDataVersion": 1} if "conferenceData" in changes else {}
        return self._execute(
            lambda: self._service.events().patch(
                calendarId=calendar_id, eventId=event_id, body=changes, sendUpdates="none", **version
            )
        )

    def delete_event(self, *, calendar_id: str, event_id: str) -> None:
        """Raises Gone when the event is already deleted."""
        self._execute(
            lambda: self._service.events().delete(calendarId=calendar_id, eventId=event_id, sendUpdates="none")
        )
