"""Celery tasks: thin wrappers that take ids and call services.

Services hand work here by task name (coaching/services/enqueue.py), never by importing this module,
so the services stay below the entry points that call them. Every task in CELERY_BEAT_SCHEDULE is
`@once_per_period`: a second beat started by mistake cannot double its work (services/single_run.py).
"""

from celery import shared_task
from django.utils import timezone

from coaching import services
from coaching.models import Booking, Coach, Notification, Refund, Workshop
from coaching.services import delivery, google_sync, refunds, waitlist
from coaching.services.single_run import once_per_period

# --- Notifications (emails with .ics invites; see coaching/services/outbox.py) --------------------


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_notification(self, notification_id: int) -> str:
    """Send one outbox row; on an SMTP failure retry when the row's backoff says so."""

    outcome = delivery.deliver_notification(notification_id)
    if outcome == "retry" and not self.request.is_eager:
        next_attempt_at = Notification.objects.values_list("next_attempt_at", flat=True).get(pk=notification_id)
        countdown = max((next_attempt_at - timezone.now()).total_seconds(), 1)
        # No max_retries here: the row counts attempts and gives up itself (status "failed").
        raise self.retry(countdown=countdown, max_retries=None)
    return outcome


@shared_task(ignore_result=True)
@once_per_period
def deliver_pending_notifications() -> dict:
    """Beat, every minute: send every owed message that is due (covers broker outages and crashes)."""

    return delivery.deliver_pending()


@shared_task(ignore_result=True)
@once_per_period
def send_due_reminders() -> int:
    """Beat: owe (once per booking start) and send the reminders of sessions starting soon."""

    return delivery.send_due_reminders()


# --- Google Calendar (coaching/services/google_sync.py) -------------------------------------------

GOOGLE_MAX_RETRIES = 6


def google_retry_delay(retries: int) -> int:
    """Exponential backoff for Google's rate limits and outages: 30 s, 1 min, 2 min, … capped at 30 min."""
    return min(30 * 2**retries, 1800)


def _google_retry_or_record(task, *, coach, exc) -> str:

    if task.request.retries >= task.max_retries:
        google_sync.record_sync_error(coach=coach, error=f"Gave up after {task.request.retries + 1} attempts: {exc}")
        return "failed"
    raise task.retry(exc=exc, countdown=google_retry_delay(task.request.retries))


def _google_call(task, *, coach, call) -> str:
    """Run one calendar write for `coach`: retried with backoff when Google is busy or down."""
    try:
        return call()
    except (google_sync.TransientError, google_sync.AuthRefreshNeeded) as exc:
        return _google_retry_or_record(task, coach=coach, exc=exc)
    except google_sync.GoogleError as exc:
        # Refused for good (no write access to the calendar, bad request): tell the owner via the admin.
        google_sync.record_sync_error(coach=coach, error=str(exc))
        return "failed"


def _run_google_booking_task(task, booking_id: int, action) -> str:

    booking = Booking.objects.select_related("coach").filter(pk=booking_id).first()
    if booking is None or booking.coach is None:
        return "skipped"
    return _google_call(task, coach=booking.coach, call=lambda: action(booking=booking))


@shared_task(bind=True, max_retries=GOOGLE_MAX_RETRIES, ignore_result=True)
def push_booking_event_task(self, booking_id: int) -> str:
    """Insert a confirmed booking into the coach's Google Calendar (idempotent: deterministic event id)."""

    return _run_google_booking_task(self, booking_id, google_sync.push_booking_event)


@shared_task(bind=True, max_retries=GOOGLE_MAX_RETRIES, ignore_result=True)
def patch_booking_event_task(self, booking_id: int) -> str:
    """Move the coach's event to the booking's new time (a deleted event counts as done)."""

    return _run_google_booking_task(self, booking_id, google_sync.patch_booking_event)


@shared_task(bind=True, max_retries=GOOGLE_MAX_RETRIES, ignore_result=True)
def delete_booking_event_task(self, booking_id: int) -> str:
    """Remove a cancelled booking's event (already deleted counts as done)."""

    return _run_google_booking_task(self, booking_id, google_sync.delete_booking_event)


def _run_google_workshop_task(task, workshop_id: int, action, **kwargs) -> str:

    workshop = Workshop.objects.select_related("host").filter(pk=workshop_id).first()
    if workshop is None:
        return "skipped"
    host = kwargs.get("host") or workshop.host
    return _google_call(task, coach=host, call=lambda: action(workshop=workshop, **kwargs))


