"""Two web processes, one truth: README "Deploy (production)" → "Scaling".

Two gunicorn servers with production settings on different ports share the test's PostgreSQL
database, one Redis database and one S3 bucket (moto's S3 server), and nothing else, as two web
machines behind a load balancer would. Whatever a guest or the owner does through one is what the
other shows at once: bookings, free times, rate-limit counts and uploaded images.
"""

import io
import itertools
import os
import re
import secrets
import subprocess
import sys
import uuid
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import redis
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone
from PIL import Image as PILImage
from wagtail.images.models import Image

from coaching.models import Booking, Coach
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory
from coaching.tests.standins.processes import ROOT, database_url, web_processes
from coaching.tests.standins.redis_dbs import redis_test_url
from coaching.tests.standins.s3 import BUCKET, S3Server
from config.settings.object_storage import CACHE_CONTROL
from pages.models import CoachPage
from pages.tests.tree import coach_index_page

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A Redis database of this test process that the Celery tests (slot 0) never use: standins/redis_dbs.py.
REDIS_URL = redis_test_url(slot=2)
BOOKING_POST_RATE = "4/d"
PASSWORD = "correct-horse-battery"
SLOT_RE = re.compile(r'data-start="([0-9TZ:\-]+)"')
PHOTO_COLOUR = (200, 30, 90)
APPLICATION_NAME = "two-web-processes"


@pytest.fixture(scope="module")
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS_URL} (the shared rate-limit cache and broker): {exc}")
    client.flushdb()  # counters left by an earlier run today would refuse the first request
    yield client
    client.flushdb()  # the booking emails queued for a worker that never came
    client.close()


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


@pytest.fixture(scope="module")
def two_web_processes(django_db_setup, shared_redis, s3, tmp_path_factory):
    """Two production web processes on this test database, one Redis database and one bucket."""
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # Named, so the connection count below sees only these processes' connections.
        "DATABASE_URL": f"{database_url()}?application_name={APPLICATION_NAME}",
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": f"two-web-processes-{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STRIPE_TEST_CHECKOUT": "true",
        "RATELIMIT_ENABLED": "true",
        # Each test plays guests from its own addresses, as the proxy in front would report them.
        "RATELIMIT_TRUST_FORWARDED_FOR": "true",
        "BOOKING_POST_RATE": BOOKING_POST_RATE,
        "LOG_LEVEL": "WARNING",
        **s3.environment(),
    }
    # Production serves hashed static files from STATIC_ROOT's manifest, as the Docker image does.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **environment},
        check=True,
        capture_output=True,
        timeout=300,
    )
    log = tmp_path_factory.mktemp("gunicorn") / "two-web-processes.log"
    with web_processes(2, environment=environment, log_to=log) as urls:
        yield urls


GUEST_ADDRESSES = (f"198.51.100.{n}" for n in itertools.count(1))


def guest_address() -> str:
    """A new guest's address: the rate-limit counts in Redis start empty for this module."""
    return next(GUEST_ADDRESSES)


class Visitor:
    """A browser without JavaScript: keeps cookies across both processes (one site, one domain) and
    sends the CSRF token with every POST."""

    def __init__(self, address: str | None = None):
        self.session = requests.Session()
        if address:
            self.session.headers["X-Forwarded-For"] = address

    def get(self, url: str, **kwargs) -> requests.Response:
        return self._kept(self.session.get(url, timeout=30, **kwargs))

    def post(self, url: str, data: dict | list, **kwargs) -> requests.Response:
        token = self.session.cookies.get("csrftoken", "")
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        response = self.session.post(
            url, data=[*fields, ("csrfmiddlewaretoken", token)], allow_redirects=False, timeout=30, **kwargs
        )
        return self._kept(response)

    def _kept(self, response: requests.Response) -> requests.Response:
        # Production marks its cookies Secure; the TLS proxy is not in this test, so send them anyway.
        for cookie in self.session.cookies:
            cookie.secure = False
        return response


