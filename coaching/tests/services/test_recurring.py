"""Recurring sessions, write side: a series is booked all or nothing under the coach's lock, paid
with one checkout that the webhook confirms once, and each occurrence then lives as a booking of its
own (moved or cancelled alone, invite updated for that occurrence), or the rest cancelled at once with
the refund rule applied per occurrence."""

import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import Client
from icalendar import Calendar

from coaching.exceptions import BookingError, OccurrenceUnavailable, RecurringNotAllowed, SlotUnavailable
from coaching.models import Booking, BookingSeries, Notification, ProcessedStripeEvent, Refund
from coaching.schedule.recurrence import WEEKLY, occurrence_starts
from coaching.services import Guest, cancel_booking, create_booking, expire_holds, reschedule_booking
from coaching.services import locks as lock_switch
from coaching.services.recurring import book_series, cancel_remaining
from coaching.tests.factories import (
    BookingFactory,
    CoachFactory,
    GuestFactory,
    WeeklyHoursFactory,
    allow_weekly_series,
)
from coaching.tests.schedule.test_recurrence import weekly_preview
from coaching.tests.services.test_races import race
from coaching.tests.standins.stripe import pay
from coaching.vocabulary import Actor

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = datetime(2030, 3, 1, 9, tzinfo=UTC)
# Tuesday 12 March 2030, 18:00 in London; British Summer Time starts on 31 March (week 4 on).
FIRST = datetime(2030, 3, 12, 18, tzinfo=UTC)
GUEST = Guest(name="Grace Hopper", email="grace@example.com", timezone="America/New_York")
WEEKS = occurrence_starts(FIRST, zone=LONDON, every_weeks=WEEKLY, count=8)


def tuesday_evenings_coach(**fields):
    coach = allow_weekly_series(CoachFactory(timezone="Europe/London", horizon_days=365, **fields))
    WeeklyHoursFactory(coach=coach, weekday=1, start_time=time(17), end_time=time(20))
    return coach


def book(coach, *, count=8, numbers=None, guest=GUEST, now=NOW):
    return book_series(
        guest=guest, coach=coach, first_start_at=FIRST, count=count, every_weeks=WEEKLY, numbers=numbers, now=now
    )


def invites(message) -> list:
    """Every VEVENT of every .ics attached to `message`, parsed back with icalendar."""
    events = []
    for _name, content, mimetype in message.attachments:
        if mimetype.startswith("text/calendar") or str(_name).endswith(".ics"):
            calendar = Calendar.from_ical(content)
            events += [(calendar["method"], event) for event in calendar.walk("VEVENT")]
    return events


def attachments(message) -> list:
    """(filename, text, method) of each calendar part (MIMEText parts, as email_content attaches them)."""
    parts = []
    for part in message.attachments:
        if hasattr(part, "get_filename"):
            parts.append((part.get_filename(), part.get_payload(decode=True), part.get_param("method")))
    return parts


def parsed_invites(message) -> list[tuple[str, object]]:
    events = []
    for _filename, payload, method in attachments(message):
        calendar = Calendar.from_ical(payload)
        assert str(calendar["method"]) == method
        events += [(method, event) for event in calendar.walk("VEVENT")]
    return events


# --- booking a series ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_free_weekly_series_books_every_occurrence_at_18_00_london_across_the_dst_change(after_commit):
    coach = tuesday_evenings_coach()

    result = after_commit(lambda: book(coach))

    bookings = list(result.series.occurrences.order_by("start_at"))
    assert [booking.series_number for booking in bookings] == list(range(1, 9))
    assert {booking.status for booking in bookings} == {Booking.Status.CONFIRMED}
    assert [booking.start_at.astimezone(LONDON).time() for booking in bookings] == [time(18)] * 8
    assert [booking.start_at for booking in bookings] == WEEKS
    assert result.checkout_url is None


