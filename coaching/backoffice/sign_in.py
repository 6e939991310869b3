"""The back office door: Wagtail's sign-in at /admin/login/ is the only one, and it is guarded.

**Lockouts** (django-axes, database handler). Every failed sign-in is counted in the database, so all
web processes share one count. After ADMIN_LOGIN_FAILURE_LIMIT failures for one username, or from
one client address, within ADMIN_LOCKOUT_MINUTES, every further attempt for it is refused with the
lockout page (429) — even with the right password — until the cool-off passes or the owner unlocks
it on *Settings → Sign-in security* (or `manage.py axes_reset_username` / `axes_reset_ip`).

**Two-factor sign-in** (django-otp, TOTP). A user turns it on at *Account → More actions →
Two-factor sign-in*: scan the QR code (an inline SVG: no image file is written), type the code the
app shows, and the device is confirmed. From then on the sign-in form needs the current 6-digit code
as well as the password; a missing or wrong code is a failed sign-in like a wrong password (same
message, counted towards the lockout). A session that did not give the code is signed out of the
admin. With ADMIN_REQUIRE_TWO_FACTOR, staff without a device are sent to enrol before anything else.
The owner turns a lost device off on *Settings → Sign-in security* (or `manage.py reset_two_factor`).
"""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass
from datetime import datetime

import segno
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset as reset_attempts
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from wagtail.admin.forms.auth import LoginForm

from coaching.client_address import client_ip, normalised_ip

from .permissions import is_owner

logger = logging.getLogger(__name__)


# --- lockouts: how axes counts --------------------------------------------------------------------


def sign_in_client_ip(request) -> str | None:
    """The client address whose failures are counted (AXES_CLIENT_IP_CALLABLE): the same rule as
    every rate limit (coaching/client_address.py), as an IP address (the column is an IP type on
    PostgreSQL), or None."""
    return normalised_ip(client_ip(request))


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


def security_view(request):
    """The owner's screen: current lockouts, and who has two-factor sign-in on."""
    require_owner(request.user)
    devices = TOTPDevice.objects.filter(confirmed=True).select_related("user").order_by("user__username")
    return TemplateResponse(
        request,
        "coaching/admin/sign_in_security.html",
        {
            "lockouts": current_lockouts(),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": lockout_minutes(),
            "two_factor_devices": devices,
            "two_factor_required": settings.ADMIN_REQUIRE_TWO_FACTOR,
        },
    )


@require_POST
def unlock_view(request):
    """Clear the failures of one username or one address (axes' own reset), so it may sign in again."""
    require_owner(request.user)
    kind, value = request.POST.get("kind"), request.POST.get("value", "").strip()
    if kind == "username" and value:
        cleared = reset_attempts(username=value)
    elif kind == "address" and normalised_ip(value):
        cleared = reset_attempts(ip=normalised_ip(value))
    else:
        messages.error(request, "Nothing to unlock.")
        return redirect("coaching_sign_in:security")
    logger.info("Sign-in lockout for %s %s cleared by %s (%d records)", kind, value, request.user, cleared)
    messages.success(request, f"Unlocked {kind} {value}: it may sign in again.")
    return redirect("coaching_sign_in:security")


# --- two-factor sign-in: the sign-in form -----------------------------------------------------------

PENDING_KEY_SESSION_KEY = "coaching_two_factor_pending_key"
INVALID_CODE = "That code didn't match. Type the code your authenticator app shows now (check the phone's clock)."


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def as_token(text: str | None) -> str | None:
    """A typed code without the spaces apps show in the middle; None unless it is 6 digits."""
    digits = "".join((text or "").split())
    return digits if len(digits) == 6 and digits.isdigit() else None


class SignInForm(LoginForm):
    """Wagtail's sign-in form (WAGTAILADMIN_USER_LOGIN_FORM) plus the authentication code, needed only
    from users who turned two-factor sign-in on."""

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=12,
        help_text="Only if you turned on two-factor sign-in: the 6-digit code your authenticator app shows now.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    # One message for a wrong password and a wrong code, so a guesser never learns the password was right.
    error_messages = {
        **LoginForm.error_messages,
        "invalid_login": "Your username, password or authentication code didn't match. Please try again.",
    }

    def clean(self):
        cleaned_data = super().clean()  # the password, with django-axes refusing a locked-out attempt first
        user = self.user_cache
        device = confirmed_device(user) if user is not None else None
        if device is None:
            return cleaned_data
        token = as_token(cleaned_data.get("otp_token"))
        # django_otp's verify_token locks the device row: a code is accepted once, by one process.
        verified = verify_token(user, device.persistent_id, token) if token else None
        if verified is None:
            self.user_cache = None
            # A wrong or missing code is a failed sign-in like a wrong password: django-axes counts it.
            user_login_failed.send(
                sender=__name__, credentials={"username": cleaned_data.get("username")}, request=self.request
            )
            raise self.get_invalid_login_error()
        # django_otp's user_logged_in receiver records this device in the session: the session is verified.
        user.otp_device = verified
        return cleaned_data


