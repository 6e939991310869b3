"""Packages of sessions: buying one, spending its credits, giving a credit back, the owner's changes.

- **Buying.** `start_package_checkout` writes a `PackageOrder` (price fixed here, a promotion code
  applied under its lock) and opens a checkout for it (Stripe, or the built-in test checkout).
  Only the webhook's paid event makes the `PackagePurchase` (`package_session_event`, called by
  services/stripe_events.py for checkouts whose metadata says `purpose=package`): signed,
  recorded once, idempotent under the order's lock. A payment that does not match its order is
  never turned into credits (the owner is told); a payment that arrives after the checkout was
  left or expired is honoured (nothing scarce was held). The buyer is emailed the package link.
- **Spending.** `CreditTender` is create_booking's `tender`: under the purchase's row lock, in the
  booking's own transaction, it checks the package covers the session (its coach and, when the
  package names some, its session types), has not expired (the
  session must start before it does) and has a credit left, and takes one. Two guests can never
  spend the last credit twice.
- **Giving back.** A booking cancelled inside the policy's cut-off (or by the owner) returns its
  credit; cancelled later, the credit stays spent (`settle_credit_after_cancel`, from the receiver).
- **The owner** extends a package's expiry or adjusts its credits; both are logged with a reason.
"""

from __future__ import annotations

import logging
import secrets
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from coaching import policy
from coaching.exceptions import (
    BookingError,
    InvalidCode,
    InvalidDetails,
    PackageNotForSale,
    PackageNotUsable,
    PaymentUnavailable,
)
from coaching.integrations import stripe as stripe_api
from coaching.links import InvalidPackageLink, make_package_cancel_token, read_package_token
from coaching.models import (
    Booking,
    CreditUse,
    Package,
    PackageLog,
    PackageOrder,
    PackagePurchase,
    PromotionRedemption,
)
from coaching.models.packages import PackageAction, normalise_code
from coaching.money import format_money
from coaching.vocabulary import Actor, Change
from coaching.wallclock import format_in_zone

from . import payment
from .booking import Guest, validate_guest
from .locks import LOCKING_ENABLED, booking_transaction
from .outbox import owe_owner_alert, record_package_message
from .promotions import PromotionTender, find_promotion, record_redemption, release_redemption, take_promotion

logger = logging.getLogger(__name__)

# What a package checkout's metadata says it buys (services/stripe_events.py dispatches on it).
PURPOSE = "package"
CHECKOUT_LIFETIME = PackageOrder.CHECKOUT_LIFETIME


# --- buying ---------------------------------------------------------------------------------------


def start_package_checkout(
    *, package: Package, buyer: Guest, promotion_code: str = "", now: datetime | None = None
) -> tuple[PackageOrder, str]:
    """Write the order for `package` (its price, less a promotion code's discount taken under the
    code's lock) and open its checkout. Returns the order and the URL to send the buyer to.

    Raises PackageNotForSale, InvalidDetails, InvalidCode / CodeUsedUp, or PaymentUnavailable (the
    order is then closed and the code's use given back). Creates no purchase: the webhook does.
    """
    now = now or timezone.now()
    validate_guest(buyer)
    with booking_transaction():  # a lock wait past the timeout is a friendly "busy, try again"
        package = Package.objects.select_related("coach").get(pk=package.pk)
        if not package.is_active or not package.coach.is_active:
            raise PackageNotForSale()
        order = PackageOrder(
            package=package,
            buyer_name=buyer.name.strip(),
            buyer_email=buyer.email.strip(),
            buyer_timezone=buyer.timezone,
            currency=package.currency,
            amount_due=package.price_amount,
        )
        code = None
        if promotion_code.strip():
            code = find_promotion(promotion_code)
            if code is None:
                raise InvalidCode()
            code, order.discount_amount = take_promotion(
                code, amount=order.amount_due, currency=order.currency, now=now, package=package
            )
            order.amount_due -= order.discount_amount
            if order.amount_due <= 0:
                # Credits come only from a paid checkout: the webhook is the one door to a purchase.
                raise InvalidCode("This code cannot make a package free. Please contact us instead.")
        try:
            order.full_clean(exclude=["reference", "stripe_checkout_session_id"], validate_constraints=False)
        except ValidationError as exc:
            raise InvalidDetails("Please check your name and email.") from exc
        order.save()
        if code is not None:
            record_redemption(code, discount=order.discount_amount, currency=order.currency, package_order=order)
    try:
        url = _open_checkout(order)
    except BookingError:
        close_order(order, PackageOrder.Status.CANCELLED)
        raise
    except Exception as exc:
        logger.exception("Checkout could not start for package order %s", order.reference)
        close_order(order, PackageOrder.Status.CANCELLED)
        raise PaymentUnavailable() from exc
    return order, url


