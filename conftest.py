"""Project-wide pytest setup: database-specific skips (with the reason printed) and shared fixtures."""

import os
import shutil

import pytest
from django.db import connection

CHROMIUM = "/usr/bin/chromium"
# Debian's chromium as root in a sandbox with no internet: no sandbox, no GPU, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    have_chromium = shutil.which(CHROMIUM) is not None
    in_ci = os.environ.get("CI") == "true"
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (races / exclusion constraint): run with DATABASE_URL=postgres://... make test"
    )
    skip_browser = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium); CI installs it")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        # In CI a missing browser is a failure, never a silent skip.
        if "browser" in item.keywords and not have_chromium and not in_ci:
            item.add_marker(skip_browser)


@pytest.fixture(scope="module")
def chromium():
    """One Debian chromium per test module, driven by playwright's sync API."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium, live_server, settings):
    """A fresh London-time page against this test's live server (SITE_URL points at it)."""
    settings.SITE_URL = live_server.url
    context = chromium.new_context(timezone_id="Europe/London", locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
