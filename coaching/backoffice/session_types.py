"""Session types as a Wagtail snippet beside the coaches that offer them, with their questions and
meeting place; and, on the Coach's Sessions tab, the coach's types with links to edit or add one."""

from urllib.parse import urlencode

from django.urls import reverse
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, Panel
from wagtail.snippets.views.snippets import SnippetViewSet

from coaching.models import SessionType

from .permissions import visible_coaches
from .scoping import OwnRowsOnly, session_types_in_reach


class SessionTypeViewSet(OwnRowsOnly, SnippetViewSet):
    scope = staticmethod(session_types_in_reach)
    model = SessionType
    icon = "time"
    menu_label = "Session types"
    menu_order = 201
    add_to_admin_menu = True
    list_display = ["title", "duration_minutes", "price_display", "is_active", "sort_order"]
    list_filter = ["is_active", "coaches"]
    search_fields = ["title"]
    panels = [
        MultiFieldPanel(
            [FieldPanel("title"), FieldPanel("slug"), FieldPanel("description"), FieldPanel("coaches")],
            heading="What guests book",
        ),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("duration_minutes"), FieldPanel("buffer_minutes")]),
                FieldRowPanel([FieldPanel("price_amount"), FieldPanel("currency")]),
                FieldRowPanel([FieldPanel("min_notice_minutes"), FieldPanel("horizon_days")]),
            ],
            heading="Length, price and booking window",
        ),
        MultiFieldPanel(
            [FieldPanel("location_kind"), FieldPanel("location_detail")],
            heading="Where it happens",
            help_text=(
                "Shown on the confirmation, in every email and in the calendar invite. Phone: guests must "
                "give their number. Google Meet: a link is made on the coach's Google Calendar event "
                "(the coach must be connected to Google) and emailed to the guest."
            ),
        ),
        InlinePanel(
            "questions",
            heading="Questions for the guest",
            label="Question",
            help_text="Asked in the booking form, in this order. Answers go to the coach's email and the booking.",
            panels=[
                FieldRowPanel([FieldPanel("label"), FieldPanel("kind"), FieldPanel("required")]),
                FieldPanel("choices"),
                FieldPanel("help_text"),
            ],
        ),
        FieldRowPanel(
            [FieldPanel("recurring_every_weeks"), FieldPanel("recurring_max_occurrences")], heading="Recurring sessions"
        ),
        FieldRowPanel([FieldPanel("is_active"), FieldPanel("sort_order")]),
    ]

    def get_queryset(self, request):
        return SessionType.objects.filter(coaches__in=visible_coaches(request.user)).distinct()


class CoachSessionTypesPanel(Panel):
    """Read-only, on the Coach: the types this coach offers, each linking to its edit screen."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "coaching/admin/coach_session_types_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            coach = self.instance if self.instance is not None and self.instance.pk else None
            types = list(SessionType.objects.filter(coaches=coach)) if coach else []
            context["session_types"] = [
                (t, reverse("wagtailsnippets_coaching_sessiontype:edit", args=[t.pk])) for t in types
            ]
            context["add_url"] = reverse("wagtailsnippets_coaching_sessiontype:add")
            context["list_url"] = reverse("wagtailsnippets_coaching_sessiontype:list") + (
                f"?{urlencode({'coaches': coach.pk})}" if coach else ""
            )
            return context
