"""Coach month grids kept where every web process sees them (the `"schedule"` cache: Redis in
production), thrown away by every change (`coaching/freshness.py`).

A guest page asks for a coach's month many times for each time anything in it changes, so the
parts of the month (`month.MonthParts`: the sessions nothing blocks, the hosted workshops and their
seats) are kept. The clock is applied on every read (`month_from_parts`): a time inside the notice
or past the horizon, or a workshop that started, is never shown from the cache; and an entry lives
no longer than the next hold or waiting-list offer that lapses by itself (`parts_lapse_at`), never
longer than `MAX_SECONDS`. When the cache cannot be reached the month is computed as if there were
none (it never breaks a page).

`month_key` is the one place a key is built: coach, session type, month, the viewer's zone, the
coach's own settings and the versions (the site's and the coach's) — so two coaches, two zones or
two session types never share an entry.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import datetime, timedelta

from django.db.models import Min, Q
from django.utils import timezone

from coaching.freshness import SITE_VERSION, coach_version_key, current_versions, store
from coaching.models import Booking, Coach, WaitlistEntry
from coaching.models.session_types import MAX_BUFFER_MINUTES, MAX_DURATION_MINUTES
from coaching.wallclock import month_bounds

from .month import MonthParts, MonthSchedule, load_month_parts, month_from_parts
from .session_rules import SessionRules, resolve_rules

logger = logging.getLogger(__name__)

# A safety net, not the freshness mechanism: a version replaced while the cache was unreachable
# is forgotten after this long.
MAX_SECONDS = 300


def month_key(
    *,
    coach: Coach,
    year: int,
    month: int,
    zone: zoneinfo.ZoneInfo,
    versions: tuple[str, str],
    session_type=None,
    rules: SessionRules | None = None,
) -> str:
    """The key of one coach's month of one session type as a viewer in `zone` sees it (the only
    place keys are built): the type and the length and buffer its slots were cut with are in it."""
    settings_of_coach = ".".join(
        str(value)
        for value in (
            int(rules.length.total_seconds()) if rules else "-",
            int(rules.buffer.total_seconds()) if rules else "-",
            int(coach.is_active),
            coach.timezone,
            coach.updated_at.timestamp() if coach.updated_at else "",
        )
    )
    session = getattr(session_type, "pk", session_type) or "-"
    return ":".join(
        (
            "schedule:month",
            str(coach.pk),
            str(session),
            f"{year:04d}-{month:02d}",
            zone.key,
            settings_of_coach,
            *versions,
        )
    )


def _versions(coach_id: int) -> tuple[str, str]:
    site, coach = current_versions(SITE_VERSION, coach_version_key(coach_id))
    return site, coach


def parts_lapse_at(*, coach: Coach, year: int, month: int, zone: zoneinfo.ZoneInfo, now: datetime) -> datetime | None:
    """When time alone next changes this month's parts: the first hold of one of the coach's
    sessions (or of a seat in a workshop they host) or waiting-list offer that lapses after `now`.
    A hold this near the month can touch its slots: the longest session plus both widest buffers."""
    start, end = month_bounds(year, month, zone)
    margin = timedelta(minutes=MAX_DURATION_MINUTES + 2 * MAX_BUFFER_MINUTES)
    holds = Booking.objects.filter(status=Booking.Status.PENDING_PAYMENT, hold_expires_at__gt=now).filter(
        Q(coach=coach, start_at__lt=end + margin, end_at__gt=start - margin) | Q(workshop__host=coach)
    )
    offers = WaitlistEntry.objects.live_offers(now).filter(workshop__host=coach)
    moments = [
        holds.aggregate(first=Min("hold_expires_at"))["first"],
        offers.aggregate(first=Min("offer_expires_at"))["first"],
    ]
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None


def month_schedule(
    *, coach: Coach, year: int, month: int, tz: zoneinfo.ZoneInfo, now: datetime | None = None, session_type=None
) -> MonthSchedule:
    """`schedule.get_month_schedule`, from the shared cache when a fresh entry is there.

    A hit runs no query; a miss the month's four, plus two for when its holds and offers lapse.
    """
    now = now or timezone.now()
    if session_type is None and coach.is_active:
        session_type = coach.default_session_type()
    rules = resolve_rules(coach, session_type=session_type) if session_type is not None else None
    try:
        key = month_key(
            coach=coach,
            year=year,
            month=month,
            zone=tz,
            versions=_versions(coach.pk),
            session_type=session_type,
            rules=rules,
        )
        parts: MonthParts | None = store().get(key)
    except Exception:  # noqa: BLE001 - an unreachable cache must never break a page
        logger.warning("schedule cache unreachable; computing the month", exc_info=True)
        key, parts = None, None
    if parts is None or not (parts.at <= now < parts.lapse_at):
        parts = load_month_parts(coach=coach, year=year, month=month, tz=tz, now=now, rules=rules)
        lapse_at = parts_lapse_at(coach=coach, year=year, month=month, zone=tz, now=now)
        parts.lapse_at = min(lapse_at or now + timedelta(seconds=MAX_SECONDS), now + timedelta(seconds=MAX_SECONDS))
        if key is not None:
            try:
                store().set(key, parts, timeout=max(1, int((parts.lapse_at - now).total_seconds())))
            except Exception:  # noqa: BLE001
                logger.warning("schedule cache unreachable; month not kept", exc_info=True)
    schedule = month_from_parts(parts, coach=coach, year=year, month=month, tz=tz, now=now, session_type=session_type)
    schedule.cache_key = key or ""
    schedule.valid_until = still_true_until(parts, rules=rules, now=now)
    return schedule


def still_true_until(parts: MonthParts, *, rules: SessionRules | None, now: datetime) -> datetime:
    """Until when the grid drawn from `parts` at `now` stays true with no change but the clock:
    the first shown time that goes inside the notice, the first time past the horizon that comes
    into it, the first shown workshop that starts, a hold or offer that lapses — and the next
    quarter hour, when a day may end or a zone change its offset somewhere (every zone's midnight
    and clock change fall on a quarter hour, UTC)."""
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) + timedelta(minutes=15)
    moments = [quarter, parts.lapse_at or quarter]
    moments += [workshop.start_at for workshop in parts.workshops if workshop.start_at > now]
    if rules is None:
        return min(moments)
    notice = timedelta(minutes=rules.min_notice_minutes)
    horizon = timedelta(days=rules.horizon_days)
    earliest, latest = now + notice, now + horizon
    shown = min((slot.start_at for slot in parts.slots if max(earliest, now) <= slot.start_at <= latest), default=None)
    if shown is not None:
        moments.append(shown - notice)
    coming = min((slot.start_at for slot in parts.slots if slot.start_at > latest), default=None)
    if coming is not None:
        moments.append(coming - horizon)
    return min(moments)
