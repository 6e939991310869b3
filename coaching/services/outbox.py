"""The email outbox: what each booking change owes, written in the change's own transaction.

How a message travels (the README tells the same story for the owner):

1. A service changes a booking and announces it inside its transaction; the receiver calls
   `record_notifications`, which writes one `Notification` row per message owed (guest and coach),
   each with a `dedupe_key` — so the same change recorded twice owes the message once — and a snapshot
   of the times and invite SEQUENCE of *this* change.
2. `transaction.on_commit` enqueues the delivery task for each new row. If the broker is
   unreachable the enqueue fails quietly (logged): the rows are already committed and the periodic
   sweep sends them. A rolled-back booking owes nothing.
3. Delivery (services/delivery.py) claims a row, renders it (services/email_content.py), sends it
   and marks it sent, retrying with backoff.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coaching.models import Booking, Notification, WaitlistEntry
from coaching.vocabulary import Change

from .enqueue import enqueue
from .recurring_email import SERIES_KINDS

DELIVERY_TASK = "coaching.tasks.deliver_notification"

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
    "workshop_moved": Kind(GUEST, "REQUEST"),
    "cancellation": Kind(GUEST, "CANCEL"),
    "workshop_cancelled": Kind(GUEST, "CANCEL"),  # the owner cancelled the workshop: their words, the refund
    "refund": Kind(GUEST),
    "hold_expired": Kind(GUEST),
    "reminder": Kind(GUEST),
    "manage_link": Kind(GUEST),
    "meeting_link": Kind(
        GUEST
    ),  # the Google Meet link, made on the coach's event after booking  # a fresh magic link asked for on the "lost your link?" form
    "coach_new": Kind(COACH),
    "coach_rescheduled": Kind(COACH),
    "coach_cancelled": Kind(COACH),
    "delivery_failed": Kind(OWNER),
    "refund_failed": Kind(OWNER),  # a refund Stripe refused, or that failed too often: refund by hand
    "payment_flagged": Kind(OWNER),  # a payment that does not match its booking: not confirmed, refunded
    "refund_delayed": Kind(OWNER),  # Stripe timed out or was down: retried automatically, Retry meanwhile
    "google_broken": Kind(OWNER),  # a coach's Google Calendar connection stopped working: reconnect it
    "payment_link": Kind(GUEST),  # the owner booked for a client who pays online: the checkout link
    # A workshop's waiting list (the row names a WaitlistEntry, not a booking).
    "waitlist_joined": Kind(GUEST),  # you are on the list, number n; the link to leave it
    "waitlist_offer": Kind(GUEST),  # seats are held for you until …: the claim link
    "waitlist_lapsed": Kind(GUEST),  # the offer was not claimed in time; the seats went to the next in line
    "waitlist_closed": Kind(GUEST),  # the workshop was cancelled: the owner's words
    # A package purchase (the row names a PackagePurchase): its link, code, credits and expiry.
    "package_purchased": Kind(GUEST),
    "package_payment_flagged": Kind(OWNER),  # a package payment that does not match its order: no credits
}

# Which messages each booking change owes. "held" owes nothing: the guest is on the payment page.
CHANGE_MESSAGES = {
    Change.CONFIRMED: ("confirmation", "coach_new"),
    Change.RESCHEDULED: ("reschedule", "coach_rescheduled"),
    # The coach gets nothing: the host moved the workshop or the owner did, and one email per seat
    # would only repeat it.
    Change.WORKSHOP_MOVED: ("workshop_moved",),
    Change.CANCELLED: ("cancellation", "coach_cancelled"),
    # The host gets no email per seat: the owner cancelled the whole workshop.
    Change.WORKSHOP_CANCELLED: ("workshop_cancelled",),
    Change.EXPIRED: ("hold_expired",),
    # Nothing: the guest pressed "back" on the checkout a moment ago and our page tells them
    # "Payment cancelled — nothing was booked". A "hold expired" email would be wrong, and a
    # cancellation (with a CANCEL invite for an event they never received) confusing.
    Change.CHECKOUT_CANCELLED: (),
    Change.PAYMENT_RECEIVED: ("payment_received",),
    Change.PAYMENT_FAILED: ("payment_failed",),
    Change.REFUNDED: ("refund",),
    Change.HELD: (),
    Change.MEETING_LINK: ("meeting_link",),
}

# A claimed row is not picked up again for this long (a send that outlives it may be repeated).
CLAIM_LEASE = timedelta(minutes=5)


def max_attempts() -> int:
    return getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", 6)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: base, 2×base, 4×base … capped at one hour."""
    base = getattr(settings, "NOTIFICATION_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def record_notifications(*, booking: Booking, change: str, **extra) -> list[Notification]:
    """Write the outbox rows that `change` of `booking` owes and schedule their delivery on commit.

    Must run inside the transaction that made the change (the `booking_changed` receiver does).
    Idempotent: recording the same change again owes nothing new. Returns the rows owed now.
    """
    kinds = list(CHANGE_MESSAGES.get(change, ()))
    if not kinds:
        return []
    if change == Change.CANCELLED and booking.confirmed_at is None:
        # An unpaid hold that is withdrawn was never the coach's booking.
        kinds = [kind for kind in kinds if KINDS[kind].audience != COACH]
    if change == Change.REFUNDED and _refund_already_announced(booking):
        return []
    if change == Change.WORKSHOP_MOVED and booking.status != Booking.Status.CONFIRMED:
        # A hold's guest is still paying: the confirmation they get next carries the new time.
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
    return owe(rows)


def record_reminder(booking: Booking) -> list[Notification]:
    """Owe the reminder for the booking's current start (once per start, however often called)."""
    row = Notification(
        booking=booking,
        kind="reminder",
        recipient=booking.guest_email,
        dedupe_key=f"booking:{booking.pk}:reminder:{booking.start_at.isoformat()}",
        context=_snapshot(booking, "reminder", {}),
    )
    return owe([row])


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
    return owe([row])


def record_waitlist_message(entry: WaitlistEntry, kind: str, **extra) -> list[Notification]:
    """Owe the guest of a waiting-list entry the `kind` message (once per entry and kind), inside the
    transaction that changed the entry. `extra` (position, message) is kept with the row."""
    snapshot = {
        "start_at": entry.workshop.start_at.isoformat(),
        "end_at": entry.workshop.end_at.isoformat(),
        "seats": entry.seats,
    }
    if entry.offer_expires_at is not None:
        snapshot["offer_expires_at"] = entry.offer_expires_at.isoformat()
    snapshot.update({name: value for name, value in extra.items() if value is not None})
    row = Notification(
        waitlist_entry=entry,
        kind=kind,
        recipient=entry.guest_email,
        dedupe_key=f"waitlist:{entry.pk}:{kind}",
        context=snapshot,
    )
    return owe([row])


def record_package_message(purchase, kind: str) -> list[Notification]:
    """Owe the buyer of a package purchase the `kind` message (once per purchase and kind), inside
    the transaction that made the purchase."""
    row = Notification(
        package_purchase=purchase,
        kind=kind,
        recipient=purchase.buyer_email,
        dedupe_key=f"package:{purchase.pk}:{kind}",
        context={"expires_at": purchase.expires_at.isoformat(), "credits_total": purchase.credits_total},
    )
    return owe([row])


def owe_owner_alert(*, kind: str, dedupe_key: str, context: dict, booking: Booking | None = None) -> list[Notification]:
    """Owe the owner (OWNER_EMAIL) an alert of `kind`, once per `dedupe_key`. Inside the caller's
    transaction, like every other owed message; nothing when no OWNER_EMAIL is set."""
    if not settings.OWNER_EMAIL:
        return []
    return owe(
        [
            Notification(
                booking=booking, kind=kind, recipient=settings.OWNER_EMAIL, dedupe_key=dedupe_key, context=context
            )
        ]
    )


def owe(rows: list[Notification]) -> list[Notification]:
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
    if booking.series_id and kind in SERIES_KINDS:
        # Making or paying for a recurring series owes these once for the whole series: the first
        # occurrence to announce the change carries them, and the email lists every occurrence.
        return f"series:{booking.series_id}:{kind}"
    if kind in ("payment_received", "hold_expired"):
        return f"booking:{booking.pk}:{kind}"
    if kind == "refund":
        return f"booking:{booking.pk}:refund:{booking.amount_refunded}"
    # One message per change of the invite: the services bump ics_sequence on every reschedule,
    # workshop move and cancellation.
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
    keys = [_dedupe_key(booking, kind) for kind in ("cancellation", "workshop_cancelled")]
    announced = Notification.objects.filter(dedupe_key__in=keys).values_list("context", flat=True).first()
    return announced is not None and (announced.get("refund_amount") or 0) >= booking.amount_refunded


def schedule_delivery(notification_ids: list[int]) -> None:
    """Hand rows to the worker. A broker outage only delays them: the periodic sweep sends them."""
    for notification_id in notification_ids:
        if not enqueue(DELIVERY_TASK, notification_id):
            return  # the broker is down: the rest would fail the same way; the sweep sends them
