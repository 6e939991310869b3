"""The owner and recurring sessions: each booking of a series shows the whole series, and the owner
cancels what is left of it in one step, with the refund chosen applied per session."""

from datetime import UTC, datetime, time

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from coaching.models import Refund
from coaching.services.recurring import book_series
from coaching.tests.factories import CoachFactory, GuestFactory, WeeklyHoursFactory, allow_weekly_series
from coaching.tests.standins.stripe import pay

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 3, 1, 9, tzinfo=UTC)
FIRST = datetime(2030, 3, 12, 18, tzinfo=UTC)


@pytest.fixture
def series():
    coach = allow_weekly_series(CoachFactory(timezone="Europe/London", horizon_days=365, price_amount=5000))
    WeeklyHoursFactory(coach=coach, weekday=1, start_time=time(17), end_time=time(20))
    series = book_series(
        guest=GuestFactory(), coach=coach, first_start_at=FIRST, count=4, every_weeks=1, now=NOW
    ).series
    pay(Client(), series, payment_intent="pi_series")
    return series


def test_a_booking_of_a_series_shows_every_session_and_the_cancel_remaining_button(owner_client, series):
    week2 = series.occurrences.get(series_number=2)

    html = owner_client.get(reverse("coaching_booking_modeladmin_inspect", args=[week2.pk])).content.decode()

    assert f"Series {series.reference}" in html
    for occurrence in series.occurrences.all():
        assert occurrence.reference in html
    assert reverse("coaching_admin:cancel_series", args=[week2.pk]) in html


def test_the_owner_cancels_the_remaining_sessions_with_a_full_refund_each(client, django_user_model, series):
    week1 = series.occurrences.get(series_number=1)
    url = reverse("coaching_admin:cancel_series", args=[week1.pk])

    with time_machine.travel(datetime(2030, 3, 13, 9, tzinfo=UTC), tick=False):  # week 1 is over
        owner_client = client
        owner_client.force_login(django_user_model.objects.create_superuser("owner", "owner@example.com", "pw"))
        page = owner_client.get(url)
        response = owner_client.post(url, {"refund": "full", "reason": "Coach on leave"})

    assert page.status_code == 200 and page.content.decode().count("<li>Session") == 3
    assert response.status_code == 302
    statuses = dict(series.occurrences.values_list("series_number", "status"))
    assert statuses == {1: "confirmed", 2: "cancelled", 3: "cancelled", 4: "cancelled"}
    assert sorted(Refund.objects.values_list("booking__series_number", "amount")) == [(2, 5000), (3, 5000), (4, 5000)]