def bookable_coach() -> tuple[Coach, str]:
    """A free coach with a morning of availability the day after tomorrow (real time: the servers'
    clocks cannot be time-travelled)."""
    coach = CoachFactory(name="Grace Hopper")
    day = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    AvailabilityBlockFactory(coach=coach, start_at=day, end_at=day + timedelta(hours=3))
    return coach, day.date().isoformat()


def offered_starts(visitor: Visitor, base_url: str, coach: Coach, day: str) -> list[str]:
    response = visitor.get(f"{base_url}/book/coach/{coach.slug}/day/{day}/")
    assert response.status_code == 200
    return SLOT_RE.findall(response.text)


def month_says(visitor: Visitor, base_url: str, coach: Coach, day: str) -> str:
    """What the month grid tells a screen reader about `day` ("Friday 28 November: 3 times available")."""
    response = visitor.get(f"{base_url}/book/coach/{coach.slug}/?month={day[:7]}")
    assert response.status_code == 200
    label = date.fromisoformat(day).strftime("%A %-d %B")
    (said,) = re.findall(rf'<span class="sr-only">\s*{label}: ([^<]*?)\s*</span>', response.text)
    return " ".join(said.split())


def book(visitor: Visitor, base_url: str, coach: Coach, start: str, name: str) -> requests.Response:
    slot_url = f"{base_url}/book/coach/{coach.slug}/slot/?start={quote(start)}"
    visitor.get(slot_url)  # the form (and the CSRF cookie)
    return visitor.post(slot_url, {"name": name, "email": f"{name.split()[0].lower()}@guest.example"})


def test_a_time_booked_through_one_web_process_is_taken_at_once_on_the_other(two_web_processes):
    first, second = two_web_processes
    coach, day = bookable_coach()
    ada, grace = Visitor(guest_address()), Visitor(guest_address())
    # The other process has shown this day before (anything it kept from that showing would be stale).
    offered = offered_starts(grace, second, coach, day)
    assert offered == offered_starts(ada, first, coach, day) and len(offered) == 3
    assert month_says(grace, second, coach, day) == "3 times available"
    start = offered[0]

    booked = book(ada, first, coach, start, "Ada Lovelace")
    assert booked.status_code == 200
    (booking,) = Booking.objects.filter(coach=coach)
    assert booking.guest_name == "Ada Lovelace" and booking.status == Booking.Status.CONFIRMED
    assert f"Your reference is {booking.reference}" in booked.text

    refused = book(grace, second, coach, start, "Grace Brewster")
    assert refused.status_code == 409
    assert "just taken" in refused.text
    assert start not in offered_starts(grace, second, coach, day)
    assert offered_starts(grace, second, coach, day) == offered[1:]
    assert month_says(grace, second, coach, day) == "2 times available"
    assert list(Booking.objects.filter(coach=coach)) == [booking]


def test_rate_limits_count_the_requests_made_through_both_web_processes(two_web_processes):
    first, second = two_web_processes
    coach, day = bookable_coach()
    guest = Visitor(guest_address())
    slot_url = f"/book/coach/{coach.slug}/slot/?start={quote(offered_starts(guest, first, coach, day)[0])}"
    guest.get(first + slot_url)
    limit = int(BOOKING_POST_RATE.split("/")[0])

    # An empty form is refused (422), but every attempt counts: first, second, first, second…
    statuses = [guest.post((first, second)[n % 2] + slot_url, {"name": ""}).status_code for n in range(limit)]
    assert statuses == [422] * limit
    refused = guest.post(first + slot_url, {"name": ""})
    assert refused.status_code == 429
    assert guest.post(second + slot_url, {"name": ""}).status_code == 429
    # Another guest (another address) is not held back by this one.
    other_guest = Visitor(guest_address())
    other_guest.get(second + slot_url)
    assert other_guest.post(second + slot_url, {"name": ""}).status_code == 422


