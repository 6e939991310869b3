"""Availability: turn a weekly pattern into blocks, clear days for holidays, and add, change or
remove one block by hand (the admin's Availability list).

The owner thinks in wall-clock time in the coach's zone ("Mon–Fri 09:00–17:00"); the database
holds concrete UTC spans. Expansion goes through `coaching.wallclock.expand_weekly_pattern`, so
09:00 stays 09:00 on both sides of a DST change.

Every operation comes in two halves that share one planner: `preview_*` (a pure read, shown to the
owner before they confirm) and the writer, which plans again inside its transaction with the coach
row locked, so what is written is decided against the rows as they are at commit time. Spans that
already exist, or overlap existing availability, an active booking or a hosted workshop, are
skipped and reported — never duplicated — which also makes running the same bulk add twice a no-op.

The single-block writers (`add_availability_block`, `change_availability_block`,
`remove_availability_block`) take the same coach lock, so they serialise with a bulk add or a
removal for that coach, and refuse a block overlapping another block of the coach with
`OverlappingAvailability`, naming that block in the coach's time.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coaching.freshness import schedule_changed
from coaching.models import AvailabilityBlock, Booking, Coach, Workshop
from coaching.schedule.loading import fetch_availability_rules
from coaching.schedule.rules import subtract
from coaching.services.locks import lock_coach
from coaching.wallclock import daterange, expand_weekly_pattern, format_span_in_zone, local_to_utc

WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A bulk add longer than this is almost certainly a typo in the year.
MAX_RANGE_DAYS = 366


class InvalidAvailabilityRequest(ValueError):
    """The pattern itself is wrong (bad range, overlapping times); the message is shown as it is."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class OverlappingAvailability(InvalidAvailabilityRequest):
    """A block would overlap other availability of the same coach; `.overlapping` lists those blocks."""

    def __init__(self, message: str, *, overlapping: list[AvailabilityBlock]):
        self.overlapping = overlapping
        super().__init__(message)


@dataclass(frozen=True)
class Span:
    start_at: datetime
    end_at: datetime

    def local(self, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
        return self.start_at.astimezone(zone), self.end_at.astimezone(zone)


@dataclass(frozen=True)
class SkippedSpan:
    start_at: datetime
    end_at: datetime
    reason: str  # "already exists", "overlaps availability", "overlaps a booking", "overlaps a workshop"


@dataclass
class BulkAddPlan:
    coach: Coach
    to_create: list[Span] = field(default_factory=list)
    skipped: list[SkippedSpan] = field(default_factory=list)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.coach.timezone)


@dataclass
class BulkAddResult(BulkAddPlan):
    created: list[AvailabilityBlock] = field(default_factory=list)


@dataclass
class RemovalPlan:
    coach: Coach
    window_start: datetime
    window_end: datetime
    blocks_removed: list[AvailabilityBlock] = field(default_factory=list)
    # Pieces of blocks that stick out of the window and are kept (a block crossing the window edge).
    pieces_kept: list[Span] = field(default_factory=list)
    bookings_affected: list[Booking] = field(default_factory=list)
    # Weekly hours (or date overrides) still offered on these days: removing blocks does not touch
    # them — time off on the coach does.
    hours_kept: list[Span] = field(default_factory=list)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.coach.timezone)


@dataclass
class BlockChange:
    """What adding, changing or removing one block did.

    `block` is the block as saved (after a removal: as it was). `bookings_affected` are the coach's
    active 1-on-1 bookings, not yet over, that the block covered before and no longer covers. They
    are not cancelled: the owner decides what to do with each one.
    """

    block: AvailabilityBlock
    bookings_affected: list[Booking] = field(default_factory=list)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.block.coach.timezone)


def parse_weekdays(value: str | Iterable[str]) -> list[int]:
    """'mon,tue,fri' (or a list of codes) → [0, 1, 4]. Raises InvalidAvailabilityRequest."""
    codes = value.split(",") if isinstance(value, str) else list(value)
    days = []
    for code in codes:
        code = code.strip().lower()[:3]
        if not code:
            continue
        if code not in WEEKDAY_CODES:
            raise InvalidAvailabilityRequest(f"“{code}” is not a weekday (use mon, tue, wed, thu, fri, sat, sun).")
        days.append(WEEKDAY_CODES.index(code))
    if not days:
        raise InvalidAvailabilityRequest("Pick at least one weekday.")
    return sorted(set(days))


def parse_time_ranges(value: str) -> list[tuple[time, time]]:
    """'09:00-12:00,13:00-17:00' → [(09:00, 12:00), (13:00, 17:00)]. Raises InvalidAvailabilityRequest."""
    ranges = []
    for chunk in value.replace("–", "-").split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        try:
            start_text, end_text = (part.strip() for part in chunk.split("-"))
            ranges.append((time.fromisoformat(start_text), time.fromisoformat(end_text)))
        except ValueError:
            raise InvalidAvailabilityRequest(f"“{chunk}” is not a time range like 09:00-12:00.") from None
    validate_time_ranges(ranges)
    return ranges


