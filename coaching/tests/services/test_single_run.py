"""Periodic jobs do their work once even if two beats are started by mistake (README "Deploy" →
"Scaling"; coaching/services/single_run.py).

Two beats send the same job twice at the same moment, and two workers run both messages at once:
here two threads, each running the Celery task as a worker would, released together. The periodic
jobs claim their period in the shared "locks" cache (in memory, or in Redis as in production), and
the work is done once: one reminder owed and sent per booking, one expiry per hold, each owed email
and refund sent once, one Google pull per coach. Without the claim the holds, the outbox and the
refunds still come out right by their own row claims, but Google is pulled twice: the race is real.
"""

import threading
import uuid
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from googleapiclient.http import HttpMockSequence

from coaching import tasks
from coaching.integrations import google
from coaching.models import Booking, BookingLog, Coach, Notification, Refund
from coaching.services import Guest, create_booking, refunds, single_run
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory
from coaching.tests.standins.broker import celery_configured
from coaching.tests.standins.google import connected_coach, freebusy_answer
from coaching.tests.standins.redis_dbs import redis_test_url
from coaching.vocabulary import Actor, LogAction

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = redis_test_url(slot=2)
BEAT_TASKS = sorted({entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()})


def claims_in_memory() -> dict:
    # Its own LOCATION: locmem caches of one name share their keys across settings changes.
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"locks-{uuid.uuid4().hex}"}


@pytest.fixture(params=["no claim", "claim in memory", "claim in Redis"])
def claims(request, settings):
    """Where periodic jobs claim their period. The test settings' default ("no claim") lets every run
    through, which is what the jobs' own row claims must survive; Redis is production's."""
    if request.param == "claim in memory":
        settings.CACHES = {**settings.CACHES, "locks": claims_in_memory()}
    elif request.param == "claim in Redis":
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            pytest.skip(f"needs Redis at {REDIS_URL}: {exc}")
        settings.CACHES = {
            **settings.CACHES,
            "locks": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": f"single-run-test-{uuid.uuid4().hex}",  # nothing left by another run
            },
        }
    return request.param


