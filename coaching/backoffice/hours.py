"""The Coach snippet's weekly-hours tab: a read-only preview of the coach's next days.

The preview asks the schedule (coaching/schedule/preview.py) — the same functions that draw the
guests' calendar — so what the owner sees here is what guests are offered, in the coach's zone.
The rows themselves (weekly hours, date overrides, time off) are Wagtail InlinePanels on the
Coach's ParentalKey children; their checks are in models/hours.py and CoachForm.
"""

from django.urls import reverse
from wagtail.admin.panels import Panel

from coaching.models import Coach
from coaching.schedule.preview import preview_days
from coaching.schedule.rules import DayHours
from coaching.wallclock import format_days_in_zone

from .permissions import can_manage_coach


def hours_text(hours: DayHours) -> str:
    return ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in hours.ranges)


class SchedulePreviewPanel(Panel):
    """Read-only: the coach's next `days` days as saved — each day's hours and bookable start times."""

    def __init__(self, days: int = 14, **kwargs):
        super().__init__(**kwargs)
        self.days = days

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["days"] = self.days
        return kwargs

    class BoundPanel(Panel.BoundPanel):
        template_name = "coaching/admin/schedule_preview_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["days"] = []
            if self.instance is None or self.instance.pk is None:
                return context
            # The saved coach, not the form's possibly unsaved (or invalid) edits.
            coach = Coach.objects.filter(pk=self.instance.pk).first()
            if coach is None:
                return context
            context["coach"] = coach
            context["days"] = [
                {
                    "day": day,
                    "hours_text": hours_text(day.hours),
                    "time_off": [
                        (off.reason, format_days_in_zone(off.start_at, off.end_at, coach.zone)) for off in day.time_off
                    ],
                }
                for day in preview_days(coach=coach, days=self.panel.days)
            ]
            if self.request is not None and can_manage_coach(self.request.user, coach):
                context["why_url"] = reverse("coaching_google:why", args=[coach.pk])
            return context
