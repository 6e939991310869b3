"""Promotion codes: applied on the server before the checkout opens, shown on the confirmation and the
receipt, refused outside their dates, scope or currency, their uses given back by a lapsed hold."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from coaching.exceptions import CodeUsedUp, InvalidCode
from coaching.models import Booking, PromotionCode, PromotionRedemption
from coaching.services import create_booking, expire_holds
from coaching.services.packages import start_package_checkout, tender_for_code
from coaching.services.promotions import PromotionTender
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    GuestFactory,
    PackageFactory,
    PaidCoachFactory,
    PromotionCodeFactory,
    SessionTypeFactory,
    WorkshopFactory,
    session_type_of,
)
from coaching.tests.standins.stripe import pay

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
DAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def coach():
    coach = PaidCoachFactory(timezone="UTC")  # £60 a session
    AvailabilityBlockFactory(coach=coach, start_at=DAY.replace(hour=9), end_at=DAY.replace(hour=17))
    return coach


def book(coach, code, hour=10, **kwargs):
    return create_booking(
        guest=GuestFactory(timezone="UTC"),
        coach=coach,
        start_at=DAY.replace(hour=hour),
        tender=PromotionTender(code),
        **kwargs,
    )


def test_a_percentage_code_lowers_the_price_before_the_checkout(coach, client, after_commit):
    code = PromotionCodeFactory(code="SPRING20", percent_off=20)
    result = book(coach, code)
    booking = result.booking
    assert booking.status == Booking.Status.PENDING_PAYMENT and booking.amount_due == 4800
    assert PromotionRedemption.objects.get(booking=booking).discount_amount == 1200
    mail.outbox.clear()
    after_commit(lambda: pay(client, booking))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_paid == 4800
    receipt = next(email for email in mail.outbox if "received your payment of £48.00 for booking" in email.body)
    assert "SPRING20: £12.00 off" in receipt.body


def test_the_checkout_charges_the_discounted_price_on_stripe(coach, stripe_standin):
    code = PromotionCodeFactory(kind=PromotionCode.Kind.AMOUNT, percent_off=None, amount_off=1000, currency="GBP")
    workshop = WorkshopFactory(price_amount=2000, start_at=DAY.replace(hour=18), end_at=DAY.replace(hour=20))
    booking = create_booking(guest=GuestFactory(), workshop=workshop, seats=3, tender=PromotionTender(code)).booking
    assert booking.amount_due == 5000
    (created,) = stripe_standin.requests_to("POST", "/v1/checkout/sessions")
    item = created.params["line_items"][0]
    assert int(item["price_data"]["unit_amount"]) * int(item["quantity"]) == 5000


def test_a_code_that_pays_everything_confirms_at_once_and_the_confirmation_says_so(coach, after_commit):
    code = PromotionCodeFactory(code="ONTHEHOUSE", percent_off=100)
    booking = after_commit(lambda: book(coach, code)).booking
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_due == 0
    confirmation = next(email for email in mail.outbox if email.to == [booking.guest_email])
    assert "ONTHEHOUSE: £60.00 off" in confirmation.body


@pytest.mark.parametrize(
    "fields, message",
    [
        pytest.param({"is_active": False}, "no longer valid", id="inactive"),
        pytest.param({"valid_from": NOW + timedelta(days=1)}, "not valid yet", id="not-yet"),
        pytest.param({"valid_until": NOW}, "expired", id="ended"),
        pytest.param(
            {"kind": "amount", "percent_off": None, "amount_off": 500, "currency": "USD"},
            "prices in USD",
            id="currency",
        ),
    ],
)
def test_a_code_outside_its_rules_is_refused_and_writes_nothing(coach, fields, message):
    code = PromotionCodeFactory(**fields)
    with pytest.raises(InvalidCode, match=message):
        book(coach, code)
    assert not Booking.objects.exists() and not PromotionRedemption.objects.exists()


def test_a_code_for_some_packages_applies_to_those_only(coach):
    package, other = PackageFactory(coach=coach), PackageFactory(coach=coach)
    code = PromotionCodeFactory(code="PKGONLY")
    code.packages.add(package)
    with pytest.raises(InvalidCode, match="does not apply"):
        book(coach, code)
    with pytest.raises(InvalidCode, match="does not apply"):
        start_package_checkout(package=other, buyer=GuestFactory(), promotion_code="pkgonly")
    order, _ = start_package_checkout(package=package, buyer=GuestFactory(), promotion_code="pkg-only")
    assert (order.amount_due, order.discount_amount) == (32000, 8000)


def test_the_usage_limit_holds_and_a_lapsed_hold_gives_its_use_back(coach, frozen_clock):
    code = PromotionCodeFactory(max_uses=1)
    held = book(coach, code, hour=9).booking
    with pytest.raises(CodeUsedUp):
        book(coach, code, hour=11)
    frozen_clock.move_to(held.hold_expires_at + timedelta(seconds=1))
    assert expire_holds() == 1
    assert book(coach, code, hour=11).booking.amount_due == 4800


def test_the_form_s_code_finds_a_promotion_case_and_dashes_ignored(coach):
    PromotionCodeFactory(code="SPRING20")
    assert isinstance(tender_for_code(" spring-20 "), PromotionTender)
    assert tender_for_code("") is None


def test_a_payment_below_the_discounted_price_is_flagged_not_confirmed(coach, client):
    booking = book(coach, PromotionCodeFactory(percent_off=50)).booking
    assert pay(client, booking, amount_total=2999).json()["outcome"] == "flagged"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.PENDING_PAYMENT


def test_a_package_checkout_left_open_past_its_lifetime_stops_counting(coach, frozen_clock):
    package = PackageFactory(coach=coach)
    code = PromotionCodeFactory(max_uses=1)
    start_package_checkout(package=package, buyer=GuestFactory(), promotion_code=code.code)
    with pytest.raises(CodeUsedUp):
        start_package_checkout(package=package, buyer=GuestFactory(), promotion_code=code.code)
    frozen_clock.move_to(NOW + timedelta(hours=1, minutes=1))
    start_package_checkout(package=package, buyer=GuestFactory(), promotion_code=code.code)


def test_a_code_for_some_session_types_applies_to_those_only(coach):
    intro = session_type_of(coach)
    deep_dive = SessionTypeFactory(coaches=coach, title="Deep dive", duration_minutes=90, price_amount=15000)
    code = PromotionCodeFactory(code="DEEP")
    code.session_types.add(deep_dive)
    with pytest.raises(InvalidCode, match="does not apply"):
        book(coach, code, session_type=intro)
    booking = book(coach, code, hour=9, session_type=deep_dive).booking
    assert booking.amount_due == 12000  # £150 less 20 %
    with pytest.raises(InvalidCode, match="does not apply"):
        create_booking(guest=GuestFactory(), workshop=WorkshopFactory(price_amount=2000), tender=PromotionTender(code))
