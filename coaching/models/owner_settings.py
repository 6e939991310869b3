"""The owner's rules, edited in Wagtail (Settings → Booking policy)."""

from django.core.validators import MinValueValidator
from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting


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
    waitlist_offer_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(1)],
        help_text="When seats of a sold-out workshop free up, the next guest on its waiting list has this many "
        "minutes to claim them before they pass to the next in line.",
    )

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("cancellation_cutoff_hours"),
                FieldPanel("refund_rule"),
                FieldPanel("allow_cancel_after_cutoff"),
            ],
            heading="Cancellations and refunds",
        ),
        MultiFieldPanel([FieldPanel("reschedule_cutoff_hours"), FieldPanel("max_reschedules")], heading="Rescheduling"),
        MultiFieldPanel(
            [FieldPanel("reminder_hours"), FieldPanel("link_lifetime_days_after_end")], heading="Emails and links"
        ),
        MultiFieldPanel([FieldPanel("waitlist_offer_minutes")], heading="Workshop waiting lists"),
    ]

    class Meta:
        verbose_name = "booking policy"
