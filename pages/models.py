"""Wagtail page types. Queries a page needs live in small named methods, not in templates."""

from django.db import models
from django.db.models import Prefetch
from django.utils import timezone
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import BaseStreamBlock


class HomePage(Page):
    intro = models.TextField(blank=True, help_text="The line under the page title.")
    body = StreamField(BaseStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        # The hero's calls to action: the coaches and the workshops (one query for both).
        indexes = {
            page.specific_class: page
            for page in Page.objects.child_of(self).live().type(CoachIndexPage, WorkshopIndexPage)
        }
        context["coach_index"] = indexes.get(CoachIndexPage)
        context["workshop_index"] = indexes.get(WorkshopIndexPage)
        return context


class StandardPage(Page):
    intro = models.TextField(blank=True)
    body = StreamField(BaseStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["pages.HomePage", "pages.StandardPage"]


class CoachIndexPage(Page):
    """Lists the coaches: one CoachPage per coach below it."""

    intro = models.TextField(blank=True)
    body = StreamField(BaseStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["pages.HomePage"]
    subpage_types = ["pages.CoachPage"]
    max_count = 1

    def coach_pages(self):
        """The coach pages, each coach with the session types guests see (`guest_session_types`)."""
        from coaching.models import SessionType

        guest_types = Prefetch(
            "coach__session_types", queryset=SessionType.objects.for_guests(), to_attr="guest_session_types"
        )
        return (
            CoachPage.objects.child_of(self)
            .live()
            .select_related("coach", "coach__photo")
            .prefetch_related(guest_types)
            .order_by("path")
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["coach_pages"] = self.coach_pages()
        return context


class CoachPage(Page):
    """A coach's marketing page: photo, bio, price, session length and the live booking calendar."""

    coach = models.ForeignKey(
        "coaching.Coach",
        null=True,
        on_delete=models.SET_NULL,
        related_name="pages",
        help_text="The coach whose profile and calendar this page shows.",
    )
    intro = models.TextField(blank=True, help_text="Optional: replaces the coach's headline on this page.")
    body = StreamField(BaseStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("coach"), FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro"), index.FilterField("coach")]

    parent_page_types = ["pages.CoachIndexPage"]
    subpage_types = []

    def get_context(self, request, *args, **kwargs):
        from coaching.web.context import calendar_context

        context = super().get_context(request, *args, **kwargs)
        if self.coach is not None:
            context.update(calendar_context(request, coach=self.coach))
        return context


class WorkshopIndexPage(Page):
    """Upcoming workshops: the all-workshops calendar plus one WorkshopPage per workshop below it."""

    intro = models.TextField(blank=True)
    body = StreamField(BaseStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["pages.HomePage"]
    subpage_types = ["pages.WorkshopPage"]
    max_count = 1

    def workshop_pages(self):
        return (
            WorkshopPage.objects.child_of(self)
            .live()
            .filter(workshop__is_published=True, workshop__end_at__gt=timezone.now())
            .select_related("workshop", "workshop__host")
            .order_by("workshop__start_at")
        )

    def get_context(self, request, *args, **kwargs):
        from coaching.web.context import calendar_context

        context = super().get_context(request, *args, **kwargs)
        context["workshop_pages"] = self.workshop_pages()
        context.update(calendar_context(request, coach=None))
        return context


class WorkshopPage(Page):
    """A workshop's page: date, host, seats left, price and a "book a seat" panel (or, sold out,
    "join the waiting list")."""

    workshop = models.ForeignKey(
        "coaching.Workshop",
        null=True,
        on_delete=models.SET_NULL,
        related_name="pages",
        help_text="The workshop this page sells seats for.",
    )
    body = StreamField(BaseStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("workshop"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.FilterField("workshop")]

    parent_page_types = ["pages.WorkshopIndexPage"]
    subpage_types = []

    def get_context(self, request, *args, **kwargs):
        from coaching.schedule.next_available import workshops_with_seats
        from coaching.web.context import workshop_page_context

        context = super().get_context(request, *args, **kwargs)
        workshop = self.workshop
        if workshop is not None:
            context.update(workshop_page_context(request, workshop))
            if not context["seats_left"]:
                # Sold out: offer what exists beside the waiting list (other workshops with seats).
                context["other_workshops"] = self.other_workshops(
                    workshops_with_seats(after=timezone.now(), exclude=workshop)
                )
        return context

    @classmethod
    def other_workshops(cls, workshops) -> list[tuple]:
        """(workshop, its page's URL or None), for a list of workshops. One query."""
        pages = {page.workshop_id: page for page in cls.objects.live().filter(workshop__in=workshops)}
        return [(workshop, pages[workshop.pk].url if workshop.pk in pages else None) for workshop in workshops]
