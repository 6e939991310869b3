"""A guest moves their workshop seat to another date of the series from the magic link (HTTP edge):
the manage page offers it, lists the other dates with their seats, confirms, then moves on POST."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches

from coaching.links import make_manage_token
from coaching.models import Booking, BookingLog, Notification
from coaching.services import create_booking
from coaching.tests.factories import BookingFactory, GuestFactory, WorkshopFactory
from coaching.tests.services.test_workshop_series import APRIL, MARCH, a_series

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    for cache in caches.all():
        cache.clear()


def url(booking, suffix=""):
    return f"/bookings/manage/{make_manage_token(booking)}/{suffix}"


def state_of_the_database():
    return (
        list(Booking.objects.order_by("pk").values()),
        list(BookingLog.objects.order_by("pk").values()),
        list(Notification.objects.order_by("pk").values()),
    )


def test_a_guest_moves_their_seat_to_another_date_from_the_magic_link(client):
    march, april, may = a_series(2, 2, 1)
    BookingFactory(workshop=may)  # May is sold out
    booking = create_booking(guest=GuestFactory(timezone="Europe/London"), workshop=march).booking
    before = state_of_the_database()

    page = client.get(url(booking)).content.decode()
    assert "Move to another date" in page and url(booking, "move-date/") in page
    assert "move your seat to another date of this workshop up to 24 hours before it starts" in page

    dates = client.get(url(booking, "move-date/")).content.decode()
    assert f'data-date="{april.slug}"' in dates and f'data-date="{may.slug}"' in dates
    assert f'data-date="{march.slug}"' not in dates
    assert "2 seats left" in dates and "sold out" in dates
    assert dates.count("data-move-here") == 1  # only April can take the seat
    confirm = client.get(url(booking, f"move-date/confirm/?date={april.slug}"))
    assert confirm.status_code == 200 and "Saturday 5 April 2031, 11:00–13:00" in confirm.content.decode()
    assert client.get(url(booking, f"move-date/confirm/?date={may.slug}")).status_code == 409
    assert state_of_the_database() == before  # GETs change nothing

    response = client.post(url(booking, f"move-date/confirm/?date={april.slug}"))

    assert response.status_code == 303 and response["Location"].endswith("?done=rescheduled")
    booking.refresh_from_db()
    assert (booking.workshop, booking.start_at, booking.ics_sequence) == (april, APRIL, 1)


def test_a_single_date_workshop_seat_cannot_be_moved(client):
    workshop = WorkshopFactory(start_at=MARCH, end_at=MARCH + timedelta(hours=2))
    booking = create_booking(guest=GuestFactory(), workshop=workshop).booking

    assert "Workshop seats cannot be moved to another date." in client.get(url(booking)).content.decode()
    assert client.get(url(booking, "move-date/")).status_code == 409
    assert client.get(url(booking, "reschedule/")).status_code == 409
