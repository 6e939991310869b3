"""Promotion codes: does a code apply here and now, and spending one use of it under its lock.

A code is applied on the server, before any checkout opens: the price written on the booking (or the
package order) is already the discounted one, and that is what the checkout charges and what the
webhook checks the payment against. Its uses are counted under the code's row lock, in the very
transaction that writes the booking or order, so twenty guests racing for the last use of a code
limited to one get exactly one discount; the others are told it is used up.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from coaching.exceptions import CodeUsedUp, InvalidCode
from coaching.models import Booking, Package, PackageOrder, PromotionCode, PromotionRedemption
from coaching.models.packages import normalise_code
from coaching.money import format_money

from .locks import LOCKING_ENABLED


def find_promotion(text: str) -> PromotionCode | None:
    code = normalise_code(text)
    return PromotionCode.objects.filter(code=code).first() if code else None


def promotion_refusal(
    code: PromotionCode, *, amount: int, currency: str, now: datetime, package: Package | None = None, booking=None
) -> str:
    """Why `code` cannot take anything off this price ('' when it can). `package` for a package
    order; `booking` (unsaved is fine) for a session or workshop seats."""
    if not code.is_active:
        return "This promotion code is no longer valid."
    if code.valid_from and now < code.valid_from:
        return "This promotion code is not valid yet."
    if code.valid_until and now >= code.valid_until:
        return "This promotion code has expired."
    if not _in_scope(code, package=package, booking=booking):
        return "This promotion code does not apply to this."
    if amount <= 0:
        return "There is nothing to pay here, so no code is needed."
    if code.discount_on(amount, currency) <= 0:
        return f"This promotion code is for prices in {code.currency}."
    return ""


def _in_scope(code: PromotionCode, *, package: Package | None, booking) -> bool:
    """No restriction chosen: everything. Otherwise only what was chosen: the packages ticked, and
    sessions of the session types ticked (never workshop seats)."""
    packages = set(code.packages.values_list("pk", flat=True))
    session_types = set(code.session_types.values_list("pk", flat=True))
    if not packages and not session_types:
        return True
    if package is not None:
        return package.pk in packages
    return booking is not None and booking.session_type_id in session_types


def lock_promotion(code: PromotionCode) -> PromotionCode:
    query = PromotionCode.objects.select_for_update() if LOCKING_ENABLED else PromotionCode.objects
    return query.get(pk=code.pk)


def uses_counted(code: PromotionCode, *, now: datetime) -> int:
    """Uses that count toward the limit: every use except those of holds or checkouts that lapsed
    (a package checkout still open past its lifetime counts as lapsed: nothing else closes it when
    the built-in test checkout is left open)."""
    stale_checkout = Q(
        package_order__status=PackageOrder.Status.OPEN,
        package_order__created_at__lte=now - PackageOrder.CHECKOUT_LIFETIME,
    )
    return PromotionRedemption.objects.filter(code=code, released_at__isnull=True).exclude(stale_checkout).count()


def take_promotion(
    code: PromotionCode, *, amount: int, currency: str, now: datetime, package: Package | None = None, booking=None
) -> tuple[PromotionCode, int]:
    """Lock the code and spend one use of it on a price of `amount`: returns the locked code and the
    discount. Call inside the transaction that writes the booking or order, then record the use
    with `record_redemption` in it. Raises InvalidCode (not valid here or now) or CodeUsedUp."""
    locked = lock_promotion(code)
    refusal = promotion_refusal(locked, amount=amount, currency=currency, now=now, package=package, booking=booking)
    if refusal:
        raise InvalidCode(refusal)
    if locked.max_uses is not None and uses_counted(locked, now=now) >= locked.max_uses:
        raise CodeUsedUp()
    return locked, locked.discount_on(amount, currency)


def record_redemption(
    code: PromotionCode,
    *,
    discount: int,
    currency: str,
    booking: Booking | None = None,
    package_order: PackageOrder | None = None,
) -> PromotionRedemption:
    return PromotionRedemption.objects.create(
        code=code, booking=booking, package_order=package_order, discount_amount=discount, currency=currency
    )


def release_redemption(*, booking: Booking | None = None, package_order: PackageOrder | None = None) -> int:
    """Give back the use of a hold or checkout that lapsed unpaid (inside its transaction)."""
    target = {"booking": booking} if booking is not None else {"package_order": package_order}
    return PromotionRedemption.objects.filter(**target, released_at__isnull=True).update(released_at=timezone.now())


class PromotionTender:
    """A promotion code paying part of a booking's price (create_booking's `tender`)."""

    def __init__(self, code: PromotionCode):
        self.code = code
        self.discount = 0
        self.note = ""

    def charge(self, booking: Booking, *, now: datetime) -> None:
        """Under the code's lock, take the discount off the booking's price (not saved yet)."""
        self.code, self.discount = take_promotion(
            self.code, amount=booking.amount_due, currency=booking.currency, now=now, booking=booking
        )
        booking.amount_due -= self.discount
        self.note = f"Promotion code {self.code.code}: {format_money(self.discount, booking.currency)} off."

    def spent(self, booking: Booking, *, now: datetime) -> None:
        record_redemption(self.code, discount=self.discount, currency=booking.currency, booking=booking)
