"""The Workshop snippet in the Wagtail admin saves through the workshop service: moving a workshop
moves its sold seats and owes each guest an updated invite; the service's refusals are form errors."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from wagtail.models import DraftStateMixin, ModelLogEntry, RevisionMixin

from coaching.models import Booking, BookingLog, Notification, Workshop
from coaching.tasks import deliver_pending_notifications
from coaching.tests.backoffice.test_admin import workshop_form_data
from coaching.tests.factories import BookingFactory, CoachFactory, WorkshopFactory
from coaching.vocabulary import Actor, LogAction

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 4, 10, tzinfo=UTC)  # GMT in March 2030 = UTC, so the admin's London times read the same
MOVED = datetime(2030, 3, 6, 14, tzinfo=UTC)


@pytest.fixture
def workshop():
    return WorkshopFactory(start_at=START, end_at=START + timedelta(hours=2), capacity=10)


def seat(workshop, **fields):
    return BookingFactory(coach=None, workshop=workshop, start_at=workshop.start_at, end_at=workshop.end_at, **fields)


MOVED_FIELDS = {"start_at": "2030-03-06 14:00", "end_at": "2030-03-06 16:00"}


def test_editing_a_workshops_time_in_the_admin_moves_its_seats_and_emails_their_guests(owner_client, owner, workshop):
    guest_seat = seat(workshop, guest_email="kenji@guest.example", seats=2)
    cancelled = seat(workshop, status=Booking.Status.CANCELLED)
    url = reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk])

    response = owner_client.post(url, workshop_form_data(workshop, **MOVED_FIELDS))

    assert response.status_code == 302, response.context["form"].errors if response.context else response
    workshop.refresh_from_db()
    assert (workshop.start_at, workshop.end_at) == (MOVED, MOVED + timedelta(hours=2))
    guest_seat.refresh_from_db()
    assert (guest_seat.start_at, guest_seat.end_at, guest_seat.ics_sequence) == (MOVED, workshop.end_at, 1)
    cancelled.refresh_from_db()
    assert cancelled.start_at == START
    (entry,) = BookingLog.objects.filter(booking=guest_seat, action=LogAction.WORKSHOP_MOVED)
    assert (entry.actor, entry.actor_user) == (Actor.OWNER, owner)
    # Wagtail's own history of the snippet still records the edit.
    assert ModelLogEntry.objects.filter(object_id=str(workshop.pk), action="wagtail.edit", user=owner).exists()

    deliver_pending_notifications()
    (message,) = mail.outbox
    assert message.to == ["kenji@guest.example"]
    assert message.subject.startswith(f"Workshop moved: {workshop.title} is now on Wed 06 Mar 2030, 14:00 GMT")
    (invite,) = [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]
    assert invite.get_param("method") == "REQUEST"
    assert b"DTSTART:20300306T140000Z" in invite.get_payload(decode=True)


def test_capacity_below_the_seats_sold_is_a_form_error_in_the_admin_and_nothing_is_written(owner_client, workshop):
    sold = [seat(workshop, seats=3), seat(workshop, seats=2)]
    url = reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk])

    response = owner_client.post(url, workshop_form_data(workshop, capacity=4, title="Renamed", **MOVED_FIELDS))

    assert response.status_code == 200
    assert response.context["form"].errors["capacity"] == [
        "5 seats are already sold; the capacity cannot be lower than that."
    ]
    stored = Workshop.objects.get(pk=workshop.pk)
    assert (stored.capacity, stored.title, stored.start_at) == (10, workshop.title, START)
    assert all(Booking.objects.get(pk=booking.pk).start_at == START for booking in sold)
    assert not BookingLog.objects.exists() and not Notification.objects.exists()
    assert not ModelLogEntry.objects.filter(object_id=str(workshop.pk), action="wagtail.edit").exists()


def test_moving_onto_the_hosts_sessions_in_the_admin_names_them_and_moves_no_seat(owner_client, workshop):
    session = BookingFactory(coach=workshop.host, start_at=MOVED, end_at=MOVED + timedelta(hours=1))
    booked = seat(workshop)
    url = reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk])

    response = owner_client.post(url, workshop_form_data(workshop, **MOVED_FIELDS))

    assert response.status_code == 200
    (error,) = response.context["form"].errors["start_at"]
    assert session.reference in error and "tick the box below" in error
    booked.refresh_from_db()
    assert (booked.start_at, booked.ics_sequence) == (START, 0)


def test_creating_and_copying_a_workshop_in_the_admin_go_through_the_service(owner_client):
    host = CoachFactory()
    new = WorkshopFactory.build(host=host, slug="new-workshop", start_at=START, end_at=START + timedelta(hours=2))

    response = owner_client.post(reverse("wagtailsnippets_coaching_workshop:add"), workshop_form_data(new))
    assert response.status_code == 302
    created = Workshop.objects.get(slug="new-workshop")

    # A copy onto the host's 1-on-1 session is refused like any other save, as a form error.
    BookingFactory(coach=host, start_at=MOVED, end_at=MOVED + timedelta(hours=1))
    copy_url = reverse("wagtailsnippets_coaching_workshop:copy", args=[created.pk])
    response = owner_client.post(copy_url, workshop_form_data(created, slug="copied", **MOVED_FIELDS))
    assert response.status_code == 200
    assert "already has 1-on-1 bookings" in response.context["form"].errors["start_at"][0]
    assert not Workshop.objects.filter(slug="copied").exists()


def test_workshop_stays_a_plain_model_so_every_admin_save_reaches_the_service():
    # With revisions or drafts, Wagtail would publish a revision by writing the row itself and the
    # sold seats would not move with the workshop (services/workshops.py).
    assert not issubclass(Workshop, RevisionMixin)
    assert not issubclass(Workshop, DraftStateMixin)
