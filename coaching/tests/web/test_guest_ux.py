"""The guest experience over HTTP: state in the page URL, several calendars on one page, zones people
read (and the light picker), the clock, "next available", feedback after a booking, a cancelled
checkout, the manage page's copy per state, the lost-link form by email alone, and the emails.
The browser half is test_guest_ux_browser.py."""

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from coaching.links import make_manage_token
from coaching.models import Booking, BookingLog, Notification
from coaching.services import Guest, cancel_booking, create_booking, payment
from coaching.services.holds import abandon_checkout
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory, WorkshopFactory
from coaching.wallclock import expand_weekly_pattern
from coaching.zones import guest_zone_choices, pickable_zones
from pages.models import CoachPage, HomePage, StandardPage, WorkshopPage
from tools.demo import seed

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
MONDAY = date(2030, 1, 7)  # London is on GMT in January; New York on GMT−5; Tokyo on GMT+9
NINE = datetime(2030, 1, 7, 9, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
KENJI = Guest(name="Kenji Sato", email="kenji@example.com", timezone="Asia/Tokyo")


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def coach():
    coach = CoachFactory(
        name="Amara Okafor", slug="amara", timezone="Europe/London", session_minutes=60, horizon_days=45
    )
    for start_at, end_at in expand_weekly_pattern(
        zone=coach.zone,
        weekdays=range(5),
        time_ranges=[(time(9), time(12))],
        start_date=date(2030, 1, 2),
        end_date=date(2030, 2, 28),
    ):
        AvailabilityBlockFactory(coach=coach, start_at=start_at, end_at=end_at)
    return coach


@pytest.fixture
def london():
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    return client


@pytest.fixture
def coach_page(coach):
    """The Wagtail tree a site has: home (with a calendar block), Coaches, and this coach's page."""
    home = seed.ensure_home_page()
    seed.ensure_booking_pages(home, {coach.slug: coach}, [])
    return CoachPage.objects.get(coach=coach)


def visible_text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def ids_of(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


# --- zones a guest reads, and a light page -----------------------------------------------------------


def test_the_picker_offers_current_zone_names_grouped_by_region_each_with_its_offset(client):
    response = client.get(reverse("coaching:timezone_options"))
    assert response.status_code == 200
    options = re.findall(r'<option value="([^"]+)"\s+label="([^"]+)"', response.content.decode())
    names = [name for name, _ in options]
    assert names == guest_zone_choices() and 400 < len(names) < 450  # 507 raw names before
    for legacy in ("Asia/Calcutta", "US/Eastern", "Europe/Kiev", "GB", "Etc/GMT+5", "posix/Europe/London"):
        assert legacy not in names
    for current in ("Asia/Kolkata", "Europe/Kyiv", "Europe/Amsterdam", "Atlantic/Reykjavik", "America/New_York"):
        assert current in names  # cities the default tzdata build turned into links are still offered
    labels = dict(options)
    assert labels["America/New_York"] == "New York, United States (GMT−5) · Americas"
    assert labels["Asia/Kolkata"] == "Kolkata, India (GMT+5:30) · Asia"
    # Grouped: each region's zones together, regions in a fixed order, UTC last.
    regions = [choice.region for choice in pickable_zones()]
    assert regions == sorted(
        regions,
        key=[
            "Africa",
            "Americas",
            "Antarctica",
            "Arctic",
            "Asia",
            "Atlantic",
            "Australia",
            "Europe",
            "Indian Ocean",
            "Pacific",
            "Other",
        ].index,
    )
    assert names[-1] == "UTC"


def test_the_coach_page_carries_no_zone_list_and_stays_light(coach_page, london):
    html = london.get("/coaches/amara/").content.decode()
    assert "<option" not in html and "Pacific/Chatham" not in html
    assert 'list="zone-options"' in html and 'hx-get="/book/timezone/options/"' in html
    assert len(html.encode()) < 36_000  # a month of open days (the zone list alone used to be 29 KB)


@pytest.mark.parametrize(
    "typed, zone",
    [
        ("tokyo", "Asia/Tokyo"),
        ("New York", "America/New_York"),
        ("Japan", "Asia/Tokyo"),
        ("asia/kolkata", "Asia/Kolkata"),
    ],
)
def test_the_picker_understands_what_a_guest_types(coach, typed, zone):
    response = Client().post(reverse("coaching:set_timezone"), {"timezone": typed, "next": "/book/coach/amara/"})
    assert response.status_code == 303 and response.cookies["USER_TIMEZONE"].value == zone


def test_a_zone_the_picker_cannot_name_is_explained_and_changes_nothing(coach):
    response = Client().post(reverse("coaching:set_timezone"), {"timezone": "United States", "cal": "cal2"}, **HTMX)
    assert response.status_code == 422 and "USER_TIMEZONE" not in response.cookies
    assert response["HX-Retarget"] == "#cal2-zone-error" and "pick one from the list" in response.content.decode()


def test_changing_the_zone_redraws_the_calendar_in_place_keeping_the_chosen_day(coach, london):
    region = "/book/coach/amara/?month=2030-01&day=2030-01-07&refresh=1"
    response = london.post(
        reverse("coaching:set_timezone"), {"timezone": "America/New_York", "region": region, "next": "/x/"}, **HTMX
    )
    assert response.status_code == 303 and response["Location"] == region  # HTMX follows it with the new cookie
    london.cookies["USER_TIMEZONE"] = response.cookies["USER_TIMEZONE"].value
    london.cookies["USER_TIMEZONE_CHOSEN"] = "1"
    html = london.get(region, **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="calendar"')
    assert '<section id="day-slots" hx-swap-oob="true"' not in html  # attribute order aside:
    assert re.search(r'<section id="day-slots"[^>]*hx-swap-oob="true"', html)
    assert re.search(r'<p id="zone-current"[^>]*hx-swap-oob="true"', html)
    assert "Monday 7 January" in html and ">04:00</time>" in html  # 09:00 London is 04:00 in New York
    assert "Times in New York (GMT−5)" in html


def test_without_javascript_the_picker_goes_back_to_the_page_it_was_on(coach):
    response = Client().post(
        reverse("coaching:set_timezone"), {"timezone": "Asia/Tokyo", "next": "/coaches/amara/?month=2030-01"}
    )
    assert response["Location"] == "/coaches/amara/?month=2030-01"


def test_the_browsers_zone_draws_the_first_htmx_request_before_any_cookie(coach):
    html = Client().get("/book/coach/amara/day/2030-01-07/", HTTP_X_TIMEZONE="Asia/Tokyo", **HTMX).content.decode()
    assert "Times in Tokyo (GMT+9)" in html and ">18:00</time>" in html


def test_a_zone_the_guest_picked_wins_over_the_browsers(coach):
    client = Client()
    client.cookies["USER_TIMEZONE"] = "America/New_York"
    client.cookies["USER_TIMEZONE_CHOSEN"] = "1"
    html = client.get("/book/coach/amara/day/2030-01-07/", HTTP_X_TIMEZONE="Asia/Tokyo", **HTMX).content.decode()
    assert "Times in New York (GMT−5)" in html


@pytest.mark.parametrize(
    "headers, nine",
    [
        ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, "9:00 AM"),
        ({"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}, "09:00"),
        ({"HTTP_ACCEPT_LANGUAGE": "de-DE"}, "09:00"),
        ({"HTTP_ACCEPT_LANGUAGE": "en-GB", "HTTP_X_HOUR_CYCLE": "h12"}, "9:00 AM"),  # the browser's own clock
        ({"HTTP_ACCEPT_LANGUAGE": "en-US", "HTTP_X_HOUR_CYCLE": "h23"}, "09:00"),
    ],
)
def test_the_clock_follows_the_guests_locale_and_each_time_says_when_it_ends(coach, london, headers, nine):
    response = london.get("/book/coach/amara/day/2030-01-07/", **HTMX, **headers)
    html = response.content.decode()
    assert f'<time datetime="2030-01-07T09:00:00Z" class="text-sm font-semibold">{nine}</time>' in html
    ten = "10:00 AM" if "AM" in nine else "10:00"
    assert f"to {ten}" in visible_text(response)


# --- state in the page URL, and several calendars on one page ----------------------------------------


def test_the_coach_page_opens_the_month_and_day_its_url_names(coach_page, london):
    response = london.get("/coaches/amara/?month=2030-02&day=2030-02-04")
    html = response.content.decode()
    assert response.status_code == 200 and "February 2030" in html
    assert "Monday 4 February" in html and 'data-start="2030-02-04T09:00:00Z"' in html
    assert re.search(r'data-day="2030-02-04"\s+aria-current="date"', html)
    # Every link keeps the guest on this page (hrefs) and swaps a region (hx-get).
    assert 'href="/coaches/amara/?month=2030-02&amp;day=2030-02-05"' in html
    assert 'hx-get="/book/coach/amara/day/2030-02-05/"' in html
    assert 'href="/coaches/amara/?month=2030-02&amp;day=2030-02-04&amp;start=2030-02-04T10%3A00%3A00Z"' in html
    assert 'href="/coaches/amara/?month=2030-03&amp;day=2030-02-04"' in html  # next month keeps the day


def test_the_chosen_day_stays_beside_another_month(coach_page, london):
    html = london.get("/coaches/amara/?month=2030-02&day=2030-01-07").content.decode()
    assert "February 2030" in html and "Monday 7 January" in html and 'data-start="2030-01-07T09:00:00Z"' in html


def test_a_time_in_the_url_opens_its_booking_form_on_the_page(coach_page, london):
    html = london.get("/coaches/amara/?start=2030-01-07T10:00:00Z").content.decode()
    assert 'role="dialog"' in html and 'name="email"' in html and "Monday 7 January" in html
    assert (
        'data-state-url="/coaches/amara/?month=2030-01&amp;day=2030-01-07&amp;start=2030-01-07T10%3A00%3A00Z"' in html
    )
    assert 'data-close-url="/coaches/amara/?month=2030-01&amp;day=2030-01-07"' in html


def test_a_mangled_url_still_shows_the_page(coach_page, london):
    response = london.get("/coaches/amara/?month=2030-13&day=nope&start=soon")
    assert response.status_code == 200 and "January 2030" in response.content.decode()


def test_htmx_regions_link_to_the_page_the_guest_is_on(coach, london):
    html = london.get(
        "/book/coach/amara/day/2030-01-07/", HTTP_HX_CURRENT_URL="http://testserver/coaches/amara/?x=1", **HTMX
    ).content.decode()
    assert 'data-state-url="/coaches/amara/?month=2030-01&amp;day=2030-01-07"' in html
    assert 'href="/coaches/amara/?month=2030-01&amp;day=2030-01-07&amp;start=2030-01-07T09%3A00%3A00Z"' in html
    assert 'hx-get="/book/coach/amara/slot/?start=2030-01-07T09%3A00%3A00Z"' in html


def test_two_calendars_on_one_page_never_share_an_id(coach_page, london):
    other = CoachFactory(name="Yuki Tanaka", slug="yuki", timezone="Asia/Tokyo")
    AvailabilityBlockFactory(coach=other, start_at=NINE, end_at=NINE + timedelta(hours=2))
    coach_page.body = [("booking_calendar", {"heading": "Or book Yuki", "show": "coach", "coach": other})]
    coach_page.save_revision().publish()
    html = london.get("/coaches/amara/").content.decode()
    duplicated = [name for name, count in Counter(ids_of(html)).items() if count > 1]
    assert duplicated == []
    # The page's own calendar is the first; the block's is "cal2", which its HTMX URLs carry.
    assert 'id="calendar"' in html and 'id="cal2-calendar"' in html
    assert 'hx-get="/book/coach/yuki/day/2030-01-07/?cal=cal2"' in html and 'hx-target="#cal2-day-slots"' in html
    assert 'hx-get="/book/coach/amara/day/2030-01-07/"' in html and 'hx-target="#day-slots"' in html


def test_the_second_calendars_state_has_its_own_name_in_the_url(coach_page, london):
    page = StandardPage(title="Book", slug="book-both")
    yuki = CoachFactory(name="Yuki Tanaka", slug="yuki")
    AvailabilityBlockFactory(coach=yuki, start_at=NINE, end_at=NINE + timedelta(hours=2))
    page.body = [
        ("booking_calendar", {"heading": "Amara", "show": "coach", "coach": coach_page.coach}),
        ("booking_calendar", {"heading": "Yuki", "show": "coach", "coach": yuki}),
    ]
    HomePage.objects.get().add_child(instance=page)
    page.save_revision().publish()
    html = london.get("/book-both/?cal=cal2&month=2030-01&day=2030-01-07").content.decode()
    first, second = html.split('id="cal2-booking-widget"')
    assert "Pick a day" in first  # the first calendar is untouched
    assert 'id="cal2-day-slots-title"' in second and "Monday 7 January" in second
    assert 'href="/book-both/?cal=cal2&amp;month=2030-02&amp;day=2030-01-07"' in second  # its next month


def test_a_region_asked_for_by_the_second_calendar_uses_its_ids(coach, london):
    html = london.get("/book/coach/amara/?cal=cal2&month=2030-02", **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="cal2-calendar"')
    assert 'hx-target="#cal2-day-slots"' in html and "cal=cal2" in html
    bogus = london.get("/book/coach/amara/?cal=%22%3E&month=2030-02", **HTMX).content.decode()
    assert bogus.lstrip().startswith('<section id="calendar"')  # an unknown name is ignored


# --- the calendar: today, the past, "next available" -------------------------------------------------


def test_today_is_marked_and_past_days_look_past(coach, london):
    html = london.get("/book/coach/amara/").content.decode()  # Wednesday 1 January: a holiday, no times
    assert re.search(r"data-today\s*><span>1</span><span class=\"sr-only\"> \(today\), no openings", html)
    assert "data-past" not in html
    with time_machine.travel(datetime(2030, 1, 10, 10, 30, tzinfo=UTC), tick=False):
        html = london.get("/book/coach/amara/").content.decode()
    assert html.count("data-past") == 9  # 1–9 January
    assert "Today, Thursday 10 January: 1 time available" in html  # 11:00 is still ahead at 10:30


def test_an_empty_month_says_so_and_jumps_to_the_next_opening(coach, london):
    response = london.get("/book/coach/amara/?month=2030-04")  # past the 45-day horizon
    html = response.content.decode()
    assert "No open times in April 2030. Amara Okafor takes bookings up to 45 days ahead." in visible_text(response)
    assert "Next available: Wed 2 Jan, 09:00" in html
    assert 'hx-get="/book/coach/amara/day/2030-01-02/"' in html


def test_next_available_skips_a_fully_booked_stretch(coach, london):
    for day in range(2, 9):
        for hour in (9, 10, 11):
            start = datetime(2030, 1, day, hour, tzinfo=UTC)
            BookingFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=1))
    html = london.get("/book/coach/amara/").content.decode()
    assert "Next available: Wed 9 Jan, 09:00" in html


def test_an_empty_month_costs_a_bounded_number_of_queries(coach, london, django_assert_max_num_queries):
    london.get("/book/coach/amara/?month=2030-04", **HTMX)
    with django_assert_max_num_queries(10):  # coach, the month's four, and two "next available" windows
        london.get("/book/coach/amara/?month=2030-04", **HTMX)


def test_a_month_without_workshops_points_to_the_next_one(london):
    WorkshopFactory(title="Spring Reset", start_at=datetime(2030, 3, 4, 18, tzinfo=UTC))
    html = london.get("/book/workshops/?month=2030-02").content.decode()
    assert "No workshops in February 2030." in html and "Next workshop: Spring Reset, Mon 4 Mar" in html


# --- feedback after a booking ------------------------------------------------------------------------


def test_a_booking_tells_the_page_to_redraw_its_times_and_offers_calendars_and_the_manage_link(coach, london):
    response = london.post(
        "/book/coach/amara/slot/?start=2030-01-07T09:00:00Z", {"name": "Jo", "email": "jo@example.com"}, **HTMX
    )
    assert json.loads(response["HX-Trigger"]) == {"times-changed": True}
    html = response.content.decode()
    booking = Booking.objects.get()
    assert html.index("You're booked!") < html.index("data-reference") < html.index("Add to Google Calendar")
    assert "https://calendar.google.com/calendar/render?action=TEMPLATE" in html and "20300107T090000Z" in html
    assert f"/bookings/{booking.reference}/calendar.ics?t=" in html
    assert f"/bookings/manage/{make_manage_token(booking)}/" in html
    # The time is gone from the day when the page redraws it.
    day = london.get("/book/coach/amara/day/2030-01-07/", **HTMX).content.decode()
    assert 'data-start="2030-01-07T09:00:00Z"' not in day


def test_a_time_taken_meanwhile_reads_once_and_redraws_the_times(coach, london):
    BookingFactory(coach=coach, start_at=NINE, end_at=NINE + timedelta(hours=1))
    response = london.post(
        "/book/coach/amara/slot/?start=2030-01-07T09:00:00Z", {"name": "Jo", "email": "jo@example.com"}, **HTMX
    )
    assert response.status_code == 409 and json.loads(response["HX-Trigger"]) == {"times-changed": True}
    text = visible_text(response)
    assert "Sorry — that time was just taken" in text and "Sorry: Sorry" not in text


def test_a_sold_out_workshop_says_so_and_offers_the_others(coach_page, london):
    full = WorkshopFactory(title="Deep Work Sprint", slug="deep", capacity=2)
    BookingFactory(coach=None, workshop=full, start_at=full.start_at, end_at=full.end_at, seats=2)
    WorkshopFactory(title="Career Clarity Lab", slug="clarity", start_at=full.start_at + timedelta(days=3))
    home = HomePage.objects.get()
    seed.ensure_booking_pages(home, {}, list(full.__class__.objects.all()))
    html = london.get(WorkshopPage.objects.get(workshop=full).url).content.decode()
    assert "<title>\n    Deep Work Sprint — sold out" in html
    assert "data-sold-out" in html and "Career Clarity Lab" in html
    assert 'hx-trigger="times-changed from:body"' in html  # seats left are counted again after a booking


# --- a cancelled checkout ----------------------------------------------------------------------------


@pytest.fixture
def hold(coach_page):
    coach = coach_page.coach
    coach.session_types.update(price_amount=6000, currency="GBP")
    return create_booking(guest=KENJI, coach=coach, start_at=NINE).booking


def test_leaving_the_checkout_cancels_the_booking_by_the_guest_and_owes_no_email(
    hold, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert abandon_checkout(booking=hold)
    hold.refresh_from_db()
    assert hold.status == Booking.Status.CANCELLED and hold.cancelled_at == NOW
    log = BookingLog.objects.get(booking=hold, action="checkout_cancelled")
    assert log.actor == "guest" and "left the checkout" in log.message
    assert not Notification.objects.filter(booking=hold).exists() and mail.outbox == []
    assert not BookingLog.objects.filter(booking=hold, action="expired").exists()


def test_back_from_the_checkout_lands_on_the_coach_page_with_the_form_filled_again(hold, settings):
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Asia/Tokyo"
    response = client.get(payment.cancel_url(hold).removeprefix(settings.SITE_URL))
    assert response.status_code == 302
    assert response["Location"] == "/coaches/amara/?start=2030-01-07T09%3A00%3A00Z"
    html = client.get(response["Location"]).content.decode()
    assert "Payment cancelled — nothing was booked" in html and "data-checkout-cancelled" in html
    assert 'value="Kenji Sato"' in html and 'value="kenji@example.com"' in html
    assert "Monday 7 January, 18:00–19:00 (Tokyo, GMT+9)" in " ".join(re.sub(r"<[^>]+>", " ", html).split())
    # Once: a reload shows the form without the notice (and without their details).
    again = client.get(response["Location"]).content.decode()
    assert "Payment cancelled" not in again and 'value="Kenji Sato"' not in again


def test_the_return_page_of_a_cancelled_checkout_says_nothing_was_booked(hold, client):
    abandon_checkout(booking=hold)
    html = client.get(f"/bookings/checkout/return/?session_id={hold.stripe_checkout_session_id}").content.decode()
    assert "Payment cancelled — nothing was booked" in html and "/coaches/amara/" in html


# --- the manage page says what this booking can do ---------------------------------------------------


def manage(client, booking, suffix=""):
    return client.get(f"/bookings/manage/{make_manage_token(booking)}/{suffix}")


def test_a_cancelled_booking_offers_no_cancelling_and_a_way_to_book_again(coach_page, client):
    booking = create_booking(guest=KENJI, coach=coach_page.coach, start_at=NINE).booking
    cancel_booking(booking=booking, actor="guest")
    html = manage(client, booking).content.decode()
    assert "This booking is cancelled" in html and "It was cancelled on Tuesday 1 January 2030." in html
    assert "You can cancel" not in html and "Changes and refunds" not in html and "data-cancel" not in html
    assert 'href="/coaches/amara/"' in html and "Book again with Amara Okafor" in html


def test_past_the_move_cut_off_the_page_says_moving_is_over_and_why(coach, client, frozen_now):
    booking = create_booking(guest=KENJI, coach=coach, start_at=NINE).booking
    frozen_now.move_to(NINE - timedelta(hours=5))
    html = manage(client, booking).content.decode()
    assert (
        "Moving is no longer possible: bookings can be moved up to 24 hours before they start, "
        "and this one starts in 5 hours." in html
    )
    assert "You can move the booking" not in html and "data-reschedule" not in html
    assert "You can cancel at any time before the start." in html and "data-cancel" in html


def test_links_to_the_confirmation_steps_scroll_a_phone_to_them(coach, client):
    booking = create_booking(guest=KENJI, coach=coach, start_at=NINE).booking
    html = manage(client, booking).content.decode()
    assert f'href="/bookings/manage/{make_manage_token(booking)}/cancel/#manage-action"' in html
    day = manage(client, booking, "reschedule/day/2030-01-07/").content.decode()
    assert re.search(
        r'href="/bookings/manage/[^"]+/reschedule/confirm/\?start=2030-01-07T10%3A00%3A00Z#manage-action"', day
    )


# --- lost link: the email address alone ----------------------------------------------------------------


def test_the_lost_link_form_sends_a_link_for_each_upcoming_booking_of_the_address(
    coach, client, django_capture_on_commit_callbacks
):
    first = create_booking(guest=KENJI, coach=coach, start_at=NINE).booking
    second = create_booking(guest=KENJI, coach=coach, start_at=NINE + timedelta(days=1)).booking
    cancelled = create_booking(guest=KENJI, coach=coach, start_at=NINE + timedelta(days=2)).booking
    cancel_booking(booking=cancelled, actor="guest")
    create_booking(
        guest=Guest(name="Other", email="other@example.com"), coach=coach, start_at=NINE + timedelta(hours=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/bookings/lost-link/", {"email": "KENJI@example.com"})
    assert response.status_code == 200
    assert sorted(message.extra_headers["X-Booking-Reference"] for message in mail.outbox) == sorted(
        [first.reference, second.reference]
    )
    assert all(message.to == ["kenji@example.com"] for message in mail.outbox)
    # The same answer for an address with nothing, and nothing sent.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        nobody = client.post("/bookings/lost-link/", {"email": "nobody@example.com"})
    strip = re.compile(r"[A-Za-z0-9]{64}")  # CSRF tokens
    assert strip.sub("", nobody.content.decode()) == strip.sub("", response.content.decode()) and mail.outbox == []


def test_the_lost_link_form_is_limited_per_address_and_sends_one_link_per_booking_an_hour(
    coach, client, settings, django_capture_on_commit_callbacks
):
    settings.RATELIMIT_ENABLED = True
    settings.LOST_LINK_RATE = "3/h"
    create_booking(guest=KENJI, coach=coach, start_at=NINE)
    mail.outbox.clear()
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                client.post(
                    "/bookings/lost-link/", {"email": "kenji@example.com"}, REMOTE_ADDR=f"10.9.0.{n}"
                ).status_code
                == 200
            )
    assert len(mail.outbox) == 1  # the outbox's one per booking per hour
    refused = client.post("/bookings/lost-link/", {"email": "Kenji@Example.com"}, REMOTE_ADDR="10.9.0.99")
    assert refused.status_code == 429 and "this email address" in refused.content.decode()


# --- emails and the site ---------------------------------------------------------------------------------


def test_emails_wear_the_sites_teal_and_name_and_read_well(coach_page, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        create_booking(guest=KENJI, coach=coach_page.coach, start_at=NINE)
    to_coach = next(m for m in mail.outbox if m.to == [coach_page.coach.email])
    assert "Kenji Sato has booked a 1-on-1 session with you." in to_coach.body
    guest_html = next(m for m in mail.outbox if m.to == ["kenji@example.com"]).alternatives[0][0]
    assert "#00786f" in guest_html and "#1d4ed8" not in guest_html and "Northstar Coaching" in guest_html


def test_an_expired_holds_email_says_book_again_with_the_coach(hold, django_capture_on_commit_callbacks, frozen_now):
    from coaching.services import expire_holds

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        expire_holds(now=NOW + timedelta(minutes=16))
    (message,) = mail.outbox
    assert "Book again with Amara Okafor: http://testserver/coaches/amara/" in message.body


def test_the_site_has_a_favicon_and_the_home_hero_a_call_to_action(coach_page, london):
    html = london.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert "data-hero-actions" in html and 'href="/coaches/"' in html and "Find your coach" in html