class FormFields(HTMLParser):
    """The fields a browser without JavaScript submits from each form of a page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._select: list | None = None
        self._textarea: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "form":
            self.forms.append([])
        elif not self.forms:
            return
        elif tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.forms[-1].append((name, attributes.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = [name, None, None]
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            self._select[2] = value if self._select[2] is None else self._select[2]
            if "selected" in attributes:
                self._select[1] = value
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            name, chosen, first = self._select
            self.forms[-1].append((name, chosen if chosen is not None else (first or "")))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.forms[-1].append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None


def edit_form(visitor: Visitor, url: str, **changes) -> requests.Response:
    """Open an admin form, change some fields and submit it, as the owner would."""
    page = visitor.get(url)
    assert page.status_code == 200, page.status_code
    (fields,) = [form for form in FormFields(page.text).forms if any(name == "csrfmiddlewaretoken" for name, _ in form)]
    data = [(name, value) for name, value in fields if name not in changes and name != "csrfmiddlewaretoken"]
    return visitor.post(url, data + list(changes.items()))


def photo_png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (400, 300), PHOTO_COLOUR).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_coach_photo_uploaded_through_one_web_process_shows_on_the_other_from_object_storage(
    two_web_processes, s3, django_user_model
):
    """Upload in the Wagtail admin, choose it on the Coach, publish a coach page — all through one
    process; the other renders the page, making the rendition from the original in the bucket."""
    first, second = two_web_processes
    coach, _ = bookable_coach()
    index = coach_index_page()
    # Hashed as production checks it (the test settings' fast hasher is not one production knows).
    password = PBKDF2PasswordHasher().encode(PASSWORD, "two-web-salt", iterations=1000)
    django_user_model.objects.create_superuser("owner", "owner@example.com", password=None)
    django_user_model.objects.filter(username="owner").update(password=password)
    owner = Visitor()
    owner.get(f"{first}/admin/login/")
    signed_in = owner.post(f"{first}/admin/login/", {"username": "owner", "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.text[:500]

    original = photo_png()
    owner.get(f"{first}/admin/images/add/")
    uploaded = owner.post(
        f"{first}/admin/images/add/", {"title": "Grace"}, files={"file": ("grace.png", original, "image/png")}
    )
    assert uploaded.status_code == 302, uploaded.text[:500]
    image = Image.objects.get(title="Grace")
    assert s3.object_bytes(image.file.name) == original  # in the bucket, not on the process's disk

    chosen = edit_form(owner, f"{first}/admin/snippets/coaching/coach/edit/{coach.pk}/", photo=str(image.pk))
    assert chosen.status_code == 302
    published = edit_form(
        owner,
        f"{first}/admin/pages/add/pages/coachpage/{index.pk}/",
        title="Grace Hopper",
        slug="grace-hopper",
        coach=str(coach.pk),
        **{"body-count": "0", "action-publish": "action-publish"},
    )
    assert published.status_code == 302
    assert CoachPage.objects.live().filter(slug="grace-hopper", coach=coach).exists()

    page = requests.get(f"{second}/coaches/grace-hopper/", timeout=30)
    assert page.status_code == 200
    (rendition_url,) = re.findall(r'<img[^>]+src="([^"]+fill-240x240[^"]*)"', page.text)
    assert rendition_url.startswith(f"{s3.endpoint_url}/{BUCKET}/images/")

    # A plain HTTP client, as a browser would: straight from the bucket, no web process involved.
    served = requests.get(rendition_url, timeout=30)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Cache-Control"] == CACHE_CONTROL
    key = rendition_url.removeprefix(f"{s3.endpoint_url}/{BUCKET}/")
    assert served.content == s3.object_bytes(key)
    rendition = PILImage.open(io.BytesIO(served.content))
    assert rendition.size == (240, 240)
    assert rendition.convert("RGB").getpixel((120, 120)) == PHOTO_COLOUR
    # The first process shows the same rendition: one row, one file, whichever process made it.
    assert rendition_url in requests.get(f"{first}/coaches/grace-hopper/", timeout=30).text
    assert [name for name in s3.keys("images/") if "fill-240x240" in name] == [key]


def test_each_web_process_worker_holds_at_most_one_database_connection(two_web_processes):
    """README "Sizing": connections = gunicorn workers × web processes (+ Celery workers)."""
    for url in two_web_processes:
        for _ in range(5):
            assert requests.get(f"{url}/healthz", timeout=30).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APPLICATION_NAME],
        )
        (held,) = cursor.fetchone()
    # Two processes of one worker each: one connection each, kept open between requests.
    assert held == 2


def kept_starts(visitor: Visitor, base_url: str, coach: Coach, day: str) -> list[str]:
    """The day's times as a web process shows them, once drawn and once from what it kept."""
    drawn = offered_starts(visitor, base_url, coach, day)
    response = visitor.get(f"{base_url}/book/coach/{coach.slug}/day/{day}/")
    assert response.headers["X-Page-Cache"] == "hit"
    assert SLOT_RE.findall(response.text) == drawn
    return drawn


