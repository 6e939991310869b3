"""A guest buys a package in real Chromium with the built-in test checkout (the payment goes through
the signed webhook), then books a session with it from the package page: nothing to pay, confirmed
at once, one credit fewer."""

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from coaching.models import Booking, PackagePurchase
from coaching.tests.factories import AvailabilityBlockFactory, PackageFactory, PaidCoachFactory

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
