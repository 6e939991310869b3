"""Guests choose a session type: cards on the coach's calendar, each type its own URL (no
JavaScript needed, deep-linkable), its calendar stepping by its own length, its questions in the
form with inline errors; a forged POST naming another coach's type or an inactive one is refused
with nothing written. The answers and the meeting place reach the manage page and the CSV export."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from coaching.intake import answer_key
from coaching.links import manage_url
from coaching.models import Booking, IntakeQuestion, LocationKind
from coaching.services import payment
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory, SessionTypeFactory
from coaching.tests.http import HTMX

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


def at(hour, minute=0):
    return MONDAY.replace(hour=hour, minute=minute)


@pytest.fixture
def coach():
    coach = CoachFactory(name="Amara Okafor", slug="amara", timezone="Europe/London", default_session_type=None)
    AvailabilityBlockFactory(coach=coach, start_at=at(9), end_at=at(12))
    return coach


@pytest.fixture
def intro(coach):
    return SessionTypeFactory(
        title="Intro call", slug="intro", duration_minutes=20, buffer_minutes=10, coaches=coach, sort_order=0
    )


@pytest.fixture
def deep_dive(coach):
    deep_dive = SessionTypeFactory(
        title="Deep dive",
        slug="deep-dive",
        description="Ninety minutes on one question.",
        duration_minutes=90,
        price_amount=0,
        coaches=coach,
        sort_order=1,
        location_kind=LocationKind.IN_PERSON,
        location_detail="12 Clerkenwell Road, London",
    )
    deep_dive.questions.add(IntakeQuestion(label="What shall we cover?", kind="short_text", required=True))
    deep_dive.save()
    return deep_dive


@pytest.fixture
def london():
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    return client


def calendar_url(coach, **query):
    url = reverse("coaching:coach_calendar", args=[coach.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def slot_url(coach, start, session_type=None):
    url = reverse("coaching:coach_slot", args=[coach.slug]) + "?start=" + start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return url + (f"&type={session_type.slug}" if session_type else "")


def test_the_calendar_shows_a_card_per_type_linking_to_its_own_url(coach, intro, deep_dive, london):
    html = london.get(calendar_url(coach, month="2030-01")).content.decode()
    assert html.count("data-session-type=") == 2
    assert 'href="/book/coach/amara/?type=deep-dive"' in html  # a plain link: works without JavaScript
    assert "Ninety minutes on one question." in html and "90 min · Free" in html
    assert 'aria-current="true" data-session-type="intro"' in html  # the first type is chosen


def test_a_deep_link_opens_that_types_calendar_stepping_by_its_length(coach, intro, deep_dive, london):
    day = london.get(calendar_url(coach, day="2030-01-07", type="deep-dive")).content.decode()
    assert "90 minutes each" in day and 'aria-current="true" data-session-type="deep-dive"' in day
    # 09:00 and 10:30 (steps of 90 in 09:00–12:00); every time's link carries the type.
    assert "start=2030-01-07T09%3A00%3A00Z" in day and "start=2030-01-07T10%3A30%3A00Z" in day
    assert "start=2030-01-07T10%3A00%3A00Z" not in day and "slot/?type=deep-dive&amp;start=" in day
    intro_day = london.get(calendar_url(coach, day="2030-01-07")).content.decode()
    assert "20 minutes each" in intro_day and "type=" not in intro_day.split("data-day-slots")[1].split("</section>")[0]
    assert "start=2030-01-07T09%3A30%3A00Z" in intro_day  # 20 + 10 buffer


def test_an_unknown_type_in_a_book_url_is_a_404(coach, intro, london):
    assert london.get(calendar_url(coach, type="nope")).status_code == 404


def test_the_form_asks_the_types_questions_and_refuses_a_missing_answer_inline(coach, deep_dive, london):
    key = answer_key(deep_dive.questions.get())
    form = london.get(slot_url(coach, at(9), deep_dive)).content.decode()
    assert "What shall we cover?" in form and f'name="{key}"' in form
    response = london.post(slot_url(coach, at(9), deep_dive), {"name": "Jo", "email": "jo@example.com"}, **HTMX)
    assert response.status_code == 422
    assert f'data-field-error="{key}"' in response.content.decode()
    assert not Booking.objects.exists()

    response = london.post(
        slot_url(coach, at(9), deep_dive), {"name": "Jo", "email": "jo@example.com", key: "My CV"}, **HTMX
    )
    assert response.status_code == 200
    booking = Booking.objects.get()
    assert (booking.session_type, booking.session_minutes, booking.end_at) == (deep_dive, 90, at(10, 30))
    assert booking.intake_answers[0]["answer"] == "My CV"
    assert "12 Clerkenwell Road, London" in response.content.decode()  # the confirmation says where


def test_a_forged_post_with_another_coachs_type_or_an_inactive_type_writes_nothing(coach, intro, london):
    other = CoachFactory(slug="other")
    theirs = other.default_session_type()
    response = london.post(slot_url(coach, at(9), theirs), {"name": "Jo", "email": "jo@example.com"})
    assert response.status_code == 404
    intro.is_active = False
    intro.save()
    response = london.post(slot_url(coach, at(9), intro), {"name": "Jo", "email": "jo@example.com"})
    assert response.status_code == 404
    assert not Booking.objects.exists()


def test_the_manage_page_and_the_csv_export_show_the_answers_and_the_place(coach, deep_dive, london, admin_client):
    key = answer_key(deep_dive.questions.get())
    london.post(slot_url(coach, at(9), deep_dive), {"name": "Jo", "email": "jo@example.com", key: "My CV"})
    booking = Booking.objects.get()
    page = london.get(manage_url(booking)).content.decode()
    assert "What shall we cover?" in page and "My CV" in page and "12 Clerkenwell Road, London" in page

    response = admin_client.get(reverse("coaching_booking_modeladmin_index") + "?export=csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    (row,) = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    assert row["Answers"] == "What shall we cover?: My CV"
    assert row["Where"] == "12 Clerkenwell Road, London"
    assert row["What"] == "Deep dive with Amara Okafor"
    inspect = admin_client.get(reverse("coaching_booking_modeladmin_inspect", args=[booking.pk])).content.decode()
    assert "My CV" in inspect and "12 Clerkenwell Road, London" in inspect


def test_back_from_the_checkout_returns_to_the_same_types_calendar_and_time(coach, intro, deep_dive, london):
    deep_dive.price_amount = 9000
    deep_dive.save()
    key = answer_key(deep_dive.questions.get())
    response = london.post(slot_url(coach, at(9), deep_dive), {"name": "Jo", "email": "jo@example.com", key: "CV"})
    assert response.status_code == 303
    booking = Booking.objects.get()
    back = london.get(payment.cancel_url(booking).removeprefix(settings.SITE_URL))
    assert back["Location"] == "/book/coach/amara/?start=2030-01-07T09%3A00%3A00Z&type=deep-dive"
    page = london.get(back["Location"]).content.decode()
    assert "Payment cancelled" in page and 'value="Jo"' in page and "What shall we cover?" in page
