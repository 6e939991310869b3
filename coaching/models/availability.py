"""When a coach works: concrete availability blocks and the Google busy-time cache."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .coaches import Coach


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
