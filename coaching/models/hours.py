"""When a coach works, as rules in the coach's own zone: weekly hours, date overrides and time off.

These are wall-clock rules ("Mondays 09:00–12:00", "14 March: 10:00–13:00", "holiday 4–11 August"),
never UTC instants: the schedule expands them for the window it is asked about
(coaching/schedule/rules.py), each day on its own, so 09:00 stays 09:00 on both sides of a clock
change and a calendar never runs dry. Dated `AvailabilityBlock`s (Bulk add) remain, as one-off
extra availability on top of the weekly hours.

All three are children of the Coach (ParentalKey), edited as inline panels on the Coach snippet.
Each row checks itself in `clean()`; checks across rows (ranges overlapping on one day) are
`overlapping_weekly_hours` and `conflicting_overrides`, which the Coach form calls.

A time range ending at 00:00 means "until midnight", as in Bulk add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from modelcluster.fields import ParentalKey

from .coaches import Coach

MIDNIGHT = time(0)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_CHOICES = list(enumerate(WEEKDAY_NAMES))

# End after start, or ending at midnight (00:00) — the database backs up `clean()`.
_RANGE_ENDS_AFTER_START = Q(end_time__gt=F("start_time")) | Q(end_time=MIDNIGHT)


def ranges_overlap(first: tuple[time, time], second: tuple[time, time]) -> bool:
    """Do two same-day ranges overlap (touching is fine: 09:00–12:00 then 12:00–17:00)?"""

    def minutes(value: time, *, end: bool) -> int:
        return 24 * 60 if end and value == MIDNIGHT else value.hour * 60 + value.minute

    return minutes(first[0], end=False) < minutes(second[1], end=True) and minutes(second[0], end=False) < minutes(
        first[1], end=True
    )


def range_text(start: time, end: time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


def _check_range(start: time | None, end: time | None) -> None:
    if start is not None and end is not None and end != MIDNIGHT and end <= start:
        raise ValidationError(
            {"end_time": f"{range_text(start, end)} ends before it starts. Use 00:00 as the end for midnight."}
        )


class WeeklyHours(models.Model):
    """One range of a weekday's working hours, in the coach's zone ("Monday 09:00–12:00").

    A weekday may hold several ranges (09:00–12:00 and 14:00–17:00). `valid_from` / `valid_until`
    (both included, both optional) let a new schedule start on a date.
    """

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    coach = ParentalKey(Coach, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES)
    start_time = models.TimeField("from")
    end_time = models.TimeField("until")  # 00:00 = midnight
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name = "weekly hours"
        verbose_name_plural = "weekly hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="weekly_hours_weekday_range"),
            models.CheckConstraint(condition=_RANGE_ENDS_AFTER_START, name="weekly_hours_end_after_start"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="weekly_hours_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {range_text(self.start_time, self.end_time)}"

    def clean(self):
        _check_range(self.start_time, self.end_time)
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "“Valid until” must not be before “valid from”."})


class DateOverride(models.Model):
    """Different hours on one date in the coach's zone, replacing that weekday's weekly hours.

    A date may hold several ranges (one row each), or one row marked "unavailable all day": then
    nothing is offered that day, not even Bulk-added blocks.
    """

    wagtail_reference_index_ignore = True

    coach = ParentalKey(Coach, on_delete=models.CASCADE, related_name="date_overrides")
    date = models.DateField()
    unavailable = models.BooleanField("unavailable all day", default=False)
    start_time = models.TimeField("from", null=True, blank=True)
    end_time = models.TimeField("until", null=True, blank=True)  # 00:00 = midnight

    class Meta:
        ordering = ["date", "start_time"]
        verbose_name = "date override"
        constraints = [
            models.CheckConstraint(
                condition=(Q(unavailable=True) & Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | (
                    Q(unavailable=False)
                    & Q(start_time__isnull=False)
                    & Q(end_time__isnull=False)
                    & _RANGE_ENDS_AFTER_START
                ),
                name="date_override_hours_or_unavailable",
            ),
        ]

    def __str__(self) -> str:
        if self.unavailable:
            return f"{self.date:%a %d %b %Y}: unavailable all day"
        return f"{self.date:%a %d %b %Y}: {range_text(self.start_time, self.end_time)}"

    def clean(self):
        if self.unavailable:
            if self.start_time is not None or self.end_time is not None:
                raise ValidationError(
                    {"unavailable": "Either tick “unavailable all day” or give the hours for this date, not both."}
                )
            return
        if self.start_time is None or self.end_time is None:
            raise ValidationError(
                {"start_time": "Give the hours for this date (from and until), or tick “unavailable all day”."}
            )
        _check_range(self.start_time, self.end_time)


class TimeOff(models.Model):
    """Dates (and optionally times) in the coach's zone when nothing is offered, with a reason the
    owner sees and guests never do. Removes weekly hours, overrides and Bulk-added blocks alike.

    No start time = from the start of the first day; no end time = to the end of the last day.
    """

    wagtail_reference_index_ignore = True

    coach = ParentalKey(Coach, on_delete=models.CASCADE, related_name="time_off")
    start_date = models.DateField("first day")
    start_time = models.TimeField("from", null=True, blank=True)  # empty: the whole first day
    end_date = models.DateField("last day")
    end_time = models.TimeField("until", null=True, blank=True)  # empty: the whole last day
    reason = models.CharField(max_length=120)  # shown to the owner, never to guests

    class Meta:
        ordering = ["start_date", "start_time"]
        verbose_name = "time off"
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date"))
                | (
                    Q(end_date=F("start_date"))
                    & (Q(start_time__isnull=True) | Q(end_time__isnull=True) | Q(end_time__gt=F("start_time")))
                ),
                name="time_off_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason}: {self.start_date:%d %b %Y} – {self.end_date:%d %b %Y}"

    def clean(self):
        if self.start_date and self.end_date:
            if self.end_date < self.start_date:
                raise ValidationError({"end_date": "The last day must not be before the first day."})
            if (
                self.end_date == self.start_date
                and self.start_time is not None
                and self.end_time is not None
                and self.end_time <= self.start_time
            ):
                raise ValidationError({"end_time": "Time off must end after it starts."})


# --- checks across rows (the Coach form calls these with the rows as edited) ---------------------


@dataclass(frozen=True)
class RowProblem:
    """`row` (one of the rows given) clashes with another row; `message` says how, for the owner."""

    row: object
    message: str


def _validity_overlaps(first: WeeklyHours, second: WeeklyHours) -> date | None:
    """The first day both rows apply, or None if their validity periods never meet."""
    start = max(first.valid_from or date.min, second.valid_from or date.min)
    end = min(first.valid_until or date.max, second.valid_until or date.max)
    return start if start <= end else None


def overlapping_weekly_hours(rows: Sequence[WeeklyHours]) -> list[RowProblem]:
    """Ranges of one weekday that overlap while both apply (a later row is reported, once)."""
    problems = []
    for index, row in enumerate(rows):
        for earlier in rows[:index]:
            if earlier.weekday != row.weekday:
                continue
            if not ranges_overlap((earlier.start_time, earlier.end_time), (row.start_time, row.end_time)):
                continue
            first_day = _validity_overlaps(earlier, row)
            if first_day is None:
                continue
            when = "" if first_day == date.min else f" from {first_day:%d %b %Y}"
            problems.append(
                RowProblem(
                    row,
                    f"{WEEKDAY_NAMES[row.weekday]} {range_text(row.start_time, row.end_time)} overlaps "
                    f"{WEEKDAY_NAMES[earlier.weekday]} {range_text(earlier.start_time, earlier.end_time)}{when}. "
                    "Merge them into one range, or give the old hours a “valid until” date.",
                )
            )
            break
    return problems


def conflicting_overrides(rows: Sequence[DateOverride]) -> list[RowProblem]:
    """Rows of one date that contradict each other: "unavailable" next to hours, or overlapping hours."""
    problems = []
    for index, row in enumerate(rows):
        for earlier in rows[:index]:
            if earlier.date != row.date:
                continue
            if row.unavailable or earlier.unavailable:
                message = (
                    f"{row.date:%a %d %b %Y} is both “unavailable all day” and has hours. Keep one of them."
                    if row.unavailable != earlier.unavailable
                    else f"{row.date:%a %d %b %Y} is marked “unavailable all day” twice. Remove one."
                )
            elif ranges_overlap((earlier.start_time, earlier.end_time), (row.start_time, row.end_time)):
                message = (
                    f"On {row.date:%a %d %b %Y}, {range_text(row.start_time, row.end_time)} overlaps "
                    f"{range_text(earlier.start_time, earlier.end_time)}. Merge them into one range."
                )
            else:
                continue
            problems.append(RowProblem(row, message))
            break
    return problems
