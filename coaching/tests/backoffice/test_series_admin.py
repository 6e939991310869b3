"""The owner makes a workshop series in the admin and adds dates to it (each date a Workshop)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from coaching.models import WorkshopSeries
from coaching.tests.backoffice.test_admin import workshop_form_data
from coaching.tests.factories import WorkshopFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 2, 10, tzinfo=UTC)


def test_the_owner_groups_workshop_dates_into_a_series(owner_client):
    response = owner_client.post(
        reverse("wagtailsnippets_coaching_workshopseries:add"),
        {"title": "Saturday Deep Work", "slug": "saturday-deep-work", "summary": "Every first Saturday."},
    )
    assert response.status_code == 302
    series = WorkshopSeries.objects.get()
    dates = [WorkshopFactory(start_at=START + timedelta(weeks=4 * n), capacity=6 + n) for n in range(2)]

    for workshop in dates:
        data = workshop_form_data(workshop, series=series.pk, waitlist_enabled="on")
        edit = owner_client.post(reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk]), data)
        assert edit.status_code == 302, edit.context["form"].errors if edit.context else edit

    assert [(w.series, w.capacity, w.waitlist_enabled) for w in series.dates.order_by("start_at")] == [
        (series, 6, True),
        (series, 7, True),
    ]
    listing = owner_client.get(reverse("wagtailsnippets_coaching_workshopseries:list")).content.decode()
    assert "Saturday Deep Work" in listing
