"""Google Calendar sync: connect/disconnect a coach, pull busy times, push booking events, and put
each workshop (one event, never one per seat) in its host's calendar.

The Google code sits in three layers: `coaching/integrations/google.py` (the only module that
talks to Google's API), this module (what the site does with it), and the admin screens in
`coaching/backoffice/google.py`; `coaching/tasks.py` runs the pushes and pulls in the background.

What these functions guarantee:
- Google is only called for a coach whose connection works (status "connected"); once Google says
  the grant is gone the coach is marked broken, the owner is emailed once, and nothing calls Google
  for that coach until someone reconnects.
- A pull replaces the coach's busy slots inside the pulled window in one transaction, so the
  schedule never sees half an answer.
- Pushes are idempotent: the event id is derived from the booking reference (or the workshop's
  id), so a retried insert finds its own event (409) and updates it instead of creating a second one.
- Transient failures (network, 5xx, rate limits) propagate as `google.TransientError` for the task
  to retry with backoff; they never touch a booking.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coaching.crypto import DecryptionFailed, decrypt_text, encrypt_text
from coaching.freshness import schedule_changed
from coaching.intake import answer_text
from coaching.integrations import google
from coaching.models import Booking, Coach, CoachBusySlot, LocationKind, Workshop
from coaching.places import meeting_place
from coaching.signals import announce
from coaching.vocabulary import Actor, Change, LogAction

from .enqueue import enqueue
from .log import log_booking
from .outbox import owe_owner_alert

logger = logging.getLogger(__name__)

# Busy times are pulled a day past the horizon: a session that starts just inside the horizon may
# end after it, and its busy time must be known too.
PULL_MARGIN = timedelta(days=1)
DEFAULT_CALENDAR = "primary"


# What the screens and tasks need of the integration, so that only the services import it.
GoogleError = google.GoogleError
TransientError = google.TransientError
AuthRefreshNeeded = google.AuthRefreshNeeded
is_configured = google.is_configured


# --- connection state ------------------------------------------------------------------------------


def start_connection(*, redirect_uri: str, state: str) -> tuple[str, str]:
    """Google's consent URL for the owner's browser, and the PKCE verifier to keep in the session."""
    return google.authorization_url(redirect_uri=redirect_uri, state=state)


def finish_connection(*, code: str, redirect_uri: str, code_verifier: str) -> dict:
    """Trade the code Google sent back for credentials. Raises GoogleError when Google refuses."""
    return google.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)


def is_connected(coach: Coach) -> bool:
    """True when we may call Google for this coach."""
    return (
        google.is_configured()
        and coach.google_status == Coach.GoogleStatus.CONNECTED
        and bool(coach.google_credentials)
    )


def booking_calendar_id(coach: Coach) -> str:
    return coach.google_calendar_id or DEFAULT_CALENDAR


def busy_calendar_ids(coach: Coach) -> list[str]:
    return list(coach.google_busy_calendar_ids or [DEFAULT_CALENDAR])


def connect_coach(*, coach: Coach, credentials_info: dict, account_email: str = "") -> Coach:
    """Store freshly granted credentials (encrypted) and mark the connection working."""
    with transaction.atomic():
        coach = Coach.objects.select_for_update().get(pk=coach.pk)
        coach.google_credentials = encrypt_text(json.dumps(credentials_info))
        coach.google_status = Coach.GoogleStatus.CONNECTED
        coach.google_account_email = account_email or coach.google_account_email
        coach.google_last_error = ""
        coach.google_last_error_at = None
        if not coach.google_calendar_id:
            coach.google_calendar_id = DEFAULT_CALENDAR
        if not coach.google_busy_calendar_ids:
            coach.google_busy_calendar_ids = [DEFAULT_CALENDAR]
        coach.save(
            update_fields=[
                "google_credentials",
                "google_status",
                "google_account_email",
                "google_last_error",
                "google_last_error_at",
                "google_calendar_id",
                "google_busy_calendar_ids",
                "updated_at",
            ]
        )
    return coach


def disconnect_coach(*, coach: Coach) -> Coach:
    """Forget the credentials and the cached busy times (they would block slots nobody can refresh)."""
    with transaction.atomic():
        coach = Coach.objects.select_for_update().get(pk=coach.pk)
        coach.google_credentials = ""
        coach.google_status = Coach.GoogleStatus.DISCONNECTED
        coach.google_last_error = ""
        coach.google_last_error_at = None
        coach.google_last_synced_at = None
        coach.save(
            update_fields=[
                "google_credentials",
                "google_status",
                "google_last_error",
                "google_last_error_at",
                "google_last_synced_at",
                "updated_at",
            ]
        )
        CoachBusySlot.objects.filter(coach=coach).delete()
    return coach


def choose_calendars(*, coach: Coach, booking_calendar: str, busy_calendars: list[str]) -> Coach:
    """Which calendar receives bookings, and which calendars' busy time blocks slots."""
    with transaction.atomic():
        coach = Coach.objects.select_for_update().get(pk=coach.pk)
        coach.google_calendar_id = booking_calendar or DEFAULT_CALENDAR
        coach.google_busy_calendar_ids = list(dict.fromkeys(busy_calendars)) or [DEFAULT_CALENDAR]
        coach.save(update_fields=["google_calendar_id", "google_busy_calendar_ids", "updated_at"])
    return coach


