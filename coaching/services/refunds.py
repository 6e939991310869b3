"""Refunds: owed inside the transaction that decides them, sent to the provider after commit.

No call to Stripe happens while a booking or coach row is locked: a slow or failing Stripe must
never make other guests wait ("we are busy") or hold a lock for seconds. So a refund is decided
and written as a `Refund` row under the lock, and sent after the transaction commits (by the worker,
or in-process in the embedded mode), with one idempotency key per row, so a retry after a timeout
or a lost answer never refunds twice. Transient failures are retried with backoff; a refusal, or
too many failures, marks the row failed, logs it on the booking and tells the owner by email.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from coaching.exceptions import PaymentUnavailable, RefundNotAllowed
from coaching.models import Booking, Refund
from coaching.money import format_money
from coaching.signals import announce
from coaching.vocabulary import Actor, Change, LogAction

from . import payment
from .enqueue import enqueue
from .locks import lock_booking
from .log import log_booking
from .outbox import owe_owner_alert

logger = logging.getLogger(__name__)

SEND_TASK = "coaching.tasks.send_refund_task"
# A claimed refund is not picked up again for this long (a send that outlives it may be repeated,
# which the idempotency key makes harmless).
CLAIM_LEASE = timedelta(minutes=5)


def max_attempts() -> int:
    return getattr(settings, "REFUND_MAX_ATTEMPTS", 8)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after the `attempts`-th failure, capped at an hour."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def refundable_now(booking: Booking) -> int:
    """What is paid and neither refunded nor already owed back."""
    owed = (
        Refund.objects.filter(booking=booking, counts_toward_booking=True, status=Refund.Status.PENDING).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    return max(booking.amount_paid - booking.amount_refunded - owed, 0)


def request_refund(
    *,
    booking: Booking,
    amount: int,
    actor: str,
    user=None,
    reason: str = "",
    payment_intent_id: str | None = None,
    counts_toward_booking: bool = True,
) -> Refund | None:
    """Owe `amount` (minor units) back to the guest; it is sent after the caller's transaction commits.

    Call inside the transaction that decided the refund, with the booking row locked when it counts
    toward the booking. Never owes more than is paid and neither refunded nor already owed. Returns
    the refund, or None when nothing is left to refund. `counts_toward_booking=False` refunds a
    payment that is not the booking's own (a mismatched checkout): it never changes the booking's
    paid or refunded amounts.
    """
    if amount <= 0:
        return None
    if counts_toward_booking:
        amount = min(amount, refundable_now(booking))
        if amount <= 0:
            return None
    refund = Refund.objects.create(
        booking=booking,
        amount=amount,
        currency=booking.currency,
        payment_intent_id=booking.stripe_payment_intent_id if payment_intent_id is None else payment_intent_id,
        counts_toward_booking=counts_toward_booking,
        reason=reason,
        actor=actor,
        actor_user=user if getattr(user, "is_authenticated", False) else None,
    )
    refund_id = refund.pk
    transaction.on_commit(lambda: enqueue(SEND_TASK, refund_id))
    return refund


def refund_part(*, booking: Booking, amount: int, reason: str, user=None, actor: str = Actor.OWNER) -> Refund:
    """The owner refunds part (or all) of what a booking paid, without cancelling it.

    `amount` is in minor units (the admin form converts what the owner typed). Guarantees: never
    more than is paid and neither refunded nor already owed back (checked under the booking's lock,
    so two owners pressing at once cannot over-refund); a reason is kept on the refund and in the
    log; the refund is sent after commit like every other (a refused or timed-out one stays on the
    booking with Retry, and the owner is told). Raises RefundNotAllowed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise RefundNotAllowed("Please give a reason for the refund (it is kept in the booking log).")
    if amount <= 0:
        raise RefundNotAllowed("Enter an amount above zero.")
    with transaction.atomic():
        locked = lock_booking(booking)
        left = refundable_now(locked)
        if left <= 0:
            raise RefundNotAllowed("Nothing is left to refund on this booking.")
        if amount > left:
            raise RefundNotAllowed(
                f"You can refund at most {format_money(left, locked.currency)}: paid "
                f"{format_money(locked.amount_paid, locked.currency)}, already refunded or on the way "
                f"{format_money(locked.amount_paid - left, locked.currency)}."
            )
        refund = request_refund(booking=locked, amount=amount, actor=actor, user=user, reason=reason)
        log_booking(
            locked,
            LogAction.REFUND_REQUESTED,
            actor=actor,
            user=user,
            message=f"Refund of {format_money(amount, locked.currency)} requested: {reason}",
            amount=amount,
            currency=locked.currency,
            refund=refund.pk,
        )
    return refund


