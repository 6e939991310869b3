"""StreamField blocks for every page body: small StructBlocks feeding one shared StreamBlock."""

from wagtail import blocks
from wagtail.images.blocks import ImageBlock


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
