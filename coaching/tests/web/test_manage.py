"""Guest self-service by magic link: the manage page, cancel, reschedule and "lost your link?",
through the HTTP edge a guest touches (refunds through the real Stripe SDK and the local stand-in)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client

from coaching.links import make_manage_token
from coaching.models import Booking, BookingLog, Notification
from coaching.policy import get_policy
from coaching.schedule import free_slots
from coaching.services import Guest, cancel_booking, create_booking
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory, PaidCoachFactory
from coaching.tests.standins.stripe import pay

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
NINE = datetime(2030, 1, 7, 9, tzinfo=UTC)
TEN = datetime(2030, 1, 7, 10, tzinfo=UTC)
ELEVEN = datetime(2030, 1, 7, 11, tzinfo=UTC)
GUEST = Guest(name="Kenji Sato", email="kenji@example.com", timezone="Asia/Tokyo")


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def coach():
    coach = CoachFactory(name="Bea Brown", timezone="Europe/London")
    AvailabilityBlockFactory(coach=coach, start_at=NINE, end_at=NINE + timedelta(hours=3))  # 09, 10, 11 UTC
    return coach


@pytest.fixture
def booking(coach):
    return create_booking(guest=GUEST, coach=coach, start_at=TEN).booking


@pytest.fixture
def paid_booking(stripe_standin, client):
    coach = PaidCoachFactory()
    AvailabilityBlockFactory(coach=coach, start_at=NINE, end_at=NINE + timedelta(hours=3))
    booking = create_booking(guest=GUEST, coach=coach, start_at=TEN).booking
    pay(client, booking, payment_intent="pi_paid")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 6000
    return booking


def url(booking, suffix=""):
    return f"/bookings/manage/{make_manage_token(booking)}/{suffix}"


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def state_of_the_database():
    return (
        list(Booking.objects.order_by("pk").values()),
        list(BookingLog.objects.order_by("pk").values()),
        list(Notification.objects.order_by("pk").values()),
    )


# --- the page -----------------------------------------------------------------------------------------


def test_manage_page_shows_times_in_both_zones_status_payment_ics_and_policy(paid_booking, client):
    response = client.get(url(paid_booking))
    assert response.status_code == 200
    html = response.content.decode()
    assert paid_booking.reference in html
    assert "Monday 7 January 2030, 19:00–20:00</time> (Tokyo, GMT+9)" in html  # the guest's zone
    assert "Monday 7 January 2030, 10:00–11:00 (London, GMT)" in html  # the coach's zone
    assert "Confirmed" in html and "Paid £60.00" in html
    assert f"/bookings/{paid_booking.reference}/calendar.ics?t=" in html
    assert "Cancel up to 24 hours before the start and we refund everything you paid." in html
    assert "data-cancel" in html and "data-reschedule" in html


def test_manage_pages_are_never_cached_and_send_no_referrer(booking, client):
    for path in (url(booking), url(booking, "reschedule/"), url(booking, "reschedule/day/2030-01-07/")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_pages_with_a_form_send_a_referrer_only_to_this_site(booking, client):
    # Under no-referrer a browser posts the form with `Origin: null`, which Django's CSRF check refuses.
    for path in (
        url(booking, "cancel/"),
        url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}"),
        "/bookings/lost-link/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Referrer-Policy"] == "same-origin"
        assert "no-store" in response["Cache-Control"]


def test_a_browser_post_with_the_csrf_token_and_our_origin_cancels(booking):
    browser = Client(enforce_csrf_checks=True)
    html = browser.get(url(booking, "cancel/")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    refused = browser.post(url(booking, "cancel/"), {"csrfmiddlewaretoken": token}, HTTP_ORIGIN="null")
    assert refused.status_code == 403  # what no-referrer on this page would have caused
    response = browser.post(url(booking, "cancel/"), {"csrfmiddlewaretoken": token}, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 303
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_refunded_amount_is_shown_after_a_refunded_cancellation(
    paid_booking, stripe_standin, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the refund is sent once the cancellation commits
        client.post(url(paid_booking, "cancel/"))
    html = client.get(url(paid_booking)).content.decode()
    assert "Paid £60.00 · refunded £60.00" in html


# --- refused links ------------------------------------------------------------------------------------


def test_tampered_link_answers_404_with_a_clear_page_and_a_lost_link_link(booking, client):
    token = make_manage_token(booking)
    for path in (
        f"/bookings/manage/{token[:-2]}xx/",
        f"/bookings/manage/{token}x/cancel/",
        "/bookings/manage/nonsense/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        html = response.content.decode()
        assert "This booking link is not valid" in html and 'href="/bookings/lost-link/"' in html
        assert response["Referrer-Policy"] == "no-referrer"


def test_tampered_link_changes_nothing_on_post(booking, client):
    token = make_manage_token(booking)
    response = client.post(f"/bookings/manage/{token}x/cancel/")
    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_expired_link_answers_410_once_the_booking_is_over_by_the_link_lifetime(booking, client, frozen_clock):
    path = url(booking)
    frozen_clock.move_to(booking.end_at + timedelta(days=1, minutes=1))
    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode() and 'href="/bookings/lost-link/"' in response.content.decode()


def test_cancelled_booking_link_shows_it_read_only_and_refuses_changes_with_409(booking, client):
    cancel_booking(booking=booking, actor="owner")
    page = client.get(url(booking))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cancelled" in html and "data-read-only" in html
    assert "data-cancel" not in html and "data-reschedule" not in html
    for method, path in (
        ("get", url(booking, "cancel/")),
        ("post", url(booking, "cancel/")),
        ("get", url(booking, "reschedule/")),
        ("post", url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}")),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 409, (method, path)
        assert "can no longer be changed" in response.content.decode()
    booking.refresh_from_db()
    assert booking.start_at == TEN and booking.status == Booking.Status.CANCELLED


# --- GET never changes anything ----------------------------------------------------------------------


def test_every_get_of_every_manage_url_leaves_the_database_identical(booking, client):
    before = state_of_the_database()
    for path in (
        url(booking),
        url(booking, "cancel/"),
        url(booking, "reschedule/"),
        url(booking, "reschedule/?month=2030-02"),
        url(booking, "reschedule/day/2030-01-07/"),
        url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}"),
        "/bookings/lost-link/",
    ):
        assert client.get(path).status_code == 200, path
        assert client.get(path, headers={"HX-Request": "true"}).status_code == 200, path
    assert state_of_the_database() == before


def test_changes_need_the_csrf_token(booking):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(booking, "cancel/")).status_code == 403
    assert strict.post(url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}")).status_code == 403
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.start_at == TEN


# --- cancel -------------------------------------------------------------------------------------------


def test_cancel_confirmation_shows_the_full_refund_before_the_cutoff(paid_booking, stripe_standin, client):
    response = client.get(url(paid_booking, "cancel/"))
    html = response.content.decode()
    assert "You will be refunded <strong>£60.00</strong>" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert not stripe_standin.requests_to("POST", "/v1/refunds")


def test_cancel_confirmation_says_no_refund_after_the_cutoff(paid_booking, client, frozen_clock):
    frozen_clock.move_to(TEN - timedelta(hours=23))
    html = client.get(url(paid_booking, "cancel/")).content.decode()
    assert "this cancellation is <strong>not refunded</strong>" in html


def test_cancel_before_the_cutoff_refunds_in_full_through_stripe(
    paid_booking, stripe_standin, client, frozen_clock, django_capture_on_commit_callbacks
):
    frozen_clock.move_to(TEN - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(paid_booking, "cancel/"))
    assert response.status_code == 303 and response["Location"] == url(paid_booking) + "?done=cancelled"
    (refund,) = stripe_standin.requests_to("POST", "/v1/refunds")
    assert refund.params["amount"] == "6000" and refund.params["payment_intent"] == "pi_paid"
    paid_booking.refresh_from_db()
    assert paid_booking.status == Booking.Status.CANCELLED and paid_booking.amount_refunded == 6000
    assert BookingLog.objects.get(booking=paid_booking, action="cancelled").actor == "guest"
    assert "Your booking is cancelled" in client.get(response["Location"]).content.decode()


def test_cancel_inside_the_cutoff_refunds_nothing(paid_booking, stripe_standin, client, frozen_clock):
    frozen_clock.move_to(TEN - timedelta(hours=23))
    assert client.post(url(paid_booking, "cancel/")).status_code == 303
    assert not stripe_standin.requests_to("POST", "/v1/refunds")
    paid_booking.refresh_from_db()
    assert paid_booking.status == Booking.Status.CANCELLED and paid_booking.amount_refunded == 0


def test_cancel_is_refused_when_the_policy_forbids_late_cancellation(booking, client, frozen_clock):
    current = get_policy()
    current.allow_cancel_after_cutoff = False
    current.save()
    frozen_clock.move_to(TEN - timedelta(hours=2))
    response = client.post(url(booking, "cancel/"))
    assert response.status_code == 409
    assert "can be cancelled up to 24 hours before" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_htmx_cancel_step_answers_only_the_action_region(booking, client):
    response = client.get(url(booking, "cancel/"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="manage-action"') and "<html" not in html
    assert "Cancel this booking?" in html


# --- reschedule ---------------------------------------------------------------------------------------


def test_reschedule_calendar_offers_only_times_this_booking_can_move_to(booking, coach, client):
    BookingFactory(coach=coach, start_at=NINE)  # someone else at 09:00
    response = client.get(url(booking, "reschedule/day/2030-01-07/"))
    starts = re.findall(r'data-start="([^"]+)"', response.content.decode())
    assert starts == [iso(ELEVEN)]  # not 09:00 (taken) nor 10:00 (its own time)
    grid = client.get(url(booking, "reschedule/")).content.decode()
    day_link = url(booking, "reschedule/day/2030-01-07/")
    assert f'href="{day_link}"' in grid and f'hx-get="{day_link}"' in grid


def test_reschedule_confirmation_shows_the_new_time_in_both_zones(booking, client):
    html = client.get(url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}")).content.decode()
    assert "Monday 7 January 2030, 20:00–21:00</time> (Tokyo, GMT+9)" in html
    assert "Monday 7 January 2030, 11:00–12:00 (London, GMT)" in html
    assert "data-confirm-move" in html


def test_reschedule_to_a_free_slot_keeps_reference_and_payment_and_frees_the_old_slot(paid_booking, client):
    reference = paid_booking.reference
    response = client.post(url(paid_booking, f"reschedule/confirm/?start={iso(ELEVEN)}"))
    assert response.status_code == 303 and response["Location"].endswith("?done=rescheduled")
    moved = Booking.objects.get(pk=paid_booking.pk)
    assert moved.reference == reference and moved.start_at == ELEVEN and moved.end_at == ELEVEN + timedelta(hours=1)
    assert moved.amount_paid == 6000 and moved.status == Booking.Status.CONFIRMED and moved.reschedule_count == 1
    assert Booking.objects.count() == 1  # moved in place, no second row
    offered = free_slots(coach=moved.coach, start=NINE, end=NINE + timedelta(hours=3))
    assert [slot.start_at for slot in offered] == [NINE, TEN]  # the old 10:00 is free again


def test_reschedule_to_a_taken_slot_fails_cleanly_and_leaves_the_booking_unchanged(booking, coach, client):
    BookingFactory(coach=coach, start_at=ELEVEN)
    before = state_of_the_database()
    response = client.post(url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}"))
    assert response.status_code == 409
    assert "that time was just taken" in response.content.decode()
    assert state_of_the_database() == before


def test_reschedule_limit_holds(booking, client):
    current = get_policy()
    current.max_reschedules = 1
    current.save()
    assert client.post(url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}")).status_code == 303
    response = client.post(url(booking, f"reschedule/confirm/?start={iso(NINE)}"))
    assert response.status_code == 409
    assert "already been moved 1 time," in response.content.decode()
    booking.refresh_from_db()
    assert booking.start_at == ELEVEN and booking.reschedule_count == 1
    assert "data-reschedule" not in client.get(url(booking)).content.decode()


def test_reschedule_inside_the_cutoff_is_refused(booking, client, frozen_clock):
    frozen_clock.move_to(TEN - timedelta(hours=23))
    response = client.get(url(booking, "reschedule/"))
    assert response.status_code == 409
    assert "can be moved up to 24 hours before" in response.content.decode()


def test_a_link_from_before_a_reschedule_still_opens_the_moved_booking(booking, client):
    old_link = url(booking)
    client.post(url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}"))
    html = client.get(old_link).content.decode()
    assert "11:00–12:00 (London, GMT)" in html


# --- rate limits --------------------------------------------------------------------------------------


@pytest.fixture
def rate_limits_on(settings):
    settings.RATELIMIT_ENABLED = True
    settings.MAGIC_LINK_RATE = "3/m"
    settings.LOST_LINK_RATE = "2/h"


def test_manage_page_is_rate_limited_per_ip(booking, client, rate_limits_on):
    for _ in range(3):
        assert client.get(url(booking)).status_code == 200
    response = client.get(url(booking))
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.get(url(booking), REMOTE_ADDR="10.0.0.2").status_code == 200  # another visitor is not blocked


def test_manage_actions_are_rate_limited_per_booking_across_ips(booking, client, rate_limits_on):
    for n in range(3):
        assert client.get(url(booking, "cancel/"), REMOTE_ADDR=f"10.0.1.{n}").status_code == 200
    response = client.post(url(booking, "cancel/"), REMOTE_ADDR="10.0.1.99")
    assert response.status_code == 429 and "this booking" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_lost_link_form_is_rate_limited_per_ip(booking, client, rate_limits_on):
    data = {"email": "someone@example.com", "reference": "NOPE1234"}
    for _ in range(2):
        assert client.post("/bookings/lost-link/", data).status_code == 200
    assert client.post("/bookings/lost-link/", data).status_code == 429


def test_lost_link_form_is_rate_limited_per_email_address_across_ips(booking, client, rate_limits_on):
    data = {"email": "someone@example.com", "reference": booking.reference}
    for n in range(2):
        assert client.post("/bookings/lost-link/", data, REMOTE_ADDR=f"10.0.2.{n}").status_code == 200
    assert client.post("/bookings/lost-link/", data, REMOTE_ADDR="10.0.2.99").status_code == 429


@pytest.mark.parametrize(
    ("path", "ip_per_request", "expected_wait"),
    [
        pytest.param("/bookings/lost-link/", False, ("3001", "51 minutes"), id="lost-link-per-ip-2-an-hour"),
        pytest.param("/bookings/lost-link/", True, ("3001", "51 minutes"), id="lost-link-per-address-2-an-hour"),
    ],
)
def test_retry_after_and_the_message_come_from_the_limit_that_refused(
    booking, client, rate_limits_on, frozen_clock, path, ip_per_request, expected_wait
):
    # Ten minutes into an hour-long window: 50 minutes (and a second) until it resets.
    frozen_clock.move_to(datetime(2030, 1, 1, 13, 10, tzinfo=UTC))
    data = {"email": "someone@example.com", "reference": booking.reference}
    for n in range(2):
        extra = {"REMOTE_ADDR": f"10.0.3.{n}"} if ip_per_request else {}
        assert client.post(path, data, **extra).status_code == 200
    response = client.post(path, data, **({"REMOTE_ADDR": "10.0.3.99"} if ip_per_request else {}))
    assert response.status_code == 429
    retry_after, words = expected_wait
    assert response["Retry-After"] == retry_after
    assert f"please wait {words}" in response.content.decode()


def test_a_per_minute_limit_says_a_minute(booking, client, rate_limits_on, frozen_clock):
    frozen_clock.move_to(datetime(2030, 1, 1, 13, 10, 15, tzinfo=UTC))
    for _ in range(3):
        client.get(url(booking))
    response = client.get(url(booking))
    assert response.status_code == 429
    assert response["Retry-After"] == "46" and "please wait a minute" in response.content.decode()


# --- lost your link? ----------------------------------------------------------------------------------


def test_lost_link_emails_a_working_link_when_email_and_reference_match(
    booking, client, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/bookings/lost-link/", {"email": "KENJI@example.com", "reference": booking.reference.lower()}
        )
    assert response.status_code == 200
    assert "If that address has upcoming bookings with us, we&#x27;ve emailed it a link" in response.content.decode()
    (message,) = mail.outbox
    assert message.to == ["kenji@example.com"] and booking.reference in message.subject
    (link,) = re.findall(r"http://testserver/bookings/manage/\S+/", message.body)
    assert client.get(link.removeprefix("http://testserver")).status_code == 200


def test_lost_link_answers_the_same_when_nothing_matches_and_sends_nothing(
    booking, client, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    answers = []
    for data in (
        {"email": "kenji@example.com", "reference": booking.reference},
        {"email": "stranger@example.com", "reference": booking.reference},
        {"email": "kenji@example.com", "reference": "ZZZZ9999"},
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/bookings/lost-link/", data)
        assert response.status_code == 200
        answers.append(re.sub(r"[A-Za-z0-9]{64}", "", response.content.decode()))  # minus CSRF tokens
    assert answers[0] == answers[1] == answers[2]
    assert len(mail.outbox) == 1


def test_lost_link_sends_at_most_one_email_per_booking_per_hour(booking, client, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/bookings/lost-link/", {"email": "kenji@example.com", "reference": booking.reference})
    assert len(mail.outbox) == 1


def test_lost_link_form_shows_field_errors(client):
    response = client.post("/bookings/lost-link/", {"email": "not an email", "reference": ""})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.content.decode()


# --- the owner's settings -----------------------------------------------------------------------------


def test_booking_policy_is_in_the_admin_settings_menu_with_plain_help(client, django_user_model):
    from wagtail.models import Site

    client.force_login(django_user_model.objects.create_superuser("owner", "owner@example.com", "pw"))
    dashboard = client.get("/admin/").content.decode()
    assert "/admin/settings/coaching/bookingpolicy/" in dashboard
    site = Site.objects.get(is_default_site=True)
    response = client.get(f"/admin/settings/coaching/bookingpolicy/{site.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Cancellations and refunds",
        "Rescheduling",
        "Guests can cancel with a refund up to this many hours before the start.",
        "What a guest who cancels from their booking link gets back.",
        "How often a guest may move one booking.",
        "Magic links stop working this many days after the booking ends.",
    ):
        assert text in html, text


def test_owner_changes_to_the_policy_apply_to_the_manage_page(booking, client):
    current = get_policy()
    current.reschedule_cutoff_hours = 200  # the booking starts in 146 hours
    current.save()
    html = client.get(url(booking)).content.decode()
    assert "data-reschedule" not in html
    assert "Moving is no longer possible: bookings can be moved up to 200 hours before they start" in html


def test_reschedule_confirmation_refuses_a_time_that_is_not_offered(booking, coach, client):
    BookingFactory(coach=coach, start_at=ELEVEN)
    response = client.get(url(booking, f"reschedule/confirm/?start={iso(ELEVEN)}"))
    assert response.status_code == 409 and "data-confirm-move" not in response.content.decode()
    assert "that time was just taken" in response.content.decode()
    assert client.get(url(booking, f"reschedule/confirm/?start={iso(TEN)}")).status_code == 409  # its own time


def test_manage_page_and_reschedule_calendar_run_a_small_constant_number_of_queries(
    booking, coach, client, django_assert_max_num_queries
):
    for hour in range(12, 20):  # a busier day does not cost more queries
        AvailabilityBlockFactory(coach=coach, start_at=TEN.replace(hour=hour), end_at=TEN.replace(hour=hour + 1))
    get_policy()  # the setting row exists, as on a running site
    # Each budget includes the one query for the site's main menu (templates/includes/nav.html).
    with django_assert_max_num_queries(7):
        client.get(url(booking))
    with django_assert_max_num_queries(11):
        client.get(url(booking, "reschedule/"))
