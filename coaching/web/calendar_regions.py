"""Keys of the rendered calendar regions (the month grid and a day's times), kept in the shared
cache by `{% cached_region %}` (coaching/templatetags/region_cache.py).

Template rendering costs more than the schedule itself, so the two heavy regions of a coach's
calendar are kept as HTML. A region's key is made of everything its template reads: the month's
cache key (coach, session type, month, zone, the coach's settings and the versions every change
replaces, schedule/cache.py), what is on screen *now* (the slots and seats left after the clock
is applied, so a time that went inside the notice changes the key), today, the zone's name and
offset, the 12/24-hour clock, the calendar's instance and every link it draws. Nothing else is in
those templates; when the month came without a cache key (the cache unreachable) nothing is kept.
"""

from __future__ import annotations

import hashlib

from coaching.schedule import DaySchedule, MonthSchedule

GRID_INPUTS = (
    "p",
    "cal",
    "zone_title",
    "today",
    "prev_url",
    "prev_hx",
    "next_url",
    "next_hx",
    "day_href_prefix",
    "state_url",
    "refresh_url",
    "selected_date",
    "month_is_empty",
    "beyond_horizon",
    "next_available",
    "next_available_url",
    "next_available_hx",
)
DAY_INPUTS = ("p", "cal", "selected_date", "day_state_url", "time_href_prefix", "time_hx_prefix")


def _on_screen(day: DaySchedule | None) -> tuple:
    if day is None:
        return ()
    return (
        day.date,
        day.url,
        tuple((slot.start_at, slot.end_at) for slot in day.slots),
        tuple((offer.workshop.pk, offer.workshop.start_at, offer.seats_left, offer.state) for offer in day.workshops),
    )


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def region_keys(context: dict, schedule: MonthSchedule, *, hour_cycle: str) -> dict:
    """`grid_region_key` and `day_region_key` for a coach calendar's context ("" = do not keep)."""
    if not schedule.cache_key:
        return {"grid_region_key": "", "day_region_key": ""}
    shared = (schedule.cache_key, context["zone"].key, hour_cycle)
    grid = _digest(
        "grid", *shared, tuple(context.get(name) for name in GRID_INPUTS), tuple(map(_on_screen, schedule.days))
    )
    day = _digest(
        "day", *shared, tuple(context.get(name) for name in DAY_INPUTS), _on_screen(context.get("selected_day"))
    )
    return {"grid_region_key": grid, "day_region_key": day}
