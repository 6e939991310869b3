"""In real Chromium on the seeded demo: a guest chooses Amara's "Deep dive" card, answers its
questions (a required one missed first: the error shows inline), pays on the test checkout and is
booked — with the type, its length, the answers and the meeting place on the booking."""

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from coaching.models import Booking
from coaching.tests.web.test_browser_booking import ensure_wagtail_root, go_to_next_month, open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium


@pytest.fixture
def seeded(live_server, settings):
    settings.SITE_URL = live_server.url  # checkout and return URLs are built from it
    ensure_wagtail_root()
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    return live_server.url


def test_guest_chooses_a_session_type_answers_its_questions_and_books_it(browser, seeded):
    page = open_page(browser, seeded + "/coaches/amara-okafor/")
    cards = page.locator("[data-session-types] a[data-session-type]")
    expect(cards).to_have_count(3)
    expect(cards.first).to_have_attribute("aria-current", "true")  # the free intro call first
    page.click("a[data-session-type='amara-deep-dive']")
    page.wait_for_url("**/coaches/amara-okafor/?type=amara-deep-dive")
    expect(page.locator("a[data-session-type='amara-deep-dive']")).to_have_attribute("aria-current", "true")
    shoot(page, "session-type-cards")

    go_to_next_month(page)
    page.locator("#calendar a[data-day]").first.click()
    expect(page.locator("#day-slots")).to_contain_text("90 minutes each")
    page.locator("#day-slots a[data-start]").first.click()
    panel = page.locator("[data-slide-over]")
    panel.wait_for()
    expect(panel).to_contain_text("Deep dive")
    expect(panel).to_contain_text("£140.00")

    page.fill("#id_name", "Jo Guest")
    page.fill("#id_email", "jo@example.com")
    page.fill("#id_phone", "+44 20 7946 0000")
    page.get_by_label("Interviews").check()
    page.click("[data-submit]")  # "Have you had a session with Amara before?" is required
    expect(page.locator("[data-field-error]")).to_have_count(1)
    expect(page.locator("[data-field-error]")).to_contain_text("required")
    assert not Booking.objects.filter(guest_email="jo@example.com").exists()

    shoot(page, "session-type-form-error")
    page.get_by_label("Interviews").check()
    page.get_by_label("No", exact=True).check()
    page.click("[data-submit]")
    page.wait_for_url("**/stripe/test-checkout/**")
    page.get_by_role("button", name="Pay (test)").click()
    page.wait_for_url("**/bookings/checkout/return/**")
    page.get_by_text("you're booked", exact=False).wait_for()
    expect(page.locator("[data-meeting-place]")).to_contain_text("Phone call: Amara Okafor calls +44 20 7946 0000")

    booking = Booking.objects.get(guest_email="jo@example.com")
    assert booking.status == Booking.Status.CONFIRMED and booking.session_type.slug == "amara-deep-dive"
    assert (booking.session_title, booking.session_minutes) == ("Deep dive", 90)
    assert booking.end_at - booking.start_at == timedelta(minutes=90) and booking.amount_paid == 14000
    assert [answer["answer"] for answer in booking.intake_answers] == [["Interviews"], "No"]
    shoot(page, "session-type-booked")


def shoot(page, name):
    """With SCREENSHOT_DIR set, keep what the guest saw (to look at, not to assert on)."""
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], f"{name}.png"), full_page=True)
