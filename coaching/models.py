"""The booking domain's schema.

All datetimes are aware and stored in UTC; conversion to a coach's or guest's zone happens only at
the edges. Money is integer minor units (pence, cents) plus an ISO 4217 currency code.

What must never be false is enforced by the database: check constraints here, and on PostgreSQL an
exclusion constraint (migration 0002) that forbids two active 1-on-1 bookings of one coach from
overlapping. Business rules live in `coaching/services/`, not in `save()`.
"""

import functools
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.search import index

ACTIVE_STATUSES = ("pending_payment", "confirmed")

CURRENCY_CHOICES = [("GBP", "GBP £"), ("EUR", "EUR €"), ("USD", "USD $"), ("JPY", "JPY ¥")]
# Currencies without a minor unit (Stripe's "zero-decimal" currencies).
ZERO_DECIMAL_CURRENCIES = {"JPY"}


@functools.cache
def known_timezones() -> frozenset[str]:
    # Reading the zone database walks the filesystem (~30 ms): once per process is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in known_timezones():
        raise ValidationError(f"“{value}” is not a time zone name (use an IANA name such as Europe/London).")


def format_money(amount_minor: int, currency: str) -> str:
    if not amount_minor:
        return "Free"
    symbol = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}.get(currency, currency + " ")
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{symbol}{amount_minor:,}"
    return f"{symbol}{amount_minor // 100:,}.{amount_minor % 100:02d}"


