"""Versions of what guest pages show, kept where every process sees them, and the changes that
replace them.

Cached calendar months (`schedule/cache.py`) and whole kept pages (`web/page_cache.py`) hold the
versions they were drawn under; a version replaced means nothing kept under the old one is ever
answered again. A version is a fresh random token, never a counter that a flushed cache could
repeat, kept in the `"schedule"` cache: Redis in production (every web process on every machine
sees one truth), files on this host in the embedded mode (shared by the server and the periodic
jobs of `make run`).

- `coach_version_key(id)`: one coach's months. `schedule_changed(coach_id=…)` replaces it, and
  with no coach the site's version (every coach's months).
- `PAGES_VERSION`: every kept page. Replaced with every calendar version, and by any save or
  delete of the editors' content (Wagtail pages, snippets, images, documents, redirects, sites)
  and a page moved in the tree.

A change replaces its versions when it is made *and again after its transaction commits*: a
render in between reads the rows as they were before the commit and can only keep them under a
version that the second replacement retires. Who calls `schedule_changed`:

- every booking change the services announce (`coaching/receivers.py`: booking, hold, payment,
  expiry, cancel, reschedule, workshop moved or cancelled) → the coach whose time or workshop it is;
- a Google busy-time pull, Bulk add and Remove availability (bulk writes that send no model
  signal) → that coach (`services/google_sync.py`, `services/availability.py`);
- any save or delete of the rows a month is made of (weekly hours, date overrides, time off,
  availability blocks, busy slots, bookings) → their coach; of a coach, workshop, series,
  waiting-list entry, session type (its questions, which coaches offer it) or the booking policy →
  every coach (`connect_invalidation`); of a package for sale → every kept page (its coach's page
  lists it).

An unreachable cache never breaks a write: what was kept lapses by itself (`MAX_SECONDS` for a
month, the quarter hour for a page).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from pathlib import Path

from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from coaching.models import (
    AvailabilityBlock,
    Booking,
    BookingPolicy,
    Coach,
    CoachBusySlot,
    DateOverride,
    IntakeQuestion,
    Package,
    SessionType,
    TimeOff,
    WaitlistEntry,
    WeeklyHours,
    Workshop,
    WorkshopSeries,
)

logger = logging.getLogger(__name__)

CACHE_ALIAS = "schedule"
SITE_VERSION = "schedule:v:site"
PAGES_VERSION = "pages:v"
# Rows a coach's month is made of (scoped to their coach), and rows any calendar may show.
COACH_ROWS = (WeeklyHours, DateOverride, TimeOff, AvailabilityBlock, CoachBusySlot)
SITE_ROWS = (Coach, SessionType, IntakeQuestion, Workshop, WorkshopSeries, WaitlistEntry, BookingPolicy)
# The editors' content: a save or delete in these apps changes what pages show.
CONTENT_APPS = {"pages", "snippets", "wagtailcore", "wagtailimages", "wagtaildocs", "wagtailredirects", "taggit"}
# Booking-domain rows kept pages show outside any calendar: the packages for sale on a coach's page.
CONTENT_ROWS = (Package,)


def store():
    return caches[CACHE_ALIAS]


@functools.cache
def release() -> str:
    """This release's code, templates and static files, in a few characters: part of every key,
    so a new release never answers with what the previous one drew (links to static files it no
    longer has, markup its code no longer reads) or unpickles the old one's objects."""
    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage

    digest = hashlib.sha256(str(getattr(staticfiles_storage, "manifest_hash", "")).encode())
    for folder in ("coaching", "pages", "snippets", "templates", "config"):
        for path in sorted(Path(settings.BASE_DIR, folder).rglob("*")):
            if path.suffix in (".py", ".html") and "tests" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def coach_version_key(coach_id: int) -> str:
    return f"schedule:v:coach:{coach_id}"


def current_versions(*keys: str) -> list[str]:
    """The current token of each version key; a missing one (first use, or flushed) gets a new one.
    Raises what the cache raises when it cannot be reached."""
    found = store().get_many(keys)
    versions = []
    for key in keys:
        token = found.get(key)
        if token is None:
            token = uuid.uuid4().hex
            if not store().add(key, token, timeout=None):
                token = store().get(key) or token
        versions.append(token)
    return versions


def _replace(*keys: str) -> None:
    try:
        store().set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)
    except Exception:  # noqa: BLE001 - the change is made; what was kept lapses by itself
        logger.warning("cache unreachable; kept calendars and pages lapse by themselves", exc_info=True)


def _now_and_after_commit(*keys: str) -> None:
    _replace(*keys)
    transaction.on_commit(lambda: _replace(*keys))


def schedule_changed(*, coach_id: int | None = None) -> None:
    """Every kept month of this coach (with no coach, of every coach) and every kept page is stale."""
    _now_and_after_commit(coach_version_key(coach_id) if coach_id is not None else SITE_VERSION, PAGES_VERSION)


def content_changed() -> None:
    """Every kept page is stale (the editors changed what pages show)."""
    _now_and_after_commit(PAGES_VERSION)


def booking_coach_id(booking: Booking) -> int | None:
    """The coach whose calendar a booking shows in: its coach, or its workshop's host."""
    if booking.coach_id is not None:
        return booking.coach_id
    if booking.workshop_id is not None:
        return Workshop.objects.filter(pk=booking.workshop_id).values_list("host_id", flat=True).first()
    return None


def _coach_row_changed(sender, instance, **kwargs) -> None:
    schedule_changed(coach_id=instance.coach_id)


def _booking_row_changed(sender, instance, **kwargs) -> None:
    schedule_changed(coach_id=booking_coach_id(instance))


def _site_row_changed(sender, instance, **kwargs) -> None:
    schedule_changed()


def _site_relation_changed(sender, **kwargs) -> None:
    schedule_changed()


def _content_row_changed(sender, **kwargs) -> None:
    if sender._meta.app_label in CONTENT_APPS or sender in CONTENT_ROWS:
        content_changed()


def _page_moved(sender, **kwargs) -> None:
    content_changed()


def connect_invalidation() -> None:
    """Model signals: a row saved or deleted anywhere (admin forms and inlines, the shell, a
    service, a management command) makes what it shapes stale. Bulk writes send none: their
    services call `schedule_changed` themselves."""
    from wagtail.signals import post_page_move

    wiring = [(model, _coach_row_changed) for model in COACH_ROWS] + [(Booking, _booking_row_changed)]
    wiring += [(model, _site_row_changed) for model in SITE_ROWS]
    for model, receiver in wiring:
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(receiver, sender=model, dispatch_uid=f"freshness.{model.__name__}.{name}")
    # Which coaches offer a session type (its cards and calendars on their pages).
    m2m_changed.connect(
        _site_relation_changed, sender=SessionType.coaches.through, dispatch_uid="freshness.session_type_coaches"
    )
    post_save.connect(_content_row_changed, dispatch_uid="freshness.content_saved")
    post_delete.connect(_content_row_changed, dispatch_uid="freshness.content_deleted")
    post_page_move.connect(_page_moved, dispatch_uid="freshness.page_moved")