def success_url(session_id: str = "{CHECKOUT_SESSION_ID}") -> str:
    return f"{settings.SITE_URL}{reverse('coaching:package_checkout_return')}?session_id={session_id}"


def cancel_url(order: PackageOrder) -> str:
    token = make_package_cancel_token(order)
    return f"{settings.SITE_URL}{reverse('coaching:package_checkout_cancel')}?{urlencode({'order': token})}"


def _open_checkout(order: PackageOrder) -> str:
    package = order.package
    if stripe_api.is_configured():
        session = stripe_api.create_checkout_session(
            reference=order.reference,
            product_name=package.title,
            description=f"{package.credits} sessions with {package.coach.name}, to use within "
            f"{package.validity_days} days",
            unit_amount=order.amount_due,
            quantity=1,
            currency=order.currency,
            customer_email=order.buyer_email,
            success_url=success_url(),
            cancel_url=cancel_url(order),
            expires_at=order.created_at + CHECKOUT_LIFETIME,
            idempotency_key=f"package-order-{order.reference}-checkout",
            metadata={"purpose": PURPOSE, "package_order": order.reference},
        )
        session_id, url = session.id, session.url
    elif stripe_api.test_checkout_enabled():
        session_id = order.stripe_checkout_session_id or payment.LOCAL_SESSION_PREFIX + secrets.token_urlsafe(24)
        url = f"{settings.SITE_URL}{reverse('coaching:package_test_checkout', args=[session_id])}"
    else:
        raise PaymentUnavailable("Online payment is not set up yet. Please contact us to buy this package.")
    PackageOrder.objects.filter(pk=order.pk).update(stripe_checkout_session_id=session_id)
    order.stripe_checkout_session_id = session_id
    return url


def close_order(order: PackageOrder, status: str) -> bool:
    """An order that will not be paid (left, expired, failed): closed, its code's use given back.
    False when it is no longer open (paid, or closed already)."""
    with transaction.atomic():
        locked = PackageOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status != PackageOrder.Status.OPEN:
            return False
        locked.status = status
        locked.save(update_fields=["status"])
        release_redemption(package_order=locked)
    order.refresh_from_db()
    return True


def abandon_package_checkout(order: PackageOrder) -> bool:
    """The buyer pressed "back" on the checkout: close the order and the provider's session."""
    closed = close_order(order, PackageOrder.Status.CANCELLED)
    if closed and order.stripe_checkout_session_id and not payment.is_local_session(order.stripe_checkout_session_id):
        try:
            stripe_api.expire_checkout_session(order.stripe_checkout_session_id)
        except (stripe_api.StripeRefused, PaymentUnavailable) as exc:
            logger.info("Package checkout %s not expired: %s", order.stripe_checkout_session_id, exc)
    return closed


# --- what the webhook says -------------------------------------------------------------------------


def order_for_checkout(*, reference: str = "", session_id: str = "") -> PackageOrder | None:
    query = PackageOrder.objects.select_related("package__coach")
    order = query.filter(reference=reference).first() if reference else None
    if order is None and session_id:
        order = query.filter(stripe_checkout_session_id=session_id).first()
    return order


def order_payment_mismatch(order: PackageOrder, *, session_id: str, currency: str, amount_total: int | None) -> str:
    """Why this paid session cannot pay for `order` ('' when it can)."""
    if session_id != order.stripe_checkout_session_id:
        return f"paid through checkout session {session_id}, which is not this order's"
    if currency != order.currency.upper():
        return f"paid in {currency or 'an unknown currency'}, but the package is in {order.currency}"
    if amount_total is None or amount_total < order.amount_due:
        return (
            f"paid {format_money(amount_total or 0, order.currency)}, but the package costs "
            f"{format_money(order.amount_due, order.currency)}"
        )
    return ""


