"""Packages of sessions: what a coach sells ("5 sessions, £400, use within 6 months"), the checkout
that buys one, the purchase the webhook makes of a paid checkout, and each credit spent on a booking.

A `PackageOrder` is a checkout for a package (price fixed on the server, a promotion code applied);
only the Stripe webhook turns a paid order into a `PackagePurchase` (services/packages.py). The
purchase's credits are spent and returned under its row lock, in the booking's own transaction;
`credits_used` is that counter and `CreditUse` says which booking took which credit.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from wagtail.search import index

from coaching.money import CURRENCY_CHOICES, format_money
from coaching.vocabulary import Actor
from coaching.zones import validate_timezone

from .bookings import Booking, new_booking_reference
from .coaches import Coach

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def new_package_code() -> str:
    # 12 characters without look-alikes: ~59 bits, a bearer code worth sessions, typed as XXXX-XXXX-XXXX.
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """A code as typed ("abcd-efgh ijkl") in its stored form ("ABCDEFGHIJKL")."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[:64]


class Package(index.Indexed, models.Model):
    """A bundle of sessions with one coach, sold at one price and used within `validity_days`."""

    title = models.CharField(max_length=200, help_text="What guests see, e.g. “5 coaching sessions”.")
    slug = models.SlugField(max_length=200, unique=True)
    coach = models.ForeignKey(
        Coach, on_delete=models.PROTECT, related_name="packages", help_text="Whose sessions the credits are for."
    )
    summary = models.TextField(blank=True)
    session_types = models.ManyToManyField(
        "coaching.SessionType",
        blank=True,
        related_name="packages",
        help_text="Which of the coach's session types a credit pays for. None chosen: every type the coach offers.",
    )
    credits = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="How many sessions the package holds."
    )
    price_amount = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Price of the whole package in minor units (pence/cents)."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="GBP")
    validity_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Days from purchase in which the sessions must take place (e.g. 180 for six months).",
    )
    is_active = models.BooleanField(
        default=True, help_text="Shown on the coach's page and for sale. Packages already bought keep working."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    search_fields = [index.SearchField("title"), index.AutocompleteField("title")]

    class Meta:
        ordering = ["coach__name", "price_amount"]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gte=1), name="package_credits_min"),
            models.CheckConstraint(condition=Q(price_amount__gte=1), name="package_price_min"),
            models.CheckConstraint(condition=Q(validity_days__gte=1), name="package_validity_min"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.coach.name})" if self.coach_id else self.title

    @property
    def price_display(self) -> str:
        return format_money(self.price_amount, self.currency)


class PackageOrder(models.Model):
    """One checkout for a package. Only the webhook's paid event makes its purchase."""

    wagtail_reference_index_ignore = True

    # Stripe wants 30 minutes to 24 hours; nothing is held meanwhile, so an hour is plenty. An order
    # still open after it no longer counts toward its promotion code's limit.
    CHECKOUT_LIFETIME = timedelta(hours=1)

    class Status(models.TextChoices):
        OPEN = "open", "Awaiting payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Left the checkout"
        EXPIRED = "expired", "Checkout expired"
        FAILED = "failed", "Payment failed"

    reference = models.CharField(max_length=16, unique=True, default=new_booking_reference, editable=False)
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    buyer_name = models.CharField(max_length=120)
    buyer_email = models.EmailField()
    buyer_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Fixed on the server when the checkout opens: the package's price less the promotion's discount.
    currency = models.CharField(max_length=3)
    amount_due = models.PositiveIntegerField()
    discount_amount = models.PositiveIntegerField(default=0)
    amount_paid = models.PositiveIntegerField(default=0)
    amount_refunded = models.PositiveIntegerField(default=0)
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    # Idempotency keys of the refunds made (services/packages.py, refund_purchase): each counted once.
    refund_keys = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_paid")), name="package_order_refund_not_above_paid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.package.title}"

    @property
    def title(self) -> str:
        return self.package.title

    @property
    def amount_due_display(self) -> str:
        return format_money(self.amount_due, self.currency)


class PackagePurchaseQuerySet(models.QuerySet):
    def usable(self, now):
        return self.filter(ended_at__isnull=True, expires_at__gt=now, credits_used__lt=F("credits_total"))


class PackagePurchase(models.Model):
    """A package someone paid for: its credits, its expiry, and (through CreditUse) what it booked."""

    wagtail_reference_index_ignore = True

    order = models.OneToOneField(PackageOrder, on_delete=models.PROTECT, related_name="purchase")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="purchases")
    # The code the guest types on the booking form; the package link carries the signed reference.
    code = models.CharField(max_length=16, unique=True, default=new_package_code, editable=False)
    buyer_name = models.CharField(max_length=120)
    buyer_email = models.EmailField()
    buyer_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    credits_total = models.PositiveSmallIntegerField()
    credits_used = models.PositiveSmallIntegerField(default=0)
    purchased_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    # Set when the owner ends the package (refunded): no more credits can be spent.
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = PackagePurchaseQuerySet.as_manager()

    class Meta:
        ordering = ["-purchased_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_used__lte=F("credits_total")), name="package_purchase_credits_not_overspent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.package.title} — {self.buyer_name} ({self.order.reference})"

    @property
    def reference(self) -> str:
        return self.order.reference

    @property
    def credits_left(self) -> int:
        return max(self.credits_total - self.credits_used, 0)

    @property
    def code_display(self) -> str:
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class CreditUse(models.Model):
    """One credit of a purchase spent on one booking; `returned_at` when a cancellation gave it back."""

    wagtail_reference_index_ignore = True

    purchase = models.ForeignKey(PackagePurchase, on_delete=models.PROTECT, related_name="credit_uses")
    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="package_credit")
    used_at = models.DateTimeField(default=timezone.now)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["used_at", "pk"]

    def __str__(self) -> str:
        return f"Credit of {self.purchase_id} on {self.booking_id}"


class PackageAction(models.TextChoices):
    """What a package log entry records."""

    PAID = "paid", "Bought (paid)"
    CREDIT_USED = "credit_used", "Credit used"
    CREDIT_RETURNED = "credit_returned", "Credit returned (cancelled in time)"
    CREDIT_KEPT = "credit_kept", "Credit spent (cancelled late)"
    EXTENDED = "extended", "Expiry changed"
    ADJUSTED = "adjusted", "Credits adjusted"
    CLOSED = "closed", "Closed by the owner"
    REFUNDED = "refunded", "Refunded"
    REFUND_FAILED = "refund_failed", "Refund failed"


class PackageLog(models.Model):
    """Append-only history of a purchase: paid, credits used and returned, extensions, adjustments."""

    wagtail_reference_index_ignore = True

    Actor = Actor

    purchase = models.ForeignKey(PackagePurchase, on_delete=models.CASCADE, related_name="log_entries")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40, choices=PackageAction.choices)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)
    credits_delta = models.SmallIntegerField(default=0)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Package log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Package log entries are append-only.")
