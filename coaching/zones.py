"""Time-zone names: which are real, which a guest may pick, how a guest reads them, and turning
hostile input into a zone.

Wall-clock arithmetic in a zone lives in `coaching.wallclock`; this module only deals with names.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils import timezone


@functools.cache
def known_timezones() -> frozenset[str]:
    # Reading the zone database walks the filesystem (~30 ms): once per process is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in known_timezones():
        raise ValidationError(f"“{value}” is not a time zone name (use an IANA name such as Europe/London).")


def zone_from_name(name: str | None) -> zoneinfo.ZoneInfo | None:
    """A ZoneInfo for a valid IANA name, else None. Never raises on hostile input."""
    if not name or len(name) > 64 or name not in known_timezones():
        return None
    return zoneinfo.ZoneInfo(name)


# --- the zones a guest picks from -------------------------------------------------------------------

# The first part of a zone name, as a guest reads it.
REGIONS = {
    "Africa": "Africa",
    "America": "Americas",
    "Antarctica": "Antarctica",
    "Arctic": "Arctic",
    "Asia": "Asia",
    "Atlantic": "Atlantic",
    "Australia": "Australia",
    "Europe": "Europe",
    "Indian": "Indian Ocean",
    "Pacific": "Pacific",
}
OTHER_REGION = "Other"
SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")


@dataclass(frozen=True)
class ZoneChoice:
    key: str  # the IANA name: "America/New_York"
    city: str  # "New York"
    country: str  # "United States" ("" for UTC)
    region: str  # "Americas"


def _tz_table(name: str) -> str:
    """A table file of the zone database: the pinned `tzdata` package's copy, else the system's."""
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (SYSTEM_ZONEINFO / name).read_text(encoding="utf-8")


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def city_name(key: str) -> str:
    """'America/Argentina/Buenos_Aires' → 'Buenos Aires'; 'UTC' → 'UTC'."""
    return key.rsplit("/", 1)[-1].replace("_", " ")


@functools.cache
def pickable_zones() -> tuple[ZoneChoice, ...]:
    """The zones a guest may pick, grouped by region (in REGIONS order), A–Z by city in each, then UTC.

    Canonical, for a person: IANA's own list for zone pickers, `zone.tab` (one zone per country or
    part of one, each under its current name). zoneinfo has no alias list, and "every zone that is
    not a link" is the wrong rule: since 2022 the default tzdata build makes many cities links to a
    neighbour with the same clocks (Europe/Amsterdam → Europe/Brussels, Atlantic/Reykjavik →
    Africa/Abidjan), so a guest in Amsterdam would not find their city. zone.tab keeps those cities
    and never lists a legacy alias (Asia/Calcutta, US/Eastern, Europe/Kiev). 418 zones today, not 507.
    Read from the `tzdata` package (pinned in requirements, so the list does not depend on the
    server's OS), else from /usr/share/zoneinfo.
    """
    countries = {row[0]: row[1] for row in _rows(_tz_table("iso3166.tab"))}
    known = known_timezones()
    order = list(REGIONS)
    choices = []
    for row in _rows(_tz_table("zone.tab")):
        code, key = row[0], row[2]
        region = key.split("/", 1)[0]
        if key in known and region in REGIONS:
            choices.append(ZoneChoice(key, city_name(key), countries.get(code, ""), REGIONS[region]))
    choices.sort(key=lambda c: (order.index(c.key.split("/", 1)[0]), c.city))
    return (*choices, ZoneChoice("UTC", "UTC", "", OTHER_REGION))


def guest_zone_choices() -> list[str]:
    """IANA names of the zones a guest may pick, in picker order."""
    return [choice.key for choice in pickable_zones()]


def zone_groups(*, at: datetime | None = None) -> list[tuple[str, list[tuple[ZoneChoice, str]]]]:
    """[(region, [(zone, its offset now: "GMT−5"), ...]), ...] in picker order."""
    at = at or timezone.now()
    groups: dict[str, list[tuple[ZoneChoice, str]]] = {}
    for choice in pickable_zones():
        offset = offset_label(at.astimezone(zoneinfo.ZoneInfo(choice.key)).utcoffset())
        groups.setdefault(choice.region, []).append((choice, offset))
    return list(groups.items())


def _folded(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("/", " / ").casefold().split())


def resolve_zone(text: str | None) -> zoneinfo.ZoneInfo | None:
    """What a guest typed in the zone picker, as a zone: an IANA name ("Asia/Tokyo", any case), a
    city ("tokyo", "new york"), a picker label pasted back ("Tokyo, Japan (GMT+9)"), a country with
    one zone ("Japan"), or any other IANA name. None when it names no zone, or several ("United
    States")."""
    text = (text or "").strip()[:100]
    if not text:
        return None
    wanted = _folded(text.split("(", 1)[0].split(",", 1)[0])
    matches = [
        choice
        for choice in pickable_zones()
        if wanted in (_folded(choice.key), _folded(choice.city), _folded(choice.country))
    ]
    if len(matches) == 1:
        return zoneinfo.ZoneInfo(matches[0].key)
    # Any other real IANA name still works (a legacy alias someone knows, "Asia/Calcutta").
    return zone_from_name(text) if not matches else None


# --- how a guest reads a zone ------------------------------------------------------------------------


def offset_label(offset: timedelta | None) -> str:
    """'GMT−5', 'GMT+5:30', 'GMT' (a true minus sign, as printed timetables use)."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    sign = "+" if minutes > 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_city(zone: zoneinfo.ZoneInfo | str) -> str:
    """The zone as a place: 'New York'; offset-only zones ('Etc/GMT+5', 'EST') read as 'UTC'."""
    key = zone if isinstance(zone, str) else zone.key
    if key.startswith("Etc/") or "/" not in key:
        return "UTC"
    return city_name(key)


def zone_title(zone: zoneinfo.ZoneInfo, at: datetime | None = None) -> str:
    """'New York (GMT−5)': the zone's place and its offset at `at` (default: now)."""
    offset = offset_label((at or timezone.now()).astimezone(zone).utcoffset())
    city = zone_city(zone)
    if city == "UTC":
        return "UTC" if offset == "GMT" else offset
    return f"{city} ({offset})"