def mark_connection_broken(*, coach: Coach, reason: str, now: datetime | None = None) -> bool:
    """Mark the coach's connection broken and owe the owner an email (the outbox) — once per breakage.

    Returns True when this call broke it (False when it already was, or the coach disconnected).
    """
    now = now or timezone.now()
    with transaction.atomic():
        changed = Coach.objects.filter(pk=coach.pk, google_status=Coach.GoogleStatus.CONNECTED).update(
            google_status=Coach.GoogleStatus.BROKEN,
            google_last_error=reason[:2000],
            google_last_error_at=now,
            updated_at=now,
        )
        if changed:
            # Through the outbox like every other alert: retried, listed under Notifications, and
            # owed in this transaction (one email per breakage: the timestamp is in the key).
            from django.urls import reverse

            owe_owner_alert(
                kind="google_broken",
                dedupe_key=f"coach:{coach.pk}:google_broken:{now.isoformat()}",
                context={
                    "coach_name": coach.name,
                    "problem": reason[:2000],
                    "reconnect_url": settings.SITE_URL + reverse("coaching_google:coach", args=[coach.pk]),
                },
            )
    coach.refresh_from_db()
    logger.warning("Google Calendar connection of coach %s broken: %s", coach.pk, reason)
    return bool(changed)


def record_sync_error(*, coach: Coach, error: str, now: datetime | None = None) -> None:
    Coach.objects.filter(pk=coach.pk).update(google_last_error=error[:2000], google_last_error_at=now or timezone.now())


# --- the client, with credential bookkeeping ------------------------------------------------------


@contextmanager
def _calendar(coach: Coach):
    """A CalendarClient for the coach; stores refreshed tokens and breaks the connection on a dead grant."""
    try:
        credentials_info = json.loads(decrypt_text(coach.google_credentials))
    except (DecryptionFailed, ValueError) as exc:
        mark_connection_broken(coach=coach, reason=f"Stored credentials unreadable ({exc}); reconnect the calendar.")
        raise google.GrantRevoked(str(exc)) from exc
    client = google.CalendarClient(credentials_info)
    try:
        yield client
    except google.GrantRevoked as exc:
        mark_connection_broken(coach=coach, reason=str(exc))
        raise
    finally:
        refreshed = client.credentials_info
        if refreshed.get("token") != credentials_info.get("token"):
            # Keep the refresh token we had if Google did not send a new one.
            refreshed["refresh_token"] = refreshed.get("refresh_token") or credentials_info.get("refresh_token")
            Coach.objects.filter(pk=coach.pk, google_status=Coach.GoogleStatus.CONNECTED).update(
                google_credentials=encrypt_text(json.dumps(refreshed))
            )


def list_coach_calendars(*, coach: Coach) -> list[google.CalendarInfo]:
    """The coach's calendars for the picker ([] when not connected)."""
    if not is_connected(coach):
        return []
    with _calendar(coach) as client:
        return client.list_calendars()


