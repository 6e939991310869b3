"""Project-wide pytest setup: skips for what this machine lacks (with the reason printed) and the
browser fixtures.

Outside CI a test that needs something missing is skipped and says what to start or install. In CI
(`CI=true`) nothing is skipped for a missing browser, Redis or axe-core: the test runs and fails.
Only the PostgreSQL-only tests are skipped on SQLite everywhere (CI runs the suite on both).
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connection

from coaching.tests.standins.redis_dbs import redis_test_url

IN_CI = os.environ.get("CI") == "true"
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

# Each test process (and each pytest-xdist worker) has its own Redis databases: standins/redis_dbs.py.
REDIS_TEST_URL = redis_test_url()
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (races / exclusion constraint): run with DATABASE_URL=postgres://... make test"
    )
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
    if IN_CI:
        return  # in CI a missing browser or Redis is a failure, never a silent skip
    needs = {
        "browser": (
            lambda: shutil.which(CHROMIUM) is not None,
            f"{CHROMIUM} not installed (apt-get install chromium); CI installs it",
        ),
        "redis": (
            lambda: redis_answers(REDIS_TEST_URL),
            f"needs Redis at {REDIS_TEST_URL} (redis-server --daemonize yes, or set REDIS_TEST_URL); CI starts it",
        ),
    }
    for marker, (available, reason) in needs.items():
        marked = [item for item in items if marker in item.keywords]
        if marked and not available():  # asked once, and only when a collected test needs it
            for item in marked:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def redis_test_url():
    """The Redis the `redis`-marked tests use (REDIS_TEST_URL, default db 15 on the local server)."""
    return REDIS_TEST_URL


@pytest.fixture
def axe_core():
    """axe-core's script for the accessibility checks (node_modules, from `npm ci`; `make test` runs it)."""
    if not AXE.exists() and not IN_CI:
        pytest.skip("needs axe-core: run `npm ci` (make test does when npm is installed); CI installs it")
    assert AXE.exists(), "run `npm ci` to get axe-core"
    return AXE


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


@pytest.fixture(autouse=True)
def _fresh_schedule_cache():
    """Each test starts with no cached calendar months (coaching/schedule/cache.py): the database
    is rolled back between tests, and a month cached by one must never answer another."""
    from django.core.cache import caches

    caches["schedule"].clear()