class Coach(index.Indexed, models.Model):
    class GoogleStatus(models.TextChoices):
        DISCONNECTED = "disconnected", "Not connected"
        CONNECTED = "connected", "Connected"
        BROKEN = "broken", "Connection broken — reconnect"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    email = models.EmailField(help_text="Booking notifications for this coach go here.")
    headline = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    timezone = models.CharField(
        max_length=64,
        default="Europe/London",
        validators=[validate_timezone],
        help_text="IANA zone the coach works in, e.g. Europe/London. Availability is entered in it.",
    )
    session_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(5)], help_text="Length of one 1-on-1 session."
    )
    price_amount = models.PositiveIntegerField(
        default=0, help_text="Price of one session in minor units (pence/cents). 0 means free."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="GBP")
    buffer_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Free time kept after every session and workshop before the next one."
    )
    min_notice_minutes = models.PositiveIntegerField(
        default=12 * 60, help_text="How soon before its start a session can still be booked."
    )
    horizon_days = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="How far ahead guests may book."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive coaches take no new bookings.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coach_profile",
        help_text="Wagtail login of this coach: they then see only their own bookings and availability.",
    )

    # Google Calendar connection (coaching/integrations/google.py).
    google_status = models.CharField(
        max_length=16, choices=GoogleStatus.choices, default=GoogleStatus.DISCONNECTED, editable=False
    )
    google_account_email = models.EmailField(blank=True, editable=False)
    # Fernet-encrypted OAuth credentials (refresh token); never shown again once stored.
    google_credentials = models.TextField(blank=True, editable=False)
    google_calendar_id = models.CharField(
        max_length=255, blank=True, help_text="Calendar that receives bookings (usually 'primary')."
    )
    google_busy_calendar_ids = models.JSONField(
        default=list, blank=True, help_text="Calendars whose busy time blocks this coach's slots."
    )
    google_last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    google_last_error = models.TextField(blank=True, editable=False)
    google_last_error_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    search_fields = [index.SearchField("name"), index.SearchField("email"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "coaches"
        constraints = [
            models.CheckConstraint(condition=Q(session_minutes__gte=5), name="coach_session_minutes_min"),
            models.CheckConstraint(condition=Q(horizon_days__gte=1), name="coach_horizon_min"),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def is_free(self) -> bool:
        return self.price_amount == 0

    @property
    def price_display(self) -> str:
        return format_money(self.price_amount, self.currency)


class WorkshopQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Workshop(index.Indexed, models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    host = models.ForeignKey(Coach, on_delete=models.PROTECT, related_name="workshops")
    summary = models.TextField(blank=True)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    price_amount = models.PositiveIntegerField(default=0, help_text="Price per seat in minor units. 0 = free.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="GBP")
    location = models.CharField(max_length=255, blank=True)
    online_url = models.URLField(blank=True)
    is_published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkshopQuerySet.as_manager()

    search_fields = [index.SearchField("title"), index.AutocompleteField("title")]

    class Meta:
        ordering = ["start_at"]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="workshop_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="workshop_capacity_min"),
        ]
        indexes = [models.Index(fields=["host", "start_at"]), models.Index(fields=["start_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_free(self) -> bool:
        return self.price_amount == 0

    @property
    def price_display(self) -> str:
        return format_money(self.price_amount, self.currency)

    def clean(self):
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValidationError({"end_at": "A workshop must end after it starts."})


class AvailabilityBlock(models.Model):
    """A concrete span (UTC) in which a coach takes 1-on-1 sessions."""

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    coach = models.ForeignKey(Coach, on_delete=models.CASCADE, related_name="availability")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["coach", "start_at"]
        verbose_name = "availability block"
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="availability_ends_after_start"),
        ]
        indexes = [models.Index(fields=["coach", "start_at"]), models.Index(fields=["coach", "end_at"])]

    def __str__(self) -> str:
        return f"{self.coach}: {self.start_at:%Y-%m-%d %H:%M}–{self.end_at:%H:%M} UTC"


class CoachBusySlot(models.Model):
    """Cache of a coach's Google Calendar free/busy answer; replaced per pulled window."""

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    coach = models.ForeignKey(Coach, on_delete=models.CASCADE, related_name="busy_slots")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["coach", "start_at"]
        verbose_name = "busy slot"
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="busy_ends_after_start"),
        ]
        indexes = [models.Index(fields=["coach", "start_at"]), models.Index(fields=["coach", "end_at"])]

    def __str__(self) -> str:
        return f"{self.coach} busy {self.start_at:%Y-%m-%d %H:%M}–{self.end_at:%H:%M} UTC"


def new_booking_reference() -> str:
    # 8 characters from an alphabet without look-alikes (0/O, 1/I/L): ~40 bits, easy to read aloud.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def holds_time_q(now, prefix: str = "") -> Q:
    """Bookings that occupy their time at `now`: confirmed, or held for payment and not yet lapsed.

    A lapsed hold frees its time at once for the schedule, even before the expiry task has run
    (the embedded mode has no beat); the brain releases it properly when someone books over it.
    """
    pending = Q(**{f"{prefix}status": "pending_payment"})
    unexpired = Q(**{f"{prefix}hold_expires_at__gt": now}) | Q(**{f"{prefix}hold_expires_at__isnull": True})
    return Q(**{f"{prefix}status": "confirmed"}) | (pending & unexpired)


class BookingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def lapsed_holds(self, now):
        return self.filter(status="pending_payment", hold_expires_at__lte=now)

    def overlapping(self, start_at, end_at):
        return self.filter(start_at__lt=end_at, end_at__gt=start_at)


class Booking(models.Model):

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Awaiting payment"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired (unpaid)"

    reference = models.CharField(max_length=16, unique=True, default=new_booking_reference, editable=False)
    coach = models.ForeignKey(
        Coach, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings",
        help_text="Set for 1-on-1 sessions.",
    )
    workshop = models.ForeignKey(
        Workshop, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings",
        help_text="Set for workshop seats.",
    )
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    seats = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED, db_index=True)

    guest_name = models.CharField(max_length=120)
    guest_email = models.EmailField()
    guest_phone = models.CharField(max_length=40, blank=True)
    guest_notes = models.TextField(blank=True, max_length=2000)
    guest_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )

    # Money, in minor units. amount_due is fixed when the booking is made (price × seats).
    currency = models.CharField(max_length=3, default="GBP")
    amount_due = models.PositiveIntegerField(default=0)
    is_paid = models.BooleanField(default=False)
    amount_paid = models.PositiveIntegerField(default=0)
    amount_refunded = models.PositiveIntegerField(default=0)
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_refund_ids = models.JSONField(default=list, blank=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    google_event_id = models.CharField(max_length=1024, blank=True)
    # RFC 5545 SEQUENCE of the invite: bumped on every change the guest's calendar must apply.
    ics_sequence = models.PositiveIntegerField(default=0)
    reschedule_count = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-start_at"]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="booking_ends_after_start"),
            models.CheckConstraint(
                condition=(Q(coach__isnull=False, workshop__isnull=True) | Q(coach__isnull=True, workshop__isnull=False)),
                name="booking_coach_xor_workshop",
            ),
            models.CheckConstraint(condition=Q(seats__gte=1), name="booking_seats_min"),
            models.CheckConstraint(
                condition=Q(coach__isnull=True) | Q(seats=1), name="booking_one_on_one_single_seat"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_paid")), name="booking_refund_not_above_paid"
            ),
        ]
        indexes = [
            models.Index(fields=["coach", "start_at"]),
            models.Index(fields=["workshop", "status"]),
            models.Index(fields=["status", "hold_expires_at"]),
            models.Index(fields=["guest_email"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.guest_name}"

    @property
    def is_workshop(self) -> bool:
        return self.workshop_id is not None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def host(self) -> Coach:
        """The coach whose time this booking takes."""
        return self.workshop.host if self.workshop_id else self.coach

    @property
    def title(self) -> str:
        if self.workshop_id:
            return self.workshop.title
        return f"1-on-1 session with {self.coach.name}"

    @property
    def amount_due_display(self) -> str:
        return format_money(self.amount_due, self.currency)

    @property
    def ics_uid(self) -> str:
        """Stable calendar UID: the same for every invite update and cancellation of this booking."""
        return f"booking-{self.reference.lower()}@{settings.SITE_URL.split('://', 1)[-1].split('/', 1)[0]}"


class BookingLog(models.Model):
    """Append-only history of a booking: every state change and who or what caused it."""

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    class Actor(models.TextChoices):
        GUEST = "guest", "Guest"
        OWNER = "owner", "Owner / staff"
        WEBHOOK = "webhook", "Stripe webhook"
        TASK = "task", "Background task"
        SYSTEM = "system", "System"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="log_entries")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor}"

    def save(self, *args, **kwargs):
        # History is evidence: it is never rewritten.
        if self.pk is not None:
            raise ValueError("Booking log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Booking log entries are append-only.")


class ProcessedStripeEvent(models.Model):
    """Every Stripe event id we have handled, so a replayed delivery is a no-op."""

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.event_type})"


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


