"""Fixtures shared by the booking domain's tests: the outside world's local stand-ins, a frozen clock,
and `after_commit` (run a service and what it left for after its commit).

Stand-ins live in coaching/tests/standins/; factories in coaching/tests/factories.py; request helpers
(the HTMX headers) in coaching/tests/http.py.
"""

import pytest
import time_machine
from googleapiclient.http import HttpMockSequence

from coaching.integrations import google
from coaching.tests.standins.smtp import SmtpServer
from coaching.tests.standins.stripe import use_stripe_standin


@pytest.fixture
def frozen_clock(request):
    """Stop the clock at the test module's `NOW` (tick=False); `frozen_clock.move_to(moment)` jumps.

    A module freezes every test with `pytestmark = [..., pytest.mark.usefixtures("frozen_clock")]`
    (fixtures named in usefixtures are set up before the test's own, so they see the frozen time too).
    """
    with time_machine.travel(request.module.NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def stripe_standin(settings):
    """Real Stripe mode, the SDK pointed at a local stand-in of Stripe's API (see standins/stripe.py)."""
    with use_stripe_standin(settings) as standin:
        yield standin


@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback (aiosmtpd) that Django's SMTP backend delivers to for this test."""
    with SmtpServer() as server:
        for name, value in server.django_settings().items():
            setattr(settings, name, value)
        yield server


@pytest.fixture
def google_api(settings, monkeypatch):
    """Turn Google on and script its answers: google_api(answer, answer, ...) → the recording mock."""
    settings.GOOGLE_CLIENT_ID = "client-id.apps.googleusercontent.com"
    settings.GOOGLE_CLIENT_SECRET = "client-secret"
    settings.OWNER_EMAIL = "owner@example.com"

    def script(*answers):
        mock = HttpMockSequence(list(answers))
        monkeypatch.setattr(google, "http_factory", lambda: mock)
        return mock

    script()  # by default any call to Google fails the test (nothing scripted)
    return script


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """`after_commit(action)`: run `action` and then what it left for after its commit (the tasks it
    enqueued, which run in-process, and the emails they owe), as a committed request would."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def owner(django_user_model):
    """The business owner: a Wagtail superuser."""
    return django_user_model.objects.create_superuser("owner", "owner@example.com", "pw")


@pytest.fixture
def owner_client(client, owner):
    """The test client signed in as the owner."""
    client.force_login(owner)
    return client