@pytest.mark.django_db
def test_one_email_for_the_series_with_one_invite_per_occurrence_each_with_its_own_uid(after_commit):
    coach = tuesday_evenings_coach()

    result = after_commit(lambda: book(coach))

    to_guest = [message for message in mail.outbox if message.to == [GUEST.email]]
    to_coach = [message for message in mail.outbox if message.to == [coach.email]]
    assert len(to_guest) == 1 and len(to_coach) == 1
    (confirmation,) = to_guest
    assert "8 sessions" in confirmation.subject
    assert to_coach[0].subject.startswith("New weekly series: Grace Hopper, 8 sessions from Tue 12 Mar 2030, 18:00")
    assert "8 weekly sessions with you" in to_coach[0].body
    events = parsed_invites(confirmation)
    bookings = list(result.series.occurrences.order_by("start_at"))
    assert [method for method, _ in events] == ["REQUEST"] * 8
    assert [str(event["uid"]) for _, event in events] == [booking.ics_uid for booking in bookings]
    assert [event["dtstart"].dt for _, event in events] == WEEKS
    assert {int(event["sequence"]) for _, event in events} == {0}
    # Both zones, one line per occurrence: 18:00 in London is 14:00 then 13:00 in New York.
    assert "Tue 12 Mar 2030, 14:00 EDT (America/New_York)" in confirmation.body
    assert "Tue 12 Mar 2030, 18:00 GMT (Europe/London)" in confirmation.body
    assert "Tue 02 Apr 2030, 18:00 BST (Europe/London)" in confirmation.body


@pytest.mark.django_db
def test_one_taken_week_the_guest_sees_it_and_books_the_other_seven(after_commit):
    coach = tuesday_evenings_coach()
    BookingFactory(coach=coach, start_at=WEEKS[2], end_at=WEEKS[2] + timedelta(hours=1))

    preview = weekly_preview(coach, count=8)
    free = [occurrence.number for occurrence in preview if occurrence.is_free]
    result = after_commit(lambda: book(coach, numbers=free))

    assert free == [1, 2, 4, 5, 6, 7, 8]
    assert sorted(result.series.occurrences.values_list("series_number", flat=True)) == free
    (confirmation,) = [message for message in mail.outbox if message.to == [GUEST.email]]
    assert len(parsed_invites(confirmation)) == 7


@pytest.mark.django_db
def test_an_occurrence_taken_meanwhile_books_none_of_them():
    coach = tuesday_evenings_coach()
    BookingFactory(coach=coach, start_at=WEEKS[5], end_at=WEEKS[5] + timedelta(hours=1))

    with pytest.raises(OccurrenceUnavailable) as refused:
        book(coach)

    assert refused.value.number == 6 and "Session 6" in refused.value.message
    assert "Nothing was booked" in refused.value.message
    assert not BookingSeries.objects.exists()
    assert Booking.objects.filter(series__isnull=False).count() == 0


@pytest.mark.django_db
def test_a_series_longer_than_allowed_is_refused():
    coach = tuesday_evenings_coach()
    with pytest.raises(RecurringNotAllowed):
        book(coach, count=40)
    assert not BookingSeries.objects.exists()


# --- paying for a series ---------------------------------------------------------------------------


@pytest.fixture
def paid_series(db):
    coach = tuesday_evenings_coach(price_amount=5000, currency="GBP")
    result = book(coach, count=6)
    assert result.checkout_url
    return result.series


@pytest.mark.django_db
def test_a_paid_series_is_one_hold_covering_every_occurrence_and_one_checkout(paid_series):
    occurrences = list(paid_series.occurrences.all())
    assert len(occurrences) == 6
    assert {booking.status for booking in occurrences} == {Booking.Status.PENDING_PAYMENT}
    assert {booking.hold_expires_at for booking in occurrences} == {paid_series.hold_expires_at}
    assert paid_series.amount_due == 6 * 5000
    assert paid_series.stripe_checkout_session_id
    assert {booking.stripe_checkout_session_id for booking in occurrences} == {None}


