"""Wall-clock arithmetic in a zone, done right across DST, and calendar months.

Every conversion between "09:00 on Monday in Europe/London" and a UTC instant goes through here.
"""

import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta


def local_to_utc(day: date, wall_time: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant at which clocks in `zone` show `wall_time` on `day`.

    Wall times that do not exist (skipped by a spring-forward) move forward by the gap, as a clock
    would; ambiguous ones (repeated by a fall-back) take the first occurrence (fold=0).
    """
    # PEP 495: fold=0 reads a repeated wall time as its first occurrence, and a skipped one with the
    # offset from before the change, which lands it after the gap (01:30 on a London spring-forward
    # day is 02:30 BST). fold=1 would move a skipped time backward, before the gap.
    return datetime.combine(day, wall_time).replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_day_bounds(day: date, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in `zone`, in UTC (23 or 25 hours long on DST days)."""
    return local_to_utc(day, time(0), zone), local_to_utc(day + timedelta(days=1), time(0), zone)


def month_bounds(year: int, month: int, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month as seen in `zone`, in UTC."""
    next_year, next_month = following_month(year, month)
    return local_to_utc(date(year, month, 1), time(0), zone), local_to_utc(
        date(next_year, next_month, 1), time(0), zone
    )


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def following_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def days_of_month(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    next_year, next_month = following_month(year, month)
    return list(daterange(first, date(next_year, next_month, 1) - timedelta(days=1)))


def daterange(start: date, end: date) -> Iterator[date]:
    """Days from `start` to `end`, both included."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def expand_weekly_pattern(
    *,
    zone: zoneinfo.ZoneInfo,
    weekdays: Iterable[int],
    time_ranges: Iterable[tuple[time, time]],
    start_date: date,
    end_date: date,
) -> list[tuple[datetime, datetime]]:
    """Concrete UTC spans for a weekly pattern in a zone ("Mon–Fri 09:00–17:00, Europe/London").

    `weekdays` uses Python's numbering (Monday = 0). Each range is applied per local day, so
    09:00 stays 09:00 on both sides of a DST change. A range ending at 00:00 means midnight.
    """
    wanted_days = set(weekdays)
    ranges = sorted(time_ranges)
    spans = []
    for day in daterange(start_date, end_date):
        if day.weekday() not in wanted_days:
            continue
        for start_time, end_time in ranges:
            end_day = day + timedelta(days=1) if end_time <= start_time else day
            start_at = local_to_utc(day, start_time, zone)
            end_at = local_to_utc(end_day, end_time, zone)
            if end_at > start_at:
                spans.append((start_at, end_at))
    return spans


def format_in_zone(moment: datetime, zone: zoneinfo.ZoneInfo, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A human time that says its zone, e.g. 'Mon 30 Mar 2026, 09:00 BST (Europe/London)'."""
    local = moment.astimezone(zone)
    return f"{local.strftime(fmt)} {local.tzname()} ({zone.key})"


def format_span_in_zone(start_at: datetime, end_at: datetime, zone: zoneinfo.ZoneInfo) -> str:
    """A span as read in `zone`, e.g. 'Mon 07 Jan 2030, 09:00–12:00 GMT (Europe/London)'.

    A span ending on a later local day names both days ('…, 22:00 – Tue 08 Jan 2030, 02:00 GMT');
    one ending at the following midnight counts as the same day ('18:00–00:00'). Across a clock
    change each end carries its own abbreviation ('00:00 GMT–03:00 BST').
    """
    start, end = start_at.astimezone(zone), end_at.astimezone(zone)
    same_abbreviation = start.tzname() == end.tzname()
    start_text = start.strftime("%a %d %b %Y, %H:%M") + ("" if same_abbreviation else f" {start.tzname()}")
    same_day = end.date() == start.date() or (end.time() == time(0) and end.date() == start.date() + timedelta(days=1))
    if same_day:
        text = f"{start_text}–{end:%H:%M} {end.tzname()}"
    else:
        text = f"{start_text} – {end:%a %d %b %Y, %H:%M} {end.tzname()}"
    return text if end.tzname() == zone.key else f"{text} ({zone.key})"


def format_days_in_zone(start_at: datetime, end_at: datetime, zone: zoneinfo.ZoneInfo) -> str:
    """A span as days read in `zone`, the way an owner enters time off: 'Mon 21 Dec – Sun 27 Dec 2026
    (whole days)', 'Thu 10 Jan 2030 (all day)', 'Thu 10 Jan 2030, from 10:30', 'Mon 21 Dec 15:00 – Wed
    23 Dec 2026, 10:30'. A span ending at midnight ends with the day before it."""
    start, end = start_at.astimezone(zone), end_at.astimezone(zone)
    whole_start, whole_end = start.time() == time(0), end.time() == time(0)
    last = end.date() - timedelta(days=1) if whole_end else end.date()
    if whole_start and whole_end:
        if last == start.date():
            return f"{start:%a %d %b %Y} (all day)"
        return f"{start:%a %d %b} – {last:%a %d %b %Y} (whole days)"
    if last == start.date():
        if whole_end:
            return f"{start:%a %d %b %Y}, from {start:%H:%M}"
        if whole_start:
            return f"{start:%a %d %b %Y}, until {end:%H:%M}"
        return f"{start:%a %d %b %Y}, {start:%H:%M}–{end:%H:%M}"
    left = f"{start:%a %d %b}" + ("" if whole_start else f" {start:%H:%M}")
    right = f"{last:%a %d %b %Y}" + (" (end of day)" if whole_end else f", {end:%H:%M}")
    return f"{left} – {right}"