# --- pull --------------------------------------------------------------------------------------------


def pull_busy_times(*, coach: Coach, now: datetime | None = None) -> int | None:
    """Refresh the coach's busy slots from Google over [now, now + horizon (+1 day)].

    Replaces the coach's CoachBusySlot rows inside that window (and drops ones already over) in one
    transaction. Returns how many busy slots were stored, or None when the coach is not connected or
    the grant turned out to be dead (the coach is then marked broken). Raises google.TransientError
    (retry later) or google.GoogleError (recorded on the coach).
    """
    now = now or timezone.now()
    if not is_connected(coach):
        return None
    window_start = now
    window_end = now + timedelta(days=coach.horizon_days) + PULL_MARGIN
    try:
        with _calendar(coach) as client:
            answer = client.free_busy(calendar_ids=busy_calendar_ids(coach), start=window_start, end=window_end)
    except google.GrantRevoked:
        return None
    except google.GoogleError as exc:
        record_sync_error(coach=coach, error=str(exc), now=now)
        raise
    with transaction.atomic():
        # The window's rows go, and so do rows already over: only the future is worth caching.
        CoachBusySlot.objects.filter(coach=coach, start_at__lt=window_end, end_at__gt=window_start).delete()
        CoachBusySlot.objects.filter(coach=coach, end_at__lte=window_start).delete()
        CoachBusySlot.objects.bulk_create(
            CoachBusySlot(coach=coach, start_at=start, end_at=end, fetched_at=now) for start, end in answer.busy
        )
        schedule_changed(coach_id=coach.pk)  # a bulk write sends no model signal
        error = ""
        if answer.errors:
            error = "Some calendars could not be read: " + ", ".join(
                f"{calendar_id} ({reason})" for calendar_id, reason in sorted(answer.errors.items())
            )
        Coach.objects.filter(pk=coach.pk).update(
            google_last_synced_at=now, google_last_error=error, google_last_error_at=now if error else None
        )
    return len(answer.busy)


# --- push ------------------------------------------------------------------------------------------


def event_body(booking: Booking) -> dict:
    coach = booking.coach
    if booking.erased_at:
        # The client asked to be forgotten (services/client_data.py): the coach keeps the time, not the person.
        return {
            "summary": f"{booking.title} — client erased",
            "description": f"Booking reference: {booking.reference}. The client's details were erased at their request.",
            "start": {"dateTime": booking.start_at.isoformat(), "timeZone": coach.timezone},
            "end": {"dateTime": booking.end_at.isoformat(), "timeZone": coach.timezone},
            "attendees": [],
            "status": "confirmed",
            "extendedProperties": {"private": {"booking_reference": booking.reference}},
        }
    lines = [
        f"Booked through {settings.WAGTAIL_SITE_NAME}.",
        f"Booking reference: {booking.reference}",
        f"Guest: {booking.guest_name} <{booking.guest_email}>",
    ]
    if booking.guest_phone:
        lines.append(f"Phone: {booking.guest_phone}")
    if booking.guest_notes:
        lines += ["", "Notes from the guest:", booking.guest_notes]
    for answer in booking.intake_answers or []:
        lines += ["", answer["question"], answer_text(answer)]
    place = meeting_place(booking)
    extra = {"location": place.ics_location} if place is not None and not place.pending else {}
    return {
        **extra,
        "summary": f"{booking.title} — {booking.guest_name}",
        "description": "\n".join(lines),
        "start": {"dateTime": booking.start_at.isoformat(), "timeZone": coach.timezone},
        "end": {"dateTime": booking.end_at.isoformat(), "timeZone": coach.timezone},
        "attendees": [{"email": booking.guest_email, "displayName": booking.guest_name}],
        "status": "confirmed",
        "extendedProperties": {"private": {"booking_reference": booking.reference}},
    }


def _event_id(booking: Booking) -> str:
    return booking.google_event_id or google.event_id_for(booking.reference)


