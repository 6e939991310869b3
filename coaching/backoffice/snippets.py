"""Coaches and workshops as Wagtail snippets, edited where the owner edits pages."""

from django.db.models import Count
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CopyViewMixin
from wagtail.snippets.views.snippets import CreateView, EditView, SnippetViewSet

from coaching.exceptions import BookingError
from coaching.models import Coach, Workshop, WorkshopSeries

from .forms import CoachForm, WorkshopForm
from .hours import SchedulePreviewPanel
from .permissions import visible_coaches
from .scoping import OwnRowsOnly, coaches_in_reach, workshops_in_reach
from .session_types import CoachSessionTypesPanel


class CoachViewSet(OwnRowsOnly, SnippetViewSet):
    scope = staticmethod(coaches_in_reach)
    model = Coach
    icon = "user"
    menu_label = "Coaches"
    menu_order = 200
    add_to_admin_menu = True
    list_display = ["name", "email", "timezone", "is_active", "google_status"]
    list_filter = ["is_active", "timezone", "google_status"]
    search_fields = ["name", "email"]
    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    MultiFieldPanel(
                        [FieldPanel("name"), FieldPanel("slug"), FieldPanel("email"), FieldPanel("user")], heading="Who"
                    ),
                    MultiFieldPanel(
                        [FieldPanel("headline"), FieldPanel("bio"), FieldPanel("photo")], heading="Public profile"
                    ),
                ],
                heading="Profile",
            ),
            ObjectList(
                [
                    FieldPanel("timezone"),
                    FieldRowPanel([FieldPanel("min_notice_minutes"), FieldPanel("horizon_days")]),
                    FieldPanel("is_active"),
                    CoachSessionTypesPanel(
                        heading="Session types",
                        help_text=(
                            "What guests book with this coach — each kind of session with its length, buffer, "
                            "price, questions and meeting place. Set when this coach works on the "
                            "<b>Weekly hours</b> tab."
                        ),
                    ),
                ],
                heading="Sessions",
            ),
            ObjectList(
                [
                    HelpPanel(
                        content=(
                            "The coach's normal working hours, <b>in the coach's own time zone</b> (Sessions tab): "
                            "guests can book them every week, up to the booking horizon, with nothing to renew. "
                            "One row per range — Monday 09:00–12:00 and Monday 14:00–17:00 are two rows; "
                            "“until 00:00” means midnight. <b>Valid from / until</b> (optional, both days included) "
                            "start a new schedule on a date: end the old rows the day before. "
                            "Different hours on one date, or days off, go on the <b>Overrides &amp; time off</b> tab; "
                            "one-off extra sessions with <b>Bookings → Bulk add slots</b>."
                        )
                    ),
                    SchedulePreviewPanel(heading="Next 14 days: what guests can book"),
                    InlinePanel(
                        "weekly_hours",
                        heading="Weekly hours",
                        label="Range",
                        panels=[
                            FieldRowPanel([FieldPanel("weekday"), FieldPanel("start_time"), FieldPanel("end_time")]),
                            FieldRowPanel([FieldPanel("valid_from"), FieldPanel("valid_until")]),
                        ],
                    ),
                ],
                heading="Weekly hours",
            ),
            ObjectList(
                [
                    InlinePanel(
                        "date_overrides",
                        heading="Date overrides",
                        label="Date override",
                        help_text=(
                            "Different hours on one date, in the coach's time zone: they replace that day's weekly "
                            "hours (add a row per range). Or tick “unavailable all day” and leave the times empty: "
                            "nothing is offered that day, not even Bulk-added blocks."
                        ),
                        panels=[
                            FieldRowPanel([FieldPanel("date"), FieldPanel("start_time"), FieldPanel("end_time")]),
                            FieldPanel("unavailable"),
                        ],
                    ),
                    InlinePanel(
                        "time_off",
                        heading="Time off",
                        label="Time off",
                        help_text=(
                            "Holidays, conferences… in the coach's time zone: nothing is offered from the first day "
                            "(from its start, or the time given) to the last day (to its end, or the time given), "
                            "not even Bulk-added blocks. Bookings already made are kept: move or cancel them from "
                            "Bookings. The reason is shown to you, never to guests."
                        ),
                        panels=[
                            FieldRowPanel([FieldPanel("start_date"), FieldPanel("start_time")]),
                            FieldRowPanel([FieldPanel("end_date"), FieldPanel("end_time")]),
                            FieldPanel("reason"),
                        ],
                    ),
                ],
                heading="Overrides & time off",
            ),
            ObjectList(
                [FieldPanel("google_calendar_id"), FieldPanel("google_busy_calendar_ids")], heading="Google Calendar"
            ),
        ],
        base_form_class=CoachForm,
    )

    def get_queryset(self, request):
        return visible_coaches(request.user)


class WorkshopRefusalsAsErrors:
    """Wagtail saves the snippet through WorkshopForm.save, which calls the workshop service; a rule
    the service enforces under the workshop's lock (seats sold, the host's sessions, busy) comes back
    as an error on the form, with nothing written, instead of an error page."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except BookingError as refusal:
            form.add_refusal(refusal)
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class WorkshopCreateView(WorkshopRefusalsAsErrors, CreateView):
    pass


class WorkshopCopyView(CopyViewMixin, WorkshopCreateView):
    pass


class WorkshopEditView(WorkshopRefusalsAsErrors, EditView):
    pass


class WorkshopViewSet(OwnRowsOnly, SnippetViewSet):
    scope = staticmethod(workshops_in_reach)
    model = Workshop
    icon = "group"
    menu_label = "Workshops"
    menu_order = 210
    add_to_admin_menu = True
    list_display = ["title", "host", "start_at", "capacity", "price_display", "is_published", "series"]
    list_filter = ["is_published", "host", "start_at", "series"]
    search_fields = ["title"]
    add_view_class = WorkshopCreateView
    copy_view_class = WorkshopCopyView
    edit_view_class = WorkshopEditView
    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [FieldPanel("title"), FieldPanel("slug"), FieldPanel("series"), FieldPanel("summary")], heading="What"
            ),
            MultiFieldPanel(
                [
                    FieldPanel("host"),
                    FieldRowPanel([FieldPanel("start_at"), FieldPanel("end_at")]),
                    FieldPanel("confirm_clash"),
                ],
                heading="When",
                help_text="Times are in your admin time zone. A workshop takes its host's time.",
            ),
            MultiFieldPanel(
                [
                    FieldPanel("capacity"),
                    FieldRowPanel([FieldPanel("price_amount"), FieldPanel("currency")]),
                    FieldPanel("waitlist_enabled"),
                ],
                heading="Seats and price",
            ),
            MultiFieldPanel([FieldPanel("location"), FieldPanel("online_url")], heading="Where"),
            FieldPanel("is_published"),
        ],
        base_form_class=WorkshopForm,
    )

    def get_queryset(self, request):
        return Workshop.objects.filter(host__in=visible_coaches(request.user)).select_related("host")


class WorkshopSeriesViewSet(SnippetViewSet):
    """A workshop that runs on several dates. Add each date as a Workshop (the easiest: "Copy" an
    existing date, change its slug and time) and choose this series on it."""

    model = WorkshopSeries
    icon = "repeat"
    menu_label = "Workshop series"
    menu_order = 211
    add_to_admin_menu = True
    list_display = ["title", "slug", Column("date_count", label="Dates")]
    search_fields = ["title"]
    panels = [FieldPanel("title"), FieldPanel("slug"), FieldPanel("summary")]

    def get_queryset(self, request):
        return WorkshopSeries.objects.annotate(date_count=Count("dates"))
