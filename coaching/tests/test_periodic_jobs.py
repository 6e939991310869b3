"""`make run` runs the beat's schedule in-process (manage.py run_periodic_jobs): without Redis, lapsed
holds are still released and their guests told, reminders still go out, outboxes are still swept."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from coaching.management.commands.run_periodic_jobs import PeriodicJobs
from coaching.models import Booking
from coaching.tests.factories import BookingFactory, CoachFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def subjects_to(address):
    return [message.subject for message in mail.outbox if message.to == [address]]


def test_the_embedded_scheduler_sends_the_reminder_and_the_lapsed_hold_email(clock):
    coach = CoachFactory(price_amount=5000)
    soon = BookingFactory(
        coach=coach,
        guest_email="soon@example.com",
        start_at=NOW + timedelta(hours=20),
        end_at=NOW + timedelta(hours=21),
    )
    lapsed = BookingFactory(
        coach=coach,
        guest_email="lapsed@example.com",
        status=Booking.Status.PENDING_PAYMENT,
        hold_expires_at=NOW - timedelta(minutes=1),
        confirmed_at=None,
        amount_due=5000,
        start_at=NOW + timedelta(days=3),
        end_at=NOW + timedelta(days=3, hours=1),
    )
    jobs = PeriodicJobs(settings.CELERY_BEAT_SCHEDULE)

    assert set(jobs.run_due()) == set(settings.CELERY_BEAT_SCHEDULE)  # every job runs at start
    clock.shift(timedelta(seconds=61))  # the minutely outbox sweep is due again
    assert "deliver-outbox" in jobs.run_due()
    clock.shift(timedelta(seconds=30))
    assert jobs.run_due() == []  # nothing is due half a minute later

    lapsed.refresh_from_db()
    assert lapsed.status == Booking.Status.EXPIRED
    assert len(subjects_to("lapsed@example.com")) == 1 and "not booked" in subjects_to("lapsed@example.com")[0].lower()
    reminders = [s for s in subjects_to("soon@example.com") if "reminder" in s.lower()]
    assert len(reminders) == 1, subjects_to("soon@example.com")
    assert soon.notifications.filter(kind="reminder", status="sent").count() == 1


def test_a_failing_job_does_not_stop_the_others(clock, monkeypatch):
    jobs = PeriodicJobs(
        {
            "broken": {"task": "coaching.tasks.send_refund_task", "schedule": timedelta(minutes=1)},  # needs an id
            "outbox": {"task": "coaching.tasks.deliver_pending_notifications", "schedule": timedelta(minutes=1)},
        },
        log=(lines := []).append,
    )
    assert jobs.run_due() == ["broken", "outbox"]
    assert lines[0].startswith("broken: failed") and lines[1].startswith("outbox:")


def test_the_command_runs_once_and_refuses_when_a_real_beat_should_run(settings, capsys):
    call_command("run_periodic_jobs", "--once")
    assert "expire-holds" in capsys.readouterr().out
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    with pytest.raises(CommandError, match="celery -A config beat"):
        call_command("run_periodic_jobs", "--once")