def _pushable(booking: Booking) -> bool:
    # Workshops live in the host's calendar as one event of their own; seats are not pushed.
    return booking.coach_id is not None and booking.status == Booking.Status.CONFIRMED and is_connected(booking.coach)


def _insert_or_update(coach: Coach, *, event_id: str, body: dict) -> str:
    """Insert the event with our own id into the coach's booking calendar; "created", "updated"
    (it already existed: our own earlier attempt, or a deleted event with our id) or "skipped" (the
    grant turned out to be dead)."""
    return _write_event(coach, event_id=event_id, body=body)[0]


def _write_event(coach: Coach, *, event_id: str, body: dict) -> tuple[str, dict]:
    """`_insert_or_update`, with the event as Google answered it."""
    try:
        with _calendar(coach) as client:
            try:
                answer = client.insert_event(calendar_id=booking_calendar_id(coach), event={"id": event_id, **body})
                return "created", answer or {}
            except google.Conflict:
                answer = client.patch_event(calendar_id=booking_calendar_id(coach), event_id=event_id, changes=body)
                return "updated", answer or {}
    except google.GrantRevoked:
        return "skipped", {}


def wants_meet(booking: Booking) -> bool:
    """A Google Meet session whose link Google has not made yet."""
    return booking.location_kind == LocationKind.GOOGLE_MEET and not booking.meeting_url


def store_meeting_link(*, booking: Booking, link: str) -> bool:
    """Keep the Meet link Google made on the coach's event and owe the guest an email with it.
    Once only: a retried push changes nothing."""
    if not link:
        return False
    with transaction.atomic():
        stored = Booking.objects.filter(pk=booking.pk, meeting_url="").update(meeting_url=link)
        if stored:
            booking.meeting_url = link
            log_booking(booking, LogAction.MEETING_LINK, actor=Actor.TASK, message=link)
            announce(booking, Change.MEETING_LINK, actor=Actor.TASK)
    return bool(stored)


def push_booking_event(*, booking: Booking) -> str:
    """Put a confirmed 1-on-1 booking in the coach's booking calendar. Idempotent.

    Returns "created", "updated" (the event already existed: a retry) or "skipped" (not confirmed,
    a workshop seat, or the coach not connected).
    """
    if not _pushable(booking):
        return "skipped"
    event_id = _event_id(booking)
    body = event_body(booking)
    if wants_meet(booking):
        body["conferenceData"] = google.meet_request(f"meet-{booking.reference.lower()}")
    outcome, answer = _write_event(booking.coach, event_id=event_id, body=body)
    if outcome == "skipped":
        return outcome
    with transaction.atomic():
        Booking.objects.filter(pk=booking.pk).update(google_event_id=event_id)
        log_booking(booking, LogAction.GOOGLE_EVENT_PUSHED, actor=Actor.TASK, event_id=event_id, outcome=outcome)
    booking.google_event_id = event_id
    if wants_meet(booking):
        store_meeting_link(booking=booking, link=google.meet_link(answer))
    return outcome


def patch_booking_event(*, booking: Booking) -> str:
    """Move the coach's event to the booking's new time.

    Returns "updated", "created" (never pushed before), "gone" (the coach deleted the event: done)
    or "skipped".
    """
    if not _pushable(booking):
        return "skipped"
    if not booking.google_event_id:
        return push_booking_event(booking=booking)
    coach = booking.coach
    body = event_body(booking)
    try:
        with _calendar(coach) as client:
            client.patch_event(calendar_id=booking_calendar_id(coach), event_id=booking.google_event_id, changes=body)
    except google.Gone:
        return "gone"
    except google.GrantRevoked:
        return "skipped"
    log_booking(booking, LogAction.GOOGLE_EVENT_MOVED, actor=Actor.TASK, event_id=booking.google_event_id)
    return "updated"


