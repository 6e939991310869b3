"""Small fixed-window rate limits on the shared cache (Redis in production, memory locally).

Used on booking POSTs, the magic-link pages and the "lost your link" form; the Stripe webhook is
never limited (Stripe retries, and a dropped confirmation would cost a guest their booking).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

from coaching.client_address import client_ip

logger = logging.getLogger(__name__)
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/m' → (10, 60)."""
    count, _, unit = rate.partition("/")
    return int(count), RATE_UNITS[unit]


@dataclass(frozen=True)
class Limited:
    """A refusal by one limit: how long until its window resets, said the same way in the
    `Retry-After` header and in the message."""

    retry_after: int  # seconds

    @property
    def wait_in_words(self) -> str:
        if self.retry_after <= 60:
            return "a minute"
        minutes = -(-self.retry_after // 60)
        if minutes < 60:
            return f"{minutes} minutes"
        hours = -(-minutes // 60)
        return "an hour" if hours == 1 else f"{hours} hours"


def check(scope: str, key: str, *, rate: str, now: float | None = None) -> Limited | None:
    """Count one request for (scope, key). None while the limit is not exceeded; otherwise the
    refusal, with the seconds left in the window that refused."""
    if not getattr(settings, "RATELIMIT_ENABLED", True):
        return None
    limit, window = parse_rate(rate)
    now = time.time() if now is None else now
    bucket = int(now // window)
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"rl:{scope}:{digest}:{bucket}"
    cache = caches["ratelimit"]
    try:
        if cache.add(cache_key, 1, timeout=window + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add and incr
                cache.add(cache_key, 1, timeout=window + 1)
                count = 1
    except Exception:
        # The cache (Redis) is down: a booking matters more than a limit, so fail open and say so.
        logger.warning("Rate limit cache unavailable; allowing the request", exc_info=True)
        return None
    if count <= limit:
        return None
    return Limited(retry_after=max(int((bucket + 1) * window - now) + 1, 1))


def too_many_requests(limited: Limited, what: str = "Too many requests") -> HttpResponse:
    """429 whose `Retry-After` and message both come from the limit that refused."""
    message = f"{what} — please wait {limited.wait_in_words} and try again."
    response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(limited.retry_after)
    return response


def ratelimit(
    scope: str,
    *,
    rate_setting: str,
    methods: Iterable[str] = ("POST",),
    key: Callable[[HttpRequest], str] = client_ip,
):
    """View decorator: answer 429 once `key(request)` made more requests in `scope` than the rate
    named by the setting `rate_setting` (read per request, so it can be changed without a restart
    of the code that imported the view)."""
    limited_methods = {m.upper() for m in methods}

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            rate = getattr(settings, rate_setting)
            if request.method in limited_methods:
                limited = check(scope, key(request), rate=rate)
                if limited is not None:
                    return too_many_requests(limited)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
