"""Bookings → Availability (wagtail-modeladmin): add, edit and delete go through
coaching/services/availability.py, so overlaps are refused on the form and bookings are never lost.

The admin types times in its own zone (Europe/London, the site default); January 2030 is GMT, so
the UTC instants below read the same on the form.
"""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from coaching.models import AvailabilityBlock, Booking
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory

pytestmark = pytest.mark.django_db

CREATE_URL = "coaching_availabilityblock_modeladmin_create"
EDIT_URL = "coaching_availabilityblock_modeladmin_edit"
DELETE_URL = "coaching_availabilityblock_modeladmin_delete"
INDEX_URL = "coaching_availabilityblock_modeladmin_index"


def jan_7_2030(hour, minute=0):
    return datetime(2030, 1, 7, hour, minute, tzinfo=UTC)


@pytest.fixture
def anna_client(client, django_user_model):
    """Anna is a coach with a Wagtail login: admin access only, no model permissions."""
    user = django_user_model.objects.create_user("anna", "anna@example.com", "pw")
    group, _ = Group.objects.get_or_create(name="Coaches")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(group)
    client.anna = CoachFactory(name="Anna", slug="anna", user=user)
    client.force_login(user)
    return client


def assert_refused(response):
    """Wagtail turns PermissionDenied into a redirect to the dashboard with an error message."""
    refused_by_wagtail = response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert response.status_code in (403, 404) or refused_by_wagtail, response


def block_data(coach, start, end):
    return {"coach": coach.pk, "start_at": start, "end_at": end}


def times_of(coach):
    return list(AvailabilityBlock.objects.filter(coach=coach).order_by("start_at").values_list("start_at", "end_at"))


def test_adding_a_block_over_an_existing_one_is_refused_naming_it_and_writes_nothing(owner_client):
    coach = CoachFactory()
    AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(9), end_at=jan_7_2030(12))

    response = owner_client.post(
        reverse(CREATE_URL), block_data(coach, "2030-01-07 11:00", "2030-01-07 14:00"), follow=True
    )

    assert response.status_code == 200
    assert "overlaps the existing block Mon 07 Jan 2030, 09:00–12:00 GMT (Europe/London)" in response.content.decode()
    assert times_of(coach) == [(jan_7_2030(9), jan_7_2030(12))]


def test_overlap_is_named_in_the_coachs_own_time_zone(owner_client):
    coach = CoachFactory(timezone="America/New_York")
    AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(14), end_at=jan_7_2030(17))

    response = owner_client.post(reverse(CREATE_URL), block_data(coach, "2030-01-07 16:00", "2030-01-07 18:00"))

    assert (
        "overlaps the existing block Mon 07 Jan 2030, 09:00–12:00 EST (America/New_York)" in response.content.decode()
    )
    assert len(times_of(coach)) == 1


def test_adding_a_block_that_only_touches_another_creates_it(owner_client):
    coach = CoachFactory()
    AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(9), end_at=jan_7_2030(12))

    response = owner_client.post(reverse(CREATE_URL), block_data(coach, "2030-01-07 12:00", "2030-01-07 17:00"))

    assert response.status_code == 302
    assert response.url == reverse(INDEX_URL)
    assert times_of(coach) == [(jan_7_2030(9), jan_7_2030(12)), (jan_7_2030(12), jan_7_2030(17))]
    page = owner_client.get(response.url).content.decode()
    assert "Added availability for" in page
    assert "Mon 07 Jan 2030, 12:00–17:00 GMT (Europe/London)" in page


def test_editing_a_block_onto_another_is_refused_and_leaves_it_as_it_was(owner_client):
    coach = CoachFactory()
    AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(9), end_at=jan_7_2030(12))
    afternoon = AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(13), end_at=jan_7_2030(17))

    response = owner_client.post(
        reverse(EDIT_URL, args=[afternoon.pk]), block_data(coach, "2030-01-07 11:00", "2030-01-07 17:00")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "overlaps the existing block Mon 07 Jan 2030, 09:00–12:00 GMT" in page
    assert f"{coach.name}: Mon 07 Jan 2030, 13:00–17:00 GMT" in page  # the header shows the block as it still is
    afternoon.refresh_from_db()
    assert (afternoon.start_at, afternoon.end_at) == (jan_7_2030(13), jan_7_2030(17))


def test_shrinking_a_block_in_place_saves_it_and_lists_the_bookings_left_outside(owner_client):
    coach = CoachFactory()
    block = AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(9), end_at=jan_7_2030(17))
    left_outside = BookingFactory(coach=coach, start_at=jan_7_2030(14), end_at=jan_7_2030(15))

    response = owner_client.post(
        reverse(EDIT_URL, args=[block.pk]), block_data(coach, "2030-01-07 09:00", "2030-01-07 12:00"), follow=True
    )

    assert response.status_code == 200
    assert times_of(coach) == [(jan_7_2030(9), jan_7_2030(12))]
    page = response.content.decode()
    assert f"{left_outside.reference} (Mon 07 Jan 2030, 14:00 GMT)" in page
    assert "not cancelled" in page
    left_outside.refresh_from_db()
    assert left_outside.status == Booking.Status.CONFIRMED


def test_editing_cannot_hand_a_block_to_another_coach(owner_client):
    coach, other = CoachFactory(), CoachFactory()
    block = AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(9), end_at=jan_7_2030(12))

    owner_client.post(reverse(EDIT_URL, args=[block.pk]), block_data(other, "2030-01-07 09:00", "2030-01-07 11:00"))

    block.refresh_from_db()
    assert (block.coach, block.end_at) == (coach, jan_7_2030(11))


def test_delete_confirmation_lists_the_bookings_inside_and_delete_removes_only_the_block(owner_client):
    coach = CoachFactory()
    block = AvailabilityBlockFactory(coach=coach, start_at=jan_7_2030(9), end_at=jan_7_2030(17))
    booking = BookingFactory(coach=coach, start_at=jan_7_2030(10), end_at=jan_7_2030(11))

    confirmation = owner_client.get(reverse(DELETE_URL, args=[block.pk])).content.decode()
    assert "Mon 07 Jan 2030, 09:00–17:00 GMT (Europe/London)" in confirmation
    assert booking.reference in confirmation

    response = owner_client.post(reverse(DELETE_URL, args=[block.pk]), follow=True)

    assert response.status_code == 200
    assert not AvailabilityBlock.objects.filter(pk=block.pk).exists()
    assert booking.reference in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_coach_edits_their_own_block_but_cannot_edit_or_delete_another_coachs(anna_client):
    own = AvailabilityBlockFactory(coach=anna_client.anna, start_at=jan_7_2030(9), end_at=jan_7_2030(12))
    foreign = AvailabilityBlockFactory(start_at=jan_7_2030(9), end_at=jan_7_2030(12))

    assert_refused(
        anna_client.post(
            reverse(EDIT_URL, args=[foreign.pk]), block_data(foreign.coach, "2030-01-07 09:00", "2030-01-07 10:00")
        )
    )
    assert_refused(anna_client.get(reverse(DELETE_URL, args=[foreign.pk])))
    assert_refused(anna_client.post(reverse(DELETE_URL, args=[foreign.pk])))
    foreign.refresh_from_db()
    assert (foreign.start_at, foreign.end_at) == (jan_7_2030(9), jan_7_2030(12))

    response = anna_client.post(
        reverse(EDIT_URL, args=[own.pk]), block_data(anna_client.anna, "2030-01-07 09:00", "2030-01-07 10:00")
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.end_at == jan_7_2030(10)
