"""Wagtail admin for the Google Calendar connection: connect, callback, calendars, disconnect, sync now,
and the owner's "why is this slot not offered?" view.

Views parse input, call coaching/services/google_sync.py or coaching/schedule/diagnosis.py, and render.
The OAuth `state` is signed and bound to the admin session and the coach: a callback whose state is
missing, forged, expired, from another session or for another coach is refused with 400.
"""

from __future__ import annotations

import secrets
import zoneinfo
from datetime import date, time

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from coaching.models import Coach
from coaching.schedule.diagnosis import explain_day
from coaching.services import google_sync

from .permissions import can_manage_coach

STATE_SALT = "coaching.google.oauth-state"
STATE_MAX_AGE_SECONDS = 15 * 60
SESSION_KEY = "coaching_google_oauth"


def _coach_for(request, pk: int) -> Coach:
    coach = get_object_or_404(Coach, pk=pk)
    if not can_manage_coach(request.user, coach):
        raise PermissionDenied
    return coach


def redirect_uri() -> str:
    """What the owner registers in Google Cloud as the authorised redirect URI."""
    return settings.SITE_URL + reverse("coaching_google:callback")


# --- views ---------------------------------------------------------------------------------------


def index(request):
    coaches = [coach for coach in Coach.objects.order_by("name") if can_manage_coach(request.user, coach)]
    return TemplateResponse(
        request,
        "coaching/google/index.html",
        {"coaches": coaches, "configured": google_sync.is_configured(), "redirect_uri": redirect_uri()},
    )


def coach_detail(request, pk: int):
    coach = _coach_for(request, pk)
    if request.method == "POST":
        coach = google_sync.choose_calendars(
            coach=coach,
            booking_calendar=request.POST.get("booking_calendar", ""),
            busy_calendars=request.POST.getlist("busy_calendars"),
        )
        messages.success(request, "Calendars saved. Busy times are pulled again now.")
        _pull_now(request, coach)
        return redirect("coaching_google:coach", pk=coach.pk)
    calendars, calendars_error = [], ""
    if google_sync.is_connected(coach):
        try:
            calendars = google_sync.list_coach_calendars(coach=coach)
        except google_sync.GoogleError as exc:
            calendars_error = str(exc)
        coach.refresh_from_db()
    return TemplateResponse(
        request,
        "coaching/google/coach.html",
        {
            "coach": coach,
            "configured": google_sync.is_configured(),
            "connected": google_sync.is_connected(coach),
            "calendars": calendars,
            "calendars_error": calendars_error,
            "booking_calendar": google_sync.booking_calendar_id(coach),
            "busy_calendars": google_sync.busy_calendar_ids(coach),
            "today": timezone.now().astimezone(zoneinfo.ZoneInfo(coach.timezone)).date(),
            "busy_count": coach.busy_slots.count(),
        },
    )


def connect(request, pk: int):
    coach = _coach_for(request, pk)
    if not google_sync.is_configured():
        messages.error(request, "Google Calendar is not configured: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.")
        return redirect("coaching_google:coach", pk=coach.pk)
    nonce = secrets.token_urlsafe(24)
    state = signing.dumps({"coach": coach.pk, "nonce": nonce}, salt=STATE_SALT)
    url, code_verifier = google_sync.start_connection(redirect_uri=redirect_uri(), state=state)
    request.session[SESSION_KEY] = {"coach": coach.pk, "nonce": nonce, "code_verifier": code_verifier}
    return redirect(url)


def callback(request):
    pending = request.session.get(SESSION_KEY) or {}
    try:
        state = signing.loads(request.GET.get("state", ""), salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return HttpResponseBadRequest("Invalid or expired connection request. Please start again from the admin.")
    if (
        not pending
        or not secrets.compare_digest(str(state.get("nonce", "")), str(pending.get("nonce", "")))
        or state.get("coach") != pending.get("coach")
    ):
        return HttpResponseBadRequest("This connection request does not belong to your session. Please start again.")
    del request.session[SESSION_KEY]
    coach = _coach_for(request, state["coach"])
    if request.GET.get("error") or not request.GET.get("code"):
        messages.error(request, f"Google did not grant access ({request.GET.get('error', 'no code')}).")
        return redirect("coaching_google:coach", pk=coach.pk)
    try:
        credentials_info = google_sync.finish_connection(
            code=request.GET["code"], redirect_uri=redirect_uri(), code_verifier=pending.get("code_verifier", "")
        )
    except google_sync.GoogleError as exc:
        messages.error(request, str(exc))
        return redirect("coaching_google:coach", pk=coach.pk)
    coach = google_sync.connect_coach(coach=coach, credentials_info=credentials_info)
    try:
        calendars = google_sync.list_coach_calendars(coach=coach)
    except google_sync.GoogleError:
        calendars = []
    primary = next((calendar.id for calendar in calendars if calendar.primary), "")
    if primary:
        coach = google_sync.connect_coach(coach=coach, credentials_info=credentials_info, account_email=primary)
    messages.success(request, f"Google Calendar connected for {coach.name}. Choose the calendars below.")
    _pull_now(request, coach)
    return redirect("coaching_google:coach", pk=coach.pk)


@require_POST
def disconnect(request, pk: int):
    coach = _coach_for(request, pk)
    google_sync.disconnect_coach(coach=coach)
    messages.success(
        request,
        f"Google Calendar disconnected for {coach.name}. To revoke access completely, remove the app at "
        "myaccount.google.com/permissions.",
    )
    return redirect("coaching_google:coach", pk=coach.pk)


@require_POST
def sync_now(request, pk: int):
    coach = _coach_for(request, pk)
    _pull_now(request, coach)
    return redirect("coaching_google:coach", pk=coach.pk)


def _pull_now(request, coach: Coach) -> None:
    try:
        count = google_sync.pull_busy_times(coach=coach)
    except google_sync.GoogleError as exc:
        messages.error(request, f"Sync failed: {exc}")
        return
    if count is None:
        coach.refresh_from_db()
        if coach.google_status == Coach.GoogleStatus.BROKEN:
            messages.error(request, "Google refused the connection; please reconnect.")
        return
    messages.success(request, f"Synced: {count} busy period(s) in the next {coach.horizon_days} days.")


def why_not_offered(request, pk: int):
    coach = _coach_for(request, pk)
    zone = zoneinfo.ZoneInfo(coach.timezone)
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.now().astimezone(zone).date()
    # An optional start time of that day to explain on its own ("why not 08:00?").
    try:
        at = time.fromisoformat(request.GET.get("time", "").strip()) if request.GET.get("time", "").strip() else None
    except ValueError:
        at = None
        messages.error(request, "That time is not valid: use HH:MM, e.g. 08:30.")
    diagnosis = explain_day(coach=coach, day=day, at=at)
    return TemplateResponse(
        request,
        "coaching/google/why.html",
        {
            "coach": coach,
            "diagnosis": diagnosis,
            "zone": zone,
            "day": day,
            "asked_time": at,
            "previous_day": date.fromordinal(day.toordinal() - 1),
            "next_day": date.fromordinal(day.toordinal() + 1),
        },
    )