def delete_booking_event(*, booking: Booking) -> str:
    """Remove a cancelled booking's event. Returns "deleted", "gone" (already deleted) or "skipped"."""
    if booking.coach_id is None or booking.status in (Booking.Status.CONFIRMED, Booking.Status.PENDING_PAYMENT):
        return "skipped"
    if not (booking.google_event_id or booking.confirmed_at):
        return "skipped"  # a hold that was never confirmed was never pushed
    coach = booking.coach
    if not is_connected(coach):
        return "skipped"
    event_id = _event_id(booking)
    outcome = "deleted"
    try:
        with _calendar(coach) as client:
            client.delete_event(calendar_id=booking_calendar_id(coach), event_id=event_id)
    except google.Gone:
        outcome = "gone"
    except google.GrantRevoked:
        return "skipped"
    with transaction.atomic():
        Booking.objects.filter(pk=booking.pk).update(google_event_id="")
        log_booking(booking, LogAction.GOOGLE_EVENT_DELETED, actor=Actor.TASK, event_id=event_id, outcome=outcome)
    booking.google_event_id = ""
    return outcome


# --- after a booking change -----------------------------------------------------------------------

PUSH_CHANGES = {Change.CONFIRMED, Change.PAYMENT_RECEIVED}
REMOVE_CHANGES = {Change.CANCELLED, Change.EXPIRED, Change.REFUNDED}
PUSH_TASK = "coaching.tasks.push_booking_event_task"
PATCH_TASK = "coaching.tasks.patch_booking_event_task"
DELETE_TASK = "coaching.tasks.delete_booking_event_task"


def schedule_calendar_sync(*, booking: Booking, change: Change) -> str | None:
    """Which Google task a booking change needs, enqueued after the change commits.

    Called by the `booking_changed` receiver inside the service's transaction, so a rolled-back
    change never reaches Google and a Google (or broker) outage never blocks a booking. Pending
    holds are not pushed; the tasks re-read the booking, so one that changed again before its task
    ran is handled by its state. Returns the task's name, or None.
    """
    if booking.coach_id is None or not is_connected(booking.coach):
        return None
    task_name = None
    if change in PUSH_CHANGES and booking.status == Booking.Status.CONFIRMED:
        task_name = PUSH_TASK
    elif change == Change.RESCHEDULED and booking.status == Booking.Status.CONFIRMED:
        task_name = PATCH_TASK
    elif change in REMOVE_CHANGES and booking.status in (Booking.Status.CANCELLED, Booking.Status.EXPIRED):
        if booking.google_event_id or booking.confirmed_at:
            task_name = DELETE_TASK
    if task_name is None:
        return None
    booking_id = booking.pk
    transaction.on_commit(lambda: enqueue(task_name, booking_id))
    return task_name


# --- workshops in their host's calendar ------------------------------------------------------------

WORKSHOP_PUSH_TASK = "coaching.tasks.push_workshop_event_task"
WORKSHOP_PATCH_TASK = "coaching.tasks.patch_workshop_event_task"
WORKSHOP_DELETE_TASK = "coaching.tasks.delete_workshop_event_task"
# What a workshop's event shows: a change to any of these owes the host's calendar a patch.
WORKSHOP_EVENT_FIELDS = ("title", "summary", "start_at", "end_at", "location", "online_url", "capacity")


def workshop_event_id(workshop: Workshop) -> str:
    return workshop.google_event_id or google.event_id_for(f"workshop-{workshop.pk}")


def workshop_event_body(workshop: Workshop) -> dict:
    """The host's event for a workshop: when, where, how many seats. No guest's name or address:
    seats are not in the host's calendar (the admin lists them)."""
    from django.urls import reverse

    host = workshop.host
    lines = [
        f"A workshop you host, booked through {settings.WAGTAIL_SITE_NAME} ({workshop.capacity} seats).",
        f"Seats and waiting list: {settings.SITE_URL}{reverse('coaching_admin:workshop', args=[workshop.pk])}",
    ]
    if workshop.summary:
        lines += ["", workshop.summary]
    body = {
        "summary": f"Workshop: {workshop.title}",
        "description": "\n".join(lines),
        "start": {"dateTime": workshop.start_at.isoformat(), "timeZone": host.timezone},
        "end": {"dateTime": workshop.end_at.isoformat(), "timeZone": host.timezone},
        "status": "confirmed",
        "extendedProperties": {"private": {"workshop_id": str(workshop.pk)}},
    }
    if workshop.location or workshop.online_url:
        body["location"] = workshop.location or workshop.online_url
    return body