def test_every_change_made_elsewhere_shows_at_once_through_both_web_processes(two_web_processes, settings, monkeypatch):
    """README "Measured" → `make benchweb`: what the web processes keep (months, regions, whole
    pages, in Redis) is never shown after a change made by another process — here this test's
    own, as a Celery worker or the admin would make it — has committed."""
    from datetime import datetime

    from googleapiclient.http import HttpMockSequence

    from coaching.integrations import google
    from coaching.models import WeeklyHours
    from coaching.policy import get_policy
    from coaching.services import cancel_booking, create_booking, expire_holds, google_sync, reschedule_booking
    from coaching.tests.factories import BookingFactory, GuestFactory
    from coaching.tests.standins.google import connected_coach, freebusy_answer

    # This process (the "worker") replaces versions in the Redis the web processes read.
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    settings.CACHES = {**settings.CACHES, "schedule": redis_cache}
    coach, day = bookable_coach()
    guest = Visitor(guest_address())

    def everywhere() -> list[str]:
        seen = [kept_starts(guest, url, coach, day) for url in two_web_processes]
        assert seen[0] == seen[1]
        return seen[0]

    nine, ten, eleven = offered = everywhere()
    at = {start: datetime.fromisoformat(start.replace("Z", "+00:00")) for start in offered}

    booking = create_booking(guest=GuestFactory(), coach=coach, start_at=at[nine], actor="guest").booking
    assert everywhere() == [ten, eleven]
    reschedule_booking(booking=booking, new_start_at=at[eleven], actor="owner")
    assert everywhere() == [nine, ten]
    cancel_booking(booking=booking, actor="owner")
    assert everywhere() == offered

    BookingFactory(coach=coach, start_at=at[ten], held=True, hold_expires_at=timezone.now() + timedelta(minutes=15))
    assert everywhere() == [nine, eleven]
    assert expire_holds(now=timezone.now() + timedelta(minutes=16)) == 1
    assert everywhere() == offered

    # Connected to Google only now: the bookings above pushed nothing.
    connected = connected_coach(slug="connection-template")
    for field in ("google_status", "google_credentials", "google_calendar_id", "google_busy_calendar_ids"):
        setattr(coach, field, getattr(connected, field))
    coach.save()
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "client-id.apps.googleusercontent.com", "secret"
    busy = (at[eleven].isoformat(), (at[eleven] + timedelta(minutes=30)).isoformat())
    answers = HttpMockSequence([freebusy_answer(busy)] + [freebusy_answer()] * 8)  # a year: 60-day pieces
    monkeypatch.setattr(google, "http_factory", lambda: answers)
    assert google_sync.pull_busy_times(coach=coach) == 1
    assert everywhere() == [nine, ten]

    local = at[nine].astimezone(coach.zone)
    WeeklyHours.objects.create(
        coach=coach,
        weekday=local.weekday(),
        start_time=local.replace(hour=15).time(),
        end_time=local.replace(hour=16).time(),
    )
    assert len(everywhere()) == 3

    coach_index_page()  # the default site, which a transactional test before this one may have emptied
    policy = get_policy()
    policy.waitlist_offer_minutes += 1
    policy.save()
    page = f"/book/coach/{coach.slug}/day/{day}/"
    assert [guest.get(url + page).headers["X-Page-Cache"] for url in two_web_processes] == ["miss", "miss"]
