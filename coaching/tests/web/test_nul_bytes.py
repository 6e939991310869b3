"""A NUL character anywhere in a request is a clear 400 and writes nothing — on PostgreSQL too.

PostgreSQL text cannot hold NUL, so a value carrying one that reached a query raised DataError (a
500) — `GET /bookings/checkout/return/?session_id=%00` did, and so did the test checkout, the session
cookie and Wagtail's page routing. SQLite accepts NUL, which hid it. Every guest URL is tried here
with NUL in each path part, query parameter, form field, cookie and header.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.http import urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coaching.links import make_manage_token
from coaching.models import Booking, BookingLog, Notification, ProcessedStripeEvent
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory, WorkshopFactory
from coaching.web import urls as guest_urls

pytestmark = pytest.mark.django_db
NUL = "\x00"
FORM = {
    "name": "Jo Guest",
    "email": "jo@example.com",
    "phone": "",
    "notes": "",
    "seats": "1",
    "timezone": "Europe/London",
}


@pytest.fixture
def world(settings):
    settings.STRIPE_TEST_CHECKOUT = True
    coach = CoachFactory(slug="nul-coach", min_notice_minutes=0)
    start = (timezone.now() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    AvailabilityBlockFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=8))
    workshop = WorkshopFactory(slug="nul-workshop", capacity=5)
    booking = BookingFactory(coach=coach, start_at=start + timedelta(days=1), end_at=start + timedelta(days=1, hours=1))
    return {
        "slug": coach.slug,
        "day": start.date().isoformat(),
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "workshop": workshop.slug,
        "token": make_manage_token(booking),
        "reference": booking.reference,
        "session_id": "cs_test_local_abc",
    }


def guest_routes():
    """Every named guest URL with the names of its path arguments."""
    for pattern in guest_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        yield pattern.name, list(pattern.pattern.converters)


ROUTE_ARGS = {"slug": "slug", "day": "day", "token": "token", "reference": "reference", "session_id": "session_id"}


def url_for(name, arg_names, world, poison: str | None = None):
    args = []
    for arg in arg_names:
        value = world["workshop"] if (name == "workshop_book" and arg == "slug") else world[ROUTE_ARGS[arg]]
        args.append(value + NUL if arg == poison else value)
    if poison is None:
        return reverse(f"coaching:{name}", args=args)
    # reverse() refuses NUL for some converters: build the path from the clean one.
    clean = reverse(f"coaching:{name}", args=[a.replace(NUL, "") for a in args])
    index = arg_names.index(poison)
    clean_value = args[index].replace(NUL, "")
    return clean.replace(clean_value, clean_value + "%00", 1)


def snapshot():
    return (
        Booking.objects.count(),
        BookingLog.objects.count(),
        Notification.objects.count(),
        ProcessedStripeEvent.objects.count(),
        list(Booking.objects.values_list("status", "start_at")),
    )


def assert_refused(response):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert b"NUL" in response.content


CASES = []
for route_name, route_args in guest_routes():
    for where in ["query", "form", "cookie", "session_cookie", "header", *[f"path:{a}" for a in route_args]]:
        CASES.append((route_name, tuple(route_args), where))


@pytest.mark.parametrize(("name", "arg_names", "where"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_nul_anywhere_in_a_guest_request_is_a_400_that_writes_nothing(world, name, arg_names, where):
    before = snapshot()
    client = Client()
    poison = where.split(":", 1)[1] if where.startswith("path:") else None
    url = url_for(name, list(arg_names), world, poison=poison)
    query = {"month": "2030-01", "start": world["start"], "session_id": world["session_id"], "booking": "x", "t": "x"}
    headers = {"HTTP_HX_REQUEST": "true"}
    if where == "query":
        query = {key: value + NUL for key, value in query.items()}
    if where == "cookie":
        client.cookies["USER_TIMEZONE"] = "Europe/London" + NUL
    if where == "session_cookie":
        client.cookies["sessionid"] = "abc" + NUL
    if where == "header":
        headers["HTTP_HX_CURRENT_URL"] = "http://testserver/" + NUL
    form = {key: value + NUL for key, value in FORM.items()} if where == "form" else FORM
    get = client.get(url, query, **headers)
    post = client.post(f"{url}?{urlencode(query)}", form, **headers)
    if where == "form":
        assert_refused(post)
        assert get.status_code < 500
    else:
        assert_refused(get)
        assert_refused(post)
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/coaches/%00/", "/%00", "/admin/login/?next=/admin/%00", "/documents/%00/x.pdf"])
def test_nul_in_a_page_path_or_the_admin_is_a_400(path):
    response = Client().get(path)
    assert_refused(response)


def test_the_stripe_webhook_body_is_not_a_form_and_is_left_to_the_event_checks(world):
    response = Client().post("/stripe/webhook/", data='{"id": "evt_\\u0000"}', content_type="application/json")
    assert response.status_code == 400  # unsigned: refused by the signature check, not a 500
    assert ProcessedStripeEvent.objects.count() == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(min_size=1, max_size=20).map(lambda t: t[: len(t) // 2] + NUL + t[len(t) // 2 :]),
    field=st.sampled_from(["name", "email", "phone", "notes", "seats", "timezone", "next", "csrfmiddlewaretoken"]),
    route=st.sampled_from(["coach_slot", "workshop_book", "lost_link", "set_timezone", "manage_cancel"]),
)
def test_fuzzed_form_values_with_nul_are_refused_on_every_form(world, text, field, route):
    args = {
        "coach_slot": [world["slug"]],
        "workshop_book": [world["workshop"]],
        "lost_link": [],
        "set_timezone": [],
        "manage_cancel": [world["token"]],
    }[route]
    before = snapshot()
    response = Client().post(reverse(f"coaching:{route}", args=args), {**FORM, field: text})
    assert_refused(response)
    assert snapshot() == before
