"""When a dependency fails, guests get a clean answer and nothing is half-written.

Stripe (test_payments_stripe), SMTP (test_notifications) and Google (test_google_sync) faults are
tested beside their integrations; here: the database and Redis.
"""

import socket

import pytest
from django.db import OperationalError, connection
from django.test import Client

from coaching.models import Booking
from coaching.tests.factories import CoachFactory, open_hours

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A loopback port with nothing listening: connecting to it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def coach():
    coach = CoachFactory(slug="fault-coach", timezone="UTC", min_notice_minutes=0)
    open_hours(coach, days_ahead=2, hours=4)
    return coach


def test_healthz_reports_a_down_broker_with_503(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and response.json()["broker"].startswith("error")


@pytest.mark.redis
def test_healthz_is_ok_with_a_live_broker(client, settings, redis_test_url):
    settings.REDIS_URL = redis_test_url
    response = client.get("/healthz")
    assert response.status_code == 200, response.content


def test_booking_still_works_when_redis_is_down_for_rate_limits(coach, settings, caplog):
    """Rate-limit counters live in Redis; with Redis gone the booking goes through (fail open)."""
    settings.RATELIMIT_ENABLED = True
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    # (changing CACHES makes Django rebuild the cache handlers from the new settings)
    slot = coach.availability.first().start_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    response = Client().post(
        f"/book/coach/{coach.slug}/slot/?start={slot}", {"name": "Ada", "email": "ada@example.com"}
    )
    assert response.status_code == 200
    assert Booking.objects.filter(coach=coach, status=Booking.Status.CONFIRMED).count() == 1
    assert "Rate limit cache unavailable" in caplog.text  # Redis really was asked, and failed


def test_database_outage_gives_a_clean_503_page(coach):
    """A database that drops mid-request answers 'try again' (503), not a 500 stack trace."""

    def database_gone(execute, sql, params, many, context):
        # What the driver raises when PostgreSQL restarts under a live connection.
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(database_gone):
        response = Client(raise_request_exception=False).get(f"/book/coach/{coach.slug}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert b"Nothing was booked or charged" in response.content
