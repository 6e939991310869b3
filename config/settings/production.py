"""Production: PostgreSQL, Redis, real SMTP, Stripe and Google keys from the environment.

Importing this module with a missing or placeholder SECRET_KEY raises ImproperlyConfigured, so a
mis-deployed process refuses to start rather than signing magic links with a public key.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    INSECURE_SECRET_KEY,
    LOGGING,
    SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    env_bool,
    env_int,
)

if (
    not SECRET_KEY
    or SECRET_KEY == INSECURE_SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 32
):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is the development placeholder. Set SECRET_KEY to a long random value "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

DEBUG = env_bool("DEBUG", False)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# No built-in test checkout in production unless explicitly enabled (e.g. a staging demo); without
# Stripe keys paid bookings are then refused with a clear message, and the webhook refuses every event.
STRIPE_TEST_CHECKOUT = env_bool("STRIPE_TEST_CHECKOUT", False)
if not STRIPE_TEST_CHECKOUT and STRIPE_WEBHOOK_SECRET == "whsec_local_test_checkout":
    STRIPE_WEBHOOK_SECRET = ""

# The container health check calls /healthz over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "127.0.0.1", "localhost"]

LOGGING["formatters"]["json"] = {"()": "config.logging.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = "json"
