"""Bulk add / remove availability: the service and the `bulk_add_slots` command."""

import zoneinfo
from datetime import UTC, date, datetime, time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from coaching.models import AvailabilityBlock, Booking
from coaching.services.availability import (
    InvalidAvailabilityRequest,
    bulk_add_availability,
    parse_time_ranges,
    parse_weekdays,
    preview_bulk_add,
    preview_remove_availability,
    remove_availability,
)
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory, WorkshopFactory

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
MON_TO_SUN = [0, 1, 2, 3, 4, 5, 6]
MORNING_AND_AFTERNOON = [(time(9), time(12)), (time(13), time(17))]


def local_times(coach):
    return [
        (
            block.start_at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M"),
            block.end_at.astimezone(LONDON).strftime("%H:%M"),
        )
        for block in AvailabilityBlock.objects.filter(coach=coach).order_by("start_at")
    ]


def test_bulk_add_keeps_wall_clock_times_across_both_london_dst_changes():
    coach = CoachFactory(timezone="Europe/London")
    # 2026: clocks go forward on Sun 29 March and back on Sun 25 October.
    bulk_add_availability(
        coach=coach,
        weekdays=MON_TO_SUN,
        time_ranges=[(time(9), time(12))],
        start_date=date(2026, 3, 28),
        end_date=date(2026, 3, 30),
    )
    bulk_add_availability(
        coach=coach,
        weekdays=MON_TO_SUN,
        time_ranges=[(time(9), time(12))],
        start_date=date(2026, 10, 24),
        end_date=date(2026, 10, 26),
    )
    utc_starts = [block.start_at for block in AvailabilityBlock.objects.filter(coach=coach).order_by("start_at")]
    assert utc_starts == [
        datetime(2026, 3, 28, 9, tzinfo=UTC),  # GMT
        datetime(2026, 3, 29, 8, tzinfo=UTC),  # BST from the DST Sunday itself
        datetime(2026, 3, 30, 8, tzinfo=UTC),
        datetime(2026, 10, 24, 8, tzinfo=UTC),  # still BST
        datetime(2026, 10, 25, 9, tzinfo=UTC),  # GMT again
        datetime(2026, 10, 26, 9, tzinfo=UTC),
    ]
    assert {start[-5:] for start, _ in local_times(coach)} == {"09:00"}
    assert {end for _, end in local_times(coach)} == {"12:00"}


def test_bulk_add_run_twice_across_dst_creates_each_block_exactly_once():
    coach = CoachFactory(timezone="Europe/London")
    pattern = dict(
        coach=coach,
        weekdays=[0, 1, 2, 3, 4],
        time_ranges=MORNING_AND_AFTERNOON,
        start_date=date(2026, 3, 23),
        end_date=date(2026, 11, 1),
    )
    first = bulk_add_availability(**pattern)
    count_after_first = AvailabilityBlock.objects.filter(coach=coach).count()
    second = bulk_add_availability(**pattern)

    assert len(first.created) == count_after_first == 2 * 5 * 32  # 32 full Mon–Fri weeks
    assert second.created == []
    assert AvailabilityBlock.objects.filter(coach=coach).count() == count_after_first
    assert {skip.reason for skip in second.skipped} == {"already exists"}
    assert len(set(local_times(coach))) == count_after_first


def test_bulk_add_in_another_zone_uses_that_coachs_wall_clock():
    coach = CoachFactory(timezone="America/New_York")
    bulk_add_availability(
        coach=coach,
        weekdays=[0],
        time_ranges=[(time(9), time(10))],
        start_date=date(2026, 7, 6),
        end_date=date(2026, 7, 6),
    )
    assert AvailabilityBlock.objects.get(coach=coach).start_at == datetime(2026, 7, 6, 13, tzinfo=UTC)


def test_preview_writes_nothing_and_lists_what_would_be_created():
    coach = CoachFactory()
    plan = preview_bulk_add(
        coach=coach,
        weekdays=[0, 2],
        time_ranges=MORNING_AND_AFTERNOON,
        start_date=date(2026, 6, 1),
        end_date=date(2026, 6, 7),
    )
    assert len(plan.to_create) == 4
    assert not AvailabilityBlock.objects.exists()


