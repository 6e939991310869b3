"""What a coach sells: session types ("Intro call, 20 minutes, free", "Deep dive, 90 minutes, £150").

A session type carries everything that shapes one kind of 1-on-1 session: its length, the buffer
kept around it, its price, and optionally its own minimum notice and booking horizon (empty: the
coach's). A type is offered by one coach or shared by several (`coaches`); each coach's bookings of
any type block each other, because they all take that coach's time (coaching/schedule/slots.py).

A booking snapshots its type's title, length and price when it is made (models/bookings.py), so
editing a type later never changes a booking already made, its refund or its calendar entry.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import Q
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable
from wagtail.search import index

from coaching.money import CURRENCY_CHOICES, format_money

from .coaches import Coach

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 12 * 60
# The schedule loads a coach's bookings this much around a window, so the widest buffer any booking
# can carry must be bounded (coaching/schedule/loading.py).
MAX_BUFFER_MINUTES = 4 * 60


class SessionTypeQuerySet(models.QuerySet):
    def for_guests(self):
        """Active types, in the owner's order: what a coach's page offers."""
        return self.filter(is_active=True).order_by("sort_order", "title", "pk")


class LocationKind(models.TextChoices):
    """Where a session happens. The booking keeps the kind and details it was made with."""

    UNSET = "", "Not said"
    IN_PERSON = "in_person", "In person (an address)"
    PHONE = "phone", "Phone call (the coach calls the guest's number)"
    VIDEO = "video", "Video call (a fixed link)"
    GOOGLE_MEET = "google_meet", "Google Meet (a link made on the coach's Google Calendar event)"


class SessionType(index.Indexed, ClusterableModel):
    """One kind of 1-on-1 session a guest can book with a coach."""

    LocationKind = LocationKind

    title = models.CharField(max_length=120, help_text="What guests choose, e.g. “Intro call” or “Deep dive”.")
    slug = models.SlugField(
        max_length=120, unique=True, help_text="Its web address: the coach's page links to it with ?type=<slug>."
    )
    description = models.TextField(blank=True, help_text="Shown to guests on the session's card.")
    coaches = ParentalManyToManyField(
        Coach,
        related_name="session_types",
        help_text="Who offers it. A type shared by several coaches is booked with each in their own calendar.",
    )
    duration_minutes = models.PositiveSmallIntegerField(
        "length (minutes)",
        default=60,
        validators=[MinValueValidator(MIN_DURATION_MINUTES), MaxValueValidator(MAX_DURATION_MINUTES)],
    )
    buffer_minutes = models.PositiveSmallIntegerField(
        "buffer (minutes)",
        default=0,
        validators=[MaxValueValidator(MAX_BUFFER_MINUTES)],
        help_text=(
            "Free time kept before and after each session of this type. Between two sessions the larger "
            "of their two buffers applies. Start times step by length + buffer."
        ),
    )
    price_amount = models.PositiveIntegerField(
        default=0, help_text="Price of one session in minor units (pence/cents). 0 means free."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="GBP")
    min_notice_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="How soon before its start it can still be booked. Empty: the coach's."
    )
    horizon_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="How far ahead guests may book it. Empty: the coach's.",
    )
    location_kind = models.CharField(
        "where", max_length=16, choices=LocationKind.choices, blank=True, default=LocationKind.UNSET
    )
    location_detail = models.CharField(
        "address or link",
        max_length=500,
        blank=True,
        help_text="In person: the address. Video call: the link. Phone and Google Meet need nothing here.",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive types are not offered (bookings are kept).")
    sort_order = models.PositiveSmallIntegerField(default=0, help_text="Lower first on the coach's page.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SessionTypeQuerySet.as_manager()

    search_fields = [index.SearchField("title"), index.AutocompleteField("title")]

    class Meta:
        ordering = ["sort_order", "title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=MIN_DURATION_MINUTES), name="session_type_duration_min"
            ),
            models.CheckConstraint(
                condition=Q(horizon_days__isnull=True) | Q(horizon_days__gte=1), name="session_type_horizon_min"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_free(self) -> bool:
        return self.price_amount == 0

    @property
    def price_display(self) -> str:
        return format_money(self.price_amount, self.currency)

    def clean(self):
        super().clean()
        if self.location_kind == LocationKind.IN_PERSON and not self.location_detail.strip():
            raise ValidationError({"location_detail": "Give the address guests should come to."})
        if self.location_kind == LocationKind.VIDEO:
            try:
                URLValidator(schemes=["https", "http"])(self.location_detail.strip())
            except ValidationError:
                raise ValidationError({"location_detail": "Give the video link, starting with https://."}) from None

    @property
    def asks_for_phone(self) -> bool:
        return self.location_kind == LocationKind.PHONE

    def notice_minutes_for(self, coach: Coach) -> int:
        return coach.min_notice_minutes if self.min_notice_minutes is None else self.min_notice_minutes

    def horizon_days_for(self, coach: Coach) -> int:
        return coach.horizon_days if self.horizon_days is None else self.horizon_days


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    YES_NO = "yes_no", "Yes / no"


CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


class IntakeQuestion(Orderable):
    """A question the booking form asks for one session type; the answers are stored with the
    booking as it was asked (models/bookings.py `intake_answers`), so editing a question later
    changes no answer already given."""

    Kind = QuestionKind

    session_type = ParentalKey(SessionType, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField("question", max_length=200)
    kind = models.CharField(max_length=16, choices=QuestionKind.choices, default=QuestionKind.SHORT_TEXT)
    required = models.BooleanField(default=False)
    choices = models.TextField(blank=True, help_text="Single and multiple choice: one choice per line.")
    help_text = models.CharField(max_length=200, blank=True, help_text="A hint shown under the question.")

    class Meta(Orderable.Meta):
        verbose_name = "question"

    def __str__(self) -> str:
        return self.label

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        super().clean()
        if self.kind in CHOICE_KINDS and len(self.choice_list) < 2:
            raise ValidationError({"choices": "Give at least two choices, one per line."})
