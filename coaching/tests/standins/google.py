"""Google Calendar's stand-in: googleapiclient's HttpMockSequence (scripted HTTP answers, every
request recorded) behind the library's bundled discovery document, and answers in Google's shapes.

The `google_api` fixture (coaching/tests/conftest.py) plugs it in at the one seam, `google.http_factory`.
"""

import json

from coaching.crypto import encrypt_text
from coaching.integrations import google
from coaching.models import Coach
from coaching.tests.factories import CoachFactory

FREEBUSY_URI = "https://www.googleapis.com/calendar/v3/freeBusy"
TOKEN_URI = "https://oauth2.googleapis.com/token"

OK = {"status": "200"}


def error(status: int, reason: str = "", message: str = "") -> tuple[dict, str]:
    body = {"error": {"code": status, "message": message or reason or "error", "errors": []}}
    if reason:
        body["error"]["errors"].append({"domain": "usageLimits" if "Limit" in reason else "global", "reason": reason})
    return {"status": str(status)}, json.dumps(body)


def freebusy_answer(*spans: tuple[str, str], calendar: str = "primary") -> tuple[dict, str]:
    return OK, json.dumps(
        {"kind": "calendar#freeBusy", "calendars": {calendar: {"busy": [{"start": s, "end": e} for s, e in spans]}}}
    )


def token_answer(access_token: str = "ya29.refreshed") -> tuple[dict, str]:
    return OK, json.dumps({"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"})


def invalid_grant() -> tuple[dict, str]:
    return {"status": "400"}, json.dumps(
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    )


def event_answer(event_id: str = "x") -> tuple[dict, str]:
    return OK, json.dumps({"kind": "calendar#event", "id": event_id, "status": "confirmed"})


def connected_coach(**fields) -> Coach:
    credentials = {
        "token": "ya29.stored",
        "refresh_token": "1//stored-refresh",
        "expiry": fields.pop("expiry", "2100-01-01T00:00:00+00:00"),
        "scopes": google.SCOPES,
    }
    fields.setdefault("horizon_days", 30)
    return CoachFactory(
        google_status=Coach.GoogleStatus.CONNECTED,
        google_credentials=encrypt_text(json.dumps(credentials)),
        google_calendar_id="primary",
        google_busy_calendar_ids=["primary"],
        **fields,
    )
