"""Email notifications through an outbox: owed in the booking's transaction, sent after commit.

How a message travels:

1. A service changes a booking and sends `booking_changed` inside its transaction; the receiver calls
   `record_notifications`, which writes one `Notification` row per message owed (guest and coach),
   each with a `dedupe_key` — so the same change recorded twice owes the message once — and a snapshot
   of the times and invite SEQUENCE of *this* change.
2. `transaction.on_commit` enqueues `coaching.tasks.deliver_notification` for each new row. If the
   broker is unreachable the enqueue fails quietly (logged): the rows are already committed and
   the periodic `deliver_pending_notifications` task sends them. A rolled-back booking owes nothing.
3. `deliver_notification` *claims* a row with one conditional UPDATE (pending, due, attempts + 1,
   next attempt pushed past a lease) so two workers never send one row at once, sends it, and marks
   it sent. A failing SMTP server schedules the next attempt with exponential backoff; after
   `NOTIFICATION_MAX_ATTEMPTS` the row becomes FAILED (shown on the admin dashboard, logged in the
   booking's history, and reported to OWNER_EMAIL). A worker that dies between sending and marking
   may send one message twice after the lease; it never loses one.
"""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coaching.models import Booking, Notification, format_money
from coaching.timeutils import format_in_zone
from coaching.utils import build_ics, manage_url

logger = logging.getLogger(__name__)

GUEST = "guest"
COACH = "coach"
OWNER = "owner"


@dataclass(frozen=True)
class Kind:
    """One kind of email: who receives it and which invite (iTIP method) it carries, if any."""

    audience: str
    ics_method: str | None = None


KINDS = {
    "confirmation": Kind(GUEST, "REQUEST"),
    "payment_received": Kind(GUEST),
    "payment_failed": Kind(GUEST),
    "reschedule": Kind(GUEST, "REQUEST"),
    "cancellation": Kind(GUEST, "CANCEL"),
    "refund": Kind(GUEST),
    "hold_expired": Kind(GUEST),
    "reminder": Kind(GUEST),
    "manage_link": Kind(GUEST),  # a fresh magic link asked for on the "lost your link?" form
    "coach_new": Kind(COACH),
    "coach_rescheduled": Kind(COACH),
    "coach_cancelled": Kind(COACH),
    "delivery_failed": Kind(OWNER),
}

# Which messages each booking change owes. "held" owes nothing: the guest is on the payment page.
CHANGE_MESSAGES = {
    "confirmed": ("confirmation", "coach_new"),
    "rescheduled": ("reschedule", "coach_rescheduled"),
    "cancelled": ("cancellation", "coach_cancelled"),
    "expired": ("hold_expired",),
    "payment_received": ("payment_received",),
    "payment_failed": ("payment_failed",),
    "refunded": ("refund",),
    "held": (),
}

# A claimed row is not picked up again for this long (a send that outlives it may be repeated).
CLAIM_LEASE = timedelta(minutes=5)


