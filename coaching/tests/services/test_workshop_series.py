"""Dates in a series (services/series.py, move_seat): a guest's seat moves to another date of the
same workshop under both dates' locks, never overselling the new date, with an updated invite; the
seat given back goes to the old date's waiting list. A workshop without a series stays single-date."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from coaching.exceptions import BookingNotReschedulable, NotEnoughSeats, WorkshopFull
from coaching.models import Booking, BookingLog, WaitlistEntry, WorkshopSeries
from coaching.policy import get_policy
from coaching.schedule import seats_left, series_dates
from coaching.services import create_booking
from coaching.services.series import move_seat
from coaching.services.waitlist import join_waitlist
from coaching.tests.factories import BookingFactory, CoachFactory, GuestFactory, WorkshopFactory
from coaching.tests.services.test_races import race
from coaching.tests.standins.smtp import invite, text_body
from coaching.vocabulary import Actor, LogAction

pytestmark = pytest.mark.usefixtures("frozen_clock")

NOW = datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
MARCH = datetime(2031, 3, 8, 10, 0, tzinfo=UTC)  # Saturday 8 March, 10:00 GMT
APRIL = MARCH + timedelta(weeks=4)  # Saturday 5 April, 11:00 BST
TWO_HOURS = timedelta(hours=2)


def a_series(*capacities, price=0, start=MARCH):
    """One WorkshopSeries with a date per capacity, four weeks apart (each its own Workshop row)."""
    series = WorkshopSeries.objects.create(title="Saturday Deep Work", slug=f"deep-work-{start:%m%d}")
    host = CoachFactory(name="Yuki Tanaka", email="yuki@coach.example")
    dates = []
    for number, capacity in enumerate(capacities):
        start_at = start + timedelta(weeks=4 * number)
        dates.append(
            WorkshopFactory(
                title="Saturday Deep Work",
                slug=f"deep-work-{start_at:%Y-%m-%d}",
                series=series,
                host=host,
                start_at=start_at,
                end_at=start_at + TWO_HOURS,
                capacity=capacity,
                price_amount=price,
            )
        )
    return dates


@pytest.mark.django_db
def test_a_guest_moves_their_seat_to_another_date_of_the_series_and_gets_an_updated_invite(
    smtp, django_capture_on_commit_callbacks
):
    march, april = a_series(2, 2)
    guest = GuestFactory(name="Kenji Sato", email="kenji@guest.example", timezone="Asia/Tokyo")
    booking = create_booking(guest=guest, workshop=march, seats=2).booking

    with django_capture_on_commit_callbacks(execute=True):
        moved = move_seat(booking=booking, to_workshop=april, actor=Actor.GUEST)

    assert (moved.workshop, moved.start_at, moved.end_at) == (april, APRIL, APRIL + TWO_HOURS)
    assert (moved.reference, moved.seats, moved.ics_sequence, moved.reschedule_count) == (booking.reference, 2, 1, 1)
    assert (seats_left(march), seats_left(april)) == (2, 0)
    (entry,) = BookingLog.objects.filter(booking=booking, action=LogAction.SEAT_MOVED)
    assert entry.actor == Actor.GUEST
    assert (
        entry.message
        == "Moved from Saturday Deep Work on 2031-03-08 10:00 UTC to Saturday Deep Work on 2031-04-05 10:00 UTC."
    )

    (message,) = [m for m in smtp.mailbox.to("kenji@guest.example") if "moved" in text_body(m)]
    text = text_body(message)
    assert "Sat 05 Apr 2031, 19:00 JST (Asia/Tokyo) – 21:00 (your time)" in text
    assert "Previously: Sat 08 Mar 2031, 19:00 JST (Asia/Tokyo) – 21:00 (your time)" in text
    method, calendar = invite(message)
    (event,) = calendar.walk("VEVENT")
    assert method == "REQUEST" and (str(event["UID"]), int(event["SEQUENCE"])) == (booking.ics_uid, 1)
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (APRIL, APRIL + TWO_HOURS)


@pytest.mark.django_db
def test_a_full_date_takes_no_moved_seat_and_nothing_changes():
    march, april = a_series(3, 2)
    BookingFactory(workshop=april, seats=1)
    booking = create_booking(guest=GuestFactory(), workshop=march, seats=2).booking

    with pytest.raises(NotEnoughSeats):
        move_seat(booking=booking, to_workshop=april, actor=Actor.GUEST)
    BookingFactory(workshop=april, seats=1)
    with pytest.raises(WorkshopFull):
        move_seat(booking=booking, to_workshop=april, actor=Actor.OWNER)

    booking.refresh_from_db()
    assert (booking.workshop, booking.ics_sequence) == (march, 0)


@pytest.mark.django_db
def test_a_seat_freed_for_the_new_dates_waiting_list_is_not_the_movers():
    march, april = a_series(2, 1)
    sold = BookingFactory(workshop=april)
    join_waitlist(workshop=april, guest=GuestFactory())
    booking = create_booking(guest=GuestFactory(), workshop=march).booking
    sold.status = Booking.Status.CANCELLED  # April's seat given back, not yet offered to its waiting list
    sold.save()

    with pytest.raises(WorkshopFull):
        move_seat(booking=booking, to_workshop=april, actor=Actor.GUEST)
    booking.refresh_from_db()
    assert booking.workshop == march


@pytest.mark.django_db
def test_the_seat_given_back_goes_to_the_old_dates_waiting_list(django_capture_on_commit_callbacks):
    march, april = a_series(1, 2)
    booking = create_booking(guest=GuestFactory(), workshop=march).booking
    waiting = join_waitlist(workshop=march, guest=GuestFactory())

    with django_capture_on_commit_callbacks(execute=True):
        move_seat(booking=booking, to_workshop=april, actor=Actor.GUEST)

    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.OFFERED


@pytest.mark.django_db
def test_seats_move_only_between_dates_of_one_series_at_the_same_price():
    march, april, may = a_series(2, 2, 2)
    other_series = a_series(2, start=MARCH + timedelta(days=1))[0]
    single = WorkshopFactory(start_at=APRIL, end_at=APRIL + TWO_HOURS)
    may.price_amount = 1500
    may.save()
    booking = create_booking(guest=GuestFactory(), workshop=march).booking

    for target, message in (
        (other_series, "another date of the same workshop"),
        (single, "another date of the same workshop"),
        (may, "different price"),
        (march, "already your date"),
    ):
        with pytest.raises(BookingNotReschedulable, match=message):
            move_seat(booking=booking, to_workshop=target, actor=Actor.GUEST)
    lone = create_booking(guest=GuestFactory(), workshop=single).booking
    with pytest.raises(BookingNotReschedulable, match="cannot be moved to another date"):
        move_seat(booking=lone, to_workshop=april, actor=Actor.GUEST)


@pytest.mark.django_db
def test_a_guest_is_held_to_the_reschedule_cutoff_and_limit(frozen_clock):
    march, april, may = a_series(2, 2, 2)
    booking = create_booking(guest=GuestFactory(), workshop=march).booking
    move_seat(booking=booking, to_workshop=april, actor=Actor.GUEST)

    frozen_clock.move_to(APRIL - timedelta(hours=23))
    with pytest.raises(BookingNotReschedulable, match="up to 24 hours before"):
        move_seat(booking=booking, to_workshop=may, actor=Actor.GUEST)
    frozen_clock.move_to(NOW)
    policy = get_policy()
    policy.max_reschedules = 1
    policy.save()
    with pytest.raises(BookingNotReschedulable, match="already been moved 1 time,"):
        move_seat(booking=booking, to_workshop=may, actor=Actor.GUEST)

    move_seat(booking=booking, to_workshop=may, actor=Actor.OWNER)  # the owner can still move it
    booking.refresh_from_db()
    assert booking.workshop == may


@pytest.mark.django_db
def test_existing_workshops_are_single_date_workshops():
    workshop = WorkshopFactory()
    assert workshop.series is None and series_dates(workshop) == []


@pytest.mark.django_db
def test_the_series_lists_its_upcoming_dates_with_their_seats(frozen_clock):
    march, april, may = a_series(2, 1, 3)
    BookingFactory(workshop=april)
    frozen_clock.move_to(MARCH + timedelta(hours=1))  # March has started

    assert [(d.workshop, d.seats_left, d.state) for d in series_dates(may)] == [
        (april, 0, "waitlist"),
        (may, 3, "seats"),
    ]


def _ten_guests_moving_at_once_fill_the_new_date_and_never_oversell_it():
    march, april = a_series(10, 3)
    bookings = [create_booking(guest=GuestFactory(), workshop=march).booking for _ in range(10)]

    successes, refusals = race(
        [lambda b=b: move_seat(booking=b, to_workshop=april, actor=Actor.GUEST) for b in bookings]
    )

    assert len(successes) == 3
    assert {type(r).__name__ for r in refusals} == {"WorkshopFull"}
    assert Booking.objects.active().filter(workshop=april).count() == 3
    assert Booking.objects.active().filter(workshop=march).count() == 7


@pytest.mark.postgres
def test_ten_guests_moving_to_a_date_with_three_seats_on_postgres_move_three(transactional_db):
    _ten_guests_moving_at_once_fill_the_new_date_and_never_oversell_it()


def test_ten_guests_moving_to_a_date_with_three_seats_on_sqlite_move_three(transactional_db):
    if connection.vendor != "sqlite":
        pytest.skip("this variant proves the embedded SQLite mode; the PostgreSQL variant runs on PostgreSQL")
    _ten_guests_moving_at_once_fill_the_new_date_and_never_oversell_it()
