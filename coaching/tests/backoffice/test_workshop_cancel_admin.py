"""The owner in the Wagtail admin: a workshop's seats, waiting list and refunds; "Cancel workshop…"
with a confirmation page and the words the guests receive; a Retry button on every refund not made
yet (on the workshop's and the booking's pages). Stripe is the local stand-in."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from coaching.models import Booking, Refund, WaitlistEntry
from coaching.services.waitlist import join_waitlist
from coaching.tests.factories import BookingFactory, CoachFactory, GuestFactory, WorkshopFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 4, 10, tzinfo=UTC)


@pytest.fixture
def workshop():
    host = CoachFactory(name="Grace Hopper")
    workshop = WorkshopFactory(
        title="Writing for humans",
        host=host,
        start_at=START,
        end_at=START + timedelta(hours=2),
        capacity=2,
        price_amount=3000,
    )
    for name in ("Ada", "Bea"):
        BookingFactory(
            workshop=workshop,
            guest_name=name,
            guest_email=f"{name.lower()}@guest.example",
            is_paid=True,
            amount_due=3000,
            amount_paid=3000,
            stripe_payment_intent_id=f"pi_{name.lower()}",
            confirmed_at=START - timedelta(days=7),
        )
    join_waitlist(workshop=workshop, guest=GuestFactory(name="Wes", email="wes@guest.example"))
    return workshop


def test_the_workshop_listing_offers_its_seats_page_and_cancel(owner_client, workshop):
    html = owner_client.get(reverse("wagtailsnippets_coaching_workshop:list")).content.decode()
    assert reverse("coaching_admin:workshop", args=[workshop.pk]) in html
    assert reverse("coaching_admin:cancel_workshop", args=[workshop.pk]) in html


def test_the_owner_sees_the_workshops_seats_and_waiting_list(owner_client, workshop):
    response = owner_client.get(reverse("coaching_admin:workshop", args=[workshop.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "2 sold (or held for payment), 0 offered to the waiting list" in html
    assert "Ada (ada@guest.example)" in html and "Wes (wes@guest.example)" in html
    assert "Nobody is waiting." not in html
    waitlist = owner_client.get(reverse("coaching_waitlistentry_modeladmin_index")).content.decode()
    assert "wes@guest.example" in waitlist


def test_cancelling_from_the_admin_asks_for_the_guests_words_and_refunds_everyone(
    owner_client, workshop, stripe_standin, django_capture_on_commit_callbacks
):
    url = reverse("coaching_admin:cancel_workshop", args=[workshop.pk])
    page = owner_client.get(url).content.decode()
    assert "cancels 2 seats" in page and "£60.00" in page and "tells the 1 person on it" in page

    refused = owner_client.post(url, {"message": "  "})
    assert refused.status_code == 400
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 2

    stripe_standin.fail_next(status=400)  # Stripe refuses Ada's refund
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, {"message": "Grace is unwell. We are so sorry."}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("coaching_admin:workshop", args=[workshop.pk])
    assert "is cancelled: 2 seats cancelled, 2 refunds on the way, 1 on the waiting list told" in html
    assert "Grace is unwell. We are so sorry." in html
    assert Booking.objects.filter(status=Booking.Status.CANCELLED).count() == 2
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.CLOSED
    failed = Refund.objects.get(status=Refund.Status.FAILED)
    assert failed.booking.guest_name == "Ada" and Refund.objects.filter(status=Refund.Status.SUCCEEDED).count() == 1
    # The refused refund is listed with a Retry button, on the workshop's page and on the booking's.
    assert f'data-refund="{failed.pk}"' in html and "Retry" in html
    inspect = owner_client.get(
        reverse("coaching_booking_modeladmin_inspect", args=[failed.booking_id])
    ).content.decode()
    assert f'data-refund="{failed.pk}"' in inspect

    with django_capture_on_commit_callbacks(execute=True):
        retried = owner_client.post(
            reverse("coaching_admin:retry_refund", args=[failed.pk]), {"next": "/admin/"}, follow=True
        )

    assert retried.redirect_chain[-1][0] == "/admin/"
    failed.refresh_from_db()
    assert failed.status == Refund.Status.SUCCEEDED
    assert Booking.objects.get(pk=failed.booking_id).amount_refunded == 3000
    assert (
        "Cancel workshop…"
        not in owner_client.get(reverse("coaching_admin:workshop", args=[workshop.pk])).content.decode()
    )


def test_a_coach_cannot_open_or_cancel_another_coachs_workshop(client, django_user_model, workshop):
    user = django_user_model.objects.create_user("kim", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    CoachFactory(user=user)
    client.force_login(user)

    assert client.get(reverse("coaching_admin:workshop", args=[workshop.pk])).status_code == 404
    assert (
        client.post(reverse("coaching_admin:cancel_workshop", args=[workshop.pk]), {"message": "x"}).status_code == 404
    )
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 2
