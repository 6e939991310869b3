"""The back office door: Wagtail's sign-in at /admin/login/ is the only one, and it is guarded.

**Lockouts** (django-axes, database handler). Every failed sign-in is counted in the database, so all
web processes share one count. After ADMIN_LOGIN_FAILURE_LIMIT failures for one username, or from
one client address, within ADMIN_LOCKOUT_MINUTES, every further attempt for it is refused with the
lockout page (429) — even with the right password — until the cool-off passes or the owner unlocks
it on *Settings → Sign-in security* (or `manage.py axes_reset_username` / `axes_reset_ip`).
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset as reset_attempts
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Sum
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .permissions import is_owner

logger = logging.getLogger(__name__)


# --- lockouts: how axes counts --------------------------------------------------------------------


def sign_in_client_ip(request) -> str | None:
    """The client address whose failures are counted (AXES_CLIENT_IP_CALLABLE).

    X-Forwarded-For is read only when RATELIMIT_TRUST_FORWARDED_FOR says a proxy in front sets it,
    and then only its last entry — the address that proxy saw. Earlier entries are whatever the
    client sent; trusting them would let an attacker pick a fresh address for every guess."""
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.RATELIMIT_TRUST_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").strip()
        if forwarded:
            candidate = forwarded.split(",")[-1]
    return sign_in_address(candidate)


def sign_in_address(text: str) -> str | None:
    """`text` as a normalised IP address, or None (the column is an IP address type on PostgreSQL)."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


class SignInAttemptHandler(AxesDatabaseHandler):
    """django-axes' database handler, except that a successful sign-in clears only that account's
    failures from that address.

    Axes' own reset deletes every failure of the username *or* the address. Then a coach who signs in
    with their own password from the machine they were guessing the owner's password on would wipe
    that machine's count of guesses, and an owner signing in at home would wipe an attacker's count
    against the owner's username elsewhere."""

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def lockout_minutes(request=None) -> int | None:
    """Length of the cool-off in whole minutes; None when a lockout lasts until the owner unlocks it."""
    cool_off = get_cool_off(request)
    return math.ceil(cool_off.total_seconds() / 60) if cool_off else None


def locked_out_response(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE), in the admin's own look."""
    minutes = lockout_minutes(request)
    response = render(
        request,
        "coaching/admin/locked_out.html",
        {"minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response


# --- lockouts: the owner's screen -----------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    kind: str  # "username" or "address"
    value: str
    failures: int
    last_failure_at: datetime
    unlocks_at: datetime | None


def current_lockouts() -> list[Lockout]:
    """Usernames and client addresses that are locked out right now, counted as axes counts them."""
    attempts = AccessAttempt.objects.all()
    cool_off = get_cool_off()
    if cool_off:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    lockouts = []
    for kind, field in (("username", "username"), ("address", "ip_address")):
        rows = (
            attempts.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last_failure_at=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
            .order_by("-last_failure_at")
        )
        lockouts += [
            Lockout(
                kind=kind,
                value=row[field],
                failures=row["failures"],
                last_failure_at=row["last_failure_at"],
                unlocks_at=row["last_failure_at"] + cool_off if cool_off else None,
            )
            for row in rows
        ]
    return lockouts


def require_owner(user) -> None:
    if not is_owner(user):
        raise PermissionDenied


def lockouts_view(request):
    require_owner(request.user)
    return TemplateResponse(
        request,
        "coaching/admin/sign_in_security.html",
        {
            "lockouts": current_lockouts(),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": lockout_minutes(),
        },
    )


@require_POST
def unlock_view(request):
    """Clear the failures of one username or one address (axes' own reset), so it may sign in again."""
    require_owner(request.user)
    kind, value = request.POST.get("kind"), request.POST.get("value", "").strip()
    if kind == "username" and value:
        cleared = reset_attempts(username=value)
    elif kind == "address" and sign_in_address(value):
        cleared = reset_attempts(ip=sign_in_address(value))
    else:
        messages.error(request, "Nothing to unlock.")
        return redirect("coaching_sign_in:security")
    logger.info("Sign-in lockout for %s %s cleared by %s (%d records)", kind, value, request.user, cleared)
    messages.success(request, f"Unlocked {kind} {value}: it may sign in again.")
    return redirect("coaching_sign_in:security")