def run_twice_at_once(task) -> list:
    """Two beats' messages for `task`, run by two workers released at the same moment."""
    start = threading.Barrier(2)
    outcomes: list = [None, None]

    def worker(index: int) -> None:
        try:
            start.wait()
            outcomes[index] = task.apply(throw=True).result
        except Exception as exc:  # noqa: BLE001 — reported below, in the test's own thread
            outcomes[index] = exc
        finally:
            connection.close()  # this thread's own connection: otherwise it outlives the test

    workers = [threading.Thread(target=worker, args=(index,)) for index in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    return outcomes


def assert_claimed_once(claims: str, outcomes: list) -> None:
    """With a claim, exactly one of the two runs did the work; the other returned at once."""
    if claims != "no claim":
        assert sorted(outcome is None for outcome in outcomes) == [False, True], outcomes


@pytest.fixture
def queued_only():
    """Owed work is queued for a worker that does not run (kombu's in-memory broker): it waits in the
    outbox and the refunds table for the periodic sweep, as after a broker outage."""
    with celery_configured(broker_url="memory://", task_always_eager=False):
        yield


def test_two_beats_owe_and_send_one_reminder_per_booking(claims):
    soon = timezone.now() + timedelta(hours=2)
    bookings = [
        BookingFactory(start_at=soon + timedelta(hours=n), end_at=soon + timedelta(hours=n, minutes=60))
        for n in range(3)
    ]

    outcomes = run_twice_at_once(tasks.send_due_reminders)

    assert_claimed_once(claims, outcomes)
    for booking in bookings:
        (reminder,) = Notification.objects.filter(booking=booking, kind="reminder")
        assert reminder.status == Notification.Status.SENT and reminder.attempts == 1
    assert sorted(message.to[0] for message in mail.outbox) == sorted(b.guest_email for b in bookings)


def test_two_beats_expire_each_lapsed_hold_once(claims):
    lapsed = timezone.now() - timedelta(minutes=1)
    holds = [
        BookingFactory(status=Booking.Status.PENDING_PAYMENT, hold_expires_at=lapsed, amount_due=5000) for _ in range(2)
    ]

    outcomes = run_twice_at_once(tasks.expire_holds_task)

    assert_claimed_once(claims, outcomes)
    for hold in holds:
        hold.refresh_from_db()
        assert hold.status == Booking.Status.EXPIRED
        assert BookingLog.objects.filter(booking=hold, action=LogAction.EXPIRED).count() == 1
        assert Notification.objects.filter(booking=hold, kind="hold_expired").count() == 1
    assert sorted(message.to[0] for message in mail.outbox if "expired" in message.subject.lower()) == sorted(
        hold.guest_email for hold in holds
    )


def test_two_beats_sweeping_the_outbox_send_each_owed_email_once(claims, queued_only):
    coach = CoachFactory(email="grace@coach.example")
    day = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    AvailabilityBlockFactory(coach=coach, start_at=day, end_at=day + timedelta(hours=4))
    for hour, name in ((0, "ada"), (2, "alan")):
        create_booking(
            guest=Guest(name=name.title(), email=f"{name}@guest.example"),
            coach=coach,
            start_at=day + timedelta(hours=hour),
        )
    owed = list(Notification.objects.filter(status=Notification.Status.PENDING))
    assert len(owed) == 4 and mail.outbox == []

    with celery_configured(task_always_eager=True):
        outcomes = run_twice_at_once(tasks.deliver_pending_notifications)

    assert_claimed_once(claims, outcomes)
    for notification in owed:
        notification.refresh_from_db()
        assert notification.status == Notification.Status.SENT and notification.attempts == 1
    assert sorted(message.to[0] for message in mail.outbox) == sorted(n.recipient for n in owed)


def test_two_beats_sweeping_the_refunds_refund_each_once(claims, queued_only):
    paid = [
        BookingFactory(amount_due=6000, amount_paid=6000, stripe_payment_intent_id=f"pi_test_local_{n}")
        for n in range(2)
    ]
    for booking in paid:
        with transaction.atomic():
            refunds.request_refund(booking=booking, amount=6000, actor=Actor.OWNER, reason="Owner refunded.")
    assert Refund.objects.filter(status=Refund.Status.PENDING).count() == 2

    with celery_configured(task_always_eager=True):
        outcomes = run_twice_at_once(tasks.send_due_refunds)

    assert_claimed_once(claims, outcomes)
    for booking in paid:
        booking.refresh_from_db()
        (refund,) = Refund.objects.filter(booking=booking)
        assert refund.status == Refund.Status.SUCCEEDED and refund.attempts == 1
        assert booking.amount_refunded == 6000
        assert BookingLog.objects.filter(booking=booking, action=LogAction.REFUNDED).count() == 1


@pytest.fixture
def google_pulls(google_api, monkeypatch):
    """Google on, answering every free/busy question; counts the pulls (one HTTP client each)."""
    pulls = []
    lock = threading.Lock()

    def new_client():
        with lock:
            pulls.append(1)
        return HttpMockSequence([freebusy_answer(("2099-01-07T12:00:00Z", "2099-01-07T13:00:00Z"))])

    monkeypatch.setattr(google, "http_factory", new_client)
    return pulls


def test_two_beats_pull_each_coach_from_google_once(claims, google_pulls):
    coaches = [connected_coach(), connected_coach()]

    outcomes = run_twice_at_once(tasks.pull_all_busy_times)

    for coach in coaches:
        coach.refresh_from_db()
        assert coach.google_status == Coach.GoogleStatus.CONNECTED and coach.google_last_synced_at is not None
    if claims == "no claim":
        # The race the claim exists for: nothing else stops a second pull of every coach.
        assert outcomes == [2, 2] and len(google_pulls) == 4
    else:
        assert_claimed_once(claims, outcomes)
        assert len(google_pulls) == len(coaches)


# --- the claim itself -----------------------------------------------------------------------------


def test_every_job_in_the_beat_schedule_claims_its_period():
    from celery import current_app

    for name in BEAT_TASKS:
        assert getattr(current_app.tasks[name].run, "once_per_period", False), f"{name} is not @once_per_period"


@pytest.mark.parametrize(
    ("task_name", "period"),
    [
        ("coaching.tasks.expire_holds_task", timedelta(minutes=1)),
        ("coaching.tasks.deliver_pending_notifications", timedelta(minutes=1)),
        ("coaching.tasks.send_due_refunds", timedelta(minutes=1)),
        ("coaching.tasks.send_due_reminders", timedelta(minutes=10)),
        ("coaching.tasks.pull_all_busy_times", timedelta(minutes=15)),
    ],
)
def test_a_claim_lasts_three_quarters_of_the_jobs_period_then_the_next_run_goes_ahead(settings, task_name, period):
    settings.CACHES = {**settings.CACHES, "locks": claims_in_memory()}
    assert single_run.beat_period(task_name) == period
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert single_run.claim_period(task_name) is True
        assert single_run.claim_period(task_name) is False
        traveller.shift(period * 0.74)
        assert single_run.claim_period(task_name) is False  # a second beat, however late in the period
        traveller.shift(period * 0.02)
        assert single_run.claim_period(task_name) is True  # the next period's run


def test_when_the_shared_cache_is_down_the_job_runs_anyway(settings, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "locks": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    BookingFactory(status=Booking.Status.PENDING_PAYMENT, hold_expires_at=timezone.now() - timedelta(minutes=1))
    assert tasks.expire_holds_task.apply(throw=True).result == 1
    assert "running it anyway" in caplog.text