def test_span_partly_overlapping_existing_availability_is_skipped_and_reported():
    coach = CoachFactory()
    # 10:00–11:00 BST on Mon 1 June 2026 already offered.
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2026, 6, 1, 9, tzinfo=UTC), end_at=datetime(2026, 6, 1, 10, tzinfo=UTC)
    )
    result = bulk_add_availability(
        coach=coach,
        weekdays=[0, 1],
        time_ranges=[(time(9), time(12))],
        start_date=date(2026, 6, 1),
        end_date=date(2026, 6, 2),
    )
    assert [(s.start_at.date(), s.reason) for s in result.skipped] == [(date(2026, 6, 1), "overlaps availability")]
    assert [b.start_at for b in result.created] == [datetime(2026, 6, 2, 8, tzinfo=UTC)]
    assert AvailabilityBlock.objects.filter(coach=coach).count() == 2


def test_span_overlapping_an_active_booking_is_skipped_but_a_cancelled_one_is_not_in_the_way():
    coach = CoachFactory()
    BookingFactory(
        coach=coach, start_at=datetime(2026, 6, 1, 9, tzinfo=UTC), end_at=datetime(2026, 6, 1, 10, tzinfo=UTC)
    )
    BookingFactory(
        coach=coach,
        start_at=datetime(2026, 6, 2, 9, tzinfo=UTC),
        end_at=datetime(2026, 6, 2, 10, tzinfo=UTC),
        cancelled=True,
    )
    result = bulk_add_availability(
        coach=coach,
        weekdays=[0, 1],
        time_ranges=[(time(9), time(12))],
        start_date=date(2026, 6, 1),
        end_date=date(2026, 6, 2),
    )
    assert [(s.start_at.date(), s.reason) for s in result.skipped] == [(date(2026, 6, 1), "overlaps a booking")]
    assert [b.start_at.date() for b in result.created] == [date(2026, 6, 2)]


def test_span_overlapping_a_hosted_workshop_is_skipped():
    coach = CoachFactory()
    WorkshopFactory(
        host=coach, start_at=datetime(2026, 6, 1, 10, tzinfo=UTC), end_at=datetime(2026, 6, 1, 12, tzinfo=UTC)
    )
    result = bulk_add_availability(
        coach=coach,
        weekdays=[0],
        time_ranges=[(time(9), time(12))],
        start_date=date(2026, 6, 1),
        end_date=date(2026, 6, 1),
    )
    assert [s.reason for s in result.skipped] == ["overlaps a workshop"]
    assert result.created == []


def test_other_coaches_availability_does_not_block_bulk_add():
    coach, other = CoachFactory(), CoachFactory()
    AvailabilityBlockFactory(
        coach=other, start_at=datetime(2026, 6, 1, 8, tzinfo=UTC), end_at=datetime(2026, 6, 1, 11, tzinfo=UTC)
    )
    result = bulk_add_availability(
        coach=coach,
        weekdays=[0],
        time_ranges=[(time(9), time(12))],
        start_date=date(2026, 6, 1),
        end_date=date(2026, 6, 1),
    )
    assert len(result.created) == 1


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ([(time(12), time(9))], "must end after it starts"),
        ([(time(9), time(12)), (time(11), time(13))], "overlap each other"),
        ([], "at least one daily time range"),
    ],
)
def test_nonsense_time_ranges_are_refused_with_a_clear_message(ranges, message):
    with pytest.raises(InvalidAvailabilityRequest, match=message):
        preview_bulk_add(
            coach=CoachFactory(),
            weekdays=[0],
            time_ranges=ranges,
            start_date=date(2026, 6, 1),
            end_date=date(2026, 6, 7),
        )


def test_end_before_start_date_is_refused():
    with pytest.raises(InvalidAvailabilityRequest, match="must not be before"):
        preview_bulk_add(
            coach=CoachFactory(),
            weekdays=[0],
            time_ranges=[(time(9), time(12))],
            start_date=date(2026, 6, 7),
            end_date=date(2026, 6, 1),
        )


def test_parsers_read_the_command_line_forms():
    assert parse_weekdays("mon,Wed, fri") == [0, 2, 4]
    assert parse_time_ranges("09:00-12:00, 13:00–17:30") == [(time(9), time(12)), (time(13), time(17, 30))]
    with pytest.raises(InvalidAvailabilityRequest):
        parse_weekdays("mon,funday")
    with pytest.raises(InvalidAvailabilityRequest):
        parse_time_ranges("9am to noon")


