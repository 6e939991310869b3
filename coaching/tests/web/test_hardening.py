"""Hostile and malformed input: a clear 4xx, never a 500, and nothing written.

Every guest-facing parameter (slugs, months, days, ISO starts, seats, emails, time-zone cookies,
HTMX headers) is fuzzed with hypothesis through the real URLs.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coaching.models import Booking, ProcessedStripeEvent
from coaching.tests.factories import BookingFactory, CoachFactory, WorkshopFactory, open_hours
from coaching.tests.http import HTMX

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

junk = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "9999-12",
            "0000-01",
            "2026-13",
            "2026-00",
            "99999-01",
            "2026-1-1",
            "1e9",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "../../etc/passwd",
            "<script>alert(1)</script>",
            "'; DROP TABLE coaching_booking; --",
            "\x00",
            "%00",
            "2026-11-26T25:00:00Z",
            "2026-11-26T10:00:00",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-12:00",
            "NaN",
        ]
    ),
)


@pytest.fixture
def coach():
    coach = CoachFactory(slug="fuzz-coach", timezone="Europe/London", min_notice_minutes=0)
    open_hours(coach, days_ahead=3, hours=8)
    return coach


@pytest.fixture
def workshop():
    return WorkshopFactory(slug="fuzz-workshop", capacity=5)


def assert_refused_cleanly(response, *, allowed=(200,)):
    assert response.status_code < 500, response.content[:500]
    assert response.status_code in allowed or 400 <= response.status_code < 500


@FUZZ
@given(month=junk, htmx=st.booleans())
def test_calendar_month_parameter(coach, month, htmx):
    headers = HTMX if htmx else {}
    response = Client().get(f"/book/coach/{coach.slug}/", {"month": month}, **headers)
    assert_refused_cleanly(response)
    response = Client().get("/book/workshops/", {"month": month}, **headers)
    assert_refused_cleanly(response)


@FUZZ
@given(day=junk)
def test_day_parameter(coach, day):
    safe = day.replace("/", "-").replace("\x00", "") or "x"
    response = Client().get(f"/book/coach/{coach.slug}/day/{safe}/")
    # A path that no longer ends in a slash after decoding may be redirected (APPEND_SLASH): fine too.
    assert_refused_cleanly(response, allowed=(200, 301, 404))


@FUZZ
@given(start=junk, name=st.text(max_size=200), email=st.text(max_size=80), htmx=st.booleans())
def test_booking_post_with_junk_writes_nothing(coach, start, name, email, htmx):
    before = Booking.objects.count()
    headers = HTMX if htmx else {}
    response = Client().post(f"/book/coach/{coach.slug}/slot/?start={start}", {"name": name, "email": email}, **headers)
    assert_refused_cleanly(response, allowed=())
    assert Booking.objects.count() == before


@FUZZ
@given(seats=junk, email=st.emails() | st.text(max_size=30))
def test_workshop_seats_and_email(workshop, seats, email):
    before = Booking.objects.count()
    response = Client().post(f"/book/workshop/{workshop.slug}/", {"seats": seats, "name": "Fuzz", "email": email})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert Booking.objects.count() == before
    else:
        assert Booking.objects.filter(workshop=workshop).count() <= before + 1


cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=';,"\\'), max_size=64
)


@FUZZ
@given(zone=junk.filter(lambda z: z.isascii() and z.isprintable()) | cookie_text)
def test_timezone_cookie_never_breaks_a_page(coach, zone):
    # What an HTTP client can put in a cookie header: printable ASCII (the test client refuses the rest).
    client = Client()
    client.cookies["USER_TIMEZONE"] = zone.replace(";", "").replace(",", "")
    response = client.get(f"/book/coach/{coach.slug}/")
    assert response.status_code == 200


@FUZZ
@given(
    slug=st.text(
        min_size=1, max_size=30, alphabet=st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="-")
    )
)
def test_unknown_slugs_are_404_not_500(slug):
    for path in (f"/book/coach/{slug}/", f"/book/workshop/{slug}/"):
        response = Client().get(path)
        assert response.status_code == 404 or response.status_code == 200


def test_csrf_is_enforced_on_booking_posts(coach):
    client = Client(enforce_csrf_checks=True)
    slot = coach.availability.first().start_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    response = client.post(f"/book/coach/{coach.slug}/slot/?start={slot}", {"name": "A", "email": "a@example.com"})
    assert response.status_code == 403
    assert Booking.objects.count() == 0


def test_stripe_webhook_is_csrf_exempt_but_signature_checked():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/stripe/webhook/",
        data=b'{"id": "evt_x", "type": "checkout.session.completed"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert ProcessedStripeEvent.objects.count() == 0


def test_admin_requires_login():
    for path in ("/admin/", "/admin/snippets/", "/admin/pages/"):
        response = Client().get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_guest_cannot_fetch_another_guests_calendar_file_by_changing_the_reference():
    mine, theirs = BookingFactory(), BookingFactory(start_at=timezone.now() + timedelta(days=9))
    response = Client().get(reverse("coaching:booking_ics", args=[theirs.reference]), {"t": "forged"})
    assert response.status_code in (403, 404)
    assert theirs.guest_email.encode() not in response.content
    assert mine.reference not in response.content.decode()


def test_error_pages_do_not_leak_settings(client, settings):
    settings.DEBUG = False
    response = client.get("/definitely-not-a-page/")
    assert response.status_code == 404
    body = response.content.decode()
    for secret in (settings.SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET):
        assert secret not in body


def test_rate_limit_answers_429_on_booking_posts(coach, settings):
    settings.RATELIMIT_ENABLED = True
    settings.BOOKING_POST_RATE = "3/m"
    from django.core.cache import caches

    caches["ratelimit"].clear()
    client = Client()
    statuses = [
        client.post(f"/book/coach/{coach.slug}/slot/?start=bad", {"name": "A", "email": "a@example.com"}).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429]


def test_behind_a_proxy_a_forged_forwarded_for_does_not_dodge_the_rate_limit(coach, settings):
    # The proxy appends the address it saw; whatever the client put before it is theirs to invent.
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMIT_TRUST_FORWARDED_FOR = True
    settings.BOOKING_POST_RATE = "2/m"
    from django.core.cache import caches

    caches["ratelimit"].clear()
    client = Client()
    statuses = [
        client.post(
            f"/book/coach/{coach.slug}/slot/?start=bad",
            {"name": "A", "email": "a@example.com"},
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7",
        ).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 429, 429]
