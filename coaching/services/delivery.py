"""Delivering owed emails: one sender per row, retries with backoff, and the owner told of failures.

`deliver_notification` *claims* a row with one conditional UPDATE (pending, due, attempts + 1, next
attempt pushed past a lease) so two workers never send one row at once, sends it, and marks it
sent. A failing SMTP server schedules the next attempt with exponential backoff; after
`NOTIFICATION_MAX_ATTEMPTS` the row becomes FAILED (shown on the admin dashboard, logged in the
booking's history, and reported to OWNER_EMAIL). A worker that dies between sending and marking may
send one message twice after the lease; it never loses one.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from coaching.models import Booking, Notification
from coaching.policy import get_policy
from coaching.vocabulary import Actor, LogAction

from .email_content import render_email
from .log import log_booking
from .outbox import CLAIM_LEASE, max_attempts, owe, record_reminder, retry_delay, schedule_delivery

logger = logging.getLogger(__name__)


def deliver_notification(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one owed message if it is due and nobody else is sending it.

    Returns "sent", "retry" (failed, another attempt scheduled), "failed" (gave up) or "skipped"
    (already sent, given up, not yet due, or being sent by another worker). Never raises for a
    delivery problem: the outcome is recorded on the row.
    """
    now = now or timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE)
    if not claimed:
        return "skipped"
    notification = Notification.objects.select_related(
        "booking__coach",
        "booking__workshop__host",
        "waitlist_entry__workshop__host",
        "package_purchase__package__coach",
        "package_purchase__order",
    ).get(pk=notification_id)
    try:
        render_email(notification).send(fail_silently=False)
    except Exception as exc:  # SMTP, DNS, template: all recorded and retried
        return _record_failure(notification, exc, now=now)
    Notification.objects.filter(pk=notification_id).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"


def retry_notification(*, notification: Notification, now: datetime | None = None) -> Notification:
    """The owner's "retry now" for a message given up on: it is owed again, its attempts start over,
    and it is delivered after commit through the same claim as every other. A pending or sent
    message is left alone (a pending one may be in a worker's hands right now)."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Notification.objects.filter(pk=notification.pk, status=Notification.Status.FAILED).update(
            status=Notification.Status.PENDING, attempts=0, next_attempt_at=now, last_error=""
        )
        if changed:
            notification_id = notification.pk
            transaction.on_commit(lambda: schedule_delivery([notification_id]))
    notification.refresh_from_db()
    return notification


def deliver_pending(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send everything owed and due (the periodic safety net). Returns counts per outcome."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {}
    for notification_id in ids:
        outcome = deliver_notification(notification_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Owe and send the reminder of every confirmed booking starting within the reminder window.

    Exactly one reminder per booking start, however often this runs (the dedupe key names the
    start, so a rescheduled booking is reminded of its new time). Returns how many were owed now.
    """
    now = now or timezone.now()
    window = timedelta(hours=get_policy().reminder_hours)
    bookings = Booking.objects.filter(
        status=Booking.Status.CONFIRMED, start_at__gt=now, start_at__lte=now + window
    ).select_related("coach", "workshop__host")
    owed: list[Notification] = []
    for booking in bookings:
        with transaction.atomic():
            owed.extend(record_reminder(booking))
    return len(owed)


def _record_failure(notification: Notification, exc: Exception, *, now: datetime) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if notification.attempts >= max_attempts():
        Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.FAILED, last_error=error)
        logger.error(
            "Gave up on notification %s (%s to %s) after %s attempts: %s",
            notification.pk,
            notification.kind,
            notification.recipient,
            notification.attempts,
            error,
        )
        _report_failure(notification, error)
        return "failed"
    Notification.objects.filter(pk=notification.pk).update(
        last_error=error, next_attempt_at=now + retry_delay(notification.attempts)
    )
    logger.warning(
        "Notification %s (%s) failed (attempt %s), will retry: %s",
        notification.pk,
        notification.kind,
        notification.attempts,
        error,
    )
    return "retry"


def _report_failure(notification: Notification, error: str) -> None:
    """Make a given-up message visible: in the booking's history and by email to the owner."""
    if notification.booking_id:
        log_booking(
            notification.booking,
            LogAction.EMAIL_FAILED,
            actor=Actor.TASK,
            message=f"Could not send “{notification.kind}” to {notification.recipient}: {error}",
            notification_id=notification.pk,
        )
    if notification.kind == "delivery_failed" or not settings.OWNER_EMAIL:
        return
    alert = Notification(
        booking=notification.booking,
        kind="delivery_failed",
        recipient=settings.OWNER_EMAIL,
        dedupe_key=f"notification:{notification.pk}:failed",
        context={
            **notification.context,
            "failed_kind": notification.kind,
            "failed_recipient": notification.recipient,
            "error": error,
        },
    )
    with transaction.atomic():
        owe([alert])
