"""Editorial snippets the owner reuses across pages: testimonials and FAQs, shown by the
Testimonial and FAQ blocks (pages/blocks.py). Registered in the admin by snippets/wagtail_hooks.py."""

from django.db import models
from wagtail.fields import RichTextField
from wagtail.search import index


class Testimonial(index.Indexed, models.Model):
    quote = models.TextField()
    author = models.CharField(max_length=120)
    role = models.CharField(max_length=120, blank=True)

    search_fields = [index.SearchField("quote"), index.SearchField("author")]

    def __str__(self) -> str:
        return f"{self.author}: {self.quote[:40]}"


class FAQ(index.Indexed, models.Model):
    question = models.CharField(max_length=255)
    answer = RichTextField()
    sort_order = models.PositiveSmallIntegerField(
        default=0, help_text="Position in the admin's list. An FAQ block shows its questions in the order chosen there."
    )

    search_fields = [index.SearchField("question")]

    class Meta:
        ordering = ["sort_order", "question"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"

    def __str__(self) -> str:
        return self.question