@shared_task(bind=True, max_retries=GOOGLE_MAX_RETRIES, ignore_result=True)
def push_workshop_event_task(self, workshop_id: int) -> str:
    """Put a published workshop in its host's Google Calendar (idempotent: deterministic event id)."""

    return _run_google_workshop_task(self, workshop_id, google_sync.push_workshop_event)


@shared_task(bind=True, max_retries=GOOGLE_MAX_RETRIES, ignore_result=True)
def patch_workshop_event_task(self, workshop_id: int) -> str:
    """Move or rename the host's event of a workshop (a deleted event counts as done)."""

    return _run_google_workshop_task(self, workshop_id, google_sync.patch_workshop_event)


@shared_task(bind=True, max_retries=GOOGLE_MAX_RETRIES, ignore_result=True)
def delete_workshop_event_task(self, workshop_id: int, host_id: int | None = None) -> str:
    """Remove a cancelled or unpublished workshop's event (from `host_id`'s calendar when it changed hands)."""

    if host_id is None:
        return _run_google_workshop_task(self, workshop_id, google_sync.delete_workshop_event)
    host = Coach.objects.filter(pk=host_id).first()
    if host is None:
        return "skipped"
    return _run_google_workshop_task(self, workshop_id, google_sync.delete_workshop_event, host=host)


@shared_task(bind=True, max_retries=2, ignore_result=True)
def pull_coach_busy_times(self, coach_id: int) -> int | None:
    """Refresh one coach's busy slots from Google (the next beat run retries anyway, so few retries)."""

    coach = Coach.objects.filter(pk=coach_id).first()
    if coach is None:
        return None
    try:
        return google_sync.pull_busy_times(coach=coach)
    except (google_sync.TransientError, google_sync.AuthRefreshNeeded) as exc:
        _google_retry_or_record(self, coach=coach, exc=exc)
        return None
    except google_sync.GoogleError:
        return None  # recorded on the coach by the service


@shared_task(ignore_result=True)
@once_per_period
def pull_all_busy_times() -> int:
    """Beat, every 15 minutes: one pull task per coach with a working Google connection."""

    if not google_sync.is_configured():
        return 0
    coach_ids = list(
        Coach.objects.filter(is_active=True, google_status=Coach.GoogleStatus.CONNECTED)
        .exclude(google_credentials="")
        .values_list("pk", flat=True)
    )
    for coach_id in coach_ids:
        pull_coach_busy_times.delay(coach_id)
    return len(coach_ids)


# --- Payment holds (coaching/services/holds.py) --------------------------------------------------


@shared_task(ignore_result=True)
@once_per_period
def expire_holds_task() -> int:
    """Beat, every minute: release unpaid holds past their time and expire their Stripe checkouts."""

    return services.expire_holds()


# --- Refunds (coaching/services/refunds.py) --------------------------------------------------------


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_refund_task(self, refund_id: int) -> str:
    """Send one owed refund; when the provider is down, retry when the refund's backoff says so."""
    outcome = refunds.send_refund(refund_id)
    if outcome == "retry" and not self.request.is_eager:
        next_attempt_at = Refund.objects.values_list("next_attempt_at", flat=True).get(pk=refund_id)
        countdown = max((next_attempt_at - timezone.now()).total_seconds(), 1)
        # No max_retries here: the row counts attempts and gives up itself (status "failed").
        raise self.retry(countdown=countdown, max_retries=None)
    return outcome


@shared_task(ignore_result=True)
@once_per_period
def send_due_refunds() -> dict:
    """Beat, every minute: send every owed refund that is due (covers broker outages and crashes)."""
    return refunds.send_due_refunds()


# --- Waiting lists (coaching/services/waitlist.py) -------------------------------------------------


@shared_task(ignore_result=True)
def advance_waitlist_task(workshop_id: int) -> int:
    """After a change that gave seats back commits: offer them to the next in line (under the lock)."""
    workshop = Workshop.objects.filter(pk=workshop_id).first()
    if workshop is None:
        return 0
    return len(waitlist.advance_waitlist(workshop=workshop))


@shared_task(ignore_result=True)
@once_per_period
def advance_due_waitlists() -> int:
    """Beat, every minute: pass lapsed offers on to the next in line (and catch any missed advance)."""
    return waitlist.advance_due_waitlists()
