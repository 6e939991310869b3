"""Who is booked: coaches (1-on-1 sessions) and the workshops they host (seats), one Workshop per
date; several dates of one workshop form a WorkshopSeries."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property
from modelcluster.models import ClusterableModel
from wagtail.search import index

from coaching.money import CURRENCY_CHOICES, format_money
from coaching.zones import validate_timezone


class Coach(index.Indexed, ClusterableModel):
    """A coach who takes 1-on-1 sessions. A ClusterableModel so that the Wagtail snippet edits the
    coach's weekly hours, date overrides and time off (models/hours.py) inline, saved with it."""

    class GoogleStatus(models.TextChoices):
        DISCONNECTED = "disconnected", "Not connected"
        CONNECTED = "connected", "Connected"
        BROKEN = "broken", "Connection broken — reconnect"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    email = models.EmailField(help_text="Booking notifications for this coach go here.")
    headline = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    photo = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    timezone = models.CharField(
        max_length=64,
        default="Europe/London",
        validators=[validate_timezone],
        help_text="IANA zone the coach works in, e.g. Europe/London. Availability is entered in it.",
    )
    min_notice_minutes = models.PositiveIntegerField(
        default=12 * 60,
        help_text="How soon before its start a session can still be booked (each session type may set its own).",
    )
    horizon_days = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text="How far ahead guests may book (each session type may set its own).",
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
            models.CheckConstraint(condition=Q(horizon_days__gte=1), name="coach_horizon_min"),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def session_types_for_guests(self):
        """The session types guests can book with this coach, in the owner's order (one query)."""
        return self.session_types.for_guests()

    def default_session_type(self):
        """The first type guests see, or None when the coach offers none (then nothing is bookable)."""
        return self.session_types_for_guests().first()


class WorkshopSeries(index.Indexed, models.Model):
    """One workshop that runs on several dates ("Saturday Deep Work", every month). Each date is a
    Workshop row of its own, with its own capacity and seats; guests can move their seat between the
    dates of a series. A workshop without a series is a single-date workshop."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    search_fields = [index.SearchField("title"), index.AutocompleteField("title")]

    class Meta:
        ordering = ["title"]
        verbose_name = "workshop series"
        verbose_name_plural = "workshop series"

    def __str__(self) -> str:
        return self.title


class WorkshopQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Workshop(index.Indexed, models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    host = models.ForeignKey(Coach, on_delete=models.PROTECT, related_name="workshops")
    series = models.ForeignKey(
        WorkshopSeries,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dates",
        help_text="Dates of one series are listed together, and guests can move their seat between them.",
    )
    summary = models.TextField(blank=True)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    price_amount = models.PositiveIntegerField(default=0, help_text="Price per seat in minor units. 0 = free.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="GBP")
    location = models.CharField(max_length=255, blank=True)
    online_url = models.URLField(blank=True)
    is_published = models.BooleanField(default=True)
    waitlist_enabled = models.BooleanField(
        "waiting list",
        default=True,
        help_text="When it is sold out, guests can join a waiting list and are offered seats that free up.",
    )
    # The workshop's event in its host's Google Calendar (services/google_sync.py); seats have none.
    google_event_id = models.CharField(max_length=1024, blank=True, editable=False)
    # Set by the owner's "Cancel workshop" (services/workshops.py): every seat cancelled and refunded.
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_message = models.TextField(blank=True, editable=False)
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
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def price_display(self) -> str:
        return format_money(self.price_amount, self.currency)

    def clean(self):
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValidationError({"end_at": "A workshop must end after it starts."})
