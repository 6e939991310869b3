"""StreamField blocks for every page body: small StructBlocks feeding one shared StreamBlock."""

from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.blocks import StructBlockValidationError
from wagtail.images.blocks import ImageBlock
from wagtail.snippets.blocks import SnippetChooserBlock


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=120)
    size = blocks.ChoiceBlock(choices=[("h2", "Large"), ("h3", "Medium")], default="h2")

    class Meta:
        icon = "title"
        template = "pages/blocks/heading_block.html"
        preview_value = {"text": "Work with a coach who gets it", "size": "h2"}
        description = "A section heading"


class ImageWithCaptionBlock(blocks.StructBlock):
    image = ImageBlock()
    caption = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "image"
        template = "pages/blocks/image_block.html"
        description = "An image with an optional caption"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False, max_length=120)

    class Meta:
        icon = "openquote"
        template = "pages/blocks/quote_block.html"
        preview_value = {"text": "The best hour I spent this year.", "attribution": "A happy client"}
        description = "A pull quote"


class CallToActionBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=120)
    page = blocks.PageChooserBlock(required=False)
    url = blocks.URLBlock(required=False)

    class Meta:
        icon = "link"
        template = "pages/blocks/cta_block.html"
        preview_value = {"text": "Book a free intro call", "url": "https://example.com"}
        description = "A prominent button linking to a page or URL"


def sample_testimonial():
    # Unsaved: the editor's preview must not depend on what the database holds.
    from snippets.models import Testimonial

    return {
        "testimonial": Testimonial(
            quote="Three sessions gave me a plan I actually followed.", author="Priya N.", role="Changed careers"
        )
    }


class TestimonialBlock(blocks.StructBlock):
    testimonial = SnippetChooserBlock("snippets.Testimonial")

    class Meta:
        icon = "openquote"
        template = "pages/blocks/testimonial_block.html"
        preview_value = staticmethod(sample_testimonial)  # called when the preview is drawn
        description = "A client's words, chosen from the Testimonials snippets"


def sample_faq():
    from snippets.models import FAQ

    return {
        "heading": "Questions and answers",
        "questions": [
            FAQ(question="Can I move my booking?", answer="<p>Yes, from the link in your confirmation email.</p>"),
            FAQ(question="Which time zone are the times in?", answer="<p>Yours; every time says its zone.</p>"),
        ],
    }


class FAQBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, required=False, default="Questions and answers")
    questions = blocks.ListBlock(SnippetChooserBlock("snippets.FAQ"), min_num=1)

    class Meta:
        icon = "help"
        template = "pages/blocks/faq_block.html"
        preview_value = staticmethod(sample_faq)
        description = "Questions and answers, chosen from the FAQs snippets, in the order you pick them"


class BookingCalendarBlock(blocks.StructBlock):
    """A live booking calendar: one coach's 1-on-1 sessions, or every workshop.

    Renders the same HTML as the /book/ pages (coaching/partials/booking_widget.html), so guests
    book without leaving the page. A page may hold several (and a coach page has its own): each
    calendar drawn on a page gets its own id prefix and URL state (coaching/web/context.py).
    """

    heading = blocks.CharBlock(max_length=120, required=False, default="Book a session")
    show = blocks.ChoiceBlock(
        choices=[("coach", "One coach's 1-on-1 sessions"), ("workshops", "All workshops")],
        default="coach",
        help_text="Choose a coach below for 1-on-1 sessions.",
    )
    coach = SnippetChooserBlock("coaching.Coach", required=False)
    session_type = SnippetChooserBlock(
        "coaching.SessionType",
        required=False,
        help_text="Optional: show only this session type of the coach (no choice of types).",
    )

    class Meta:
        icon = "date"
        template = "pages/blocks/booking_calendar_block.html"
        preview_value = {
            "heading": "Book a seat in a workshop",
            "show": "workshops",
            "coach": None,
            "session_type": None,
        }
        description = "A month calendar where guests book a coach's sessions or workshop seats"

    def clean(self, value):
        value = super().clean(value)
        if value.get("show") == "coach" and not value.get("coach"):
            raise StructBlockValidationError(block_errors={"coach": ValidationError("Choose the coach to show.")})
        pinned, coach = value.get("session_type"), value.get("coach")
        if value.get("show") == "coach" and pinned is not None and not pinned.coaches.filter(pk=coach.pk).exists():
            raise StructBlockValidationError(
                block_errors={"session_type": ValidationError(f"{coach.name} does not offer “{pinned.title}”.")}
            )
        return value

    def get_context(self, value, parent_context=None):
        from coaching.web.context import calendar_context

        context = super().get_context(value, parent_context=parent_context)
        request = (parent_context or {}).get("request")
        coach = value.get("coach") if value.get("show") == "coach" else None
        if value.get("show") == "coach" and (coach is None or not coach.is_active):
            context["calendar_unavailable"] = True
            return context
        pinned = value.get("session_type") if coach is not None else None
        if pinned is not None and not pinned.is_active:
            context["calendar_unavailable"] = True
            return context
        context.update(calendar_context(request, coach=coach, pinned_type=pinned))
        return context


class BaseStreamBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        icon="pilcrow",
        template="pages/blocks/paragraph_block.html",
        preview_value="<p>Coaching that fits around your life.</p>",
        description="Formatted text",
    )
    image = ImageWithCaptionBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    testimonial = TestimonialBlock()
    faq = FAQBlock()
    booking_calendar = BookingCalendarBlock()
