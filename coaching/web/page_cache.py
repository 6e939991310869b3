"""Whole guest pages kept in the shared cache: the home, standard, coach index and coach pages and
the coach calendar's month and day regions (`/book/coach/<slug>/…`), as a guest with no session
sees them.

A page is drawn once for everyone who would see the same HTML — same address, query, zone, clock,
HTMX headers — and then answered from the cache in a fraction of the time, with no query. What
makes that safe:

- **Only what may be kept is kept.** A page is stored only when it is one of those types, its
  calendars are coach calendars whose month came through `schedule/cache.py` (anything else on it
  that the clock changes — the all-workshops calendar, an open booking panel, an empty month's
  "next available" search — marks the request `uncacheable`), it answered 200 with HTML, and it
  set no cookie and touched no session. Requests with a session or messages cookie (a signed-in
  editor, a guest back from the checkout) are never answered from it.
- **Changes.** Each entry holds the *pages version* read before it was drawn. Every change that
  replaces a calendar version (bookings, holds, availability, Google busy time, coaches,
  workshops, the booking policy) replaces it too, and so does any save or delete of the editors'
  content (Wagtail pages, snippets, images, documents, redirects, sites) and a page moved in the
  tree (coaching/freshness.py). An entry whose version is not the current one is never answered.
- **The clock.** An entry is answered only until the first moment the clock alone would change
  it (`MonthSchedule.valid_until` of every calendar on it: a time going inside the notice, a hold
  lapsing, a workshop starting, the next quarter hour when a day may end).
- **The CSRF token** in the page is stored as a placeholder and filled in with a freshly masked
  token of the guest's own on every answer (`get_token`), so no two guests share one and the
  compressed size of a page says nothing about it (BREACH; README "Measured").
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import Resolver404, resolve
from django.utils import timezone

from coaching.freshness import PAGES_VERSION, current_versions, release, store

logger = logging.getLogger(__name__)

CACHEABLE_VIEWS = {"coaching:coach_calendar", "coaching:coach_day"}
CACHEABLE_PAGES = {"pages.homepage", "pages.standardpage", "pages.coachindexpage", "pages.coachpage"}
TOKEN_PLACEHOLDER = "__page_cache_csrf_token__"
MASKED_TOKEN = re.compile(r"\b[a-zA-Z0-9]{64}\b")
# Paths never kept, so not even looked up (the /book/ URLs kept are the coach calendar's).
SKIP_PREFIXES = (
    "/admin/",
    "/django-admin/",
    "/static/",
    "/media/",
    "/documents/",
    "/stripe/",
    "/bookings/",
    "/waitlist/",
    "/healthz",
    "/book/workshop",
    "/book/timezone/",
)


@dataclass
class PageCacheNote:
    """What the drawing of one request learnt about keeping it (`request.page_cache`): until when
    it stays true, and whether it may be kept at all."""

    until: datetime
    keep: bool = True


def uncacheable(request: HttpRequest | None) -> None:
    note = getattr(request, "page_cache", None)
    if note is not None:
        note.keep = False


def true_until(request: HttpRequest | None, moment: datetime | None) -> None:
    """A part of the page stays as drawn until `moment` (None: no telling, so do not keep it)."""
    note = getattr(request, "page_cache", None)
    if note is None:
        return
    if moment is None:
        note.keep = False
    elif moment < note.until:
        note.until = moment


def entry_key(request: HttpRequest) -> str:
    """Everything a kept page may differ by."""
    htmx = request.headers.get("HX-Request") == "true"
    parts = (
        release(),
        request.get_host(),
        request.path,
        request.META.get("QUERY_STRING", ""),
        request.user_timezone.key,
        bool(getattr(request, "user_timezone_chosen", False)),
        bool(getattr(request, "user_timezone_from_cookie", False)),
        getattr(request, "hour_cycle", ""),
        htmx,
        request.headers.get("HX-Current-URL", "") if htmx else "",
    )
    return "page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


class PageCacheMiddleware:
    """Answers kept pages; keeps the ones that may be kept. Sits after the CSRF, zone and HTMX
    middleware (it needs the guest's zone and clock, and the CSRF middleware sets the guest's
    cookie after it) and before Wagtail's redirects."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.may_answer(request):
            return self.get_response(request)
        key = entry_key(request)
        now = timezone.now()
        try:
            found = store().get_many([key, PAGES_VERSION])  # one round trip
            entry, version = found.get(key), found.get(PAGES_VERSION)
            if version is None:
                (version,) = current_versions(PAGES_VERSION)
        except Exception:  # noqa: BLE001 - an unreachable cache must never break a page
            logger.warning("page cache unreachable", exc_info=True)
            return self.get_response(request)
        if entry is not None and entry["version"] == version and entry["at"] <= now < entry["until"]:
            return self.replay(request, entry)
        # At most until the next quarter hour, when a day may end or a zone change its offset
        # somewhere (every zone's midnight and clock change fall on a quarter hour, UTC).
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) + timedelta(minutes=15)
        request.page_cache = PageCacheNote(until=quarter)
        response = self.get_response(request)
        if self.may_keep(request, response):
            self.keep(request, response, key=key, version=version, now=now)
        return response

    @staticmethod
    def may_answer(request: HttpRequest) -> bool:
        return (
            request.method == "GET"
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and "messages" not in request.COOKIES
            and "HTTP_AUTHORIZATION" not in request.META
            and not request.path.startswith(SKIP_PREFIXES)
            and hasattr(request, "user_timezone")
        )

    @staticmethod
    def kind_allowed(request: HttpRequest) -> bool:
        route = getattr(request, "_wagtail_route_for_request", None)
        if route:
            return route[0]._meta.label_lower in CACHEABLE_PAGES
        try:
            return resolve(request.path_info).view_name in CACHEABLE_VIEWS
        except Resolver404:
            return False

    def may_keep(self, request: HttpRequest, response: HttpResponse) -> bool:
        note: PageCacheNote = request.page_cache
        session = getattr(request, "session", None)
        return (
            note.keep
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
            and response.get("Content-Type", "").startswith("text/html")
            and "private" not in response.get("Cache-Control", "")
            and not (session is not None and session.modified)
            and self.kind_allowed(request)
        )

    @staticmethod
    def keep(request: HttpRequest, response: HttpResponse, *, key: str, version: str, now: datetime) -> None:
        content = response.content.decode(response.charset)
        secret = request.META.get("CSRF_COOKIE")
        if secret:
            from django.middleware.csrf import _unmask_cipher_token

            for token in set(MASKED_TOKEN.findall(content)):
                if _unmask_cipher_token(token) == secret:
                    content = content.replace(token, TOKEN_PLACEHOLDER)
        headers = {
            name: value
            for name, value in response.items()
            if name.lower() not in ("content-length", "set-cookie", "vary", "x-page-cache")
        }
        until = request.page_cache.until
        entry = {"version": version, "at": now, "until": until, "content": content, "headers": headers}
        try:
            store().set(key, entry, timeout=max(1, int((until - now).total_seconds())))
        except Exception:  # noqa: BLE001
            logger.warning("page cache unreachable; page not kept", exc_info=True)
            return
        response["X-Page-Cache"] = "miss"

    @staticmethod
    def replay(request: HttpRequest, entry: dict) -> HttpResponse:
        pieces = entry["content"].split(TOKEN_PLACEHOLDER)
        content = pieces[0] + "".join(get_token(request) + piece for piece in pieces[1:])
        response = HttpResponse(content)
        for name, value in entry["headers"].items():
            response[name] = value
        response["X-Page-Cache"] = "hit"
        return response
