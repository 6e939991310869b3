"""A periodic job does its work once per period, however many beats schedule it.

Production runs exactly one Celery beat (README "Deploy" → "Scaling"), but a second one started by
mistake — `--scale beat=2`, a second host with the same compose file, an old container left running —
would send every job twice. So each periodic task first *claims its period*: an atomic `add` of one
key in the shared "locks" cache (Redis in production, so every worker on every machine sees the
same key) that expires after three quarters of the job's period in CELERY_BEAT_SCHEDULE. The claim
is not released when the job ends; it stands for the period. Whichever beat's message a worker
runs first does the work; the other's finds the key and returns at once.

Why a claim that outlives the run, not a PostgreSQL advisory lock: an advisory lock only keeps two
runs from overlapping. Two beats a second apart would run a 50 ms job twice, one after the other —
a Google pull per coach becomes two (the outbox, the holds and the refunds would stay correct by
their own rules, but do the work twice). The claim dedups the whole period, lives where no
transaction or connection has to stay open for it, and disappears by itself if a worker dies.

Why three quarters: with two beats any offset apart, one run per period needs the claim to last
longer than half the period (so the second beat's message always finds it) and shorter than the
whole period (so the next period's message never does); 3/4 leaves a quarter period, in both
directions, for a message that waits in the queue or a beat that ticks late.

When the cache cannot be reached the job runs anyway: every job is idempotent by its own rules
(outbox rows and refunds are claimed atomically, reminders have dedupe keys, holds are released
under a row lock), so a second run costs work, while a skipped one would delay mail.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

CACHE_ALIAS = "locks"
CLAIM_SHARE_OF_PERIOD = 0.75
DAY_MINUTES = 24 * 60

Job = TypeVar("Job", bound=Callable)


def once_per_period(job: Job) -> Job:
    """Decorate a periodic task's function (under `@shared_task`): it runs only when it claims its
    period, and returns None otherwise. Its period is the one CELERY_BEAT_SCHEDULE gives the task."""
    task_name = f"{job.__module__}.{job.__name__}"

    @functools.wraps(job)
    def run_once_per_period(*args, **kwargs):
        if not claim_period(task_name):
            logger.info("Skipped %s: another run already has this period", task_name)
            return None
        return job(*args, **kwargs)

    run_once_per_period.once_per_period = True
    return run_once_per_period


def claim_period(task_name: str) -> bool:
    """True for the first caller of this period (or when the cache is down), False for the others."""
    lasts = beat_period(task_name) * CLAIM_SHARE_OF_PERIOD
    claimant = f"{socket.gethostname()}:{os.getpid()}"
    try:
        return caches[CACHE_ALIAS].add(f"single-run:{task_name}", claimant, timeout=lasts.total_seconds())
    except Exception:  # Redis down: run (idempotent) rather than skip (late mail)
        logger.warning("Could not claim the period of %s; running it anyway", task_name, exc_info=True)
        return True


def beat_period(task_name: str) -> timedelta:
    """The shortest time between two runs of `task_name` in CELERY_BEAT_SCHEDULE."""
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        if entry["task"] == task_name:
            return schedule_period(entry["schedule"])
    raise ImproperlyConfigured(f"{task_name} runs once per period, but CELERY_BEAT_SCHEDULE does not schedule it.")


def schedule_period(schedule) -> timedelta:
    """A beat schedule's period: a timedelta or seconds, celery's `schedule(run_every)`, or a
    `crontab` (the shortest gap between two of its times in a day)."""
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, int | float):
        return timedelta(seconds=schedule)
    if getattr(schedule, "run_every", None) is not None:
        return schedule.run_every
    times = sorted(hour * 60 + minute for hour in schedule.hour for minute in schedule.minute)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    gaps.append(times[0] + DAY_MINUTES - times[-1])
    return timedelta(minutes=min(gaps))
