"""The email outbox: messages owed, written in the same transaction as the change that owes them."""

from django.db import models
from django.utils import timezone

from .bookings import Booking


class Notification(models.Model):
    """Outbox: a message we owe, written in the same transaction as the booking change.

    A broker outage or a crashed worker delays delivery but never loses it: a periodic task sends
    everything still pending. `dedupe_key` makes "owe this message" idempotent.
    """

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    # Set for the emails of a workshop's waiting list (joined, seats offered, offer lapsed, closed).
    waitlist_entry = models.ForeignKey(
        "coaching.WaitlistEntry", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # Set for the emails of a package purchase (its link, credits and expiry).
    package_purchase = models.ForeignKey(
        "coaching.PackagePurchase", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    recipient = models.EmailField()
    dedupe_key = models.CharField(max_length=200, unique=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"