def validate_time_ranges(time_ranges: Sequence[tuple[time, time]]) -> None:
    if not time_ranges:
        raise InvalidAvailabilityRequest("Give at least one daily time range, e.g. 09:00-12:00.")
    for start, end in time_ranges:
        # 00:00 as an end means midnight; anything else must end after it starts (no overnight ranges).
        if end != time(0) and end <= start:
            raise InvalidAvailabilityRequest(f"The range {start:%H:%M}–{end:%H:%M} must end after it starts.")
    ordered = sorted(time_ranges)
    for (_, first_end), (second_start, _) in zip(ordered, ordered[1:], strict=False):
        if first_end == time(0) or first_end > second_start:
            raise InvalidAvailabilityRequest("The daily time ranges overlap each other; merge them into one.")


def _validate_dates(start_date: date, end_date: date) -> None:
    if end_date < start_date:
        raise InvalidAvailabilityRequest("The last day must not be before the first day.")
    if (end_date - start_date).days >= MAX_RANGE_DAYS:
        raise InvalidAvailabilityRequest(f"Add at most {MAX_RANGE_DAYS} days at a time.")


def _overlaps(start_at, end_at, intervals) -> bool:
    return any(other_start < end_at and start_at < other_end for other_start, other_end in intervals)


def _plan_bulk_add(*, coach, weekdays, time_ranges, start_date, end_date) -> BulkAddPlan:
    weekdays = list(weekdays)
    if not weekdays:
        raise InvalidAvailabilityRequest("Pick at least one weekday.")
    validate_time_ranges(time_ranges)
    _validate_dates(start_date, end_date)
    zone = zoneinfo.ZoneInfo(coach.timezone)
    spans = expand_weekly_pattern(
        zone=zone, weekdays=weekdays, time_ranges=time_ranges, start_date=start_date, end_date=end_date
    )
    plan = BulkAddPlan(coach=coach)
    if not spans:
        return plan
    window_start, window_end = spans[0][0], max(end for _, end in spans)

    # Three queries whatever the range holds; the comparisons below are on small in-memory lists.
    blocks = list(
        AvailabilityBlock.objects.filter(coach=coach, start_at__lt=window_end, end_at__gt=window_start).values_list(
            "start_at", "end_at"
        )
    )
    bookings = list(
        Booking.objects.active()
        .filter(coach=coach)
        .overlapping(window_start, window_end)
        .values_list("start_at", "end_at")
    )
    workshops = list(
        Workshop.objects.filter(host=coach, start_at__lt=window_end, end_at__gt=window_start).values_list(
            "start_at", "end_at"
        )
    )
    existing = set(blocks)
    for start_at, end_at in spans:
        if (start_at, end_at) in existing:
            reason = "already exists"
        elif _overlaps(start_at, end_at, blocks):
            reason = "overlaps availability"
        elif _overlaps(start_at, end_at, bookings):
            reason = "overlaps a booking"
        elif _overlaps(start_at, end_at, workshops):
            reason = "overlaps a workshop"
        else:
            plan.to_create.append(Span(start_at, end_at))
            continue
        plan.skipped.append(SkippedSpan(start_at, end_at, reason))
    return plan


def preview_bulk_add(
    *, coach: Coach, weekdays: Iterable[int], time_ranges: Sequence[tuple[time, time]], start_date: date, end_date: date
) -> BulkAddPlan:
    """What `bulk_add_availability` would create and skip, without writing anything.

    `weekdays` uses Python's numbering (Monday = 0); times are wall-clock in the coach's zone.
    Raises InvalidAvailabilityRequest for a pattern that makes no sense.
    """
    return _plan_bulk_add(
        coach=coach, weekdays=weekdays, time_ranges=time_ranges, start_date=start_date, end_date=end_date
    )


def bulk_add_availability(
    *, coach: Coach, weekdays: Iterable[int], time_ranges: Sequence[tuple[time, time]], start_date: date, end_date: date
) -> BulkAddResult:
    """Create the weekly pattern's blocks for `coach`, all or nothing.

    Guarantees: one transaction; the coach row is locked so two concurrent bulk adds for one coach
    serialize; spans that exist already or overlap availability, active bookings or the coach's
    workshops are skipped and reported in `.skipped`, so running it twice creates nothing the second
    time. Raises InvalidAvailabilityRequest for a pattern that makes no sense.
    """
    with transaction.atomic():
        locked = lock_coach(coach)
        plan = _plan_bulk_add(
            coach=locked, weekdays=weekdays, time_ranges=time_ranges, start_date=start_date, end_date=end_date
        )
        # No full_clean per block: the planner only yields spans with end > start, and the database's
        # check constraint backs that up (model validation would cost a query per constraint per block).
        created = AvailabilityBlock.objects.bulk_create(
            AvailabilityBlock(coach=locked, start_at=span.start_at, end_at=span.end_at) for span in plan.to_create
        )
        schedule_changed(coach_id=locked.pk)  # a bulk write sends no model signal
    return BulkAddResult(coach=locked, to_create=plan.to_create, skipped=plan.skipped, created=created)


