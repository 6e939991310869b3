"""The guest experience in real Chromium, on the seeded demo: Back closes the panel, deep links, the
loading indicator, the zone picker, a first visit from Tokyo in one document load, the 12-hour clock
of a first-time guest in New York on a phone, focus kept in the panel, Space on a day, an empty
month's "next available", a cancelled checkout, two calendars on one page and a workshop selling
its last seat — with axe-core on every page state these touch, and no console error anywhere (a
CSP refusal would show up there).

One seeded site serves the whole module (seeding per test costs seconds, and CI runs the suite
twice): the tests share it and each books a different time. It is flushed at the end, as a
transactional test leaves the database.
"""

import re
import zoneinfo
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from coaching.models import Booking, Coach, Workshop
from coaching.tests.web.test_browser_booking import ensure_wagtail_root, serious_violations
from pages.models import CoachIndexPage, CoachPage

pytestmark = pytest.mark.browser

COACH_PAGE = "/coaches/amara-okafor/"
LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """The seeded demo behind its own live server, for the whole module."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        ensure_wagtail_root()
        call_command("seed_demo", stdout=StringIO())
        server = LiveServer("localhost")
        try:
            yield server.url
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def transactional_db(site):
    """Stands in for pytest-django's `transactional_db` in this module. Its name is what makes
    pytest-django create the test database and run these tests with the other transactional ones
    (after every test that expects the migrated data, since `site` flushes it at the end); the
    access itself is the module's `site`, not a flush after every test."""


