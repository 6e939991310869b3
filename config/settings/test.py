"""Test settings: the same as development, with fast password hashing and no real mail."""

from .base import *  # noqa: F403
from .base import DATABASES, INSTALLED_APPS

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
WAGTAILADMIN_BASE_URL = SITE_URL
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"},
    # Every claim succeeds: tests run a periodic job as often as they like. The single-run tests
    # (coaching/tests/services/test_single_run.py) give themselves a real one.
    "locks": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    "schedule": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "schedule"},
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
STRIPE_SECRET_KEY = ""
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
GOOGLE_CLIENT_ID = ""
GOOGLE_CLIENT_SECRET = ""

# A file (not :memory:) so tests that race threads on SQLite share one database; one file per
# test process so parallel runs on one machine never collide.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    import os as _os
    import tempfile as _tempfile

    DATABASES["default"]["TEST"] = {
        "NAME": _os.path.join(_tempfile.gettempdir(), f"coaching-test-{_os.getpid()}.sqlite3")
    }
WHITENOISE_AUTOREFRESH = True
# Rate-limit tests switch this on for themselves; elsewhere one test client is "one IP" for hundreds of requests.
RATELIMIT_ENABLED = False

# The demo content (`manage.py seed_demo`) is a development tool: never installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "tools.demo"]