# --- two-factor sign-in: in the admin ---------------------------------------------------------------

# Reachable without a verified second factor: signing in and out, and what those pages load.
OPEN_VIEWS = {
    "wagtailadmin_login",
    "wagtailadmin_logout",
    "wagtailadmin_sprite",
    "wagtailadmin_javascript_catalog",
    "wagtailadmin_password_reset",
    "wagtailadmin_password_reset_done",
    "wagtailadmin_password_reset_confirm",
    "wagtailadmin_password_reset_complete",
}


class TwoFactorMiddleware:
    """In the admin, after django_otp's OTPMiddleware: a signed-in user who has a confirmed device but
    whose session never gave a code (signed in before the device was added, on another browser) is
    signed out; with ADMIN_REQUIRE_TWO_FACTOR, a user with admin access but no device is sent to the
    enrolment page before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path.startswith(reverse("wagtailadmin_home")):
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        view_name = request.resolver_match.view_name if request.resolver_match else ""
        if view_name in OPEN_VIEWS:
            return None
        if confirmed_device(user) is not None:
            logout(request)
            messages.info(request, "Sign in again with your authentication code.")
            return redirect_to_login(request.get_full_path(), reverse("wagtailadmin_login"))
        if (
            settings.ADMIN_REQUIRE_TWO_FACTOR
            and view_name != "coaching_sign_in:two_factor"
            and user.has_perm("wagtailadmin.access_admin")
        ):
            messages.warning(request, "Turn on two-factor sign-in to use the admin.")
            return redirect("coaching_sign_in:two_factor")
        return None


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self):
        token = as_token(self.cleaned_data["code"])
        if token is None:
            raise forms.ValidationError("Type the 6 digits the app shows.")
        return token


def pending_device(request) -> TOTPDevice:
    """An unsaved device whose secret waits in the session until the user proves they scanned it, so
    opening the page creates no device and an abandoned enrolment leaves no row behind."""
    key = request.session.get(PENDING_KEY_SESSION_KEY)
    if not key:
        key = request.session[PENDING_KEY_SESSION_KEY] = random_hex(20)
    return TOTPDevice(user=request.user, key=key, name="Authenticator app", confirmed=False)


def confirm_pending_device(request, device: TOTPDevice, token: str) -> TOTPDevice | None:
    """Save `device` as the user's confirmed device if `token` is its current code (one step of clock
    drift either way, as at sign-in). The code is then spent: the sign-in form accepts only later ones."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not totp.verify(int(token), tolerance=device.tolerance):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=request.user).delete()
        device.confirmed = True
        device.last_t = totp.t()
        device.drift = totp.drift
        device.save()
    del request.session[PENDING_KEY_SESSION_KEY]
    return device


def two_factor_view(request):
    """Turn two-factor sign-in on (QR code, then a code to prove it) or off (with a current code)."""
    device = confirmed_device(request.user)
    form = CodeForm(request.POST or None)
    if device is not None:
        if request.method == "POST" and form.is_valid():
            if verify_token(request.user, device.persistent_id, form.cleaned_data["code"]):
                TOTPDevice.objects.filter(user=request.user).delete()
                logger.info("Two-factor sign-in turned off by %s", request.user)
                messages.success(request, "Two-factor sign-in is off. You sign in with your password alone.")
                return redirect("coaching_sign_in:two_factor")
            form.add_error("code", INVALID_CODE)
        return TemplateResponse(request, "coaching/admin/two_factor.html", {"device": device, "form": form})

    pending = pending_device(request)
    if request.method == "POST" and form.is_valid():
        confirmed = confirm_pending_device(request, pending, form.cleaned_data["code"])
        if confirmed is not None:
            otp_login(request, confirmed)  # this session has just given a code
            logger.info("Two-factor sign-in turned on by %s", request.user)
            messages.success(request, "Two-factor sign-in is on. Next time, type the app's code when you sign in.")
            return redirect("coaching_sign_in:two_factor")
        form.add_error("code", INVALID_CODE)
    secret = typed_secret(pending)
    context = {
        "device": None,
        "form": form,
        "qr_svg": segno.make(pending.config_url, error="m").svg_inline(
            scale=5, dark="#000", light="#fff", title="QR code for your authenticator app"
        ),
        "secret": secret,
        "required": settings.ADMIN_REQUIRE_TWO_FACTOR,
    }
    return TemplateResponse(request, "coaching/admin/two_factor.html", context)


def typed_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps ask for it when typed in by hand: base32, in groups of four."""
    encoded = base64.b32encode(device.bin_key).decode()
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@require_POST
def reset_two_factor_view(request, user_id: int):
    """The owner turns off another user's two-factor sign-in (a lost or replaced phone)."""
    require_owner(request.user)
    user = get_object_or_404(get_user_model(), pk=user_id)
    TOTPDevice.objects.filter(user=user).delete()
    logger.info("Two-factor sign-in of %s turned off by %s", user, request.user)
    messages.success(
        request,
        f"Two-factor sign-in is off for {user.get_username()}: they sign in with their password and can turn it on again.",
    )
    return redirect("coaching_sign_in:security")