@pytest.fixture
def open_page(chromium, site, transactional_db):
    """open_page(path, timezone_id=..., locale=..., viewport=..., axe=False) → a page that records
    its document loads (`page.documents`) and console errors (checked when the test ends)."""
    pages = []

    def opener(path, *, timezone_id="Europe/London", locale="en-GB", viewport=None, axe=False):
        context = chromium.new_context(
            timezone_id=timezone_id,
            locale=locale,
            viewport=viewport or {"width": 1280, "height": 900},
            bypass_csp=axe,  # axe is injected as a script; the site's CSP rightly refuses it
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.documents = []
        page.errors = []
        page.on(
            "request",
            lambda request: page.documents.append(request.url) if request.resource_type == "document" else None,
        )
        page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(site + path)
        pages.append(page)
        return page

    yield opener
    for page in pages:
        # A calendar redraw replaced by the guest's next click (hx-sync) is logged by htmx as an
        # aborted request: intended, not an error.
        errors = [text for text in page.errors if not text.startswith(("htmx:sendAbort", "htmx:afterRequest"))]
        page.context.close()
        assert errors == [], errors


def no_serious_violations(page, axe_core):
    assert serious_violations(page, axe_core) == []


def pick_a_day(page, prefix=""):
    day = page.locator(f"#{prefix}calendar a[data-day][hx-get]").first
    iso = day.get_attribute("data-day")
    day.click()
    expect(page.locator(f"#{prefix}day-slots")).to_have_attribute("data-state-url", re.compile(f"day={iso}"))
    return iso


def open_first_time(page, prefix=""):
    slot = page.locator(f"#{prefix}day-slots a[data-start]").first
    start = slot.get_attribute("data-start")
    slot.click()
    expect(page.locator("[data-slide-over]")).to_be_focused()
    return start


def next_month(page, prefix=""):
    title = page.locator(f"#{prefix}calendar-title")
    before = title.inner_text()
    page.click(f"#{prefix}calendar [data-month-nav=next]")
    expect(title).not_to_have_text(before)


# --- state in the URL --------------------------------------------------------------------------------------


def test_back_after_opening_the_panel_closes_it_and_stays_on_the_page(axe_core, open_page, site):
    page = open_page(COACH_PAGE, axe=True)
    next_month(page)
    day = pick_a_day(page)
    start = open_first_time(page)
    assert f"day={day}" in page.url and "start=" in page.url
    no_serious_violations(page, axe_core)  # the open panel

    page.go_back()
    expect(page.locator("[data-slide-over]")).to_have_count(0)
    assert page.url.startswith(site + COACH_PAGE) and f"day={day}" in page.url and "start=" not in page.url
    expect(page.locator(f'#day-slots a[data-start="{start}"]')).to_be_focused()  # back on the time

    page.reload()  # the URL keeps the month and the day
    expect(page.locator(f'#calendar a[data-day="{day}"][aria-current="date"]')).to_be_visible()
    expect(page.locator(f'#day-slots a[data-start="{start}"]')).to_be_visible()
    assert len(page.documents) == 2  # the first load and the reload: every other step was HTMX


def test_a_shared_link_opens_its_month_and_day(open_page):
    day = (timezone.now().astimezone(LONDON) + timedelta(days=35)).date()
    while day.weekday() >= 5:  # the demo coach works Monday to Friday
        day += timedelta(days=1)
    page = open_page(f"{COACH_PAGE}?month={day:%Y-%m}&day={day:%Y-%m-%d}")
    expect(page.locator("#calendar-title")).to_have_text(f"{day:%B %Y}")
    expect(page.locator("#day-slots-title")).to_have_text(f"{day:%A} {day.day} {day:%B}")
    expect(page.locator(f'#calendar a[data-day="{day:%Y-%m-%d}"][aria-current="date"]')).to_be_visible()


# --- feedback ------------------------------------------------------------------------------------------------


def test_a_slow_answer_shows_the_loading_indicator_until_it_arrives(open_page):
    page = open_page(COACH_PAGE)
    held = []
    page.route("**/book/coach/*/day/**", lambda route: held.append(route))  # held back until released
    page.locator("#calendar a[data-day][hx-get]").first.click()
    expect(page.locator("[data-booking-widget]").first).to_have_class(re.compile("htmx-request"))
    expect(page.locator("#day-slots [data-loading]")).to_be_visible()
    expect(page.locator("#calendar a[data-day].htmx-request")).to_have_count(1)  # the day pressed dims
    while not held:
        page.wait_for_timeout(20)  # the route event arrives while playwright waits
    held[0].continue_()
    expect(page.locator("#day-slots a[data-start]").first).to_be_visible()
    expect(page.locator("#day-slots [data-loading]")).to_be_hidden()


# --- time zones and the clock --------------------------------------------------------------------------------


def test_changing_the_zone_redraws_in_place_keeping_the_day_and_focus(axe_core, open_page):
    page = open_page(COACH_PAGE, axe=True)
    next_month(page)
    day = pick_a_day(page)
    zone_box = page.locator("#zone-input")
    zone_box.focus()
    expect(page.locator("#zone-options option")).to_have_count(419)  # fetched on focus, not in the page
    zone_box.fill("Asia/Tokyo")  # picking a suggestion (a native popup playwright cannot click) fills it in
    expect(page.locator("#day-slots")).to_contain_text("Times in Tokyo (GMT+9)")
    expect(page.locator("#zone-current")).to_contain_text("Tokyo (GMT+9)")
    expect(page.locator(f'#calendar a[data-day="{day}"][aria-current="date"]')).to_be_visible()
    expect(zone_box).to_be_focused()
    first = page.locator("#day-slots a[data-start]").first
    moment = datetime.fromisoformat(first.get_attribute("data-start"))
    assert first.locator("time").inner_text() == moment.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    no_serious_violations(page, axe_core)
    assert len(page.documents) == 1


def test_a_first_visit_from_tokyo_shows_tokyo_times_in_one_document_load(open_page):
    page = open_page(COACH_PAGE, timezone_id="Asia/Tokyo")
    expect(page.locator("#calendar")).to_contain_text("Times in Tokyo (GMT+9)")
    pick_a_day(page)
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    for slot in page.locator("#day-slots a[data-start]").all():
        moment = datetime.fromisoformat(slot.get_attribute("data-start"))
        assert slot.locator("time").inner_text() == moment.astimezone(tokyo).strftime("%H:%M")
    assert page.documents == [page.url.split("?")[0]]  # one document: no reload to learn the zone


def test_a_first_time_guest_in_new_york_on_a_phone_books_in_their_own_12_hour_time(axe_core, open_page, site):
    page = open_page(
        COACH_PAGE, timezone_id="America/New_York", locale="en-US", viewport={"width": 360, "height": 740}, axe=True
    )
    expect(page.locator("#calendar")).to_contain_text("Times in New York (GMT−")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    no_serious_violations(page, axe_core)
    next_month(page)
    pick_a_day(page)
    slot = page.locator("#day-slots a[data-start]").first
    new_york = zoneinfo.ZoneInfo("America/New_York")
    moment = datetime.fromisoformat(slot.get_attribute("data-start")).astimezone(new_york)
    expect(slot.locator("time")).to_have_text(f"{moment.hour % 12 or 12}:{moment:%M %p}")  # "4:00 AM"
    expect(slot).to_contain_text("to ")  # and when it ends
    open_first_time(page)
    page.fill("#id_name", "Nia Guest")
    page.fill("#id_email", "nia@example.com")
    page.click("[data-submit]")
    heading = page.locator("[data-booking-success] [data-focus-first]")
    expect(heading).to_be_focused()
    assert heading.bounding_box()["y"] >= 0  # the good news is on screen, not above it
    expect(page.locator("[data-guest-time]")).to_contain_text(re.compile(r"\d:\d\d [AP]M.*New York, GMT−"))
    expect(page.locator("[data-google-calendar]")).to_have_attribute("href", re.compile("calendar.google.com"))
    expect(page.locator("[data-ics-link]")).to_be_visible()
    no_serious_violations(page, axe_core)
    manage_url = page.locator("[data-manage-link]").get_attribute("href")
    booking = Booking.objects.get(guest_email="nia@example.com")
    assert booking.guest_timezone == "America/New_York" and booking.start_at == moment
    page.keyboard.press("Escape")
    expect(page.locator(f'#day-slots a[data-start="{moment:%Y-%m-%dT%H:%M:%SZ}"]')).to_have_count(0)  # taken
    assert len(page.documents) == 1
    page.goto(manage_url.replace("http://testserver", site))
    expect(page.locator("[data-reference]")).to_have_text(booking.reference)
    no_serious_violations(page, axe_core)


# --- the booking panel and the keyboard ------------------------------------------------------------------------


def test_focus_stays_in_the_open_panel_and_space_chooses_a_day(open_page):
    page = open_page(COACH_PAGE)
    next_month(page)
    first_day = page.locator("#calendar a[data-day][hx-get]").first
    first_day.focus()
    page.keyboard.press(" ")  # Space, as Enter
    day = first_day.get_attribute("data-day")
    expect(page.locator("#day-slots-title")).to_be_focused()
    expect(page.locator(f'#calendar a[data-day="{day}"][aria-current="date"]')).to_be_visible()
    start = open_first_time(page)
    dialog = page.locator("[data-slide-over]")
    expect(dialog).to_have_attribute("aria-modal", "true")
    assert page.evaluate(
        "document.querySelector('header').inert && document.querySelector('#calendar').closest('[inert]') !== null"
    )
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 14:
        page.keyboard.press(key)
        assert page.evaluate("document.querySelector('[data-slide-over]').contains(document.activeElement)"), key
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator(f'#day-slots a[data-start="{start}"]')).to_be_focused()
    assert not page.evaluate("document.querySelector('header').inert")


