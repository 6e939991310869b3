"""Wagtail pages that sell sessions: coach and workshop pages, their indexes, the calendar block, and the
testimonial and FAQ blocks that show the editorial snippets."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.blocks import StructBlockValidationError

from coaching.models import Coach, Workshop
from pages.blocks import BaseStreamBlock, BookingCalendarBlock, FAQBlock, TestimonialBlock
from pages.models import CoachIndexPage, CoachPage, HomePage, StandardPage, WorkshopIndexPage, WorkshopPage
from snippets.models import FAQ, Testimonial

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
    # One page per workshop, and one per series (on its first date; it lists the others).
    expected = set(Workshop.objects.filter(series__isnull=True)) | {
        Workshop.objects.filter(series__slug="saturday-deep-work").order_by("start_at").first()
    }
    assert {page.workshop for page in WorkshopPage.objects.child_of(workshop_index)} == expected
    assert any(block.block_type == "booking_calendar" for block in HomePage.objects.get().body)


def test_coach_index_lists_every_coach_with_price_and_length(seeded, client):
    html = client.get("/coaches/").content.decode()
    for coach in Coach.objects.all():
        assert coach.name in html
    assert "Intro call · 20 min · Free" in html and "Deep dive · 90 min · £140.00" in html  # Amara's three types
    assert "45 min · $90.00" in html or "45 min · US$90.00" in html  # Daniel's one type: no title needed


def test_coach_page_shows_profile_and_live_calendar(seeded, client):
    response = client.get("/coaches/amara-okafor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fifteen years in recruitment" in html
    # Amara sells three session types: a card each, the free intro call chosen first.
    assert html.count("data-session-type=") == 3 and "Free" in html
    assert 'href="/coaches/amara-okafor/?type=amara-deep-dive"' in html
    assert 'id="calendar"' in html and 'id="day-slots"' in html and 'id="slide-over"' in html
    assert 'hx-get="/book/coach/amara-okafor/?month=' in html


def test_coach_page_runs_a_bounded_number_of_queries(seeded, client, django_assert_max_num_queries):
    client.get("/coaches/amara-okafor/")  # warm Wagtail's site/root caches
    with django_assert_max_num_queries(25):
        assert client.get("/coaches/amara-okafor/").status_code == 200


def test_workshop_page_shows_date_host_seats_price_and_the_seat_form(seeded, client):
    response = client.get("/workshops/career-clarity-lab/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Amara Okafor" in html
    assert "20 of 20" in html
    assert "Book a seat" in html and 'name="seats"' in html
    assert 'hx-post="/book/workshop/career-clarity-lab/"' in html
    assert "(London, GMT" in html  # the date says its zone (GMT or GMT+1)


def test_a_sold_out_workshop_page_offers_its_waiting_list(seeded, client):
    html = client.get("/workshops/deep-work-sprint/").content.decode()
    assert "Sold out</span> · waiting list open" in html
    assert "Join the waiting list" in html and "data-waitlist-form" in html
    assert 'hx-post="/book/workshop/deep-work-sprint/waitlist/"' in html
    assert 'name="seats"' in html and "Book a seat" not in html


def test_a_series_page_lists_every_date_with_its_seats(seeded, client):
    html = client.get("/workshops/saturday-deep-work/").content.decode()
    assert html.count('data-date="saturday-deep-work-') == 3
    assert "2 seats left" in html and html.count("6 seats left") == 2  # the first date has four guests
    assert "This date" in html and html.count("Book this date") == 2


def test_workshop_index_shows_the_all_workshops_calendar(seeded, client):
    html = client.get("/workshops/").content.decode()
    assert 'id="calendar"' in html
    assert "Career Clarity Lab" in html


def test_home_page_renders_its_booking_calendar_block(seeded, client):
    html = client.get("/").content.decode()
    assert "Book a free session with Amara Okafor" in html
    assert 'id="calendar"' in html


def test_a_calendar_block_pinned_to_a_session_type_shows_only_that_types_times(seeded, client):
    amara = Coach.objects.get(slug="amara-okafor")
    deep_dive = amara.session_types.get(slug="amara-deep-dive")
    page = CoachPage.objects.get(coach=amara)
    page.body = [
        ("booking_calendar", {"heading": "Deep dives", "show": "coach", "coach": amara, "session_type": deep_dive})
    ]
    page.save_revision().publish()
    day = timezone.localdate() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    html = client.get(f"/coaches/amara-okafor/?cal=cal2&day={day:%Y-%m-%d}").content.decode()
    pinned = html.split('id="cal2-booking-widget"')[1].split('id="booking-widget"')[0]  # the block's, then the page's
    assert "data-session-types" not in pinned  # no choice of types in a pinned block
    assert "90 minutes each" in pinned and "type=amara-deep-dive" in pinned
    assert html.count("data-session-types") == 1  # the page's own calendar still offers all three
    home = client.get("/").content.decode()
    assert "Book a free session with Amara Okafor" in home and "data-session-types" not in home


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


# --- testimonials and FAQs (editorial snippets chosen by blocks) -----------------------------------


def test_seed_shows_testimonials_and_faqs_on_the_home_page(seeded, client):
    html = client.get("/").content.decode()
    assert html.count("data-testimonial") == 2
    assert "Three sessions with Amara gave me a plan I actually followed." in html and "Priya N." in html
    assert "<summary" in html and "Can I move or cancel my booking?" in html
    assert "Your confirmation email has a link to your booking" in html  # the answer's rich text


def test_seeding_twice_adds_no_second_set_of_testimonials_or_faqs(seeded):
    call_command("seed_demo", stdout=StringIO())
    assert Testimonial.objects.count() == 2 and FAQ.objects.count() == 3
    body = HomePage.objects.get().body
    assert [block.block_type for block in body].count("testimonial") == 2
    assert [block.block_type for block in body].count("faq") == 1


def test_a_page_with_testimonial_and_faq_blocks_renders_them_in_the_chosen_order(seeded, client):
    testimonial = Testimonial.objects.create(quote="Clear, kind and practical.", author="Sam K.", role="Founder")
    second = FAQ.objects.create(question="Do you coach in Spanish?", answer="<p>Daniel does.</p>", sort_order=1)
    first = FAQ.objects.create(question="Is the first session free?", answer="<p>With Amara, yes.</p>", sort_order=2)
    page = StandardPage(title="Why us", slug="why-us")
    page.body = [
        ("testimonial", {"testimonial": testimonial}),
        ("faq", {"heading": "Before you book", "questions": [first, second]}),
    ]
    HomePage.objects.get().add_child(instance=page)
    page.save_revision().publish()

    html = client.get("/why-us/").content.decode()
    assert "“Clear, kind and practical.”" in html and "Sam K.</span>, Founder" in html
    assert "Before you book" in html
    assert html.index("Is the first session free?") < html.index("Do you coach in Spanish?")  # the block's order
    assert "<p>With Amara, yes.</p>" in html


def test_a_deleted_snippet_leaves_no_empty_box_behind(seeded, client):
    Testimonial.objects.all().delete()
    FAQ.objects.filter(question="How do I book a session?").delete()
    html = client.get("/").content.decode()
    assert "data-testimonial" not in html
    assert "How do I book a session?" not in html and "Can I move or cancel my booking?" in html


def test_home_page_with_calendar_testimonials_and_faqs_runs_a_bounded_number_of_queries(
    seeded, client, django_assert_max_num_queries
):
    client.get("/")  # warm Wagtail's site/root caches
    # The snippets of every testimonial and FAQ block are fetched in one query per type (12 in all today).
    with django_assert_max_num_queries(15):
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("name, block_class", [("testimonial", TestimonialBlock), ("faq", FAQBlock)])
def test_testimonial_and_faq_blocks_are_offered_with_icon_template_preview_and_description(name, block_class):
    assert isinstance(BaseStreamBlock().child_blocks[name], block_class)
    meta = block_class._meta_class
    assert meta.icon and meta.template and meta.preview_value and meta.description


@pytest.mark.parametrize("name, shown", [("testimonial", "Priya N."), ("faq", "Can I move my booking?")])
def test_testimonial_and_faq_block_previews_render_without_any_snippet_saved(admin_client, name, shown):
    block = HomePage.body.field.stream_block.child_blocks[name]
    response = admin_client.get(reverse("wagtailadmin_block_preview"), {"id": block.definition_prefix})
    assert response.status_code == 200
    assert shown in response.content.decode()


def test_owner_edits_testimonials_and_faqs_under_snippets_and_the_unused_kinds_are_gone(seeded, admin_client):
    index = admin_client.get("/admin/snippets/").content.decode()
    assert "Testimonials" in index and "FAQs" in index
    assert "policies" not in index.lower() and "call to action" not in index.lower()
    listing = admin_client.get(reverse("wagtailsnippets_snippets_testimonial:list")).content.decode()
    assert "Priya N." in listing and "Moved from finance into product" in listing