def send_refund(refund_id: int, *, now: datetime | None = None) -> str:
    """Send one owed refund if it is due and nobody else is sending it.

    Returns "refunded", "retry" (failed for now, another attempt scheduled), "failed" (refused, or
    too many attempts: the owner is told) or "skipped" (done already, not due, or being sent).
    Never raises for a provider problem, and holds no lock while the provider answers.
    """
    now = now or timezone.now()
    claimed = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
    )
    if not claimed:
        return "skipped"
    refund = Refund.objects.select_related("booking").get(pk=refund_id)
    try:
        provider_id, refunded = payment.send_refund(
            payment_intent_id=refund.payment_intent_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            reference=refund.booking.reference,
        )
    except PaymentUnavailable as exc:
        return _record_failure(refund, exc, transient=True, now=now)
    except payment.StripeRefused as exc:
        return _record_failure(refund, exc, transient=False, now=now)
    _record_success(refund, provider_id=provider_id, refunded=refunded, now=now)
    return "refunded"


def send_due_refunds(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send every owed refund that is due (the periodic safety net). Returns counts per outcome."""
    now = now or timezone.now()
    ids = list(
        Refund.objects.filter(status=Refund.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {}
    for refund_id in ids:
        outcome = send_refund(refund_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def retry_refund(*, refund: Refund, user=None, now: datetime | None = None) -> Refund:
    """The owner's "retry now" for a refund not made yet, sent after commit: a failed one is owed
    again (its attempts start over); a pending one waiting for its next automatic attempt is due now.
    A refund already made is left alone. The idempotency key is the row's, so a retry that overlaps
    an attempt in flight never refunds twice."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Refund.objects.filter(pk=refund.pk, status=Refund.Status.FAILED).update(
            status=Refund.Status.PENDING, attempts=0, next_attempt_at=now, last_error=""
        )
        changed += Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING, next_attempt_at__gt=now).update(
            next_attempt_at=now
        )
        if changed:
            refund_id = refund.pk
            transaction.on_commit(lambda: enqueue(SEND_TASK, refund_id))
    refund.refresh_from_db()
    return refund


def _record_success(refund: Refund, *, provider_id: str, refunded: int, now: datetime) -> None:
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=refund.booking_id)
        Refund.objects.filter(pk=refund.pk).update(
            status=Refund.Status.SUCCEEDED, provider_refund_id=provider_id, completed_at=now, last_error=""
        )
        if refund.counts_toward_booking and provider_id not in booking.stripe_refund_ids:
            booking.amount_refunded = min(booking.amount_paid, booking.amount_refunded + refunded)
            booking.stripe_refund_ids = [*booking.stripe_refund_ids, provider_id]
            booking.save(update_fields=["amount_refunded", "stripe_refund_ids", "updated_at"])
        log_booking(
            booking,
            LogAction.REFUNDED,
            actor=refund.actor,
            user=refund.actor_user,
            message=refund.reason or "Refunded.",
            amount=refunded,
            currency=refund.currency,
            refund_id=provider_id,
            counts_toward_booking=refund.counts_toward_booking,
        )
        if refund.counts_toward_booking:
            announce(booking, Change.REFUNDED, actor=refund.actor, refund_amount=refunded, reason=refund.reason)


def _record_failure(refund: Refund, exc: Exception, *, transient: bool, now: datetime) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    give_up = not transient or refund.attempts >= max_attempts()
    with transaction.atomic():
        if give_up:
            Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.FAILED, last_error=error)
        else:
            Refund.objects.filter(pk=refund.pk).update(
                last_error=error, next_attempt_at=now + retry_delay(refund.attempts)
            )
        booking = refund.booking
        amount = format_money(refund.amount, refund.currency)
        log_booking(
            booking,
            LogAction.REFUND_FAILED,
            actor=Actor.SYSTEM,
            message=f"Refund of {amount} failed (attempt {refund.attempts}): {error}"
            + ("" if give_up else " — it will be retried automatically."),
            amount=refund.amount,
            refund=refund.pk,
            will_retry=not give_up,
        )
        if give_up:
            owe_owner_alert(
                kind="refund_failed",
                booking=booking,
                dedupe_key=f"refund:{refund.pk}:failed:{refund.attempts}",
                context={"amount_display": amount, "error": error, "reason": refund.reason},
            )
        else:
            # Stripe timed out or is down: tried again automatically, but the owner hears of it once,
            # and the booking's page shows it with Retry meanwhile.
            owe_owner_alert(
                kind="refund_delayed",
                booking=booking,
                dedupe_key=f"refund:{refund.pk}:delayed",
                context={"amount_display": amount, "error": error, "reason": refund.reason},
            )
    if give_up:
        logger.error("Refund %s for %s failed: %s", refund.pk, refund.booking.reference, error)
        return "failed"
    logger.warning(
        "Refund %s for %s failed (attempt %s), will retry: %s",
        refund.pk,
        refund.booking.reference,
        refund.attempts,
        error,
    )
    return "retry"
