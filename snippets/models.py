"""Editorial snippets the owner reuses across pages."""

from django.db import models
from wagtail.fields import RichTextField
from wagtail.search import index
from wagtail.snippets.models import register_snippet


@register_snippet
class Testimonial(index.Indexed, models.Model):
    quote = models.TextField()
    author = models.CharField(max_length=120)
    role = models.CharField(max_length=120, blank=True)

    search_fields = [index.SearchField("quote"), index.SearchField("author")]

    def __str__(self) -> str:
        return f"{self.author}: {self.quote[:40]}"


@register_snippet
class FAQ(index.Indexed, models.Model):
    question = models.CharField(max_length=255)
    answer = RichTextField()
    sort_order = models.PositiveSmallIntegerField(default=0)

    search_fields = [index.SearchField("question")]

    class Meta:
        ordering = ["sort_order", "question"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"

    def __str__(self) -> str:
        return self.question


@register_snippet
class Policy(models.Model):
    title = models.CharField(max_length=120)
    body = RichTextField()

    class Meta:
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.title


@register_snippet
class CallToAction(models.Model):
    text = models.CharField(max_length=120)
    url = models.URLField()

    class Meta:
        verbose_name = "call to action"

    def __str__(self) -> str:
        return self.text
