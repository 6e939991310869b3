"""Fixtures shared by the booking domain's tests: the outside world's local stand-ins and small
request helpers. Stand-ins live in coaching/tests/standins/; factories in coaching/tests/factories.py."""

import pytest
from googleapiclient.http import HttpMockSequence

from coaching.integrations import google

HTMX = {"HTTP_HX_REQUEST": "true"}


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
