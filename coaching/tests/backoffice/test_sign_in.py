"""The back office door: one login (Wagtail's), locked after repeated failures, with optional
two-factor sign-in. README, "Measured: … Security" and "Running the business from the Wagtail admin"."""

import base64
import time
from datetime import timedelta
from io import StringIO

import pytest
import requests
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from coaching.backoffice.sign_in import sign_in_client_ip
from coaching.tests.factories import CoachFactory
from coaching.tests.standins.processes import database_url, web_processes

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "correct-horse-battery"
LOCKED_MESSAGE = "Too many failed sign-ins. Try again in 15 minutes, or ask the owner to unlock your account."


def sign_in(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def assert_locked_out(response):
    assert response.status_code == 429
    assert " ".join(response.content.decode().split()).count(LOCKED_MESSAGE) == 1
    assert response["Retry-After"] == "900"


def assert_signed_in(response):
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")


@pytest.fixture(autouse=True)
def lockout_rules(settings):
    """The defaults from the configuration table, whatever the environment says."""
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.RATELIMIT_TRUST_FORWARDED_FOR = False


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser("owner", "owner@example.com", PASSWORD)


@pytest.fixture
def coach_user(django_user_model):
    """A coach with a Wagtail login: admin access only."""
    user = django_user_model.objects.create_user("anna", "anna@example.com", PASSWORD)
    group, _ = Group.objects.get_or_create(name="Coaches")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(group)
    CoachFactory(name="Anna", slug="anna", user=user)
    return user


# --- one door -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/django-admin/", "/django-admin/login/", "/django-admin/auth/user/"])
def test_there_is_no_second_login_door_at_django_admin(client, path):
    response = client.get(path)
    assert response.status_code == 404
    response = client.post(path, {"username": "owner", "password": "guess"})
    assert response.status_code == 404


# --- lockouts -------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_even_against_the_right_password(client, coach_user):
    for _ in range(4):
        response = sign_in(client, "anna", "wrong")
        assert response.status_code == 200
        assert "didn&#x27;t match" in response.content.decode()

    assert_locked_out(sign_in(client, "anna", "wrong"))
    assert_locked_out(sign_in(client, "anna", PASSWORD))
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_the_cool_off(client, coach_user):
    for _ in range(5):
        sign_in(client, "anna", "wrong")
    fifth_failure = timezone.now()
    with time_machine.travel(fifth_failure + timedelta(minutes=14)):
        assert_locked_out(sign_in(client, "anna", PASSWORD))
    # That refused attempt started the wait again: 15 minutes from it, not from the fifth failure.
    with time_machine.travel(fifth_failure + timedelta(minutes=20)):
        assert_locked_out(sign_in(client, "anna", PASSWORD))
    with time_machine.travel(fifth_failure + timedelta(minutes=20 + 16)):
        assert_signed_in(sign_in(client, "anna", PASSWORD))


def test_a_successful_sign_in_forgets_that_accounts_earlier_failures(client, coach_user):
    for _ in range(4):
        sign_in(client, "anna", "wrong")
    assert_signed_in(sign_in(client, "anna", PASSWORD))
    client.logout()
    for _ in range(4):
        assert sign_in(client, "anna", "wrong").status_code == 200


def test_one_address_guessing_many_usernames_is_locked_out_for_every_username(client, coach_user):
    for username in ("owner", "admin", "root", "bea", "carl"):
        response = sign_in(client, username, "guess")
    assert_locked_out(response)
    # Anna's own password from that address is refused too: the address is locked, not only names.
    assert_locked_out(sign_in(client, "anna", PASSWORD))
    # Anna from her own address is not that attacker.
    assert_signed_in(sign_in(Client(), "anna", PASSWORD, REMOTE_ADDR="203.0.113.7"))


def test_a_forged_forwarded_for_header_does_not_give_a_fresh_address_per_guess(client, coach_user):
    for number in range(5):
        response = sign_in(client, f"user{number}", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert_locked_out(response)


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(settings):
    factory = RequestFactory()
    request = factory.post(LOGIN, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert sign_in_client_ip(request) == "10.0.0.2"
    settings.RATELIMIT_TRUST_FORWARDED_FOR = True
    # The last entry is what our proxy appended; the first is whatever the client typed.
    assert sign_in_client_ip(request) == "203.0.113.9"
    assert sign_in_client_ip(factory.post(LOGIN, HTTP_X_FORWARDED_FOR="not-an-address")) is None


def test_failures_through_one_client_lock_out_another_because_the_count_lives_in_the_database(coach_user):
    first, second = Client(), Client()
    for _ in range(4):
        sign_in(first, "anna", "wrong")
    assert AccessAttempt.objects.filter(username="anna").aggregate(n=Sum("failures_since_start"))["n"] == 4
    # A separate client with its own session and cookies, as another web process would serve it.
    assert_locked_out(sign_in(second, "anna", "wrong"))
    assert_locked_out(sign_in(first, "anna", PASSWORD))


def test_the_owner_sees_the_lockout_and_unlocks_it_and_the_coach_signs_in_again(client, owner, coach_user):
    coach = Client()
    for _ in range(5):
        sign_in(coach, "anna", "wrong", REMOTE_ADDR="203.0.113.7")
    assert_locked_out(sign_in(coach, "anna", PASSWORD, REMOTE_ADDR="203.0.113.7"))

    client.force_login(owner)
    page = client.get(reverse("coaching_sign_in:security"))
    assert page.status_code == 200
    lockouts = {(lockout.kind, lockout.value) for lockout in page.context["lockouts"]}
    assert lockouts == {("username", "anna"), ("address", "203.0.113.7")}

    response = client.post(reverse("coaching_sign_in:unlock"), {"kind": "username", "value": "anna"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="anna").exists()
    assert_signed_in(sign_in(coach, "anna", PASSWORD, REMOTE_ADDR="203.0.113.7"))


def test_the_owner_unlocks_an_address(client, owner):
    for username in ("a", "b", "c", "d", "e"):
        sign_in(Client(), username, "guess", REMOTE_ADDR="198.51.100.4")
    client.force_login(owner)
    client.post(reverse("coaching_sign_in:unlock"), {"kind": "address", "value": "198.51.100.4"})
    assert not AccessAttempt.objects.exists()
    assert client.get(reverse("coaching_sign_in:security")).context["lockouts"] == []


def test_only_the_owner_may_see_or_lift_lockouts(client, coach_user):
    for _ in range(5):
        sign_in(Client(), "owner", "guess", REMOTE_ADDR="198.51.100.4")
    client.force_login(coach_user)
    page = client.get(reverse("coaching_sign_in:security"))
    assert page.status_code in (302, 403) and "lockouts" not in (page.context or {})
    client.post(reverse("coaching_sign_in:unlock"), {"kind": "username", "value": "owner"})
    assert AccessAttempt.objects.filter(username="owner").exists()


def test_the_management_commands_unlock_too(client, coach_user):
    for _ in range(5):
        sign_in(client, "anna", "wrong")
    call_command("axes_reset_username", "anna", stdout=StringIO())
    assert_signed_in(sign_in(client, "anna", PASSWORD))


# --- the count across real processes --------------------------------------------------------------


@pytest.fixture
def two_web_processes():
    """Two separate gunicorn servers (one worker each) on this test's database: two web processes
    that share nothing but the database, as in production."""
    environment = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url()}
    with web_processes(2, environment=environment, ready_path=LOGIN) as urls:
        yield urls


def sign_in_over_http(base_url: str, username: str, password: str) -> requests.Response:
    browser = requests.Session()
    browser.get(base_url + LOGIN, timeout=10)
    return browser.post(
        base_url + LOGIN,
        data={"username": username, "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": base_url + LOGIN},
        allow_redirects=False,
        timeout=10,
    )


@pytest.mark.django_db(transaction=True)
def test_failures_on_one_web_process_lock_the_account_on_another(django_user_model, two_web_processes):
    django_user_model.objects.create_user("anna", "anna@example.com", PASSWORD, is_staff=True)
    first, second = two_web_processes
    for _ in range(3):
        assert sign_in_over_http(first, "anna", "wrong").status_code == 200
    assert sign_in_over_http(second, "anna", "wrong").status_code == 200
    assert sign_in_over_http(second, "anna", "wrong").status_code == 429
    refused = sign_in_over_http(first, "anna", PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text


# --- two-factor sign-in ---------------------------------------------------------------------------


def code_for(key_hex: str, at: float | None = None) -> str:
    """What the user's authenticator app shows at `at` (now by default)."""
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


@pytest.fixture
def anna_with_two_factor(coach_user):
    return TOTPDevice.objects.create(user=coach_user, name="Authenticator app", confirmed=True)


def sign_in_with_code(client, username, password, code, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": code}, **extra)


def test_the_sign_in_form_offers_the_authentication_code_field(client):
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' in page and "Authentication code" in page


def test_with_two_factor_on_the_password_alone_does_not_sign_in(client, anna_with_two_factor):
    response = sign_in(client, "anna", PASSWORD)
    assert response.status_code == 200
    # The same words as a wrong password: a guesser does not learn that the password was right.
    assert "Your username, password or authentication code didn&#x27;t match" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="anna").failures_since_start == 1


def test_with_two_factor_on_password_and_current_code_sign_in_and_the_session_counts_as_verified(
    client, anna_with_two_factor
):
    response = sign_in_with_code(client, "anna", PASSWORD, code_for(anna_with_two_factor.key))
    assert_signed_in(response)
    assert client.session["otp_device_id"] == anna_with_two_factor.persistent_id
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


def test_a_code_typed_with_a_space_in_the_middle_is_accepted(client, anna_with_two_factor):
    code = code_for(anna_with_two_factor.key)
    assert_signed_in(sign_in_with_code(client, "anna", PASSWORD, f"{code[:3]} {code[3:]}"))


def test_a_wrong_code_fails_and_counts_towards_the_lockout(client, anna_with_two_factor):
    right = code_for(anna_with_two_factor.key)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = sign_in_with_code(client, "anna", PASSWORD, wrong)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    for _ in range(3):
        sign_in_with_code(client, "anna", PASSWORD, wrong)
    assert_locked_out(sign_in_with_code(client, "anna", PASSWORD, wrong))
    assert_locked_out(sign_in_with_code(client, "anna", PASSWORD, right))


def test_a_code_is_accepted_only_once(client, anna_with_two_factor):
    code = code_for(anna_with_two_factor.key)
    assert_signed_in(sign_in_with_code(client, "anna", PASSWORD, code))
    client.logout()
    assert sign_in_with_code(Client(), "anna", PASSWORD, code).status_code == 200


def test_a_user_without_two_factor_signs_in_with_the_password_alone(client, coach_user):
    assert_signed_in(sign_in(client, "anna", PASSWORD))


def test_enrolment_shows_a_qr_code_and_key_and_writes_nothing_until_a_code_proves_it(client, coach_user):
    client.force_login(coach_user)
    page = client.get(reverse("coaching_sign_in:two_factor"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "QR code for your authenticator app" in html
    key = client.session["coaching_two_factor_pending_key"]
    assert page.context["secret"].replace(" ", "") == base64.b32encode(bytes.fromhex(key)).decode()
    assert not TOTPDevice.objects.exists()

    wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("coaching_sign_in:two_factor"), {"code": wrong})
    assert response.status_code == 200 and "didn&#x27;t match" in response.content.decode()
    assert not TOTPDevice.objects.exists()

    response = client.post(reverse("coaching_sign_in:two_factor"), {"code": code_for(key)})
    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=coach_user)
    assert device.confirmed and device.key == key
    assert client.session["otp_device_id"] == device.persistent_id
    assert "Two-factor sign-in is on" in client.get(reverse("coaching_sign_in:two_factor")).content.decode()


def test_after_enrolling_the_next_sign_in_needs_the_code(client, coach_user):
    client.force_login(coach_user)
    client.get(reverse("coaching_sign_in:two_factor"))
    key = client.session["coaching_two_factor_pending_key"]
    enrolled_at = time.time()
    client.post(reverse("coaching_sign_in:two_factor"), {"code": code_for(key, enrolled_at)})
    client.logout()

    assert sign_in(client, "anna", PASSWORD).status_code == 200
    # The enrolment code is spent; the app's next code (30 s later) opens the door.
    with time_machine.travel(enrolled_at + 30):
        assert_signed_in(sign_in_with_code(client, "anna", PASSWORD, code_for(key)))


def test_turning_two_factor_off_needs_a_current_code(client, coach_user, anna_with_two_factor):
    client.force_login(coach_user)
    # A session that signed in without a code (before the device existed) is signed out of the admin…
    response = client.get(reverse("coaching_sign_in:two_factor"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    # …and signs in again with its code.
    sign_in_with_code(client, "anna", PASSWORD, code_for(anna_with_two_factor.key))
    with time_machine.travel(time.time() + 30):
        right = code_for(anna_with_two_factor.key)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        client.post(reverse("coaching_sign_in:two_factor"), {"code": wrong})
        assert TOTPDevice.objects.filter(user=coach_user).exists()
    with time_machine.travel(time.time() + 90):
        response = client.post(reverse("coaching_sign_in:two_factor"), {"code": code_for(anna_with_two_factor.key)})
        assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=coach_user).exists()
    assert_signed_in(sign_in(Client(), "anna", PASSWORD))


def test_the_owner_turns_off_a_lost_device_and_the_user_signs_in_with_the_password(
    client, owner, coach_user, anna_with_two_factor
):
    client.force_login(owner)
    page = client.get(reverse("coaching_sign_in:security"))
    assert [device.user.username for device in page.context["two_factor_devices"]] == ["anna"]
    response = client.post(reverse("coaching_sign_in:reset_two_factor", args=[coach_user.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=coach_user).exists()
    assert_signed_in(sign_in(Client(), "anna", PASSWORD))


def test_a_coach_cannot_turn_off_someone_elses_two_factor(client, owner, coach_user):
    owners_device = TOTPDevice.objects.create(user=owner, name="Authenticator app", confirmed=True)
    client.force_login(coach_user)
    client.post(reverse("coaching_sign_in:reset_two_factor", args=[owner.pk]))
    assert TOTPDevice.objects.filter(pk=owners_device.pk).exists()


def test_the_management_command_turns_off_a_lost_device(anna_with_two_factor):
    out = StringIO()
    call_command("reset_two_factor", "anna", stdout=out)
    assert "turned off for anna" in out.getvalue()
    assert not TOTPDevice.objects.exists()
    with pytest.raises(CommandError):
        call_command("reset_two_factor", "nobody", stdout=StringIO())


def test_when_required_staff_without_a_device_are_sent_to_enrol_first(client, settings, coach_user):
    client.force_login(coach_user)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    settings.ADMIN_REQUIRE_TWO_FACTOR = True
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 302 and response.url == reverse("coaching_sign_in:two_factor")
    assert client.get(reverse("coaching_sign_in:two_factor")).status_code == 200
    key = client.session["coaching_two_factor_pending_key"]
    client.post(reverse("coaching_sign_in:two_factor"), {"code": code_for(key)})
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


def test_the_account_page_links_to_two_factor_sign_in(client, coach_user):
    client.force_login(coach_user)
    page = client.get(reverse("wagtailadmin_account")).content.decode()
    assert reverse("coaching_sign_in:two_factor") in page and "Two-factor sign-in" in page