def _plan_removal(*, coach, start_date, end_date) -> RemovalPlan:
    _validate_dates(start_date, end_date)
    zone = zoneinfo.ZoneInfo(coach.timezone)
    # Whole local days: [start_date 00:00, the day after end_date 00:00) in the coach's zone.
    window_start = local_to_utc(start_date, time(0), zone)
    window_end = local_to_utc(date.fromordinal(end_date.toordinal() + 1), time(0), zone)
    plan = RemovalPlan(coach=coach, window_start=window_start, window_end=window_end)
    plan.blocks_removed = list(
        AvailabilityBlock.objects.filter(coach=coach, start_at__lt=window_end, end_at__gt=window_start)
    )
    for block in plan.blocks_removed:
        if block.start_at < window_start:
            plan.pieces_kept.append(Span(block.start_at, window_start))
        if block.end_at > window_end:
            plan.pieces_kept.append(Span(window_end, block.end_at))
    plan.bookings_affected = list(
        Booking.objects.active().filter(coach=coach).overlapping(window_start, window_end).order_by("start_at")
    )
    rules = fetch_availability_rules(coach=coach, start=window_start, end=window_end)
    hours = subtract(rules.hour_spans(daterange(start_date, end_date)), rules.closed_spans())
    plan.hours_kept = [Span(start, end) for start, end in hours]
    return plan


def preview_remove_availability(*, coach: Coach, start_date: date, end_date: date) -> RemovalPlan:
    """Which blocks a removal of whole local days would delete, and which active bookings fall in it.

    Bookings are reported, not cancelled: the owner decides what to do with each one. Weekly hours
    still offered on those days are reported in `.hours_kept` (this tool removes blocks only).
    """
    return _plan_removal(coach=coach, start_date=start_date, end_date=end_date)


def remove_availability(*, coach: Coach, start_date: date, end_date: date) -> RemovalPlan:
    """Clear the coach's availability on whole local days `start_date`..`end_date` (holidays).

    Blocks inside the days are deleted; a block crossing the edge is cut back to the part outside.
    Bookings already made are left alone and returned in `.bookings_affected` so the owner can move
    or cancel them. One transaction, coach row locked. Running it twice changes nothing the second time.
    """
    with transaction.atomic():
        locked = lock_coach(coach)
        plan = _plan_removal(coach=locked, start_date=start_date, end_date=end_date)
        AvailabilityBlock.objects.filter(pk__in=[block.pk for block in plan.blocks_removed]).delete()
        AvailabilityBlock.objects.bulk_create(
            AvailabilityBlock(coach=locked, start_at=piece.start_at, end_at=piece.end_at) for piece in plan.pieces_kept
        )
        schedule_changed(coach_id=locked.pk)
    return plan


# ---------------------------------------------------------------------------------------------
# One block by hand (the admin's Availability add / edit / delete)


def _validate_block_times(start_at: datetime | None, end_at: datetime | None) -> None:
    if start_at is None or end_at is None:
        raise InvalidAvailabilityRequest("Give both the start and the end of the block.")
    if end_at <= start_at:
        raise InvalidAvailabilityRequest("A block must end after it starts.")


def _refuse_overlapping_blocks(*, coach: Coach, start_at: datetime, end_at: datetime, other_than=None) -> None:
    # Touching is not overlapping: 09:00–12:00 and 12:00–17:00 may sit side by side.
    overlapping = AvailabilityBlock.objects.filter(coach=coach, start_at__lt=end_at, end_at__gt=start_at)
    if other_than is not None:
        overlapping = overlapping.exclude(pk=other_than.pk)
    overlapping = list(overlapping.order_by("start_at"))
    if not overlapping:
        return
    zone = zoneinfo.ZoneInfo(coach.timezone)
    first = overlapping[0]
    described = format_span_in_zone(first.start_at, first.end_at, zone)
    if (first.start_at, first.end_at) == (start_at, end_at):
        message = f"This block already exists: {described}."
    else:
        more = f" and {len(overlapping) - 1} more" if len(overlapping) > 1 else ""
        message = f"This time overlaps the existing block {described}{more}. Change the times, or edit that block."
    raise OverlappingAvailability(message, overlapping=overlapping)