@pytest.mark.django_db
def test_the_webhook_confirms_a_paid_series_once(paid_series, after_commit):
    response = after_commit(lambda: pay(Client(), paid_series, payment_intent="pi_series", event_id="evt_series"))
    again = after_commit(lambda: pay(Client(), paid_series, payment_intent="pi_series", event_id="evt_series"))
    other_delivery = after_commit(lambda: pay(Client(), paid_series, payment_intent="pi_series"))

    assert response.json()["outcome"] == "paid" and again.json()["outcome"] == "duplicate"
    assert other_delivery.json()["outcome"] == "paid"
    occurrences = list(paid_series.occurrences.all())
    assert {booking.status for booking in occurrences} == {Booking.Status.CONFIRMED}
    assert {(booking.amount_paid, booking.stripe_payment_intent_id) for booking in occurrences} == {(5000, "pi_series")}
    assert sum(booking.log_entries.filter(action="confirmed").count() for booking in occurrences) == 6
    assert Notification.objects.filter(kind="confirmation").count() == 1
    assert Notification.objects.filter(kind="payment_received").count() == 1
    assert ProcessedStripeEvent.objects.count() == 2
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_a_payment_short_of_the_whole_series_is_refunded_and_flagged_never_confirmed(paid_series, settings):
    settings.OWNER_EMAIL = "owner@example.com"
    response = pay(Client(), paid_series, amount_total=5000)

    assert response.json()["outcome"] == "flagged"
    assert set(paid_series.occurrences.values_list("status", flat=True)) == {Booking.Status.PENDING_PAYMENT}
    assert Refund.objects.get().amount == 5000


@pytest.mark.django_db
def test_an_expired_series_checkout_releases_every_occurrence_with_one_email(paid_series, after_commit):
    response = after_commit(lambda: pay(Client(), paid_series, event_type="checkout.session.expired"))

    assert response.json()["outcome"] == "released"
    assert set(paid_series.occurrences.values_list("status", flat=True)) == {Booking.Status.EXPIRED}
    assert Notification.objects.filter(kind="hold_expired").count() == 1


@pytest.mark.django_db
def test_a_late_payment_reconfirms_the_weeks_still_free_and_refunds_the_week_taken_meanwhile(paid_series):
    expire_holds(now=NOW + timedelta(minutes=16))
    taken = paid_series.occurrences.get(series_number=3)
    create_booking(guest=GuestFactory(), coach=paid_series.coach, start_at=taken.start_at, now=NOW + timedelta(hours=1))

    pay(Client(), paid_series, payment_intent="pi_late")

    statuses = dict(paid_series.occurrences.values_list("series_number", "status"))
    assert statuses == {1: "confirmed", 2: "confirmed", 3: "expired", 4: "confirmed", 5: "confirmed", 6: "confirmed"}
    (refund,) = Refund.objects.all()
    assert (refund.booking_id, refund.amount, refund.payment_intent_id) == (taken.pk, 5000, "pi_late")


# --- managing a series -----------------------------------------------------------------------------


@pytest.fixture
def confirmed_series(paid_series):
    pay(Client(), paid_series, payment_intent="pi_series")
    mail.outbox.clear()
    return paid_series


@pytest.mark.django_db
def test_moving_one_occurrence_updates_only_that_occurrences_invite(confirmed_series, after_commit):
    week3 = confirmed_series.occurrences.get(series_number=3)
    new_start = week3.start_at + timedelta(hours=1)  # 19:00 the same Tuesday

    after_commit(lambda: reschedule_booking(booking=week3, new_start_at=new_start, actor=Actor.GUEST, now=NOW))

    (message,) = [message for message in mail.outbox if message.to == [GUEST.email]]
    ((method, event),) = parsed_invites(message)
    assert method == "REQUEST"
    assert str(event["uid"]) == week3.ics_uid and int(event["sequence"]) == 1
    assert event["dtstart"].dt == new_start
    others = confirmed_series.occurrences.exclude(pk=week3.pk)
    assert set(others.values_list("ics_sequence", flat=True)) == {0}


@pytest.mark.django_db
def test_cancelling_one_occurrence_refunds_that_one_and_cancels_its_invite(confirmed_series, after_commit):
    week2 = confirmed_series.occurrences.get(series_number=2)

    after_commit(lambda: cancel_booking(booking=week2, actor=Actor.GUEST, now=NOW))

    (message,) = [message for message in mail.outbox if message.to == [GUEST.email] and attachments(message)]
    ((method, event),) = parsed_invites(message)
    assert method == "CANCEL" and str(event["uid"]) == week2.ics_uid and int(event["sequence"]) == 1
    assert list(Refund.objects.values_list("booking_id", "amount")) == [(week2.pk, 5000)]
    assert confirmed_series.occurrences.active().count() == 5


