"""The editorial snippets in the Wagtail admin, one viewset each (as the coaching snippets are)."""

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import FAQ, Testimonial


class TestimonialViewSet(SnippetViewSet):
    model = Testimonial
    icon = "openquote"
    list_display = ["author", "role", "quote"]


class FAQViewSet(SnippetViewSet):
    model = FAQ
    icon = "help"
    list_display = ["question", "sort_order"]


register_snippet(TestimonialViewSet)
register_snippet(FAQViewSet)
