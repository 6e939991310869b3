"""Packages of sessions: bought only through the signed webhook, spent a credit at a time under the
purchase's lock, a credit given back by a timely cancellation, refused when expired, extended and
adjusted by the owner with a log."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from coaching.exceptions import InvalidCode, PackageNotForSale, PackageNotUsable
from coaching.models import (
    Booking,
    CreditUse,
    Notification,
    PackageLog,
    PackageOrder,
    PackagePurchase,
    ProcessedStripeEvent,
    PromotionRedemption,
)
from coaching.services import cancel_booking, create_booking
from coaching.services.packages import (
    CreditTender,
    adjust_credits,
    extend_purchase,
    refund_purchase,
    start_package_checkout,
    tender_for_code,
)
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
from coaching.tests.standins.stripe import package_event, post_signed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
DAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture
def coach():
    coach = PaidCoachFactory(timezone="UTC", slug="bea")
    AvailabilityBlockFactory(coach=coach, start_at=DAY.replace(hour=9), end_at=DAY.replace(hour=17))
    return coach


@pytest.fixture
def package(coach):
    return PackageFactory(coach=coach, credits=3, price_amount=15000, validity_days=30)


def pay(client, order, **kwargs):
    return post_signed(client, json.dumps(package_event(order, **kwargs)))


def buy(client, package, **kwargs) -> PackagePurchase:
    order, _ = start_package_checkout(package=package, buyer=GuestFactory(name="Ada Lovelace", email="ada@example.com"))
    assert pay(client, order, **kwargs).json()["outcome"] == "package_paid"
    return PackagePurchase.objects.get(order=order)


def book_with(purchase, hour, **kwargs):
    return create_booking(
        guest=GuestFactory(timezone="UTC"),
        coach=purchase.package.coach,
        start_at=DAY.replace(hour=hour),
        tender=CreditTender(purchase),
        **kwargs,
    ).booking


# --- buying --------------------------------------------------------------------------------------


def test_only_the_signed_webhook_makes_the_purchase_and_the_buyer_gets_the_link(client, package, after_commit):
    order, url = start_package_checkout(package=package, buyer=GuestFactory(email="ada@example.com"))
    assert "/packages/test-checkout/" in url
    assert order.status == PackageOrder.Status.OPEN and order.amount_due == 15000
    assert not PackagePurchase.objects.exists()  # a checkout is not a purchase

    response = after_commit(lambda: pay(client, order, payment_intent="pi_pkg"))

    assert response.status_code == 200 and response.json()["outcome"] == "package_paid"
    purchase = PackagePurchase.objects.get()
    order.refresh_from_db()
    assert order.status == PackageOrder.Status.PAID and order.amount_paid == 15000
    assert order.stripe_payment_intent_id == "pi_pkg"
    assert (purchase.credits_total, purchase.credits_left) == (3, 3)
    assert purchase.expires_at == NOW + timedelta(days=30)
    assert PackageLog.objects.get(purchase=purchase).action == "paid"
    email = mail.outbox[-1]
    assert email.to == ["ada@example.com"] and "5 coaching sessions" in email.subject
    assert purchase.code_display in email.body and "/packages/mine/" in email.body


def test_a_replayed_or_second_paid_event_makes_one_purchase(client, package):
    order, _ = start_package_checkout(package=package, buyer=GuestFactory())
    event = json.dumps(package_event(order))
    assert post_signed(client, event).json()["outcome"] == "package_paid"
    assert post_signed(client, event).json()["outcome"] == "duplicate"
    assert pay(client, order, event_type="checkout.session.async_payment_succeeded").json()["outcome"] == "paid"
    assert PackagePurchase.objects.count() == 1
    assert ProcessedStripeEvent.objects.count() == 2


def test_an_unsigned_package_event_is_refused_and_makes_nothing(client, package):
    order, _ = start_package_checkout(package=package, buyer=GuestFactory())
    body = json.dumps(package_event(order))
    response = client.post("/stripe/webhook/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE="")
    assert response.status_code == 400
    assert not PackagePurchase.objects.exists()


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({"amount_total": 100}, id="underpaid"),
        pytest.param({"session_id": "cs_someone_elses"}, id="other-session"),
    ],
)
def test_a_payment_that_does_not_match_the_order_gives_no_credits_and_tells_the_owner(client, package, how, settings):
    settings.OWNER_EMAIL = "owner@example.com"
    order, _ = start_package_checkout(package=package, buyer=GuestFactory())
    assert pay(client, order, **how).json()["outcome"] == "flagged"
    assert not PackagePurchase.objects.exists()
    assert Notification.objects.get(kind="package_payment_flagged").recipient == "owner@example.com"


def test_a_payment_still_waiting_to_clear_makes_nothing_yet(client, package):
    order, _ = start_package_checkout(package=package, buyer=GuestFactory())
    assert pay(client, order, payment_status="unpaid").json()["outcome"] == "awaiting_payment"
    assert not PackagePurchase.objects.exists()
    assert pay(client, order, event_type="checkout.session.async_payment_succeeded").json()["outcome"] == (
        "package_paid"
    )


def test_an_expired_or_failed_checkout_closes_the_order_and_gives_its_code_back(client, package):
    code = PromotionCodeFactory(max_uses=1)
    order, _ = start_package_checkout(package=package, buyer=GuestFactory(), promotion_code=code.code)
    assert pay(client, order, event_type="checkout.session.expired", payment_status="unpaid").json()["outcome"] == (
        "released"
    )
    order.refresh_from_db()
    assert order.status == PackageOrder.Status.EXPIRED
    assert PromotionRedemption.objects.get(package_order=order).released_at is not None
    # The use is free again for someone else.
    start_package_checkout(package=package, buyer=GuestFactory(), promotion_code=code.code)


def test_a_payment_after_the_buyer_left_the_checkout_still_makes_the_purchase(client, package):
    from coaching.services.packages import abandon_package_checkout

    order, _ = start_package_checkout(package=package, buyer=GuestFactory())
    abandon_package_checkout(order)
    assert pay(client, order).json()["outcome"] == "package_paid"  # they paid in another tab: honoured
    assert PackagePurchase.objects.filter(order=order).exists()


def test_purchase_through_stripe_itself_the_stand_in_with_the_webhook(client, package, stripe_standin):
    order, url = start_package_checkout(package=package, buyer=GuestFactory(email="ada@example.com"))
    (created,) = stripe_standin.requests_to("POST", "/v1/checkout/sessions")
    assert url.startswith("https://checkout.stripe.test/")
    assert created.params["metadata"] == {"purpose": "package", "package_order": order.reference}
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == "15000"
    order.refresh_from_db()
    session = stripe_standin.pay_session(order.stripe_checkout_session_id, payment_intent="pi_real")
    event = {"id": "evt_standin_pkg", "type": "checkout.session.completed", "data": {"object": session}}
    assert post_signed(client, json.dumps(event)).json()["outcome"] == "package_paid"
    assert PackagePurchase.objects.get().order.stripe_payment_intent_id == "pi_real"


def test_an_inactive_package_is_not_for_sale(package):
    package.is_active = False
    package.save()
    with pytest.raises(PackageNotForSale):
        start_package_checkout(package=package, buyer=GuestFactory())


# --- spending credits -----------------------------------------------------------------------------


def test_a_credit_books_a_covered_session_confirmed_at_once_with_nothing_to_pay(client, package, after_commit):
    purchase = buy(client, package)
    mail.outbox.clear()
    booking = after_commit(lambda: book_with(purchase, 10))
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_due == 0
    assert not booking.stripe_checkout_session_id and booking.hold_expires_at is None
    purchase.refresh_from_db()
    assert purchase.credits_left == 2
    assert CreditUse.objects.get(booking=booking).purchase == purchase
    assert "a credit of package" in booking.log_entries.get(action="confirmed").message
    confirmation = next(email for email in mail.outbox if email.to == [booking.guest_email])
    assert "Paid with your package" in confirmation.body


def test_the_package_code_typed_on_the_form_pays_with_a_credit(client, package):
    purchase = buy(client, package)
    tender = tender_for_code(purchase.code_display.lower())
    booking = create_booking(guest=GuestFactory(), coach=package.coach, start_at=DAY.replace(hour=9), tender=tender)
    assert booking.booking.status == Booking.Status.CONFIRMED
    with pytest.raises(InvalidCode):
        tender_for_code("NOPE-NOPE-NOPE")


def test_credits_run_out(client, package):
    purchase = buy(client, package)
    for hour in (9, 10, 11):
        book_with(purchase, hour)
    with pytest.raises(PackageNotUsable, match="All 3 sessions"):
        book_with(purchase, 12)
    assert Booking.objects.count() == 3


def test_an_expired_package_is_refused_and_writes_nothing(client, package, frozen_clock):
    purchase = buy(client, package)
    later = datetime(2030, 2, 4, 9, tzinfo=UTC)
    AvailabilityBlockFactory(coach=package.coach, start_at=later, end_at=later + timedelta(hours=3))
    frozen_clock.move_to(purchase.expires_at + timedelta(minutes=1))
    with pytest.raises(PackageNotUsable, match="expired"):
        create_booking(guest=GuestFactory(), coach=package.coach, start_at=later, tender=CreditTender(purchase))
    purchase.refresh_from_db()
    assert purchase.credits_used == 0 and not Booking.objects.exists()


def test_a_session_after_the_expiry_is_refused(client, coach):
    purchase = buy(client, PackageFactory(coach=coach, validity_days=3))  # expires 4 January, before the 7th
    with pytest.raises(PackageNotUsable, match="before this session"):
        book_with(purchase, 10)


def test_the_owner_extends_a_package_and_it_is_logged(client, coach, django_user_model):
    owner = django_user_model.objects.create_superuser("owner", "o@example.com", "x")
    purchase = buy(client, PackageFactory(coach=coach, validity_days=3))
    extend_purchase(purchase=purchase, expires_at=DAY + timedelta(days=30), user=owner, reason="Illness.")
    assert book_with(purchase, 10).status == Booking.Status.CONFIRMED
    entry = PackageLog.objects.get(purchase=purchase, action="extended")
    assert entry.actor_user == owner and "Illness." in entry.message


def test_the_owner_adjusts_credits_with_a_reason_never_below_those_used(client, package):
    purchase = buy(client, package)
    book_with(purchase, 10)
    purchase = adjust_credits(purchase=purchase, delta=2, reason="Goodwill")
    assert (purchase.credits_total, purchase.credits_left) == (5, 4)
    with pytest.raises(Exception, match="already used"):
        adjust_credits(purchase=purchase, delta=-5, reason="Mistake")
    assert PackageLog.objects.get(purchase=purchase, action="adjusted").credits_delta == 2


def test_a_package_covers_only_its_coachs_one_on_one_sessions(client, package):
    purchase = buy(client, package)
    other = PaidCoachFactory(timezone="UTC")
    AvailabilityBlockFactory(coach=other, start_at=DAY.replace(hour=9), end_at=DAY.replace(hour=17))
    with pytest.raises(PackageNotUsable, match="sessions with Bea Brown"):
        create_booking(guest=GuestFactory(), coach=other, start_at=DAY.replace(hour=9), tender=CreditTender(purchase))
    workshop = WorkshopFactory(price_amount=2000)
    with pytest.raises(PackageNotUsable, match="not workshops"):
        create_booking(guest=GuestFactory(), workshop=workshop, tender=CreditTender(purchase))
    purchase.refresh_from_db()
    assert purchase.credits_used == 0


# --- giving a credit back -----------------------------------------------------------------------


def test_cancelling_inside_the_policy_window_gives_the_credit_back(client, package):
    purchase = buy(client, package)
    booking = book_with(purchase, 10)
    cancel_booking(booking=booking, actor="guest")  # six days ahead; the cut-off is 24 hours
    purchase.refresh_from_db()
    assert purchase.credits_left == 3
    assert CreditUse.objects.get(booking=booking).returned_at is not None
    assert PackageLog.objects.filter(purchase=purchase, action="credit_returned").count() == 1


def test_cancelling_after_the_cut_off_keeps_the_credit_spent(client, package, frozen_clock):
    purchase = buy(client, package)
    booking = book_with(purchase, 10)
    frozen_clock.move_to(DAY.replace(hour=2))  # eight hours before the session
    cancel_booking(booking=booking, actor="guest")
    purchase.refresh_from_db()
    assert purchase.credits_left == 2
    assert CreditUse.objects.get(booking=booking).returned_at is None
    assert PackageLog.objects.filter(purchase=purchase, action="credit_kept").count() == 1


def test_the_owner_cancelling_gives_the_credit_back_even_late(client, package, frozen_clock):
    purchase = buy(client, package)
    booking = book_with(purchase, 10)
    frozen_clock.move_to(DAY.replace(hour=2))
    cancel_booking(booking=booking, actor="owner")
    purchase.refresh_from_db()
    assert purchase.credits_left == 3


def test_a_paid_booking_cancelled_touches_no_package(client, package):
    buy(client, package)
    booking = create_booking(guest=GuestFactory(), coach=package.coach, start_at=DAY.replace(hour=9)).booking
    cancel_booking(booking=booking, actor="guest")
    assert not PackageLog.objects.filter(action__in=["credit_returned", "credit_kept"]).exists()


# --- the owner refunds and closes a package ----------------------------------------------------------


def test_refunding_closes_the_package_and_a_lost_answer_never_refunds_twice(client, package, stripe_standin):
    from coaching.exceptions import PaymentUnavailable

    order, _ = start_package_checkout(package=package, buyer=GuestFactory())
    order.refresh_from_db()
    session = stripe_standin.pay_session(order.stripe_checkout_session_id, payment_intent="pi_real")
    event = {"id": "evt_standin_refund", "type": "checkout.session.completed", "data": {"object": session}}
    assert post_signed(client, json.dumps(event)).json()["outcome"] == "package_paid"
    purchase = PackagePurchase.objects.get()
    booked = book_with(purchase, 10)

    stripe_standin.fail_next(after_processing=True)  # Stripe refunds, but the answer is lost
    with pytest.raises(PaymentUnavailable):
        refund_purchase(purchase=purchase, amount=9000, reason="Moving abroad")
    refund_purchase(purchase=purchase, amount=9000, reason="Moving abroad")  # the owner presses again

    assert len(stripe_standin.refunds) == 1  # one refund at Stripe: the same idempotency key
    purchase.refresh_from_db()
    assert purchase.order.amount_refunded == 9000 and purchase.ended_at is not None
    booked.refresh_from_db()
    assert booked.status == Booking.Status.CONFIRMED  # what was booked stays booked
    with pytest.raises(PackageNotUsable, match="closed"):
        book_with(purchase, 11)
    actions = list(PackageLog.objects.filter(purchase=purchase).values_list("action", flat=True))
    assert actions.count("closed") == 1 and actions.count("refunded") == 1 and "refund_failed" in actions
    with pytest.raises(Exception, match="Refund between"):
        refund_purchase(purchase=purchase, amount=7000, reason="Too much")


def test_a_package_pays_only_for_the_session_types_it_names(client, coach):
    intro = session_type_of(coach)
    deep_dive = SessionTypeFactory(coaches=coach, title="Deep dive", duration_minutes=90, price_amount=15000)
    package = PackageFactory(coach=coach)
    package.session_types.add(deep_dive)
    purchase = buy(client, package)
    with pytest.raises(PackageNotUsable, match="pays for “Deep dive” sessions, not “1-on-1 session”"):
        book_with(purchase, 10, session_type=intro)
    booking = book_with(purchase, 9, session_type=deep_dive)
    assert booking.status == Booking.Status.CONFIRMED and booking.session_title == "Deep dive"
    assert booking.end_at - booking.start_at == timedelta(minutes=90)
