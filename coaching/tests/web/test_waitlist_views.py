"""A sold-out workshop's waiting list through the HTTP edge a guest touches: joining from the
workshops calendar's panel, and the claim and leave links of its emails (forged, lapsed, used twice)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.cache import caches

from coaching.links import make_waitlist_token
from coaching.models import Booking, BookingLog, Notification, WaitlistEntry
from coaching.services import cancel_booking
from coaching.services.waitlist import advance_waitlist, join_waitlist
from coaching.tests.factories import BookingFactory, CoachFactory, GuestFactory, WorkshopFactory
from coaching.tests.http import HTMX
from coaching.vocabulary import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
START = datetime(2031, 3, 10, 13, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def workshop():
    host = CoachFactory(name="Grace Hopper")
    workshop = WorkshopFactory(
        title="Writing for humans",
        slug="writing",
        host=host,
        start_at=START,
        end_at=START + timedelta(hours=2),
        capacity=2,
    )
    BookingFactory(workshop=workshop, seats=2, guest_email="first@guest.example")
    return workshop


@pytest.fixture
def offered(workshop):
    """Ada waits, the two seats sold free up, and one is offered to her."""
    ada = join_waitlist(workshop=workshop, guest=GuestFactory(name="Ada", email="ada@guest.example"))
    cancel_booking(booking=Booking.objects.get(workshop=workshop), actor=Actor.GUEST)
    advance_waitlist(workshop=workshop)
    ada.refresh_from_db()
    assert ada.status == WaitlistEntry.Status.OFFERED
    return ada


def link(entry, action):
    return f"/waitlist/{make_waitlist_token(entry)}/{action}/"


def state_of_the_database():
    return (
        list(Booking.objects.order_by("pk").values()),
        list(BookingLog.objects.order_by("pk").values()),
        list(WaitlistEntry.objects.order_by("pk").values()),
        list(Notification.objects.order_by("pk").values()),
    )


# --- joining -----------------------------------------------------------------------------------------


def test_the_workshops_calendar_shows_seats_left_waiting_list_and_sold_out(workshop, client):
    WorkshopFactory(title="Open studio", start_at=START + timedelta(days=1), capacity=5)
    closed = WorkshopFactory(
        title="Closed circle", start_at=START + timedelta(days=2), capacity=1, waitlist_enabled=False
    )
    BookingFactory(workshop=closed)

    html = client.get("/book/workshops/?month=2031-03").content.decode()

    assert re.search(r'data-workshop-state="waitlist">\s*Sold out · waiting list open', html)
    assert re.search(r'data-workshop-state="seats">5 seats left', html)
    assert re.search(r'data-workshop-state="sold_out">Sold out', html)
    assert html.count("Join the waiting list") == 1 and 'href="/book/workshop/writing/waitlist/"' in html


def test_a_guest_joins_the_waiting_list_from_the_booking_panel(workshop, client):
    form = client.get("/book/workshop/writing/waitlist/", **HTMX)
    assert form.status_code == 200 and "data-waitlist-form" in form.content.decode()
    assert "None (sold out)" in form.content.decode()

    response = client.post(
        "/book/workshop/writing/waitlist/",
        {"name": "Ada Lovelace", "email": "ada@guest.example", "seats": "2"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "You're on the waiting list" in html and "data-position>1<" in html
    entry = WaitlistEntry.objects.get()
    assert (entry.guest_name, entry.guest_email, entry.seats, entry.status) == (
        "Ada Lovelace",
        "ada@guest.example",
        2,
        "waiting",
    )


def test_the_waiting_list_form_works_without_javascript_and_shows_field_errors(workshop, client):
    page = client.get("/book/workshop/writing/waitlist/")
    assert (
        page.status_code == 200
        and "data-waitlist-form" in page.content.decode()
        and 'id="calendar"' in page.content.decode()
    )

    response = client.post("/book/workshop/writing/waitlist/", {"name": "", "email": "not-an-email", "seats": "abc"})

    assert response.status_code == 422
    assert 'data-field-error="email"' in response.content.decode()
    assert 'data-field-error="seats"' in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_a_workshop_with_seats_left_is_booked_not_waited_for(workshop, client):
    Booking.objects.filter(workshop=workshop).update(seats=1)
    assert client.get("/book/workshop/writing/waitlist/", **HTMX).status_code == 409
    response = client.post(
        "/book/workshop/writing/waitlist/", {"name": "Ada", "email": "a@guest.example", "seats": "1"}
    )
    assert response.status_code == 409 and "still available" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


# --- the links in the emails ---------------------------------------------------------------------------


def test_leaving_the_waiting_list_from_the_link_in_the_email(workshop, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/book/workshop/writing/waitlist/", {"name": "Ada", "email": "ada@guest.example", "seats": "1"})
    (email,) = mail.outbox
    leave_url = re.search(r"http://testserver(/waitlist/\S+/leave/)", email.body).group(1)

    before = state_of_the_database()
    page = client.get(leave_url)
    assert page.status_code == 200 and "Leave the waiting list?" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") and page["X-Robots-Tag"] == "noindex, nofollow"
    assert state_of_the_database() == before  # GET never changes anything

    response = client.post(leave_url)
    assert response.status_code == 303
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.LEFT
    assert "You have left the waiting list" in client.get(response["Location"]).content.decode()


def test_a_forged_claim_link_is_refused_and_writes_nothing(offered, client):
    before = state_of_the_database()
    good = make_waitlist_token(offered)
    forged = good[:-3] + ("abc" if not good.endswith("abc") else "xyz")

    for path in (f"/waitlist/{forged}/claim/", f"/waitlist/{forged}/leave/", "/waitlist/nonsense/claim/"):
        assert client.get(path).status_code == 404, path
        assert client.post(path).status_code == 404, path
    assert state_of_the_database() == before


def test_a_lapsed_claim_link_is_refused_with_410_and_writes_nothing(offered, client, frozen_clock):
    frozen_clock.move_to(offered.offer_expires_at)
    before = state_of_the_database()

    page = client.get(link(offered, "claim"))
    claim = client.post(link(offered, "claim"))

    assert page.status_code == 410 and claim.status_code == 410
    assert "went to the next person" in claim.content.decode()
    assert "data-claim-form" not in page.content.decode()
    assert state_of_the_database() == before


def test_the_claim_page_shows_the_offer_and_its_deadline_and_a_get_writes_nothing(offered, client):
    before = state_of_the_database()

    response = client.get(link(offered, "claim"))

    html = response.content.decode()
    assert response.status_code == 200 and "data-claim-form" in html
    assert "This seat is held for you" in html and "Monday 3 March, 08:15" in html
    assert response["Referrer-Policy"] == "same-origin"
    assert state_of_the_database() == before


def test_a_claim_link_used_twice_books_once(offered, client):
    first = client.post(link(offered, "claim"), {"phone": "", "notes": "See you there"})
    second = client.post(link(offered, "claim"), {"phone": "", "notes": "See you there"})

    assert first.status_code == 200 and "You're booked!" in first.content.decode()
    assert second.status_code == 409 and "already claimed" in second.content.decode()
    booking = Booking.objects.get(guest_email="ada@guest.example")
    assert (booking.status, booking.seats, booking.guest_notes) == (Booking.Status.CONFIRMED, 1, "See you there")
    offered.refresh_from_db()
    assert offered.booking == booking


def test_claiming_a_paid_offer_goes_to_the_checkout(offered, client):
    offered.workshop.price_amount = 3000
    offered.workshop.save()

    response = client.post(link(offered, "claim"))

    assert response.status_code == 303 and "/stripe/test-checkout/" in response["Location"]
    hold = Booking.objects.get(guest_email="ada@guest.example")
    assert (hold.status, hold.amount_due) == (Booking.Status.PENDING_PAYMENT, 3000)


def test_a_link_of_someone_still_waiting_cannot_claim(workshop, client):
    bob = join_waitlist(workshop=workshop, guest=GuestFactory(email="bob@guest.example"))
    response = client.post(link(bob, "claim"))
    assert response.status_code == 409 and "not your turn yet" in response.content.decode()
    assert Booking.objects.filter(guest_email="bob@guest.example").count() == 0
