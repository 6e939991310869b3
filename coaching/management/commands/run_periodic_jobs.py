"""`manage.py run_periodic_jobs`: the embedded mode's stand-in for Celery beat.

`make run` has no Redis, so no beat: without this, nothing would expire lapsed holds (and email
their guests), send reminders, sweep the email and refund outboxes or pull Google busy times. This
command runs the very same tasks, on the very same schedule (CELERY_BEAT_SCHEDULE), in-process.
With REDIS_URL set, run `celery -A config beat` instead (it refuses to start, so the two never
both run the schedule).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from datetime import datetime

from celery.schedules import maybe_schedule
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import import_string

from config.celery import app as celery_app

# Never sleep longer than this, so a stop signal or a newly due job is noticed soon.
MAX_WAIT_SECONDS = 30


@dataclass
class Job:
    name: str
    task: str
    schedule: object
    last_run_at: datetime | None = None


class PeriodicJobs:
    """The beat schedule, run in this process: each job when it is due, one after another."""

    def __init__(self, beat_schedule: dict, *, log=None):
        self.jobs = [
            Job(name=name, task=entry["task"], schedule=maybe_schedule(entry["schedule"], app=celery_app))
            for name, entry in beat_schedule.items()
        ]
        self.log = log or (lambda message: None)

    def run_due(self, now: datetime | None = None) -> list[str]:
        """Run every job that is due at `now` (all of them on the first call). Returns their names."""
        now = now or timezone.now()
        ran = []
        for job in self.jobs:
            if job.last_run_at is not None and not job.schedule.is_due(job.last_run_at).is_due:
                continue
            job.last_run_at = now
            try:
                result = import_string(job.task).apply().get(propagate=True)
            except Exception as exc:  # one failing job must not stop the others (or the loop)
                self.log(f"{job.name}: failed ({type(exc).__name__}: {exc})")
            else:
                self.log(f"{job.name}: {result}")
            ran.append(job.name)
        return ran

    def seconds_until_next(self) -> float:
        waits = [job.schedule.is_due(job.last_run_at).next for job in self.jobs if job.last_run_at is not None]
        return max(1.0, min([MAX_WAIT_SECONDS, *waits]))


class Command(BaseCommand):
    help = "Run the periodic jobs (holds, reminders, email and refund outboxes, Google pull) on the beat's schedule."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args, **options):
        if settings.REDIS_URL:
            raise CommandError("REDIS_URL is set: run `celery -A config beat` (exactly one) instead of this command.")
        jobs = PeriodicJobs(settings.CELERY_BEAT_SCHEDULE, log=lambda line: self.stdout.write(line))
        if options["once"]:
            jobs.run_due()
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("Periodic jobs running in-process (the embedded mode's beat). Ctrl-C stops them.")
        while not stop.is_set():
            jobs.run_due()
            stop.wait(jobs.seconds_until_next())
