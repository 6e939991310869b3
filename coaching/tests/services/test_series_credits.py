"""A recurring series paid with a package: one credit per occurrence, taken under the coach's lock and
then the purchase's, in the series' one transaction — every occurrence confirmed at once with no
checkout, or the whole series refused with nothing written; cancelling one occurrence in time gives
its credit back, as for a single booking."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from coaching.exceptions import NotBookable, PackageNotUsable
from coaching.models import Booking, BookingSeries, CreditUse, PackagePurchase
from coaching.services import cancel_booking, create_booking
from coaching.services.packages import CreditTender, tender_for_code
from coaching.services.recurring import book_series
from coaching.tests.factories import GuestFactory, PackageFactory, PromotionCodeFactory
from coaching.tests.services.test_packages import buy
from coaching.tests.services.test_races import race
from coaching.tests.services.test_recurring import FIRST, GUEST, WEEKS, tuesday_evenings_coach
from coaching.vocabulary import Actor

NOW = datetime(2030, 3, 1, 9, tzinfo=UTC)  # frozen_clock's moment: the purchase is bought then


def paid_coach():
    return tuesday_evenings_coach(price_amount=6000, slug="amara")


def series_of(coach, count, tender):
    return book_series(
        guest=GUEST, coach=coach, first_start_at=FIRST, count=count, every_weeks=1, tender=tender, now=NOW
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_a_series_of_4_typed_with_a_5_credit_package_code_is_confirmed_at_once_with_no_checkout(client):
    coach = paid_coach()
    purchase = buy(client, PackageFactory(coach=coach, credits=5))
    url = f"{reverse('coaching:coach_series', args=[coach.slug])}?start={FIRST:%Y-%m-%dT%H:%M:%SZ}&count=4"

    response = client.post(
        url,
        {"name": "Grace Hopper", "email": "grace@example.com", "code": purchase.code_display, "numbers": [1, 2, 3, 4]},
    )

    assert response.status_code == 200  # the booked page itself: no redirect to a checkout
    series = BookingSeries.objects.get()
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.CONFIRMED}
    assert series.occurrences.count() == 4
    assert series.amount_due == 0 and not series.stripe_checkout_session_id
    purchase.refresh_from_db()
    assert purchase.credits_left == 1
    assert CreditUse.objects.filter(purchase=purchase, booking__series=series).count() == 4


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize(
    ("credits", "validity_days", "says"),
    [
        (3, 180, "This package has 3 sessions left and this series needs 4."),
        (5, 20, "before the last session of this series"),  # expires on 21 March: week 3 is after it
    ],
)
def test_a_series_the_package_cannot_pay_in_full_is_refused_and_writes_nothing(client, credits, validity_days, says):
    coach = paid_coach()
    purchase = buy(client, PackageFactory(coach=coach, credits=credits, validity_days=validity_days))

    with pytest.raises(PackageNotUsable) as refused:
        series_of(coach, 4, CreditTender(purchase))

    assert says in refused.value.message and "Nothing was booked." in refused.value.message
    assert not BookingSeries.objects.exists() and not Booking.objects.exists()
    assert not CreditUse.objects.exists()
    assert PackagePurchase.objects.get(pk=purchase.pk).credits_used == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_cancelling_one_occurrence_inside_the_window_gives_its_credit_back(client):
    coach = paid_coach()
    purchase = buy(client, PackageFactory(coach=coach, credits=5))
    second = series_of(coach, 4, CreditTender(purchase)).bookings[1]

    cancel_booking(booking=second, actor=Actor.GUEST)  # weeks ahead; the cut-off is 24 hours

    purchase.refresh_from_db()
    assert purchase.credits_left == 2
    assert CreditUse.objects.get(booking=second).returned_at is not None


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_a_promotion_code_on_a_series_is_refused_for_now():
    coach = paid_coach()
    code = PromotionCodeFactory()

    with pytest.raises(NotBookable):
        series_of(coach, 2, tender_for_code(code.code))

    assert not BookingSeries.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(3))
def test_a_series_of_2_and_a_single_booking_racing_for_the_last_2_credits_never_spend_more(
    transactional_db, client, round_
):
    coach = paid_coach()
    purchase = buy(client, PackageFactory(coach=coach, credits=2))
    PackagePurchase.objects.filter(pk=purchase.pk).update(expires_at=NOW + timedelta(days=365))
    purchase.refresh_from_db()
    single_guest = GuestFactory(timezone="UTC")

    successes, refusals = race(
        [
            lambda: series_of(coach, 2, CreditTender(purchase)),
            lambda: create_booking(
                guest=single_guest, coach=coach, start_at=WEEKS[3], tender=CreditTender(purchase), now=NOW
            ),
        ]
    )

    assert len(successes) == 1 and [type(refusal) for refusal in refusals] == [PackageNotUsable]
    purchase.refresh_from_db()
    spent = CreditUse.objects.filter(purchase=purchase, returned_at__isnull=True).count()
    assert purchase.credits_used == spent <= 2
    assert Booking.objects.active().count() == spent
    assert BookingSeries.objects.count() in (0, 1)
