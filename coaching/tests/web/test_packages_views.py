"""The guest's package pages over HTTP: buy, the test checkout, the return page, "back", the signed
package link (forged refused), booking with the code on the form, and the owner's purchase screen."""

import base64
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail, signing
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client

from coaching.links import make_package_token
from coaching.models import Booking, Coach, PackageLog, PackageOrder, PackagePurchase, PromotionRedemption
from coaching.services import create_booking
from coaching.services.packages import CreditTender
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    GuestFactory,
    PackageFactory,
    PaidCoachFactory,
    PromotionCodeFactory,
    SessionTypeFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
DAY = datetime(2030, 1, 7, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def package():
    coach = PaidCoachFactory(timezone="UTC", slug="bea")
    AvailabilityBlockFactory(coach=coach, start_at=DAY.replace(hour=9), end_at=DAY.replace(hour=17))
    return PackageFactory(coach=coach, slug="five", credits=3, price_amount=15000, validity_days=30)


def buy_through_the_pages(client, package, *, code="", after_commit=lambda action: action()) -> PackagePurchase:
    response = client.post(
        f"/packages/buy/{package.slug}/", {"name": "Ada Lovelace", "email": "ada@example.com", "code": code}
    )
    assert response.status_code == 303
    checkout = response["Location"].removeprefix("http://testserver")
    assert "/packages/test-checkout/" in checkout
    assert client.get(checkout).status_code == 200
    response = after_commit(lambda: client.post(checkout, {"pay": "1"}))
    assert response.status_code == 302 and "/packages/checkout/return/" in response["Location"]
    page = client.get(response["Location"])
    assert "your package is ready" in page.content.decode()
    return PackagePurchase.objects.get()


def test_buying_with_the_test_checkout_goes_through_the_webhook_and_shows_the_package(client, package, after_commit):
    purchase = buy_through_the_pages(client, package, after_commit=after_commit)
    assert purchase.order.status == PackageOrder.Status.PAID
    assert PackageLog.objects.get(purchase=purchase).actor == "webhook"
    link = re.search(r"https?://\S+/packages/mine/\S+/", mail.outbox[-1].body).group(0)
    page = client.get(link.split("testserver", 1)[-1])
    body = page.content.decode()
    assert page.status_code == 200 and "Sessions left" in body and purchase.code_display in body
    assert "data-credits-left>3 <span" in body
    assert "booking-widget" in body  # the coach's calendar, to book with a credit


def test_a_promotion_code_is_applied_before_the_checkout_and_shown_on_it(client, package):
    PromotionCodeFactory(code="SPRING20", percent_off=20)
    response = client.post(
        f"/packages/buy/{package.slug}/", {"name": "Ada", "email": "ada@example.com", "code": "spring20"}
    )
    checkout = client.get(response["Location"].removeprefix("http://testserver")).content.decode()
    assert "£120.00" in checkout and "SPRING20: −£30.00" in checkout


def test_an_unknown_code_is_refused_on_the_buy_form(client, package):
    response = client.post(
        f"/packages/buy/{package.slug}/", {"name": "Ada", "email": "ada@example.com", "code": "NOPE"}
    )
    assert response.status_code == 400 and "recognise that code" in response.content.decode()
    assert not PackageOrder.objects.exists()


def test_back_from_the_checkout_closes_the_order_and_returns_the_code(client, package):
    code = PromotionCodeFactory(max_uses=1)
    response = client.post(
        f"/packages/buy/{package.slug}/", {"name": "Ada", "email": "ada@example.com", "code": code.code}
    )
    checkout = response["Location"].removeprefix("http://testserver")
    back = client.post(checkout, {"cancel": "1"})
    page = client.get(back["Location"], follow=True)
    assert "nothing was bought" in page.content.decode()
    assert PackageOrder.objects.get().status == PackageOrder.Status.CANCELLED
    assert PromotionRedemption.objects.get().released_at is not None


def test_a_forged_or_altered_package_link_is_refused(client, package):
    purchase = buy_through_the_pages(client, package)
    token = make_package_token(purchase)
    assert client.get(f"/packages/mine/{token}/").status_code == 200
    assert client.get(f"/packages/mine/{token[:-2]}xx/").status_code == 404
    # Another purchase's reference under this token's signature, and the right reference signed for
    # another purpose (a manage-booking link's salt).
    other = base64.urlsafe_b64encode(b'"AAAAAAAA"').rstrip(b"=").decode()
    assert client.get(f"/packages/mine/{other}{token[token.index(':') :]}/").status_code == 404
    wrong_salt = signing.dumps(purchase.reference, salt="coaching.manage-booking.v1", compress=False)
    assert client.get(f"/packages/mine/{wrong_salt}/").status_code == 404
    assert client.get("/packages/mine/not-a-token/").status_code == 404


def test_the_package_link_fills_the_booking_form_and_the_code_books_with_a_credit(client, package):
    purchase = buy_through_the_pages(client, package)
    client.get(f"/packages/mine/{make_package_token(purchase)}/")
    start = DAY.replace(hour=10).strftime("%Y-%m-%dT%H:%M:%SZ")
    form = client.get(f"/book/coach/bea/slot/?start={start}").content.decode()
    assert f'value="{purchase.code_display}"' in form and 'value="Ada Lovelace"' in form

    response = client.post(
        f"/book/coach/bea/slot/?start={start}",
        {"name": "Ada Lovelace", "email": "ada@example.com", "code": purchase.code_display},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "You're booked" in body and "Paid with" in body
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED and booking.amount_due == 0
    page = client.get(f"/packages/mine/{make_package_token(purchase)}/").content.decode()
    assert booking.reference in page and "data-credits-left>2 <span" in page


def test_an_expired_package_page_says_so_and_offers_no_calendar(client, package, frozen_clock):
    purchase = buy_through_the_pages(client, package)
    frozen_clock.move_to(purchase.expires_at + timedelta(hours=1))
    page = client.get(f"/packages/mine/{make_package_token(purchase)}/").content.decode()
    assert "has expired" in page and "booking-widget" not in page


def test_the_owner_sees_purchases_and_extends_and_adjusts_with_a_log(client, package, django_user_model):
    purchase = buy_through_the_pages(client, package)
    owner = django_user_model.objects.create_superuser("owner", "owner@example.com", "pw")
    client.force_login(owner)
    listing = client.get("/admin/coaching/packagepurchase/").content.decode()
    assert purchase.reference in listing and "ada@example.com" in listing
    screen = client.get(f"/admin/coaching/package-purchases/{purchase.pk}/")
    assert screen.status_code == 200 and "3 left" in screen.content.decode()

    client.post(
        f"/admin/coaching/package-purchases/{purchase.pk}/extend/",
        {"expires_at": "2030-06-30 12:00", "reason": "Long illness"},
    )
    client.post(f"/admin/coaching/package-purchases/{purchase.pk}/adjust/", {"delta": "1", "reason": "Goodwill"})
    purchase.refresh_from_db()
    assert purchase.expires_at.date().isoformat() == "2030-06-30" and purchase.credits_total == 4
    actions = list(PackageLog.objects.filter(purchase=purchase).values_list("action", "actor_user__username"))
    assert ("extended", "owner") in actions and ("adjusted", "owner") in actions
    refused = client.post(f"/admin/coaching/package-purchases/{purchase.pk}/adjust/", {"delta": "-9", "reason": "x"})
    assert refused.status_code == 400 and "cannot be lower" in refused.content.decode()

    client.post(f"/admin/coaching/package-purchases/{purchase.pk}/refund/", {"amount": "15000", "reason": "Moved away"})
    purchase.refresh_from_db()
    assert purchase.ended_at is not None and purchase.order.amount_refunded == 15000
    listing = client.get("/admin/coaching/packagepurchase/").content.decode()
    assert "£150.00" in listing and "Closed" in listing


def test_another_coach_cannot_open_a_purchase(client, package, django_user_model):
    from django.contrib.auth.models import Group, Permission

    from coaching.tests.factories import CoachFactory

    purchase = buy_through_the_pages(client, package)
    user = django_user_model.objects.create_user("anna", "anna@example.com", "pw")
    group, _ = Group.objects.get_or_create(name="Coaches")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(group)
    CoachFactory(user=user)
    client.force_login(user)
    assert client.get(f"/admin/coaching/package-purchases/{purchase.pk}/").status_code == 404


def test_the_coach_page_shows_its_packages_with_a_buy_button(client):
    call_command("seed_demo", stdout=StringIO())
    page = client.get("/coaches/daniel-reyes/").content.decode()
    assert "5 leadership sessions" in page and "/packages/buy/five-leadership-sessions/" in page
    guest = Client()  # no session: the coach page is kept and answered from the cache
    assert "/packages/buy/" not in guest.get("/coaches/amara-okafor/").content.decode()
    assert guest.get("/coaches/amara-okafor/")["X-Page-Cache"] == "hit"
    PackageFactory(coach=Coach.objects.get(slug="amara-okafor"), slug="amara-three", title="Three career sessions")
    page = guest.get("/coaches/amara-okafor/")  # a package for sale retires the kept pages
    assert "Three career sessions" in page.content.decode() and page["X-Page-Cache"] == "miss"


def test_the_package_page_s_calendar_offers_the_type_the_package_pays_for(client, package):
    deep_dive = SessionTypeFactory(
        coaches=package.coach, title="Deep dive", slug="deep-dive", duration_minutes=90, price_amount=15000
    )
    package.session_types.add(deep_dive)
    purchase = buy_through_the_pages(client, package)
    response = client.get(f"/packages/mine/{make_package_token(purchase)}/")
    assert response.context["session_type"] == deep_dive
    start = DAY.replace(hour=9).strftime("%Y-%m-%dT%H:%M:%SZ")
    booked = client.post(
        f"/book/coach/bea/slot/?start={start}&type=deep-dive",
        {"name": "Ada Lovelace", "email": "ada@example.com", "code": purchase.code_display},
    )
    assert "You're booked" in booked.content.decode()
    assert Booking.objects.get().session_title == "Deep dive"


def test_the_package_page_runs_a_small_constant_number_of_queries(client, package, django_assert_max_num_queries):
    purchase = buy_through_the_pages(client, package)
    url = f"/packages/mine/{make_package_token(purchase)}/"
    for hour in (9, 10, 11):  # more bookings made with it cost no more queries
        create_booking(
            guest=GuestFactory(), coach=package.coach, start_at=DAY.replace(hour=hour), tender=CreditTender(purchase)
        )
    client.get(url)  # the session is written once
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200
