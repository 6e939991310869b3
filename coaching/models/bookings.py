"""Bookings, their append-only history, and the Stripe events already handled."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from coaching.money import format_money
from coaching.vocabulary import Actor
from coaching.zones import validate_timezone

from .coaches import Coach, Workshop
from .session_types import SessionType

# What a 1-on-1 booking is called when it has no session type's title (older rows).
DEFAULT_SESSION_TITLE = "1-on-1 session"

ACTIVE_STATUSES = ("pending_payment", "confirmed")


def new_booking_reference() -> str:
    # 8 characters from an alphabet without look-alikes (0/O, 1/I/L): ~40 bits, easy to read aloud.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def default_invite_domain() -> str:
    """The domain part of new invites' UIDs: INVITE_UID_DOMAIN, or SITE_URL's host when unset.

    Stored on each booking when it is made, so a booking's UID never changes afterwards (calendars
    match updates and cancellations by UID; a changed one would duplicate the event).
    """
    configured = getattr(settings, "INVITE_UID_DOMAIN", "")
    return configured or settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]


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

    class Attendance(models.TextChoices):
        NOT_MARKED = "", "Not marked"
        ATTENDED = "attended", "Attended"
        NO_SHOW = "no_show", "No-show"

    reference = models.CharField(max_length=16, unique=True, default=new_booking_reference, editable=False)
    coach = models.ForeignKey(
        Coach,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        help_text="Set for 1-on-1 sessions.",
    )
    workshop = models.ForeignKey(
        Workshop,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        help_text="Set for workshop seats.",
    )
    # What was booked, as it was when booked (a later edit of the type changes no booking): the
    # type's title and length here, its price in amount_due/currency. Workshops have no type.
    session_type = models.ForeignKey(
        SessionType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
        help_text="Set for 1-on-1 sessions.",
    )
    session_title = models.CharField(max_length=120, blank=True)
    session_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    # The guest's answers to the type's questions, as asked: [{"question", "kind", "answer"}, ...].
    intake_answers = models.JSONField(default=list, blank=True)
    # Where it happens, as the type said when booked (session_types.LocationKind); a Google Meet
    # link is stored once Google has made it on the coach's event.
    location_kind = models.CharField(max_length=16, blank=True)
    location_detail = models.CharField(max_length=500, blank=True)
    meeting_url = models.URLField(max_length=500, blank=True)
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
    invite_uid_domain = models.CharField(max_length=255, default=default_invite_domain, editable=False)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    # Set on each occurrence of recurring sessions (models/recurring.py); its number in the series.
    series = models.ForeignKey(
        "coaching.BookingSeries", null=True, blank=True, on_delete=models.PROTECT, related_name="occurrences"
    )
    series_number = models.PositiveSmallIntegerField(null=True, blank=True)

    # The owner's desk: who turned up, money taken outside Stripe, a client's data erased.
    attendance = models.CharField(max_length=10, choices=Attendance.choices, blank=True, default="")
    attendance_marked_at = models.DateTimeField(null=True, blank=True)
    payment_note = models.CharField(
        max_length=500, blank=True, help_text="How a payment taken outside Stripe was made (cash, bank transfer…)."
    )
    erased_at = models.DateTimeField(null=True, blank=True)

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
                condition=(
                    Q(coach__isnull=False, workshop__isnull=True) | Q(coach__isnull=True, workshop__isnull=False)
                ),
                name="booking_coach_xor_workshop",
            ),
            models.CheckConstraint(condition=Q(seats__gte=1), name="booking_seats_min"),
            models.CheckConstraint(condition=Q(coach__isnull=True) | Q(seats=1), name="booking_one_on_one_single_seat"),
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
        return f"{self.session_title or DEFAULT_SESSION_TITLE} with {self.coach.name}"

    @property
    def amount_due_display(self) -> str:
        return format_money(self.amount_due, self.currency)

    @property
    def ics_uid(self) -> str:
        """Stable calendar UID: the same for every invite update and cancellation of this booking."""
        return f"booking-{self.reference.lower()}@{self.invite_uid_domain}"


class BookingLog(models.Model):
    """Append-only history of a booking: every state change and who or what caused it."""

    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    Actor = Actor

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