# --- the calendar --------------------------------------------------------------------------------------------------


def test_a_month_with_nothing_bookable_says_so_and_jumps_to_the_next_opening(axe_core, open_page):
    later = (timezone.now() + timedelta(days=100)).astimezone(LONDON)  # past the demo's 60-day horizon
    page = open_page(f"{COACH_PAGE}?month={later:%Y-%m}", axe=True)
    expect(page.locator("[data-empty-month]")).to_contain_text(f"No open times in {later:%B %Y}.")
    expect(page.locator("[data-empty-month]")).to_contain_text("takes bookings up to 60 days ahead")
    no_serious_violations(page, axe_core)
    jump = page.locator("#calendar [data-next-available]")
    expect(jump).to_contain_text("Next available:")
    jump.click()
    expect(page.locator("#day-slots a[data-start]").first).to_be_visible()
    expect(page.locator("#day-slots-title")).to_be_focused()
    expect(page.locator("#calendar a[aria-current=date]")).to_have_count(1)  # the grid jumped to that month
    assert "day=" in page.url


# --- a cancelled checkout ----------------------------------------------------------------------------------------


def test_leaving_the_checkout_brings_the_guest_back_with_a_notice_and_the_form_filled(
    axe_core, open_page, site, settings
):
    settings.SITE_URL = site  # checkout and cancel URLs are built from it
    page = open_page("/coaches/daniel-reyes/", axe=True)
    next_month(page)
    pick_a_day(page)
    start = open_first_time(page)
    page.fill("#id_name", "Pat Payer")
    page.fill("#id_email", "pat@example.com")
    page.click("[data-submit]")
    page.wait_for_url("**/stripe/test-checkout/**")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/coaches/daniel-reyes/\?start="))
    notice = page.locator("[data-checkout-cancelled]")
    expect(notice).to_have_text(
        "Payment cancelled — nothing was booked. Your details are filled in again if you want to try once more."
    )
    expect(page.locator("#id_name")).to_have_value("Pat Payer")
    expect(page.locator("#id_email")).to_have_value("pat@example.com")
    expect(page.locator("[data-slide-over]")).to_have_attribute("data-for-start", start)
    booking = Booking.objects.get(guest_email="pat@example.com")
    assert booking.status == Booking.Status.CANCELLED
    no_serious_violations(page, axe_core)