def package_session_event(event_type: str, facts, *, paid_event: bool, now: datetime | None = None) -> str:
    """Apply a verified checkout.session.* event of a package checkout (inside the webhook's
    transaction, which has recorded the event id). Returns the outcome."""
    order = order_for_checkout(reference=facts.reference, session_id=facts.session_id)
    if order is None:
        logger.warning("Stripe %s for unknown package order (session %s)", event_type, facts.session_id)
        return "unknown_package_order"
    if paid_event:
        if facts.payment_status != "paid":
            return "awaiting_payment"
        return record_package_payment(
            order=order,
            session_id=facts.session_id,
            amount_total=facts.amount_total,
            currency=facts.currency,
            payment_intent_id=facts.payment_intent_id,
            now=now,
        )
    if facts.session_id != order.stripe_checkout_session_id:
        return "ignored"
    failed = event_type == "checkout.session.async_payment_failed"
    closed = close_order(order, PackageOrder.Status.FAILED if failed else PackageOrder.Status.EXPIRED)
    return "released" if closed else "ignored"


def record_package_payment(
    *,
    order: PackageOrder,
    session_id: str,
    amount_total: int | None,
    currency: str,
    payment_intent_id: str,
    now: datetime | None = None,
) -> str:
    """Turn a paid order into its purchase, once, under the order's lock; email the package link.

    Idempotent: a second delivery (or a concurrent one) finds the purchase made. A payment for an
    order left or expired meanwhile still makes the purchase: the buyer paid and nothing was held.
    A payment that does not match the order makes nothing; the owner is told."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = PackageOrder.objects.select_for_update().select_related("package").get(pk=order.pk)
        if PackagePurchase.objects.filter(order=locked).exists():
            return "paid"
        problem = order_payment_mismatch(locked, session_id=session_id, currency=currency, amount_total=amount_total)
        if problem:
            logger.error("Stripe session %s does not match package order %s: %s", session_id, locked.reference, problem)
            owe_owner_alert(
                kind="package_payment_flagged",
                dedupe_key=f"package-payment-flagged:{session_id}:{payment_intent_id}",
                context={
                    "problem": problem,
                    "order_reference": locked.reference,
                    "package_title": locked.package.title,
                    "buyer_email": locked.buyer_email,
                    "amount_display": format_money(amount_total or 0, currency or locked.currency),
                },
            )
            return "flagged"
        locked.status = PackageOrder.Status.PAID
        locked.amount_paid = amount_total
        locked.stripe_payment_intent_id = payment_intent_id
        locked.paid_at = now
        locked.save(update_fields=["status", "amount_paid", "stripe_payment_intent_id", "paid_at"])
        # A checkout left or expired had given its code's use back; paid after all, it counts again.
        PromotionRedemption.objects.filter(package_order=locked).update(released_at=None)
        package = locked.package
        purchase = PackagePurchase.objects.create(
            order=locked,
            package=package,
            buyer_name=locked.buyer_name,
            buyer_email=locked.buyer_email,
            buyer_timezone=locked.buyer_timezone,
            credits_total=package.credits,
            purchased_at=now,
            expires_at=now + timedelta(days=package.validity_days),
        )
        log_package(
            purchase,
            PackageAction.PAID,
            actor=Actor.WEBHOOK,
            message=f"Paid {format_money(amount_total, locked.currency)}: {package.credits} credits, "
            f"to use by {purchase.expires_at:%Y-%m-%d}.",
            credits_delta=package.credits,
            payment_intent=payment_intent_id,
        )
        record_package_message(purchase, "package_purchased")
    return "package_paid"


# --- spending a credit ---------------------------------------------------------------------------


def purchase_for_code(text: str) -> PackagePurchase | None:
    code = normalise_code(text)
    if not code:
        return None
    return PackagePurchase.objects.select_related("package__coach", "order").filter(code=code).first()


def purchase_for_token(token: str) -> PackagePurchase:
    """The purchase a signed package link names. Raises InvalidPackageLink."""
    reference = read_package_token(token)
    purchase = (
        PackagePurchase.objects.select_related("package__coach", "order").filter(order__reference=reference).first()
    )
    if purchase is None:
        raise InvalidPackageLink()
    return purchase


def lock_purchase(purchase: PackagePurchase) -> PackagePurchase:
    query = PackagePurchase.objects.select_for_update() if LOCKING_ENABLED else PackagePurchase.objects
    return query.select_related("package", "order").get(pk=purchase.pk)


def coverage_refusal(package: Package, booking: Booking) -> str:
    """Why `package` does not cover this booking ('' when it does)."""
    coach_name = package.coach.name
    if booking.workshop_id:
        return f"This package is for 1-on-1 sessions with {coach_name}, not workshops."
    if booking.coach_id != package.coach_id:
        return f"This package is for sessions with {coach_name}."
    covered = list(package.session_types.all())
    if covered and booking.session_type_id not in {session_type.pk for session_type in covered}:
        titles = " or ".join(f"“{session_type.title}”" for session_type in covered)
        return f"This package pays for {titles} sessions, not “{booking.session_title}”."
    return ""


def credit_refusal(purchase: PackagePurchase, *, start_at: datetime, now: datetime) -> str:
    """Why no credit of `purchase` can pay for a session starting at `start_at` now ('' when one can)."""
    expires = format_in_zone(purchase.expires_at, _zone(purchase))
    if purchase.ended_at is not None:
        return "This package has been closed. Please contact us if you think this is a mistake."
    if purchase.is_expired(now):
        return f"This package expired on {expires}."
    if start_at >= purchase.expires_at:
        return f"This package expires on {expires}, before this session. Please pick an earlier time."
    if purchase.credits_left <= 0:
        return f"All {purchase.credits_total} sessions of this package have been booked."
    return ""


def _zone(purchase: PackagePurchase):
    return zoneinfo.ZoneInfo(purchase.buyer_timezone)


class CreditTender:
    """A package credit paying for a whole booking (create_booking's `tender`)."""

    def __init__(self, purchase: PackagePurchase, *, actor: str = Actor.GUEST, user=None):
        self.purchase = purchase
        self.actor = actor
        self.user = user
        self.note = ""

    def charge(self, booking: Booking, *, now: datetime) -> None:
        """Under the purchase's lock (after the coach's, in the booking's transaction): take one
        credit, or raise PackageNotUsable. The booking then has nothing to pay."""
        refusal = coverage_refusal(self.purchase.package, booking)
        if refusal:
            raise PackageNotUsable(refusal)
        locked = lock_purchase(self.purchase)
        refusal = credit_refusal(locked, start_at=booking.start_at, now=now)
        if refusal:
            raise PackageNotUsable(refusal)
        locked.credits_used += 1
        locked.save(update_fields=["credits_used"])
        self.purchase = locked
        booking.amount_due = 0
        self.note = f"Paid with a credit of package {locked.reference} ({locked.credits_left} left)."

    def check_series(self, bookings: list[Booking], *, now: datetime) -> None:
        """A recurring series paid with credits (services/recurring.py, under the coach's lock, before
        any occurrence is saved): lock the purchase and refuse the whole series (PackageNotUsable)
        unless the package covers the type, lasts past the last occurrence and has a credit for each.
        Each occurrence is then charged by `charge`, as a single booking is."""
        refusal = coverage_refusal(self.purchase.package, bookings[0])
        if refusal:
            raise PackageNotUsable(refusal)
        locked = lock_purchase(self.purchase)
        last = max(booking.start_at for booking in bookings)
        if locked.ended_at is None and not locked.is_expired(now) and last >= locked.expires_at:
            expires = format_in_zone(locked.expires_at, _zone(locked))
            refusal = f"This package expires on {expires}, before the last session of this series."
        refusal = refusal or credit_refusal(locked, start_at=last, now=now)
        if not refusal and locked.credits_left < len(bookings):
            left = locked.credits_left
            refusal = (
                f"This package has {left} session{'s' if left != 1 else ''} left and this series needs "
                f"{len(bookings)}. Please untick some dates or choose fewer sessions."
            )
        if refusal:
            raise PackageNotUsable(f"{refusal} Nothing was booked.")
        self.purchase = locked

    def spent(self, booking: Booking, *, now: datetime) -> None:
        CreditUse.objects.create(purchase=self.purchase, booking=booking, used_at=now)
        log_package(
            self.purchase,
            PackageAction.CREDIT_USED,
            actor=self.actor,
            user=self.user,
            message=f"Booked {booking.reference} ({format_in_zone(booking.start_at, booking.host.zone)}).",
            credits_delta=-1,
            booking=booking.reference,
        )


def tender_for_code(text: str, *, actor: str = Actor.GUEST, user=None):
    """What pays with the code typed on a booking form: a package credit or a promotion code.
    None for an empty box; raises InvalidCode for a code we do not know."""
    if not normalise_code(text):
        return None
    purchase = purchase_for_code(text)
    if purchase is not None:
        return CreditTender(purchase, actor=actor, user=user)
    code = find_promotion(text)
    if code is not None:
        return PromotionTender(code)
    raise InvalidCode()


# --- giving a credit back --------------------------------------------------------------------------

CANCEL_CHANGES = (Change.CANCELLED, Change.WORKSHOP_CANCELLED)
# An unpaid hold that ends gives its promotion code's use back.
LAPSE_CHANGES = (Change.EXPIRED, Change.CHECKOUT_CANCELLED, Change.PAYMENT_FAILED)


def settle_after_change(*, booking: Booking, change: str, actor: str) -> None:
    """What a booking's change means for the credit or code it used (the `booking_changed`
    receiver, inside the change's transaction)."""
    if change in CANCEL_CHANGES:
        settle_credit_after_cancel(booking, actor=actor)
    elif change in LAPSE_CHANGES:
        release_redemption(booking=booking)


def settle_credit_after_cancel(booking: Booking, *, actor: str, now: datetime | None = None) -> None:
    """A booking paid with a credit was cancelled (inside the cancellation's transaction): the
    credit comes back when the guest cancelled before the policy's cut-off, or the owner cancelled;
    later, it stays spent. Both are logged on the purchase."""
    if booking.amount_due:
        return  # paid by checkout: no credit involved
    use = CreditUse.objects.filter(booking=booking, returned_at__isnull=True).select_related("purchase").first()
    if use is None:
        return
    now = now or timezone.now()
    purchase = lock_purchase(use.purchase)
    owner = actor != Actor.GUEST
    in_time = owner or policy.is_before_cancellation_cutoff(booking, policy=policy.get_policy(), now=now)
    if not in_time:
        log_package(
            purchase,
            PackageAction.CREDIT_KEPT,
            actor=actor,
            message=f"{booking.reference} cancelled after the cut-off: the credit stays spent.",
            booking=booking.reference,
        )
        return
    CreditUse.objects.filter(pk=use.pk).update(returned_at=now)
    purchase.credits_used = max(purchase.credits_used - 1, 0)
    purchase.save(update_fields=["credits_used"])
    log_package(
        purchase,
        PackageAction.CREDIT_RETURNED,
        actor=actor,
        message=f"{booking.reference} cancelled {'by the owner' if owner else 'in time'}: the credit is back.",
        credits_delta=1,
        booking=booking.reference,
    )


# --- the owner's changes ----------------------------------------------------------------------------


def extend_purchase(*, purchase: PackagePurchase, expires_at: datetime, user=None, reason: str = "") -> PackagePurchase:
    """Move a package's expiry (usually later), logged with who and why. Raises InvalidDetails for
    an expiry before the purchase."""
    with transaction.atomic():
        locked = lock_purchase(purchase)
        if expires_at <= locked.purchased_at:
            raise InvalidDetails("The new expiry must be after the purchase.")
        old = locked.expires_at
        locked.expires_at = expires_at
        locked.save(update_fields=["expires_at"])
        log_package(
            locked,
            PackageAction.EXTENDED,
            actor=Actor.OWNER,
            user=user,
            message=f"Expiry moved from {old:%Y-%m-%d %H:%M} to {expires_at:%Y-%m-%d %H:%M} UTC. {reason}".strip(),
            old_expires_at=old,
            new_expires_at=expires_at,
        )
    return locked


def adjust_credits(*, purchase: PackagePurchase, delta: int, reason: str, user=None) -> PackagePurchase:
    """Add (or take away) credits, logged with who and why. Never below the credits already used."""
    if not reason.strip():
        raise InvalidDetails("Please say why the credits change.")
    if not delta:
        raise InvalidDetails("Enter how many credits to add (or a negative number to take away).")
    with transaction.atomic():
        locked = lock_purchase(purchase)
        total = locked.credits_total + delta
        if total < locked.credits_used:
            raise InvalidDetails(f"{locked.credits_used} credits are already used; the total cannot be lower.")
        locked.credits_total = total
        locked.save(update_fields=["credits_total"])
        log_package(
            locked,
            PackageAction.ADJUSTED,
            actor=Actor.OWNER,
            user=user,
            message=f"{delta:+d} credit{'s' if abs(delta) != 1 else ''}: {reason.strip()}",
            credits_delta=delta,
        )
    return locked


def refund_purchase(
    *, purchase: PackagePurchase, amount: int, reason: str, user=None, now: datetime | None = None
) -> PackagePurchase:
    """The owner closes a package and gives money back: no session can be booked with it any more
    (those booked stay booked), and `amount` (at most what is paid and not refunded) goes back to
    the buyer's card. The package is closed under its lock; the provider is called after that
    transaction, with an idempotency key fixed by the order's refund state, so pressing again after
    a failure or a timeout never refunds twice. Raises InvalidDetails, PaymentUnavailable or
    StripeRefused (the package stays closed; press again, or refund in Stripe)."""
    now = now or timezone.now()
    if not reason.strip():
        raise InvalidDetails("Please say why you refund this package.")
    with transaction.atomic():
        locked = lock_purchase(purchase)
        order = PackageOrder.objects.select_for_update().get(pk=locked.order_id)
        refundable = order.amount_paid - order.amount_refunded
        if amount < 1 or amount > refundable:
            raise InvalidDetails(
                f"Refund between {format_money(1, order.currency)} and {format_money(refundable, order.currency)}."
            )
        if locked.ended_at is None:
            locked.ended_at = now
            locked.save(update_fields=["ended_at"])
            log_package(locked, PackageAction.CLOSED, actor=Actor.OWNER, user=user, message=reason.strip())
        key = f"package-{order.reference}-refund-{order.amount_refunded}-{amount}"
    try:
        refund_id, refunded = payment.send_refund(
            payment_intent_id=order.stripe_payment_intent_id,
            amount=amount,
            idempotency_key=key,
            reference=order.reference,
        )
    except (PaymentUnavailable, payment.StripeRefused) as exc:
        log_package(
            locked,
            PackageAction.REFUND_FAILED,
            actor=Actor.OWNER,
            user=user,
            message=f"Refund of {format_money(amount, order.currency)} failed: {exc}",
        )
        raise
    with transaction.atomic():
        order = PackageOrder.objects.select_for_update().get(pk=order.pk)
        if key not in order.refund_keys:
            order.amount_refunded = min(order.amount_paid, order.amount_refunded + refunded)
            order.refund_keys = [*order.refund_keys, key]
            order.save(update_fields=["amount_refunded", "refund_keys"])
            log_package(
                locked,
                PackageAction.REFUNDED,
                actor=Actor.OWNER,
                user=user,
                message=f"Refunded {format_money(refunded, order.currency)}: {reason.strip()}",
                refund_id=refund_id,
            )
    locked.refresh_from_db()
    return locked


def log_package(
    purchase: PackagePurchase, action: str, *, actor: str, user=None, message: str = "", credits_delta: int = 0, **data
) -> PackageLog:
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    data = {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in data.items()}
    return PackageLog.objects.create(
        purchase=purchase,
        action=action,
        actor=actor,
        actor_user=user,
        message=message,
        credits_delta=credits_delta,
        data=data,
    )