def _save_checked(block: AvailabilityBlock) -> None:
    try:
        block.full_clean()
    except ValidationError as error:
        raise InvalidAvailabilityRequest(" ".join(error.messages)) from None
    block.save()


def _reread_block(block: AvailabilityBlock, *, coach: Coach) -> AvailabilityBlock | None:
    """`block` as the database holds it now (read under the coach lock), or None if it is gone."""
    current = AvailabilityBlock.objects.filter(pk=block.pk, coach=coach).first()
    if current is not None:
        current.coach = coach
    return current


def _bookings_left_uncovered(*, coach: Coach, old: Span, new: Span | None) -> list[Booking]:
    """Active bookings not yet over that `old` covered (even partly) and `new` does not wholly cover."""
    bookings = (
        Booking.objects.active().filter(coach=coach, end_at__gt=timezone.now()).overlapping(old.start_at, old.end_at)
    )
    if new is not None:
        bookings = bookings.exclude(start_at__gte=new.start_at, end_at__lte=new.end_at)
    return list(bookings.order_by("start_at"))


def add_availability_block(*, coach: Coach, start_at: datetime, end_at: datetime) -> BlockChange:
    """Offer `coach` the span [start_at, end_at) (aware datetimes) as one new availability block.

    Guarantees: one transaction with the coach row locked (the lock bulk add and removal take), so
    the overlap check and the insert see the same rows. A span touching another block (09:00–12:00
    next to 12:00–17:00) is fine. A span over an active booking or one of the coach's workshops is
    allowed on purpose: unlike a bulk pattern, a hand-made block says exactly what the owner wants,
    and the booking or workshop keeps its own time out of the offered slots anyway, so the rest of
    the block is offered around it.

    Raises OverlappingAvailability if the span overlaps another block of the coach (the message
    names it in the coach's time), InvalidAvailabilityRequest if it does not end after it starts.
    """
    _validate_block_times(start_at, end_at)
    with transaction.atomic():
        locked = lock_coach(coach)
        _refuse_overlapping_blocks(coach=locked, start_at=start_at, end_at=end_at)
        block = AvailabilityBlock(coach=locked, start_at=start_at, end_at=end_at)
        _save_checked(block)
    return BlockChange(block=block)


def change_availability_block(*, block: AvailabilityBlock, start_at: datetime, end_at: datetime) -> BlockChange:
    """Move or resize `block` to [start_at, end_at); it stays with its coach.

    Guarantees: one transaction with the coach row locked; the block is re-read under the lock, so
    `block` may carry unsaved new times (as a bound admin form leaves it). Overlap rules are those
    of `add_availability_block`, ignoring the block itself. Bookings are never cancelled: active
    bookings not yet over that the old times covered and the new ones do not are returned in
    `.bookings_affected` so the owner can move or cancel them.

    Raises OverlappingAvailability if the new times overlap another block of the coach,
    InvalidAvailabilityRequest if they do not end after they start or the block no longer exists.
    """
    _validate_block_times(start_at, end_at)
    with transaction.atomic():
        locked = lock_coach(block.coach)
        current = _reread_block(block, coach=locked)
        if current is None:
            raise InvalidAvailabilityRequest(
                "This availability block was removed in the meantime; nothing was changed."
            )
        _refuse_overlapping_blocks(coach=locked, start_at=start_at, end_at=end_at, other_than=current)
        old = Span(current.start_at, current.end_at)
        current.start_at, current.end_at = start_at, end_at
        _save_checked(current)
        affected = _bookings_left_uncovered(coach=locked, old=old, new=Span(start_at, end_at))
    return BlockChange(block=current, bookings_affected=affected)


def preview_remove_availability_block(*, block: AvailabilityBlock) -> BlockChange:
    """What `remove_availability_block` would report for `block`, without writing anything."""
    old = Span(block.start_at, block.end_at)
    return BlockChange(block=block, bookings_affected=_bookings_left_uncovered(coach=block.coach, old=old, new=None))


def remove_availability_block(*, block: AvailabilityBlock) -> BlockChange:
    """Delete one availability block; bookings inside it are kept.

    Guarantees: one transaction with the coach row locked. Active bookings not yet over that the
    block covered are not cancelled but returned in `.bookings_affected` so the owner can move or
    cancel them. A block already gone is not an error: nothing happens and nothing is affected.
    """
    with transaction.atomic():
        locked = lock_coach(block.coach)
        current = _reread_block(block, coach=locked)
        if current is None:
            return BlockChange(block=block)
        affected = _bookings_left_uncovered(coach=locked, old=Span(current.start_at, current.end_at), new=None)
        current.delete()
    return BlockChange(block=current, bookings_affected=affected)
