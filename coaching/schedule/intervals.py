"""Interval arithmetic on sorted UTC spans: the sweep the whole schedule is built on.

No per-minute or per-day loops: every function is linear in the number of spans.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, order=True)
class Slot:
    start_at: datetime
    end_at: datetime

    def local_start(self, zone: zoneinfo.ZoneInfo) -> datetime:
        return self.start_at.astimezone(zone)

    def local_end(self, zone: zoneinfo.ZoneInfo) -> datetime:
        return self.end_at.astimezone(zone)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union: overlapping or touching intervals become one."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def widen(intervals: Iterable[Interval], by: timedelta) -> list[Interval]:
    if not by:
        return list(intervals)
    return [(start - by, end + by) for start, end in intervals]


def candidate_starts(availability: Sequence[Interval], *, length: timedelta, step: timedelta) -> list[Slot]:
    """Every session that fits inside availability, stepping from each block's start."""
    slots = []
    for block_start, block_end in merge_intervals(availability):
        start = block_start
        while start + length <= block_end:
            slots.append(Slot(start, start + length))
            start += step
    return slots


def remove_blocked(slots: Sequence[Slot], blockers: Sequence[Interval]) -> list[Slot]:
    """Slots (sorted) that do not overlap any blocker (merged, sorted): a two-pointer sweep."""
    free = []
    index = 0
    count = len(blockers)
    for slot in slots:
        while index < count and blockers[index][1] <= slot.start_at:
            index += 1
        if index < count and blockers[index][0] < slot.end_at:
            continue
        free.append(slot)
    return free
