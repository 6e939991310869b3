"""The waiting list of a sold-out workshop: who waits, for how many seats, and the seats offered to them.

An entry waits in line (oldest first). When seats free up, the first entries that fit are offered
them: the seats are held for the entry until `offer_expires_at` (the owner's setting, at most until
the workshop starts), and count as taken for everyone else (`seats_left` in
coaching/schedule/workshops.py). Claiming books them through the normal booking service; an offer
that is not claimed in time lapses and the seats pass to the next in line. Every change of an entry
happens under its workshop's row lock (coaching/services/waitlist*.py).
"""

from datetime import datetime

from django.db import models
from django.db.models import Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.zones import validate_timezone

from .bookings import Booking, new_booking_reference
from .coaches import Workshop


class WaitlistEntryQuerySet(models.QuerySet):
    def in_line(self):
        """Entries still waiting for an offer, first come first served."""
        return self.filter(status=WaitlistEntry.Status.WAITING).order_by("joined_at", "pk")

    def live_offers(self, now: datetime):
        """Offers whose seats are still held for their guest at `now`."""
        return self.filter(status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=now)

    def lapsed_offers(self, now: datetime):
        return self.filter(status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now)

    def active(self):
        return self.filter(status__in=WaitlistEntry.ACTIVE_STATUSES)


class WaitlistEntry(models.Model):
    # Operational rows hold no editorial references: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Seats offered"
        CLAIMED = "claimed", "Claimed (booked)"
        LAPSED = "lapsed", "Offer lapsed"
        LEFT = "left", "Left the list"
        CLOSED = "closed", "Closed (workshop cancelled)"

    ACTIVE_STATUSES = (Status.WAITING, Status.OFFERED)

    # Signed into the guest's claim and leave links (coaching/links.py); never the database id.
    reference = models.CharField(max_length=16, unique=True, default=new_booking_reference, editable=False)
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="waitlist_entries")
    seats = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True)

    guest_name = models.CharField(max_length=120)
    guest_email = models.EmailField()
    guest_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    joined_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When the entry left the line for good: left, lapsed or closed.
    ended_at = models.DateTimeField(null=True, blank=True)
    booking = models.ForeignKey(
        Booking,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="waitlist_entries",
        help_text="The booking its claim made.",
    )

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at", "pk"]
        verbose_name = "waiting-list entry"
        verbose_name_plural = "waiting list"
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="waitlist_seats_min"),
            models.CheckConstraint(
                condition=~Q(status="offered") | Q(offer_expires_at__isnull=False), name="waitlist_offer_has_deadline"
            ),
            # One place in line per guest and workshop (the service says so first, kindly).
            models.UniqueConstraint(
                fields=["workshop", "guest_email"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_active_entry_per_guest",
            ),
        ]
        indexes = [
            models.Index(fields=["workshop", "status"]),
            models.Index(fields=["status", "offer_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.guest_name} ({self.seats} for {self.workshop_id}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


def offered_seats_subquery(now: datetime):
    """Seats held by live offers, per workshop row of the outer query (an annotation)."""
    live = (
        WaitlistEntry.objects.live_offers(now)
        .filter(workshop=models.OuterRef("pk"))
        .order_by()
        .values("workshop")
        .annotate(total=Sum("seats"))
        .values("total")
    )
    return Coalesce(Subquery(live, output_field=models.IntegerField()), 0)
