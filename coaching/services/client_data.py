"""A client's data (UK/EU GDPR): "what do you hold about me?" (export) and "delete me" (erase).

Both work on one email address, within a scope the caller gives (the owner: every booking; a
coach: their own), and both are logged on every booking they touch.

Erasing keeps the business's records and drops the person: name, email, phone, notes, intake
answers and the payment note are replaced or removed; every mention of the name or the address in
the log, refund reasons and the outbox is replaced by "[erased]"; emails still owed to the client are
not sent; the coach's Google Calendar event loses the client's name, address and notes (patched
through the Google sync task after commit). Amounts, dates, statuses, references and the audit
trail (every log entry, with its action, time and author) stay.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from coaching.exceptions import ClientNotFound
from coaching.models import Booking, BookingLog, Notification, Refund, WaitlistEntry
from coaching.models.session_types import CHOICE_KINDS, QuestionKind
from coaching.vocabulary import Actor, LogAction

from .enqueue import enqueue
from .google_sync import PATCH_TASK, is_connected
from .log import log_booking

logger = logging.getLogger(__name__)

ERASED = "[erased]"
ERASED_NAME = "Erased client"
# Which booking fields the export lists, in this order (the intake answers follow when present).
BOOKING_FIELDS = (
    "reference",
    "status",
    "session_title",
    "session_minutes",
    "start_at",
    "end_at",
    "seats",
    "guest_name",
    "guest_email",
    "guest_phone",
    "guest_notes",
    "guest_timezone",
    "currency",
    "amount_due",
    "amount_paid",
    "amount_refunded",
    "payment_note",
    "attendance",
    "reschedule_count",
    "created_at",
    "confirmed_at",
    "cancelled_at",
    "erased_at",
)


def normalise_email(email: str) -> str:
    return (email or "").strip()


def client_bookings(*, email: str, bookings: QuerySet[Booking]) -> QuerySet[Booking]:
    """The bookings in `bookings` (the caller's scope) made with this email address, any case."""
    return bookings.filter(guest_email__iexact=normalise_email(email))


def client_waitlist(*, email: str, waitlist: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    return waitlist.filter(guest_email__iexact=normalise_email(email))


def _when(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def export_client(
    *,
    email: str,
    bookings: QuerySet[Booking],
    waitlist: QuerySet[WaitlistEntry],
    user=None,
    now: datetime | None = None,
) -> dict:
    """Everything held about `email` inside the scope: every booking (its fields, intake answers,
    log entries, refunds and emails) and waiting-list entry. Logged on each booking exported.
    Raises ClientNotFound when the scope holds nothing for that address."""
    now = now or timezone.now()
    email = normalise_email(email)
    rows = list(
        client_bookings(email=email, bookings=bookings)
        .select_related("coach", "workshop")
        .prefetch_related("log_entries__actor_user", "notifications", "refunds")
        .order_by("start_at", "pk")
    )
    entries = list(client_waitlist(email=email, waitlist=waitlist).select_related("workshop").order_by("joined_at"))
    if not rows and not entries:
        raise ClientNotFound(f"No bookings or waiting-list entries for {email}.")
    entry_notifications = Notification.objects.filter(waitlist_entry__in=entries).order_by("created_at", "pk")
    export = {
        "email": email,
        "exported_at": now.isoformat(),
        "exported_by": user.get_username() if getattr(user, "is_authenticated", False) else "",
        "bookings": [_booking_export(booking) for booking in rows],
        "waiting_list": [
            {
                "reference": entry.reference,
                "workshop": entry.workshop.title,
                "seats": entry.seats,
                "status": entry.status,
                "guest_name": entry.guest_name,
                "guest_email": entry.guest_email,
                "guest_timezone": entry.guest_timezone,
                "joined_at": _when(entry.joined_at),
                "notifications": [
                    _notification_export(row) for row in entry_notifications if row.waitlist_entry_id == entry.pk
                ],
            }
            for entry in entries
        ],
    }
    with transaction.atomic():
        for booking in rows:
            log_booking(
                booking,
                LogAction.CLIENT_EXPORTED,
                actor=Actor.OWNER,
                user=user,
                message="The client's data was exported (everything held about their email address).",
            )
    logger.info("Client data of %s booking(s) exported by %s", len(rows), export["exported_by"] or "system")
    return export


def _booking_export(booking: Booking) -> dict:
    data = {name: _when(getattr(booking, name)) for name in BOOKING_FIELDS}
    data["what"] = booking.title
    data["intake_answers"] = booking.intake_answers or []
    data["log"] = [
        {
            "at": _when(entry.at),
            "action": entry.action,
            "by": entry.actor,
            "user": entry.actor_user.get_username() if entry.actor_user else "",
            "message": entry.message,
        }
        for entry in booking.log_entries.all()
    ]
    data["refunds"] = [
        {
            "amount": refund.amount,
            "currency": refund.currency,
            "status": refund.status,
            "reason": refund.reason,
            "created_at": _when(refund.created_at),
        }
        for refund in booking.refunds.all()
    ]
    data["notifications"] = [_notification_export(row) for row in booking.notifications.all()]
    return data


def _notification_export(row: Notification) -> dict:
    return {
        "created_at": _when(row.created_at),
        "kind": row.kind,
        "recipient": row.recipient,
        "status": row.status,
        "attempts": row.attempts,
        "sent_at": _when(row.sent_at),
    }


def export_as_csv(export: dict, *, neutralise=lambda value: value) -> str:
    """The export as one CSV: a row per fact (section, reference, when, name, value). `neutralise`
    makes each cell safe for a spreadsheet (the back office passes its formula guard)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "reference", "at", "name", "value"])

    def row(*cells):
        writer.writerow([neutralise("" if cell is None else str(cell)) for cell in cells])

    for booking in export["bookings"]:
        reference = booking["reference"]
        for name, value in booking.items():
            if name in ("log", "refunds", "notifications"):
                continue
            row("booking", reference, "", name, json.dumps(value) if isinstance(value, (dict, list)) else value)
        for entry in booking["log"]:
            row("log", reference, entry["at"], entry["action"], f"{entry['by']} {entry['user']}: {entry['message']}")
        for refund in booking["refunds"]:
            row(
                "refund",
                reference,
                refund["created_at"],
                refund["status"],
                f"{refund['amount']} {refund['currency']}: {refund['reason']}",
            )
        for note in booking["notifications"]:
            row("notification", reference, note["created_at"], note["kind"], f"{note['status']} to {note['recipient']}")
    for entry in export["waiting_list"]:
        for name in ("workshop", "seats", "status", "guest_name", "guest_email", "guest_timezone", "joined_at"):
            row("waiting_list", entry["reference"], "", name, entry[name])
        for note in entry["notifications"]:
            row(
                "notification",
                entry["reference"],
                note["created_at"],
                note["kind"],
                f"{note['status']} to {note['recipient']}",
            )
    return out.getvalue()


@dataclass
class Erasure:
    email: str
    bookings: list[Booking] = field(default_factory=list)
    waitlist_entries: int = 0
    notifications_stopped: int = 0
    google_events: int = 0


def erase_client(
    *,
    email: str,
    bookings: QuerySet[Booking],
    waitlist: QuerySet[WaitlistEntry],
    user=None,
    now: datetime | None = None,
) -> Erasure:
    """Erase the person behind `email` from the bookings and waiting-list entries in scope, in one
    transaction; the Google events are patched after commit. See the module's docstring for what
    goes and what stays. Raises ClientNotFound when the scope holds nothing for that address."""
    now = now or timezone.now()
    email = normalise_email(email)
    booking_ids = list(client_bookings(email=email, bookings=bookings).values_list("pk", flat=True))
    entry_ids = list(client_waitlist(email=email, waitlist=waitlist).values_list("pk", flat=True))
    if not booking_ids and not entry_ids:
        raise ClientNotFound(f"No bookings or waiting-list entries for {email}.")
    result = Erasure(email=email)
    with transaction.atomic():
        # Locked in id order, like every other writer of bookings (services/locks.py).
        rows = list(Booking.objects.select_for_update().filter(pk__in=booking_ids).order_by("pk"))
        entries = list(WaitlistEntry.objects.select_for_update().filter(pk__in=entry_ids).order_by("pk"))
        answers = [booking.intake_answers for booking in rows]
        terms = {email} | {b.guest_name for b in rows} | {e.guest_name for e in entries}
        terms |= {b.guest_email for b in rows} | {e.guest_email for e in entries}
        terms |= {text for b in rows for text in (b.guest_phone, b.guest_notes, b.payment_note) if text}
        scrub = _scrubber(terms, answers)

        notifications = Notification.objects.filter(Q(booking_id__in=booking_ids) | Q(waitlist_entry_id__in=entry_ids))
        client_addresses = {term.lower() for term in terms if "@" in term}
        for row in notifications.select_for_update().order_by("pk"):
            to_client = row.recipient.lower() in client_addresses
            update = {"context": json.loads(scrub(json.dumps(row.context, ensure_ascii=False)))}
            update["last_error"] = scrub(row.last_error)
            if to_client:
                update["recipient"] = _placeholder_email(row.booking.reference if row.booking_id else "waitlist")
                if row.status == Notification.Status.PENDING:
                    update["status"] = Notification.Status.FAILED
                    update["last_error"] = "Not sent: the client's data was erased."
                    result.notifications_stopped += 1
            Notification.objects.filter(pk=row.pk).update(**update)

        for entry in BookingLog.objects.filter(booking_id__in=booking_ids).order_by("pk"):
            # The audit trail stays (each entry's time, action and author); only the person goes.
            # A queryset update: the log refuses to be rewritten through save().
            message, data = scrub(entry.message), json.loads(scrub(json.dumps(entry.data, ensure_ascii=False)))
            if message != entry.message or data != entry.data:
                BookingLog.objects.filter(pk=entry.pk).update(message=message, data=data)
        for refund in Refund.objects.filter(booking_id__in=booking_ids):
            if scrub(refund.reason) != refund.reason:
                Refund.objects.filter(pk=refund.pk).update(reason=scrub(refund.reason))

        for booking in rows:
            booking.guest_name = ERASED_NAME
            booking.guest_email = _placeholder_email(booking.reference)
            booking.guest_phone = ""
            booking.guest_notes = ""
            booking.payment_note = ""
            booking.user = None
            booking.erased_at = now
            booking.intake_answers = [_erased_answer(answer) for answer in booking.intake_answers or []]
            fields = ["guest_name", "guest_email", "guest_phone", "guest_notes", "payment_note", "user", "erased_at"]
            booking.save(update_fields=[*fields, "intake_answers", "updated_at"])
            log_booking(
                booking,
                LogAction.CLIENT_ERASED,
                actor=Actor.OWNER,
                user=user,
                message="The client's personal data was erased at their request; amounts, dates and this log are kept.",
            )
            if booking.google_event_id and booking.status == Booking.Status.CONFIRMED and is_connected(booking.coach):
                booking_id = booking.pk
                transaction.on_commit(lambda booking_id=booking_id: enqueue(PATCH_TASK, booking_id))
                result.google_events += 1
            result.bookings.append(booking)

        for entry in entries:
            WaitlistEntry.objects.filter(pk=entry.pk).update(
                guest_name=ERASED_NAME, guest_email=_placeholder_email(entry.reference)
            )
        result.waitlist_entries = len(entries)
    logger.info(
        "Client data erased from %s booking(s) and %s waiting-list entr(ies) by %s",
        len(result.bookings),
        result.waitlist_entries,
        user.get_username() if getattr(user, "is_authenticated", False) else "system",
    )
    return result


def _erased_answer(answer: dict) -> dict:
    """An intake answer with the person taken out: a picked choice or a yes/no stays (it names
    nobody, and the owner's statistics keep it); anything typed goes."""
    if answer.get("kind") in (*CHOICE_KINDS, QuestionKind.YES_NO):
        return answer
    return {**answer, "answer": ""}


def _placeholder_email(reference: str) -> str:
    # A reserved domain (RFC 2606): it can never deliver, and it never names the person.
    return f"erased-{reference.lower()}@erased.invalid"


def _scrubber(terms: set[str], answers: list) -> callable:
    """A function that replaces every mention of the person (name, address, phone, intake answers
    that are long enough to be telling) in a text by "[erased]", in any case."""
    words = {term.strip() for term in terms if term and len(term.strip()) >= 3}
    for booking_answers in answers:
        for answer in booking_answers or []:
            if answer.get("kind") not in (*CHOICE_KINDS, QuestionKind.YES_NO):
                text = str(answer.get("answer") or "").strip()
                if len(text) >= 4:
                    words.add(text)
    if not words:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    return lambda text: pattern.sub(ERASED, text) if text else text