# --- two calendars on one page --------------------------------------------------------------------------------------


def test_two_calendars_on_one_page_both_work(axe_core, open_page):
    daniel, amara = Coach.objects.get(slug="daniel-reyes"), Coach.objects.get(slug="amara-okafor")
    two = CoachPage(title="Daniel, and Amara too", slug="daniel-and-amara", coach=daniel)
    two.body = [("booking_calendar", {"heading": "Or a free session with Amara", "show": "coach", "coach": amara})]
    CoachIndexPage.objects.get().add_child(instance=two)
    two.save_revision().publish()

    page = open_page("/coaches/daniel-and-amara/", axe=True)
    ids = "[...document.querySelectorAll('[id]')].map(e => e.id)"
    assert page.evaluate(f"{ids}.filter((id, i, all) => all.indexOf(id) !== i)") == []
    no_serious_violations(page, axe_core)
    # The coach page's own calendar is drawn first (""); the block's is the page's second ("cal2").
    next_month(page, "cal2-")
    pick_a_day(page, "cal2-")
    expect(page.locator("#day-slots")).to_contain_text("Pick a day")  # the other calendar untouched
    open_first_time(page, "cal2-")
    expect(page.locator("#cal2-slide-over [data-slide-over]")).to_contain_text("Session with Amara Okafor")
    page.fill("#cal2-id_name", "Two Calendars")
    page.fill("#cal2-id_email", "two@example.com")
    page.click("#cal2-slide-over [data-submit]")
    expect(page.locator("#cal2-slide-over [data-booking-success]")).to_be_visible()
    page.keyboard.press("Escape")
    assert "cal=cal2" in page.url
    # The page's own calendar works as well.
    next_month(page)
    pick_a_day(page)
    assert "cal=" not in page.url
    open_first_time(page)
    expect(page.locator("#slide-over [data-slide-over]")).to_contain_text("Session with Daniel Reyes")
    assert Booking.objects.get(guest_email="two@example.com").coach == amara


# --- workshops -------------------------------------------------------------------------------------------------------


def test_a_workshops_last_seat_updates_its_page_which_then_says_sold_out_and_offers_others(axe_core, open_page, site):
    # One seat left of the free Career Clarity Lab (the seeded Deep Work Sprint is already sold out).
    Workshop.objects.filter(slug="career-clarity-lab").update(capacity=1)
    page = open_page("/workshops/career-clarity-lab/", axe=True)
    expect(page.locator("[data-seats-left]")).to_contain_text("1 of 1")
    page.fill("#id_name", "Last Seat")
    page.fill("#id_email", "last@example.com")
    page.click("[data-submit]")
    expect(page.locator("[data-booking-success]")).to_be_visible()
    expect(page.locator("[data-seats-left]")).to_contain_text("Sold out")  # counted again, no reload
    page.reload()
    expect(page).to_have_title(re.compile("Career Clarity Lab — sold out"))
    expect(page.locator("[data-waitlist-form]")).to_be_visible()
    expect(page.locator("[data-other-workshops] li").first).to_be_visible()
    no_serious_violations(page, axe_core)