@register_setting(icon="calendar-alt")
class BookingPolicy(BaseSiteSetting):
    """The owner's rules for changes and refunds (Settings → Booking policy in the admin)."""

    class RefundRule(models.TextChoices):
        FULL_BEFORE_CUTOFF = "full_before_cutoff", "Full refund before the cut-off, none after"
        NONE = "none", "No refunds on guest cancellation"

    cancellation_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Guests can cancel with a refund up to this many hours before the start."
    )
    refund_rule = models.CharField(
        max_length=30,
        choices=RefundRule.choices,
        default=RefundRule.FULL_BEFORE_CUTOFF,
        help_text="What a guest who cancels from their booking link gets back. You can always refund more by hand.",
    )
    allow_cancel_after_cutoff = models.BooleanField(
        default=True, help_text="After the cut-off guests may still cancel, without a refund."
    )
    reschedule_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Guests can move a booking up to this many hours before its start."
    )
    max_reschedules = models.PositiveSmallIntegerField(default=2, help_text="How often a guest may move one booking.")
    reminder_hours = models.PositiveSmallIntegerField(default=24, help_text="Reminder email this many hours ahead.")
    link_lifetime_days_after_end = models.PositiveSmallIntegerField(
        default=1, help_text="Magic links stop working this many days after the booking ends."
    )

    panels = [
        MultiFieldPanel(
            [FieldPanel("cancellation_cutoff_hours"), FieldPanel("refund_rule"), FieldPanel("allow_cancel_after_cutoff")],
            heading="Cancellations and refunds",
        ),
        MultiFieldPanel([FieldPanel("reschedule_cutoff_hours"), FieldPanel("max_reschedules")], heading="Rescheduling"),
        MultiFieldPanel([FieldPanel("reminder_hours"), FieldPanel("link_lifetime_days_after_end")], heading="Emails and links"),
    ]

    class Meta:
        verbose_name = "booking policy"
