"""From a confirmation email to a moved and then cancelled booking, in real Chromium, never logged in.

The guest books and pays on the built-in test checkout; every email goes through Django's SMTP
backend to a real SMTP server on loopback (aiosmtpd); the guest opens the magic link from the
captured email, moves the session, then cancels it and gets the policy's refund. The invites that
arrive update one calendar event: METHOD REQUEST, REQUEST, then CANCEL, with SEQUENCE increasing.
"""

import time as clock
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from coaching.models import Booking
from coaching.tests.factories import AvailabilityBlockFactory, PaidCoachFactory
from coaching.tests.standins.smtp import invite, text_body

LONDON = zoneinfo.ZoneInfo("Europe/London")
GUEST_EMAIL = "grace@example.com"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def guest_mail_with_subject(smtp, prefix: str, *, timeout: float = 10.0):
    """The guest's message whose subject starts with `prefix`, once the SMTP server has it."""
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        for message in smtp.mailbox.to(GUEST_EMAIL):
            if message["Subject"].strip().startswith(prefix):
                return message
        clock.sleep(0.05)  # polling for a condition with a deadline, not a fixed wait
    raise AssertionError(f"no email starting {prefix!r}; got {[m['Subject'] for m in smtp.mailbox.messages]}")


def manage_link(message) -> str:
    (link,) = {word for word in text_body(message).split() if "/bookings/manage/" in word}
    return link


def test_guest_reschedules_then_cancels_from_the_link_in_the_confirmation_email(live_server, browser_page, smtp):
    coach = PaidCoachFactory(slug="bea")
    day = timezone.now().astimezone(LONDON).date() + timedelta(days=3)
    opening = datetime.combine(day, time(9), tzinfo=LONDON)
    AvailabilityBlockFactory(coach=coach, start_at=opening, end_at=opening + timedelta(hours=3))
    page = browser_page
    csp_violations = []
    page.on(
        "console", lambda message: "Content Security Policy" in message.text and csp_violations.append(message.text)
    )

    # Book and pay, as any guest does.
    page.goto(f"{live_server.url}/book/coach/bea/?month={day:%Y-%m}")
    page.click(f"a[data-day='{day:%Y-%m-%d}']")
    page.locator("#day-slots a[data-start]").first.click()
    page.fill("#id_name", "Grace Hopper")
    page.fill("#id_email", GUEST_EMAIL)
    page.click("[data-submit]")
    page.wait_for_url("**/stripe/test-checkout/**")
    page.get_by_role("button", name="Pay (test)").click()
    page.wait_for_url("**/bookings/checkout/return/**")
    booking = Booking.objects.get(coach=coach)
    reference, first_start = booking.reference, booking.start_at

    # The confirmation email carries the magic link; the guest opens it (a fresh visit, no session).
    confirmation = guest_mail_with_subject(smtp, "Confirmed:")
    page.context.clear_cookies()
    page.goto(manage_link(confirmation))
    assert page.locator("[data-reference]").inner_text() == reference
    assert "Paid £60.00" in page.locator("[data-payment]").inner_text()

    # Reschedule: the same calendar, limited to times this booking can move to.
    page.click("[data-reschedule]")
    page.click(f"#calendar a[data-day='{day:%Y-%m-%d}']")
    slots = page.locator("#day-slots a[data-start]")
    slots.first.wait_for()
    offered = [slots.nth(i).get_attribute("data-start") for i in range(slots.count())]
    assert first_start.strftime("%Y-%m-%dT%H:%M:%SZ") not in offered
    new_start = offered[-1]
    page.click(f"#day-slots a[data-start='{new_start}']")
    page.locator("[data-confirm-move]").click()
    page.wait_for_url("**?done=rescheduled")
    assert "has been moved" in page.locator("[data-done]").inner_text()
    booking.refresh_from_db()
    assert booking.reference == reference and booking.start_at.strftime("%Y-%m-%dT%H:%M:%SZ") == new_start
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 6000

    # Cancel from the link in the "moved" email: the refund the policy gives is shown first.
    moved = guest_mail_with_subject(smtp, "Moved:")
    page.goto(manage_link(moved))
    page.click("[data-cancel]")
    assert "£60.00" in page.locator("[data-refund-due]").inner_text()
    page.locator("[data-confirm-cancel]").click()
    page.wait_for_url("**?done=cancelled")
    assert page.locator("[data-read-only]").is_visible()
    assert "refunded £60.00" in page.locator("[data-payment]").inner_text()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and booking.amount_refunded == 6000

    assert csp_violations == []

    # One calendar event, updated twice then removed.
    guest_mail_with_subject(smtp, "Cancelled:")
    invites = [found for found in map(invite, smtp.mailbox.to(GUEST_EMAIL)) if found]
    methods = [method for method, _ in invites]
    events = [next(iter(calendar.walk("VEVENT"))) for _, calendar in invites]
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert len({str(event["UID"]) for event in events}) == 1
    sequences = [int(event["SEQUENCE"]) for event in events]
    assert sequences == [0, 1, 2]
    assert events[1].decoded("DTSTART").strftime("%Y-%m-%dT%H:%M:%SZ") == new_start
