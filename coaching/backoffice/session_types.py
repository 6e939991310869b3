"""Session types as a Wagtail snippet, beside the coaches that offer them."""

from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.snippets.views.snippets import SnippetViewSet

from coaching.models import SessionType

from .permissions import visible_coaches


class SessionTypeViewSet(SnippetViewSet):
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
        FieldRowPanel([FieldPanel("is_active"), FieldPanel("sort_order")]),
    ]

    def get_queryset(self, request):
        return SessionType.objects.filter(coaches__in=visible_coaches(request.user)).distinct()
