"""A guest buys a package in real Chromium with the built-in test checkout (the payment goes through
the signed webhook), then books a session with it from the package page: nothing to pay, confirmed
at once, one credit fewer; and the demo's own story: Daniel's package bought with WELCOME10, three sessions
booked from its link."""

import os
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from coaching.models import Booking, PackagePurchase
from coaching.tests.factories import AvailabilityBlockFactory, PackageFactory, PaidCoachFactory
from coaching.tests.web.test_browser_booking import ensure_wagtail_root

LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_guest_buys_a_package_on_the_test_checkout_then_books_a_session_with_it(live_server, browser_page):
    coach = PaidCoachFactory(slug="bea")
    day = timezone.now().astimezone(LONDON).date() + timedelta(days=3)
    start = datetime.combine(day, time(9), tzinfo=LONDON)
    AvailabilityBlockFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=3))
    PackageFactory(coach=coach, slug="five-sessions", title="5 coaching sessions", credits=5, price_amount=40000)
    page = browser_page

    page.goto(f"{live_server.url}/packages/buy/five-sessions/")
    page.fill("#id_name", "Grace Hopper")
    page.fill("#id_email", "grace@example.com")
    page.click("[data-submit]")

    page.wait_for_url("**/packages/test-checkout/**")
    assert page.locator("[data-amount]").inner_text() == "£400.00"
    assert not PackagePurchase.objects.exists()  # the checkout alone buys nothing
    page.get_by_role("button", name="Pay (test)").click()

    page.wait_for_url("**/packages/checkout/return/**")
    page.get_by_text("your package is ready", exact=False).wait_for()
    purchase = PackagePurchase.objects.get()
    assert page.locator("[data-package-code]").inner_text() == purchase.code_display
    page.click("[data-package-link]")

    page.wait_for_url("**/packages/mine/**")
    assert page.locator("[data-credits-left]").inner_text().startswith("5")
    if not page.locator(f"a[data-day='{day:%Y-%m-%d}']").count():  # the day is next month
        page.locator("a[data-month-nav='next']").first.click()
    page.click(f"a[data-day='{day:%Y-%m-%d}']")
    page.locator("#day-slots a[data-start]").first.click()
    assert page.input_value("#id_code") == purchase.code_display
    assert page.input_value("#id_name") == "Grace Hopper"
    page.get_by_role("button", name="Confirm booking").click()

    page.get_by_text("You're booked", exact=False).wait_for()
    booking = Booking.objects.get(coach=coach)
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_due == 0
    assert page.locator("[data-paid-with-package]").is_visible()
    purchase.refresh_from_db()
    assert purchase.credits_left == 4

    page.reload()
    assert page.locator("[data-credits-left]").inner_text().startswith("4")
    assert page.locator(f"[data-package-booking='{booking.reference}']").is_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_demo_a_guest_buys_daniels_package_and_books_three_sessions_from_its_link(live_server, browser_page):
    ensure_wagtail_root()
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    page = browser_page

    page.goto(f"{live_server.url}/coaches/daniel-reyes/")
    page.click("[data-package='five-leadership-sessions'] [data-buy-package]")
    page.fill("#id_name", "Grace Hopper")
    page.fill("#id_email", "grace@example.com")
    page.fill("#id_code", "welcome10")
    page.click("[data-submit]")
    page.wait_for_url("**/packages/test-checkout/**")
    assert page.locator("[data-amount]").inner_text() == "$360.00"  # $400 less WELCOME10
    page.get_by_role("button", name="Pay (test)").click()
    page.click("[data-package-link]")
    page.wait_for_url("**/packages/mine/**")

    for booked in range(1, 4):
        time_link = page.locator("#day-slots a[data-start]").first
        if not time_link.count():
            page.locator("[data-next-available]").first.click()
            time_link.wait_for()
        time_link.click()
        page.get_by_role("button", name="Confirm booking").click()
        page.get_by_text("You're booked", exact=False).wait_for()
        page.reload()  # the package page again: one session fewer, the booking listed
        assert page.locator("[data-credits-left]").inner_text().startswith(str(5 - booked))

    purchase = PackagePurchase.objects.get()
    assert purchase.credits_used == 3 and page.locator("[data-package-booking]").count() == 3
    assert Booking.objects.filter(coach__slug="daniel-reyes", amount_due=0, status="confirmed").count() == 3