@pytest.mark.django_db
def test_cancelling_all_remaining_applies_the_refund_rule_per_occurrence(confirmed_series, after_commit):
    # Monday 18 March, 20:00: week 1 is over, week 2 (Tuesday 18:00) is inside the 24-hour cut-off.
    now = datetime(2030, 3, 18, 20, tzinfo=UTC)

    outcome = after_commit(lambda: cancel_remaining(series=confirmed_series, actor=Actor.GUEST, now=now))

    statuses = dict(confirmed_series.occurrences.values_list("series_number", "status"))
    assert statuses == {1: "confirmed", 2: "cancelled", 3: "cancelled", 4: "cancelled", 5: "cancelled", 6: "cancelled"}
    refunds = dict(Refund.objects.values_list("booking__series_number", "amount"))
    assert refunds == {3: 5000, 4: 5000, 5: 5000, 6: 5000}  # week 2 is past the cut-off: no refund
    assert outcome.refund_total == 20000 and outcome.kept == []
    cancels = [
        str(event["uid"]) for message in mail.outbox for method, event in parsed_invites(message) if method == "CANCEL"
    ]
    assert sorted(cancels) == sorted(booking.ics_uid for booking in outcome.cancelled)


@pytest.mark.django_db
def test_cancelling_all_remaining_when_nothing_is_left_is_refused(confirmed_series):
    with pytest.raises(BookingError):
        cancel_remaining(series=confirmed_series, actor=Actor.GUEST, now=WEEKS[7] + timedelta(days=1))


# --- races -------------------------------------------------------------------------------------------


def _series_against_a_single_week(coach):
    week5 = WEEKS[4]
    single_guest = GuestFactory(timezone="UTC")
    successes, refusals = race(
        [
            lambda: book(coach),
            lambda: create_booking(guest=single_guest, coach=coach, start_at=week5, now=NOW),
        ]
    )
    assert len(successes) == 1 and len(refusals) == 1
    assert isinstance(refusals[0], SlotUnavailable)
    assert Booking.objects.active().filter(coach=coach, start_at=week5).count() == 1
    series_bookings = Booking.objects.filter(series__isnull=False).count()
    assert series_bookings in (0, 8)  # all or nothing
    assert BookingSeries.objects.count() == (1 if series_bookings else 0)


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(3))
def test_a_series_racing_a_single_booking_for_one_of_its_weeks_on_postgres_never_both(transactional_db, round_):
    _series_against_a_single_week(tuesday_evenings_coach())


@pytest.mark.postgres
def test_without_the_coach_lock_the_exclusion_constraint_still_keeps_series_and_single_apart(
    transactional_db, monkeypatch
):
    monkeypatch.setattr(lock_switch, "LOCKING_ENABLED", False)
    _series_against_a_single_week(tuesday_evenings_coach())


def test_a_series_racing_a_single_booking_on_sqlite_never_both(transactional_db):
    _series_against_a_single_week(tuesday_evenings_coach())


@pytest.mark.django_db
def test_the_hold_task_closes_the_series_checkout_at_stripe_once_every_occurrence_has_lapsed(stripe_standin):
    coach = tuesday_evenings_coach(price_amount=5000, currency="GBP")
    series = book(coach, count=3).series

    released = expire_holds(now=NOW + timedelta(minutes=16))

    assert released == 3
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.EXPIRED}
    expired = stripe_standin.requests_to("POST", f"/v1/checkout/sessions/{series.stripe_checkout_session_id}/expire")
    assert len(expired) == 1  # once, when the last occurrence lapsed
    (checkout,) = stripe_standin.requests_to("POST", "/v1/checkout/sessions")
    line = checkout.params["line_items"][0]
    assert (line["price_data"]["unit_amount"], line["quantity"]) == ("5000", "3")
    assert checkout.params["client_reference_id"] == series.reference


@pytest.mark.django_db
def test_a_checkout_that_cannot_open_releases_every_occurrence_silently(settings, after_commit):
    settings.STRIPE_TEST_CHECKOUT = False  # no keys and no test checkout: payment is not set up
    coach = tuesday_evenings_coach(price_amount=5000)

    with pytest.raises(BookingError):
        after_commit(lambda: book(coach, count=3))

    assert set(Booking.objects.values_list("status", flat=True)) == {Booking.Status.EXPIRED}
    assert not Notification.objects.exists()
    preview = weekly_preview(coach, count=3)
    assert preview[0].is_free
