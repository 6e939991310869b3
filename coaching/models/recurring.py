"""Recurring sessions: a series of 1-on-1 sessions booked in one go ("Tuesdays 18:00 for 8 weeks").

Each occurrence is an ordinary Booking that points at its BookingSeries, so everything a single
booking has — the coach's lock and the PostgreSQL exclusion constraint, its own invite UID and
SEQUENCE, the manage link, the cancellation policy and refunds — applies to each occurrence as it
is. The series row holds what belongs to the whole: the repeat, the one checkout that pays for
every occurrence, and its hold.
"""

from django.db import models
from django.db.models import Q

from coaching.money import format_money
from coaching.zones import validate_timezone

from .bookings import new_booking_reference
from .coaches import Coach


def new_series_reference() -> str:
    # "S-" keeps a series' reference apart from every booking's (the webhook finds either by it).
    return f"S-{new_booking_reference()}"


class BookingSeries(models.Model):
    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    reference = models.CharField(max_length=16, unique=True, default=new_series_reference, editable=False)
    coach = models.ForeignKey(Coach, on_delete=models.PROTECT, related_name="booking_series")
    session_type = models.ForeignKey(
        "coaching.SessionType", null=True, blank=True, on_delete=models.PROTECT, related_name="booking_series"
    )
    session_title = models.CharField(max_length=120, blank=True)
    every_weeks = models.PositiveSmallIntegerField(default=1, help_text="1 = weekly, 2 = fortnightly.")
    occurrences_asked = models.PositiveSmallIntegerField(
        default=1, help_text="How many occurrences the guest looked at (some may have been skipped as taken)."
    )
    guest_name = models.CharField(max_length=120)
    guest_email = models.EmailField()
    guest_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    # One checkout pays for every occurrence; each occurrence keeps its own share as amount_paid,
    # so a cancelled occurrence is refunded by the policy exactly like a single booking.
    currency = models.CharField(max_length=3, default="GBP")
    amount_due = models.PositiveIntegerField(default=0)
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "booking series"
        constraints = [
            models.CheckConstraint(condition=Q(every_weeks__gte=1), name="booking_series_every_weeks_min"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.guest_name} ({self.repeat_display})"

    @property
    def repeat_display(self) -> str:
        return "weekly" if self.every_weeks == 1 else f"every {self.every_weeks} weeks"

    @property
    def amount_due_display(self) -> str:
        return format_money(self.amount_due, self.currency)

    @property
    def title(self) -> str:
        what = self.session_title or "1-on-1 sessions"
        return f"{what} with {self.coach.name}, {self.repeat_display}"
