"""Celery delivery: a real worker on the local Redis (REDIS_TEST_URL), and a booking made while the broker is down."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.core import mail

from coaching.models import Booking, Notification
from coaching.services import Guest, create_booking
from coaching.tasks import deliver_pending_notifications
from coaching.tests.factories import CoachFactory, open_hours
from coaching.tests.standins.broker import celery_configured
from coaching.tests.standins.processes import database_url
from coaching.tests.standins.smtp import SmtpServer, text_body

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/15"


def bookable_coach():
    """A coach with availability in two days (real time: the worker process cannot be time-travelled)."""
    coach = CoachFactory(name="Grace Hopper", email="grace@coach.example", timezone="Europe/London")
    return coach, open_hours(coach, days_ahead=2, hours=8)


GUEST = Guest(name="Ada Lovelace", email="ada@guest.example", timezone="America/New_York")


@pytest.mark.django_db
def test_booking_succeeds_while_the_broker_is_down_and_the_outbox_task_delivers_later(
    django_capture_on_commit_callbacks, caplog
):
    coach, day = bookable_coach()

    with celery_configured(broker_url=CLOSED_PORT_BROKER, task_always_eager=False):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            booking = create_booking(guest=GUEST, coach=coach, start_at=day + timedelta(hours=1)).booking
        elapsed = time.monotonic() - started

    assert booking.status == Booking.Status.CONFIRMED
    assert elapsed < 10, f"a broker outage held the booking request for {elapsed:.1f}s"
    assert "broker unreachable" in caplog.text
    assert mail.outbox == []
    assert set(Notification.objects.filter(booking=booking).values_list("status", flat=True)) == {"pending"}

    # The broker is back; beat runs the periodic outbox task (here in-process, as the worker would).
    deliver_pending_notifications.apply()

    assert sorted(message.to[0] for message in mail.outbox) == ["ada@guest.example", "grace@coach.example"]
    assert set(Notification.objects.filter(booking=booking).values_list("status", flat=True)) == {"sent"}
    deliver_pending_notifications.apply()
    assert len(mail.outbox) == 2


@contextmanager
def celery_worker(*, broker_url: str, queue: str, smtp_port: int):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "false",
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker_url,
        "CELERY_QUEUE": queue,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
        "SITE_URL": django_settings.SITE_URL,
        "SECRET_KEY": django_settings.SECRET_KEY,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for(condition, *, timeout: float, what: str):
    """Poll until `condition()` is true (the worker runs in another process); fail with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_on_redis_delivers_the_confirmation(redis_test_url):
    broker = redis.Redis.from_url(redis_test_url)
    broker.ping()
    queue = f"notifications-test-{uuid.uuid4().hex[:8]}"
    coach, day = bookable_coach()

    with SmtpServer() as smtp, celery_worker(broker_url=redis_test_url, queue=queue, smtp_port=smtp.port) as worker:
        with celery_configured(broker_url=redis_test_url, task_always_eager=False, task_default_queue=queue):
            booking = create_booking(guest=GUEST, coach=coach, start_at=day + timedelta(hours=2)).booking
            # Nothing was sent in this process: the two tasks went to Redis for the worker.
            assert Notification.objects.filter(booking=booking, status="pending").count() == 2

            try:
                wait_for(lambda: len(smtp.mailbox.messages) >= 2, timeout=90, what="the worker's emails")
            except AssertionError:
                worker.terminate()
                raise AssertionError(worker.communicate(timeout=20)[0][-4000:]) from None

        confirmation = smtp.mailbox.to("ada@guest.example")[0]
        assert confirmation["Subject"].strip().startswith("Confirmed: 1-on-1 session with Grace Hopper")
        assert "(America/New_York)" in text_body(confirmation) and "(Europe/London)" in text_body(confirmation)
        wait_for(
            lambda: set(Notification.objects.filter(booking=booking).values_list("status", flat=True)) == {"sent"},
            timeout=30,
            what="the worker to mark both notifications sent",
        )
    broker.delete(queue)
