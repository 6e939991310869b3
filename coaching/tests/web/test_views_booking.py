"""The guest booking views over HTTP: every view as a full page and as an HTMX partial, plus what a
guest can get wrong (bad input, taken slots, tampered links), which must be a 4xx and write nothing."""

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from coaching.links import make_ics_token
from coaching.models import Booking, BookingLog
from coaching.services import cancel_booking, reschedule_booking
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory, WorkshopFactory
from coaching.tests.http import HTMX
from coaching.wallclock import expand_weekly_pattern

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
# 2030-01-07 is a Monday; London is on GMT (UTC+0) in January, Tokyo is UTC+9.
NINE_LONDON = datetime(2030, 1, 7, 9, tzinfo=UTC)


@pytest.fixture
def coach():
    coach = CoachFactory(name="Amara Okafor", slug="amara", timezone="Europe/London", session_minutes=60)
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
def london_client():
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Europe/London"
    return client


def slot_url(coach, start: datetime) -> str:
    return reverse("coaching:coach_slot", args=[coach.slug]) + "?start=" + start.strftime("%Y-%m-%dT%H:%M:%SZ")


def guest_details(**overrides):
    return {"name": "Jo Guest", "email": "jo@example.com", "phone": "", "notes": "", **overrides}


def visible_text(response) -> str:
    """The response as a reader sees it: tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def assert_fragment(response):
    assert b"<html" not in response.content


def assert_full_page(response):
    assert b"<html" in response.content


# --- the month calendar ---------------------------------------------------------------------------


def test_coach_calendar_full_page_marks_days_with_openings_with_dot_and_text(coach, london_client):
    response = london_client.get(reverse("coaching:coach_calendar", args=["amara"]))
    assert response.status_code == 200
    assert_full_page(response)
    html = response.content.decode()
    assert "January 2030" in html
    assert 'data-day="2030-01-07"' in html
    assert "Monday 7 January: 3 times available" in html
    assert 'data-day="2030-01-05"' not in html  # a Saturday: no availability, no link


def test_coach_calendar_htmx_returns_only_the_calendar_region(coach, london_client):
    response = london_client.get(reverse("coaching:coach_calendar", args=["amara"]) + "?month=2030-02", **HTMX)
    assert response.status_code == 200
    assert_fragment(response)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="calendar"')
    assert "February 2030" in html
    assert 'href="/book/coach/amara/?month=2030-01"' in html
    assert 'hx-get="/book/coach/amara/?month=2030-03"' in html


def test_current_month_offers_no_link_to_the_past(coach, london_client):
    html = london_client.get(reverse("coaching:coach_calendar", args=["amara"])).content.decode()
    assert "?month=2029-12" not in html


@pytest.mark.parametrize("month", ["2030-13", "abc", "2030-1-1", "0000-01", "2030-00", "9999999-01", "9999-12"])
def test_malformed_month_is_a_400_with_a_message(coach, london_client, month):
    response = london_client.get(reverse("coaching:coach_calendar", args=["amara"]), {"month": month})
    assert response.status_code == 400
    assert "That month is not valid" in response.content.decode()


def test_malformed_month_over_htmx_is_retargeted_to_the_alert_region(coach, london_client):
    response = london_client.get(reverse("coaching:coach_calendar", args=["amara"]) + "?month=nope", **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#booking-alert"
    assert_fragment(response)


def test_unknown_coach_is_a_404_with_a_message(london_client):
    response = london_client.get(reverse("coaching:coach_calendar", args=["nobody"]))
    assert response.status_code == 404
    assert "We could not find that coach" in response.content.decode()


def test_invalid_timezone_cookie_falls_back_to_the_site_zone(coach):
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Mars/Olympus_Mons"
    response = client.get(reverse("coaching:coach_calendar", args=["amara"]))
    assert response.status_code == 200
    assert "Times in London (GMT)" in response.content.decode()


# --- a day's times ---------------------------------------------------------------------------------


def test_day_full_page_lists_slot_times_labelled_with_the_zone(coach, london_client):
    response = london_client.get(reverse("coaching:coach_day", args=["amara", "2030-01-07"]))
    assert response.status_code == 200
    assert_full_page(response)
    html = response.content.decode()
    assert "Monday 7 January" in html
    assert ">09:00</time>" in html and ">10:00</time>" in html and ">11:00</time>" in html
    assert "Times in London (GMT)" in html
    assert 'data-start="2030-01-07T09:00:00Z"' in html


def test_day_htmx_returns_only_the_day_region(coach, london_client):
    response = london_client.get(reverse("coaching:coach_day", args=["amara", "2030-01-07"]), **HTMX)
    assert response.status_code == 200
    assert_fragment(response)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="day-slots"')
    # The grid comes along out of band so the chosen day is marked in it.
    assert '<section id="calendar" hx-swap-oob="true"' in html
    assert re.search(r'data-day="2030-01-07"\s+aria-current="date"', html)


def test_day_in_tokyo_shows_times_shifted_to_tokyo(coach):
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Asia/Tokyo"
    html = client.get(reverse("coaching:coach_day", args=["amara", "2030-01-07"]), **HTMX).content.decode()
    assert ">18:00</time>" in html  # 09:00 in London
    assert "Times in Tokyo (GMT+9)" in html
    assert ">09:00</time>" not in html


@pytest.mark.parametrize("day", ["2030-02-30", "yesterday", "2030-1-7x", "9999-12-31", "0001-01-01"])
def test_malformed_day_is_a_400(coach, london_client, day):
    response = london_client.get(f"/book/coach/amara/day/{day}/")
    assert response.status_code == 400
    assert "That date is not valid" in response.content.decode()


# --- the slot form ----------------------------------------------------------------------------------


def test_slot_form_htmx_returns_the_slide_over_with_times_and_zone(coach, london_client):
    response = london_client.get(slot_url(coach, NINE_LONDON), **HTMX)
    assert response.status_code == 200
    assert_fragment(response)
    html = response.content.decode()
    assert 'role="dialog"' in html
    assert "Monday 7 January, 09:00–10:00 (London, GMT)" in visible_text(response)
    assert 'name="email"' in html and 'name="name"' in html


def test_slot_form_full_page_works_without_javascript(coach, london_client):
    response = london_client.get(slot_url(coach, NINE_LONDON))
    assert response.status_code == 200
    assert_full_page(response)
    html = response.content.decode()
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert 'id="calendar"' in html and 'id="day-slots"' in html


def test_slot_url_accepts_an_offset_whose_plus_arrived_as_a_space(coach, london_client):
    response = london_client.get(reverse("coaching:coach_slot", args=["amara"]) + "?start=2030-01-07T09:00:00 00:00")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "start",
    ["", "tomorrow", "2030-01-07T09:00:00", "2030-13-07T09:00:00Z", "9999-12-31T23:00:00Z", "0001-01-01T00:00Z"],
)
def test_malformed_start_is_a_400(coach, london_client, start):
    response = london_client.get(reverse("coaching:coach_slot", args=["amara"]), {"start": start})
    assert response.status_code == 400
    assert "That time is not valid" in response.content.decode()


def test_slot_not_on_the_grid_is_refused(coach, london_client):
    response = london_client.get(slot_url(coach, NINE_LONDON + timedelta(minutes=7)), **HTMX)
    assert response.status_code == 409
    assert "That time is not offered" in response.content.decode()


def test_free_booking_over_htmx_returns_the_success_fragment_and_confirms(coach):
    client = Client()
    client.cookies["USER_TIMEZONE"] = "Asia/Tokyo"
    response = client.post(slot_url(coach, NINE_LONDON), guest_details(), **HTMX)
    assert response.status_code == 200
    assert_fragment(response)
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.start_at == NINE_LONDON
    assert booking.guest_timezone == "Asia/Tokyo"
    html = response.content.decode()
    assert booking.reference in html
    text = visible_text(response)
    assert "Your time Monday 7 January 2030, 18:00–19:00 (Tokyo, GMT+9)" in text
    assert "Amara Okafor's time Monday 7 January 2030, 09:00–10:00 (London, GMT)" in text
    assert f"/bookings/{booking.reference}/calendar.ics?t=" in html


def test_free_booking_without_javascript_returns_the_full_page_with_confirmation(coach, london_client):
    response = london_client.post(slot_url(coach, NINE_LONDON), guest_details())
    assert response.status_code == 200
    assert_full_page(response)
    assert Booking.objects.get().reference in response.content.decode()


def test_invalid_details_keep_what_was_typed_and_write_nothing(coach, london_client):
    response = london_client.post(
        slot_url(coach, NINE_LONDON), guest_details(email="not-an-email", notes="Career change"), **HTMX
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Jo Guest"' in html and "Career change" in html
    assert 'data-field-error="email"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_email_error"' in html and 'id="id_email_error"' in html
    assert not Booking.objects.exists()


def test_slot_taken_meanwhile_is_a_409_in_the_form_and_writes_nothing(coach, london_client):
    BookingFactory(coach=coach, start_at=NINE_LONDON)
    response = london_client.post(slot_url(coach, NINE_LONDON), guest_details(), **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "that time was just taken" in html
    assert 'value="Jo Guest"' in html
    assert Booking.objects.count() == 1
    assert not BookingLog.objects.exists()


def test_slot_in_the_past_is_refused(coach, london_client):
    past = datetime(2029, 12, 31, 9, tzinfo=UTC)
    response = london_client.post(slot_url(coach, past), guest_details(), **HTMX)
    assert response.status_code == 400
    assert "already passed" in response.content.decode()
    assert not Booking.objects.exists()


def test_htmx_post_without_csrf_token_is_forbidden(coach):
    client = Client(enforce_csrf_checks=True)
    response = client.post(slot_url(coach, NINE_LONDON), guest_details(), **HTMX)
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_htmx_post_with_the_csrf_header_from_the_page_succeeds(coach):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("coaching:coach_calendar", args=["amara"]))
    token = page.cookies["csrftoken"].value
    assert "X-CSRFToken" in page.content.decode()  # base.html sends it on every HTMX request
    response = client.post(slot_url(coach, NINE_LONDON), guest_details(), HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200
    assert Booking.objects.count() == 1


@pytest.fixture
def paid_coach():
    coach = CoachFactory(slug="paid", price_amount=5000)
    AvailabilityBlockFactory(coach=coach, start_at=NINE_LONDON, end_at=NINE_LONDON + timedelta(hours=3))
    return coach


def test_paid_session_over_htmx_is_sent_to_checkout_with_hx_redirect(paid_coach, london_client):
    response = london_client.post(slot_url(paid_coach, NINE_LONDON), guest_details(), **HTMX)
    assert response.status_code == 200
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.PENDING_PAYMENT
    assert response["HX-Redirect"].startswith("http")
    assert "checkout" in response["HX-Redirect"]


def test_paid_session_without_javascript_gets_a_303_to_checkout(paid_coach, london_client):
    response = london_client.post(slot_url(paid_coach, NINE_LONDON), guest_details())
    assert response.status_code == 303
    assert "checkout" in response["Location"]


@override_settings(STRIPE_SECRET_KEY="", STRIPE_TEST_CHECKOUT=False)
def test_paid_session_without_any_payment_set_up_explains_in_the_form_and_holds_nothing(paid_coach, london_client):
    response = london_client.post(slot_url(paid_coach, NINE_LONDON), guest_details(), **HTMX)
    assert 400 <= response.status_code < 500
    assert "HX-Redirect" not in response
    html = response.content.decode()
    assert "payment" in html.lower() and 'value="Jo Guest"' in html
    assert not Booking.objects.active().exists()


# --- workshops --------------------------------------------------------------------------------------


@pytest.fixture
def workshop():
    return WorkshopFactory(
        title="Career Clarity Lab",
        slug="clarity",
        start_at=datetime(2030, 1, 15, 18, tzinfo=UTC),
        end_at=datetime(2030, 1, 15, 20, tzinfo=UTC),
        capacity=5,
    )


def test_workshops_calendar_lists_workshops_with_seats_left(workshop, london_client):
    response = london_client.get(reverse("coaching:workshops_calendar"))
    assert response.status_code == 200
    assert_full_page(response)
    html = response.content.decode()
    assert "Career Clarity Lab" in html and "5 seats left" in html
    assert "Tue 15 Jan, 18:00 (London, GMT)" in visible_text(response)


def test_workshops_calendar_opens_on_the_next_workshops_month(london_client):
    WorkshopFactory(
        title="Spring Reset", start_at=datetime(2030, 3, 4, 18, tzinfo=UTC), end_at=datetime(2030, 3, 4, 20, tzinfo=UTC)
    )
    html = london_client.get(reverse("coaching:workshops_calendar")).content.decode()
    assert "March 2030" in html and "Spring Reset" in html


def test_workshops_calendar_htmx_returns_only_the_calendar(workshop, london_client):
    response = london_client.get(reverse("coaching:workshops_calendar") + "?month=2030-02", **HTMX)
    assert response.status_code == 200
    assert_fragment(response)
    assert "No workshops this month" in response.content.decode()


def test_workshops_calendar_rejects_a_bad_month(london_client):
    assert london_client.get(reverse("coaching:workshops_calendar"), {"month": "2030-99"}).status_code == 400


def test_workshop_form_shows_seats(workshop, london_client):
    response = london_client.get(reverse("coaching:workshop_book", args=["clarity"]), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="seats"' in html and "Seats left" in html


def test_workshop_form_full_page(workshop, london_client):
    response = london_client.get(reverse("coaching:workshop_book", args=["clarity"]))
    assert response.status_code == 200
    assert_full_page(response)


def test_unknown_or_unpublished_workshop_is_a_404(london_client):
    WorkshopFactory(slug="hidden", is_published=False)
    for slug in ["nope", "hidden"]:
        response = london_client.get(reverse("coaching:workshop_book", args=[slug]))
        assert response.status_code == 404


def test_booking_two_workshop_seats(workshop, london_client):
    response = london_client.post(reverse("coaching:workshop_book", args=["clarity"]), guest_details(seats="2"), **HTMX)
    assert response.status_code == 200
    booking = Booking.objects.get()
    assert (booking.workshop, booking.seats, booking.status) == (workshop, 2, Booking.Status.CONFIRMED)
    assert "2 seats" in response.content.decode()


@pytest.mark.parametrize("seats", ["abc", "0", "-1", "2.5", ""])
def test_nonsense_seats_are_a_422_and_write_nothing(workshop, london_client, seats):
    response = london_client.post(
        reverse("coaching:workshop_book", args=["clarity"]), guest_details(seats=seats), **HTMX
    )
    assert response.status_code == 422
    assert 'data-field-error="seats"' in response.content.decode()
    assert not Booking.objects.exists()


def test_more_seats_than_left_is_a_409(workshop, london_client):
    BookingFactory(workshop=workshop, seats=4)
    response = london_client.post(reverse("coaching:workshop_book", args=["clarity"]), guest_details(seats="2"), **HTMX)
    assert response.status_code == 409
    assert "Only 1 seat left" in response.content.decode()
    assert Booking.objects.count() == 1


def test_sold_out_workshop_form_says_so(workshop, london_client):
    BookingFactory(workshop=workshop, seats=5)
    response = london_client.get(reverse("coaching:workshop_book", args=["clarity"]), **HTMX)
    assert response.status_code == 409
    assert "sold out" in response.content.decode()


# --- the calendar file --------------------------------------------------------------------------------


def test_ics_link_with_its_token_downloads_the_invite(coach):
    booking = BookingFactory(coach=coach, start_at=NINE_LONDON)
    response = Client().get(reverse("coaching:booking_ics", args=[booking.reference]), {"t": make_ics_token(booking)})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "BEGIN:VEVENT" in body and booking.ics_uid in body
    assert "DTSTART:20300107T090000Z" in body


def _ics(booking):
    from icalendar import Calendar

    response = Client().get(reverse("coaching:booking_ics", args=[booking.reference]), {"t": make_ics_token(booking)})
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    return response, calendar, event


def test_ics_download_after_a_cancellation_cancels_the_event_with_the_current_sequence(coach):
    booking = BookingFactory(coach=coach, start_at=NINE_LONDON, end_at=NINE_LONDON + timedelta(hours=1))
    cancel_booking(booking=booking, actor="guest", now=NOW)
    booking.refresh_from_db()
    response, calendar, event = _ics(booking)
    assert str(calendar["METHOD"]) == "CANCEL" and "method=CANCEL" in response["Content-Type"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == booking.ics_sequence == 1
    assert str(event["UID"]) == booking.ics_uid


def test_ics_download_after_a_move_has_the_new_time_and_sequence(coach):
    booking = BookingFactory(coach=coach, start_at=NINE_LONDON, end_at=NINE_LONDON + timedelta(hours=1))
    reschedule_booking(booking=booking, new_start_at=NINE_LONDON + timedelta(hours=1), actor="guest", now=NOW)
    booking.refresh_from_db()
    response, calendar, event = _ics(booking)
    assert str(calendar["METHOD"]) == "REQUEST" and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == NINE_LONDON + timedelta(hours=1)
    assert int(event["SEQUENCE"]) == 1


def test_ics_link_refuses_a_missing_or_borrowed_token(coach):
    mine = BookingFactory(coach=coach, start_at=NINE_LONDON)
    other = BookingFactory(
        coach=coach, start_at=NINE_LONDON + timedelta(hours=2), end_at=NINE_LONDON + timedelta(hours=3)
    )
    url = reverse("coaching:booking_ics", args=[other.reference])
    assert Client().get(url).status_code == 404
    assert Client().get(url, {"t": "garbage"}).status_code == 404
    assert Client().get(url, {"t": make_ics_token(mine)}).status_code == 404


# --- the time zone picker ----------------------------------------------------------------------------


def test_timezone_picker_sets_the_zone_and_the_chosen_marker(coach):
    client = Client()
    response = client.post(
        reverse("coaching:set_timezone"), {"timezone": "Asia/Tokyo", "next": "/book/coach/amara/?month=2030-01"}
    )
    assert response.status_code == 303
    assert response["Location"] == "/book/coach/amara/?month=2030-01"
    assert response.cookies["USER_TIMEZONE"].value == "Asia/Tokyo"
    assert response.cookies["USER_TIMEZONE_CHOSEN"].value == "1"
    html = client.get("/book/coach/amara/day/2030-01-07/").content.decode()
    assert "Times in Tokyo (GMT+9)" in html


def test_timezone_picker_shows_on_the_booking_page_with_the_current_zone_named(coach, london_client):
    html = london_client.get(reverse("coaching:coach_calendar", args=["amara"])).content.decode()
    assert '<label for="zone-input"' in html
    assert re.search(r"Times are shown in <strong[^>]*>London \(GMT\)</strong>", html)


def test_timezone_picker_refuses_an_unknown_zone_and_never_redirects_offsite():
    response = Client().post(reverse("coaching:set_timezone"), {"timezone": "Nope/Nowhere", "next": "/"})
    assert response.status_code == 422
    assert "USER_TIMEZONE" not in response.cookies
    response = Client().post(
        reverse("coaching:set_timezone"), {"timezone": "Asia/Tokyo", "next": "https://evil.example/"}
    )
    assert response.status_code == 303
    assert response["Location"] == "/"


def test_every_zone_in_the_picker_is_accepted_by_the_middleware():
    from coaching.zones import guest_zone_choices as timezone_choices
    from coaching.zones import zone_from_name

    assert all(zone_from_name(name) is not None for name in timezone_choices())
    assert zoneinfo.ZoneInfo("Asia/Tokyo").key in timezone_choices()
