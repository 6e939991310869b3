"""Refunds owed: decided (and written) inside the transaction that decides them, sent to the payment
provider after commit, with retries — never while a booking or coach row is locked."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from coaching.vocabulary import Actor

from .bookings import Booking


class Refund(models.Model):
    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed (needs the owner)"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="refunds")
    amount = models.PositiveIntegerField(help_text="Minor units (pence, cents).")
    currency = models.CharField(max_length=3)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    # False for money that is not the booking's payment (a stray or mismatched checkout): refunded,
    # but it never changes what the booking counts as paid or refunded.
    counts_toward_booking = models.BooleanField(default=True)
    reason = models.TextField(blank=True)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=1), name="refund_amount_positive")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Refund {self.pk} of {self.amount} {self.currency} for {self.booking_id} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        """One key per refund row: every retry of this refund is the same request to the provider."""
        return f"refund-{self.pk}"