def _workshop_listed(workshop: Workshop) -> bool:
    return workshop.is_published and workshop.cancelled_at is None


def push_workshop_event(*, workshop: Workshop) -> str:
    """Put a published workshop in its host's booking calendar. Idempotent.

    Returns "created", "updated" (the event already existed: a retry) or "skipped" (not published,
    cancelled, or the host not connected).
    """
    host = workshop.host
    if not _workshop_listed(workshop) or not is_connected(host):
        return "skipped"
    event_id = workshop_event_id(workshop)
    outcome = _insert_or_update(host, event_id=event_id, body=workshop_event_body(workshop))
    if outcome == "skipped":
        return outcome
    Workshop.objects.filter(pk=workshop.pk).update(google_event_id=event_id)
    workshop.google_event_id = event_id
    logger.info("Workshop %s %s in the host's Google Calendar (%s)", workshop.pk, outcome, event_id)
    return outcome


def patch_workshop_event(*, workshop: Workshop) -> str:
    """Bring the host's event up to date (moved, renamed). Returns "updated", "created" (never
    pushed before), "gone" (the host deleted the event: done) or "skipped"."""
    host = workshop.host
    if not _workshop_listed(workshop) or not is_connected(host):
        return "skipped"
    if not workshop.google_event_id:
        return push_workshop_event(workshop=workshop)
    try:
        with _calendar(host) as client:
            client.patch_event(
                calendar_id=booking_calendar_id(host),
                event_id=workshop.google_event_id,
                changes=workshop_event_body(workshop),
            )
    except google.Gone:
        return "gone"
    except google.GrantRevoked:
        return "skipped"
    return "updated"


def delete_workshop_event(*, workshop: Workshop, host: Coach | None = None) -> str:
    """Remove the workshop's event from `host`'s calendar (its own host by default; the former
    host when it changed hands). Returns "deleted", "gone" (already deleted) or "skipped"."""
    host = host or workshop.host
    if not is_connected(host):
        return "skipped"
    event_id = workshop_event_id(workshop)
    outcome = "deleted"
    try:
        with _calendar(host) as client:
            client.delete_event(calendar_id=booking_calendar_id(host), event_id=event_id)
    except google.Gone:
        outcome = "gone"
    except google.GrantRevoked:
        return "skipped"
    if host.pk == workshop.host_id:
        Workshop.objects.filter(pk=workshop.pk, google_event_id=event_id).update(google_event_id="")
        workshop.google_event_id = ""
    return outcome


def schedule_workshop_sync(*, workshop: Workshop, previous: Workshop | None = None) -> list[str]:
    """Which Google tasks a workshop change needs, enqueued after the change commits.

    `previous` is the workshop as it was before the change (None: just created). A workshop is in
    its host's calendar while it is published and not cancelled; a moved or renamed one is patched;
    one that changed hosts leaves the former host's calendar for the new one's. Seat bookings never
    come here: the host's calendar holds the workshop, not its guests. Returns the tasks' names.
    """
    owed: list[tuple[str, tuple]] = []
    listed = _workshop_listed(workshop)
    was_listed = previous is not None and _workshop_listed(previous)
    host_changed = previous is not None and previous.host_id != workshop.host_id
    if host_changed and was_listed and is_connected(previous.host):
        owed.append((WORKSHOP_DELETE_TASK, (workshop.pk, previous.host_id)))
    if is_connected(workshop.host):
        if not listed:
            if was_listed and not host_changed:
                owed.append((WORKSHOP_DELETE_TASK, (workshop.pk,)))
        elif not was_listed or host_changed or not workshop.google_event_id:
            owed.append((WORKSHOP_PUSH_TASK, (workshop.pk,)))
        elif any(getattr(previous, name) != getattr(workshop, name) for name in WORKSHOP_EVENT_FIELDS):
            owed.append((WORKSHOP_PATCH_TASK, (workshop.pk,)))
    for task_name, args in owed:
        transaction.on_commit(lambda task_name=task_name, args=args: enqueue(task_name, *args))
    return [task_name for task_name, _ in owed]
