"""The page tree seed_demo lays out, the short way, for tests that need a page of their own."""

import uuid

from django.conf import settings
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Collection, Locale, Page, Site

from pages.models import CoachIndexPage, HomePage


def coach_index_page() -> CoachIndexPage:
    """Root → Home (the default site) → Coaches. A transactional test may start from tables emptied
    by the one before it, without what Wagtail's migrations made: the locale, the root page and the
    root collection (image uploads need it); those are made again when missing."""
    Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="Home", slug=f"home-{uuid.uuid4().hex[:8]}"))
    Site.objects.update_or_create(
        is_default_site=True, defaults={"hostname": "localhost", "port": 80, "root_page": home}
    )
    return home.add_child(instance=CoachIndexPage(title="Coaches", slug="coaches"))
