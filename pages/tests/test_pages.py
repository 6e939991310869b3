"""Wagtail pages that sell sessions: coach and workshop pages, their indexes, the calendar block."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from wagtail.blocks import StructBlockValidationError

from coaching.models import Coach, Workshop
from pages.blocks import BaseStreamBlock, BookingCalendarBlock
from pages.models import CoachIndexPage, CoachPage, HomePage, StandardPage, WorkshopIndexPage, WorkshopPage

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture
def client():
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    return client


def test_seed_creates_one_page_per_coach_and_workshop_under_their_indexes(seeded):
    coach_index = CoachIndexPage.objects.get()
    workshop_index = WorkshopIndexPage.objects.get()
    assert {page.coach for page in CoachPage.objects.child_of(coach_index)} == set(Coach.objects.all())
    assert {page.workshop for page in WorkshopPage.objects.child_of(workshop_index)} == set(Workshop.objects.all())
    assert any(block.block_type == "booking_calendar" for block in HomePage.objects.get().body)


def test_coach_index_lists_every_coach_with_price_and_length(seeded, client):
    html = client.get("/coaches/").content.decode()
    for coach in Coach.objects.all():
        assert coach.name in html
    assert "60 min · Free" in html
    assert "45 min · $90.00" in html or "45 min · US$90.00" in html


def test_coach_page_shows_profile_and_live_calendar(seeded, client):
    response = client.get("/coaches/amara-okafor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fifteen years in recruitment" in html
    assert "60-minute sessions" in html and "Free" in html
    assert 'id="calendar"' in html and 'id="day-slots"' in html and 'id="slide-over"' in html
    assert 'hx-get="/book/coach/amara-okafor/?month=' in html


def test_coach_page_runs_a_bounded_number_of_queries(seeded, client, django_assert_max_num_queries):
    client.get("/coaches/amara-okafor/")  # warm Wagtail's site/root caches
    with django_assert_max_num_queries(25):
        assert client.get("/coaches/amara-okafor/").status_code == 200


def test_workshop_page_shows_date_host_seats_price_and_the_seat_form(seeded, client):
    response = client.get("/workshops/deep-work-sprint/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Yuki Tanaka" in html
    assert "1 of 8" in html  # seeded nearly full: 7 of 8 taken
    assert "Book a seat" in html and 'name="seats"' in html
    assert 'hx-post="/book/workshop/deep-work-sprint/"' in html
    assert "(Europe/London, " in html  # the date says its zone


def test_workshop_index_shows_the_all_workshops_calendar(seeded, client):
    html = client.get("/workshops/").content.decode()
    assert 'id="calendar"' in html
    assert "Career Clarity Lab" in html


def test_home_page_renders_its_booking_calendar_block(seeded, client):
    html = client.get("/").content.decode()
    assert "Book a free session with Amara Okafor" in html
    assert 'id="calendar"' in html


def test_page_tree_rules_keep_coach_and_workshop_pages_under_their_indexes():
    assert CoachPage.parent_page_types == ["pages.CoachIndexPage"]
    assert CoachPage.allowed_subpage_models() == []
    assert WorkshopPage.allowed_parent_page_models() == [WorkshopIndexPage]
    assert CoachIndexPage.allowed_subpage_models() == [CoachPage]
    assert WorkshopIndexPage.allowed_subpage_models() == [WorkshopPage]
    assert CoachPage not in StandardPage.allowed_subpage_models()
    assert CoachIndexPage.allowed_parent_page_models() == [HomePage]


def test_calendar_block_for_a_coach_needs_the_coach():
    block = BookingCalendarBlock()
    with pytest.raises(StructBlockValidationError) as error:
        block.clean(block.to_python({"heading": "Book", "show": "coach", "coach": None}))
    assert "coach" in error.value.block_errors
    assert isinstance(error.value.block_errors["coach"], ValidationError)


def test_calendar_block_is_offered_in_every_page_body():
    assert isinstance(BaseStreamBlock().child_blocks["booking_calendar"], BookingCalendarBlock)
    meta = BookingCalendarBlock._meta_class
    assert meta.icon and meta.template and meta.preview_value and meta.description


def test_calendar_block_preview_renders_in_the_editor(seeded, admin_client):
    block = HomePage.body.field.stream_block.child_blocks["booking_calendar"]
    response = admin_client.get(reverse("wagtailadmin_block_preview"), {"id": block.definition_prefix})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Book a seat in a workshop" in html
    assert 'id="calendar"' in html
    assert "css/site.css" in html