def max_attempts() -> int:
    return getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", 6)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: base, 2×base, 4×base … capped at one hour."""
    base = getattr(settings, "NOTIFICATION_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


# ---------------------------------------------------------------------------------------------
# Owing messages (inside the caller's transaction)
# ---------------------------------------------------------------------------------------------


def record_notifications(*, booking: Booking, change: str, **extra) -> list[Notification]:
    """Write the outbox rows that `change` of `booking` owes and schedule their delivery on commit.

    Must run inside the transaction that made the change (the `booking_changed` receiver does).
    Idempotent: recording the same change again owes nothing new. Returns the rows owed now.
    """
    kinds = list(CHANGE_MESSAGES.get(change, ()))
    if not kinds:
        return []
    if change == "cancelled" and booking.confirmed_at is None:
        # An unpaid hold that is withdrawn was never the coach's booking.
        kinds = [kind for kind in kinds if KINDS[kind].audience != COACH]
    if change == "refunded" and _refund_already_announced(booking):
        return []
    snapshot = _snapshot(booking, change, extra)
    rows = [
        Notification(
            booking=booking,
            kind=kind,
            recipient=_recipient(booking, KINDS[kind].audience),
            dedupe_key=_dedupe_key(booking, kind),
            context=snapshot,
        )
        for kind in kinds
    ]
    return _owe(rows)


def record_reminder(booking: Booking) -> list[Notification]:
    """Owe the reminder for the booking's current start (once per start, however often called)."""
    row = Notification(
        booking=booking,
        kind="reminder",
        recipient=booking.guest_email,
        dedupe_key=f"booking:{booking.pk}:reminder:{booking.start_at.isoformat()}",
        context=_snapshot(booking, "reminder", {}),
    )
    return _owe([row])


def record_manage_link(booking: Booking, *, now: datetime | None = None) -> list[Notification]:
    """Owe the guest a fresh manage link. At most one per booking per hour, so the "lost your
    link?" form cannot be used to flood a guest's inbox."""
    now = now or timezone.now()
    row = Notification(
        booking=booking,
        kind="manage_link",
        recipient=booking.guest_email,
        dedupe_key=f"booking:{booking.pk}:manage_link:{now:%Y%m%d%H}",
        context=_snapshot(booking, "manage_link", {}),
    )
    return _owe([row])


def _owe(rows: list[Notification]) -> list[Notification]:
    keys = [row.dedupe_key for row in rows]
    already_owed = set(Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    new_rows = [row for row in rows if row.dedupe_key not in already_owed]
    # ignore_conflicts: a concurrent writer that owed the same key first wins, without an error that
    # would break the caller's transaction.
    Notification.objects.bulk_create(new_rows, ignore_conflicts=True)
    owed = list(
        Notification.objects.filter(
            dedupe_key__in=[row.dedupe_key for row in new_rows], status=Notification.Status.PENDING
        )
    )
    ids = [row.pk for row in owed]
    if ids:
        transaction.on_commit(lambda: schedule_delivery(ids))
    return owed


def _dedupe_key(booking: Booking, kind: str) -> str:
    if kind in ("payment_received", "hold_expired"):
        return f"booking:{booking.pk}:{kind}"
    if kind == "refund":
        return f"booking:{booking.pk}:refund:{booking.amount_refunded}"
    # One message per change of the invite: the brain bumps ics_sequence on every reschedule/cancel.
    return f"booking:{booking.pk}:{kind}:seq{booking.ics_sequence}"


def _recipient(booking: Booking, audience: str) -> str:
    if audience == GUEST:
        return booking.guest_email
    if audience == COACH:
        return booking.host.email
    return settings.OWNER_EMAIL


def _snapshot(booking: Booking, change: str, extra: dict) -> dict:
    """What this message must say even if the booking changes again before it is delivered."""
    snapshot = {
        "change": change,
        "sequence": booking.ics_sequence,
        "start_at": booking.start_at.isoformat(),
        "end_at": booking.end_at.isoformat(),
        "refund_amount": extra.get("refund_amount", booking.amount_refunded),
    }
    for name in ("old_start_at", "old_end_at"):
        if extra.get(name) is not None:
            snapshot[name] = extra[name].isoformat()
    if extra.get("reason"):
        snapshot["reason"] = str(extra["reason"])
    return snapshot


def _refund_already_announced(booking: Booking) -> bool:
    """The cancellation email of this booking's latest change already told the guest this refund."""
    announced = (
        Notification.objects.filter(dedupe_key=_dedupe_key(booking, "cancellation"))
        .values_list("context", flat=True)
        .first()
    )
    return announced is not None and (announced.get("refund_amount") or 0) >= booking.amount_refunded


def schedule_delivery(notification_ids: list[int]) -> None:
    """Hand rows to the worker. A broker outage only delays them: the periodic task sends them."""
    from coaching.tasks import deliver_notification as deliver_task

    for notification_id in notification_ids:
        try:
            deliver_task.delay(notification_id)
        except Exception:  # noqa: BLE001 — any broker failure; the outbox row is the guarantee
            logger.warning(
                "Could not enqueue notification %s (broker unreachable?); the outbox task will send it.",
                notification_id,
                exc_info=True,
            )
            return


# ---------------------------------------------------------------------------------------------
# Delivering
# ---------------------------------------------------------------------------------------------


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
    notification = Notification.objects.select_related("booking__coach", "booking__workshop__host").get(
        pk=notification_id
    )
    try:
        render_email(notification).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 — SMTP, DNS, template: all recorded and retried
        return _record_failure(notification, exc, now=now)
    Notification.objects.filter(pk=notification_id).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"


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
    from coaching.policy import get_policy

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
    from coaching.services.log import log_booking

    if notification.booking_id:
        log_booking(
            notification.booking,
            "email_failed",
            actor="task",
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
        _owe([alert])


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def render_email(notification: Notification) -> EmailMultiAlternatives:
    """The email for an outbox row: subject, plain text, HTML and, where the kind has one, an invite."""
    kind = KINDS[notification.kind]
    booking = notification.booking
    context = email_context(notification)
    template = f"coaching/emails/{notification.kind}"
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={"X-Booking-Reference": booking.reference} if booking else {},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    if kind.ics_method and booking:
        message.attach(_ics_attachment(notification, kind.ics_method))
    return message


def email_context(notification: Notification) -> dict:
    booking = notification.booking
    snapshot = notification.context
    audience = KINDS[notification.kind].audience
    context = {
        "notification": notification,
        # Owner alerts read like the coach's view: the guest's details and both times.
        "audience": GUEST if audience == GUEST else COACH,
        "site_name": settings.WAGTAIL_SITE_NAME,
        "site_url": settings.SITE_URL,
    }
    for key in ("failed_kind", "failed_recipient", "error", "reason"):
        if key in snapshot:
            context[key] = snapshot[key]
    if booking is None:
        return context
    guest_zone = zoneinfo.ZoneInfo(booking.guest_timezone)
    coach_zone = booking.host.zone
    start_at = _instant(snapshot.get("start_at")) or booking.start_at
    end_at = _instant(snapshot.get("end_at")) or booking.end_at
    context.update(
        booking=booking,
        host=booking.host,
        start_at=start_at,
        end_at=end_at,
        when=_both_zones(start_at, end_at, guest_zone, coach_zone),
        duration_minutes=int((end_at - start_at).total_seconds() // 60),
        refund_display=format_money(snapshot.get("refund_amount") or 0, booking.currency),
        refund_amount=snapshot.get("refund_amount") or 0,
        paid_display=format_money(booking.amount_paid, booking.currency),
    )
    old_start_at, old_end_at = _instant(snapshot.get("old_start_at")), _instant(snapshot.get("old_end_at"))
    if old_start_at and old_end_at:
        context["old_when"] = _both_zones(old_start_at, old_end_at, guest_zone, coach_zone)
    if KINDS[notification.kind].audience == GUEST:
        context["manage_url"] = manage_url(booking)
    return context


def _both_zones(start_at, end_at, guest_zone, coach_zone) -> dict:
    """A time range as the guest and as the coach read it (each with its zone named)."""
    return {
        "guest": f"{format_in_zone(start_at, guest_zone)} – {end_at.astimezone(guest_zone):%H:%M}",
        "coach": f"{format_in_zone(start_at, coach_zone)} – {end_at.astimezone(coach_zone):%H:%M}",
        "same_zone": guest_zone.key == coach_zone.key,
    }


def _instant(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _ics_attachment(notification: Notification, method: str) -> MIMEText:
    booking = notification.booking
    snapshot = notification.context
    ics = build_ics(
        booking,
        method=method,
        sequence=snapshot.get("sequence", booking.ics_sequence),
        start_at=_instant(snapshot.get("start_at")),
        end_at=_instant(snapshot.get("end_at")),
    )
    # text/calendar with the method parameter is what makes Outlook and Gmail offer "update" rather
    # than "import"; the filename makes it an attachment everywhere else.
    part = MIMEText(ics.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part
