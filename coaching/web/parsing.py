"""Turning what a guest sends (URL parts, query strings) into domain values, or a readable refusal.

Every parser raises InvalidDetails/NotBookable with a message a guest can act on; the views turn
those into a 4xx in one place (coaching/web/responses.py).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

from django.utils import timezone

from coaching.exceptions import InvalidDetails, NotBookable
from coaching.models import Coach, Workshop


def _year_in_range(year: int) -> bool:
    # Calendars are for booking: a few years either side of today, never the edges of datetime's range.
    this_year = timezone.now().year
    return this_year - 2 <= year <= this_year + 5


def parse_month(value: str | None, *, zone: zoneinfo.ZoneInfo) -> tuple[int, int]:
    """`YYYY-MM` → (year, month); missing means the viewer's current month. Raises InvalidDetails."""
    if not value:
        today = timezone.now().astimezone(zone).date()
        return today.year, today.month
    try:
        year_text, month_text = value.split("-")
        year, month = int(year_text), int(month_text)
        if len(year_text) != 4 or not 1 <= month <= 12 or not _year_in_range(year):
            raise ValueError(value)
        date(year, month, 1)
    except ValueError as exc:
        raise InvalidDetails("That month is not valid. Use the calendar's previous and next buttons.") from exc
    return year, month


def parse_day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
        if not _year_in_range(day.year):
            raise ValueError(value)
    except ValueError as exc:
        raise InvalidDetails("That date is not valid. Please pick a day from the calendar.") from exc
    return day


def parse_start(value: str | None) -> datetime:
    """An ISO-8601 instant with an offset (`Z` or `+00:00`), returned in UTC. Raises InvalidDetails."""
    # A raw '+' in a query string arrives as a space.
    text = (value or "").strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None or not _year_in_range(moment.year):
            raise ValueError(text)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidDetails("That time is not valid. Please pick one of the times shown.") from exc


def month_param(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def iso_z(moment: datetime) -> str:
    """The UTC instant as slot URLs carry it: 2026-12-03T09:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_coach(slug: str) -> Coach:
    coach = Coach.objects.select_related("photo").filter(slug=slug).first()
    if coach is None:
        raise NotBookable("We could not find that coach. Please choose one from our coaches page.")
    return coach


def get_workshop(slug: str) -> Workshop:
    workshop = Workshop.objects.published().select_related("host").filter(slug=slug).first()
    if workshop is None:
        raise NotBookable("We could not find that workshop. Please choose one from the workshop calendar.")
    return workshop
