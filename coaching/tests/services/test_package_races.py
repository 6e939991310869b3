"""Many guests at once on PostgreSQL: the last credits of a package and the last uses of a promotion
code go to exactly as many bookings as there are, never more. The race is proven real with the
locks switched off (a test-only switch, as pretix does), then stopped by them."""

import json
from datetime import timedelta

import pytest
from django.db import connection

from coaching.models import Booking, CreditUse, PackagePurchase, PromotionRedemption
from coaching.services import create_booking, locks, packages
from coaching.services.packages import CreditTender, start_package_checkout
from coaching.services.promotions import PromotionTender
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    GuestFactory,
    PackageFactory,
    PaidCoachFactory,
    PromotionCodeFactory,
)
from coaching.tests.services.test_races import CLIENTS, DAY, NOW, race
from coaching.tests.standins.stripe import package_event, post_signed

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def coach(transactional_db):
    # Twenty free times on one day, 30 minutes each: every racer asks for a different time.
    coach = PaidCoachFactory(timezone="UTC", min_notice_minutes=0, session_minutes=30)
    AvailabilityBlockFactory(coach=coach, start_at=DAY.replace(hour=7), end_at=DAY.replace(hour=17))
    return coach


def bought_package(coach, client, *, credits_left: int) -> PackagePurchase:
    package = PackageFactory(coach=coach, credits=credits_left, validity_days=30)
    order, _ = start_package_checkout(package=package, buyer=GuestFactory(), now=NOW)
    event = package_event(order)
    assert post_signed(client, json.dumps(event)).json()["outcome"] == "package_paid"
    purchase = PackagePurchase.objects.get(order=order)
    PackagePurchase.objects.filter(pk=purchase.pk).update(expires_at=NOW + timedelta(days=30))
    return PackagePurchase.objects.get(pk=purchase.pk)


def spend_credit(coach, purchase, n):
    start = DAY.replace(hour=7) + timedelta(minutes=30 * n)
    guest = GuestFactory(timezone="UTC")
    return lambda: create_booking(guest=guest, coach=coach, start_at=start, tender=CreditTender(purchase), now=NOW)


def use_code(coach, code, n):
    start = DAY.replace(hour=7) + timedelta(minutes=30 * n)
    guest = GuestFactory(timezone="UTC")
    return lambda: create_booking(guest=guest, coach=coach, start_at=start, tender=PromotionTender(code), now=NOW)


def test_twenty_guests_racing_for_the_last_two_credits_make_exactly_two_bookings(coach, client):
    purchase = bought_package(coach, client, credits_left=2)
    successes, refusals = race([spend_credit(coach, purchase, n) for n in range(CLIENTS)])
    assert len(successes) == 2
    assert {type(r).__name__ for r in refusals} == {"PackageNotUsable"}
    purchase.refresh_from_db()
    assert purchase.credits_used == 2
    assert CreditUse.objects.filter(purchase=purchase).count() == 2
    assert Booking.objects.active().count() == 2


def test_without_the_purchase_lock_the_credits_race_is_real(coach, client, monkeypatch):
    purchase = bought_package(coach, client, credits_left=2)
    # Switching the lock off also drops the coach's lock, so nothing serialises the racers; the
    # check constraint is all that is left, and credits can still go to more bookings than exist.
    monkeypatch.setattr(locks, "LOCKING_ENABLED", False)
    monkeypatch.setattr(packages, "LOCKING_ENABLED", False)
    successes, _ = race([spend_credit(coach, purchase, n) for n in range(CLIENTS)])
    assert len(successes) > 2 or CreditUse.objects.filter(purchase=purchase).count() > 2


def test_twenty_guests_racing_for_a_code_with_three_uses_left_get_exactly_three_discounts(coach):
    code = PromotionCodeFactory(max_uses=3)
    successes, refusals = race([use_code(coach, code, n) for n in range(CLIENTS)])
    assert len(successes) == 3
    assert {type(r).__name__ for r in refusals} == {"CodeUsedUp"}
    assert PromotionRedemption.objects.filter(code=code).count() == 3
    assert connection.vendor == "postgresql"