def test_remove_availability_clears_whole_local_days_and_reports_bookings():
    coach = CoachFactory()
    bulk_add_availability(
        coach=coach,
        weekdays=MON_TO_SUN,
        time_ranges=[(time(9), time(17))],
        start_date=date(2026, 8, 1),
        end_date=date(2026, 8, 10),
    )
    booking = BookingFactory(
        coach=coach, start_at=datetime(2026, 8, 4, 9, tzinfo=UTC), end_at=datetime(2026, 8, 4, 10, tzinfo=UTC)
    )

    preview = preview_remove_availability(coach=coach, start_date=date(2026, 8, 3), end_date=date(2026, 8, 7))
    assert len(preview.blocks_removed) == 5
    assert AvailabilityBlock.objects.filter(coach=coach).count() == 10

    plan = remove_availability(coach=coach, start_date=date(2026, 8, 3), end_date=date(2026, 8, 7))
    assert plan.bookings_affected == [booking]
    remaining_days = sorted(b.start_at.astimezone(LONDON).day for b in AvailabilityBlock.objects.filter(coach=coach))
    assert remaining_days == [1, 2, 8, 9, 10]
    Booking.objects.get(pk=booking.pk)  # the booking itself is left for the owner to handle
    assert remove_availability(coach=coach, start_date=date(2026, 8, 3), end_date=date(2026, 8, 7)).blocks_removed == []


def test_remove_availability_cuts_a_block_that_crosses_the_window_edge():
    coach = CoachFactory()
    # 20:00 BST on 2 Aug to 02:00 BST on 3 Aug.
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2026, 8, 2, 19, tzinfo=UTC), end_at=datetime(2026, 8, 3, 1, tzinfo=UTC)
    )
    remove_availability(coach=coach, start_date=date(2026, 8, 3), end_date=date(2026, 8, 3))
    block = AvailabilityBlock.objects.get(coach=coach)
    assert (block.start_at, block.end_at) == (
        datetime(2026, 8, 2, 19, tzinfo=UTC),
        datetime(2026, 8, 2, 23, tzinfo=UTC),
    )


def test_command_adds_blocks_and_a_second_run_adds_none():
    coach = CoachFactory(slug="anna")
    args = [
        "--coach",
        "anna",
        "--weekdays",
        "mon,tue",
        "--times",
        "09:00-12:00,13:00-17:00",
        "--from",
        "2026-10-19",
        "--to",
        "2026-10-27",
    ]
    out = StringIO()
    call_command("bulk_add_slots", *args, stdout=out)
    assert "Created 8 block(s)" in out.getvalue()
    out = StringIO()
    call_command("bulk_add_slots", *args, stdout=out)
    assert "Created 0 block(s)" in out.getvalue() and "skipped 8" in out.getvalue()
    assert AvailabilityBlock.objects.filter(coach=coach).count() == 8


def test_command_dry_run_writes_nothing():
    CoachFactory(slug="anna")
    out = StringIO()
    call_command(
        "bulk_add_slots",
        "--coach",
        "anna",
        "--weekdays",
        "mon",
        "--times",
        "09:00-12:00",
        "--from",
        "2026-10-19",
        "--to",
        "2026-10-26",
        "--dry-run",
        stdout=out,
    )
    assert "Would create 2 block(s)" in out.getvalue()
    assert not AvailabilityBlock.objects.exists()


def test_command_reports_bad_input_as_a_command_error():
    CoachFactory(slug="anna")
    with pytest.raises(CommandError, match="not a weekday"):
        call_command(
            "bulk_add_slots",
            "--coach",
            "anna",
            "--weekdays",
            "someday",
            "--times",
            "09:00-12:00",
            "--from",
            "2026-10-19",
            "--to",
            "2026-10-26",
        )
    with pytest.raises(CommandError, match="No coach"):
        call_command(
            "bulk_add_slots",
            "--coach",
            "nobody",
            "--weekdays",
            "mon",
            "--times",
            "09:00-12:00",
            "--from",
            "2026-10-19",
            "--to",
            "2026-10-26",
        )
