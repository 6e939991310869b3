"""Production: PostgreSQL, Redis, real SMTP, Stripe and Google keys from the environment.

Importing this module with a missing or placeholder SECRET_KEY raises ImproperlyConfigured, so a
mis-deployed process refuses to start rather than signing magic links with a public key.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    CONTENT_SECURITY_POLICY,
    INSECURE_SECRET_KEY,
    LOGGING,
    MEDIA_S3_ACCESS_KEY_ID,
    MEDIA_S3_BUCKET,
    MEDIA_S3_CUSTOM_DOMAIN,
    MEDIA_S3_ENDPOINT_URL,
    MEDIA_S3_REGION,
    MEDIA_S3_SECRET_ACCESS_KEY,
    SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    env_bool,
    env_int,
)
from .object_storage import media_storage

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

# Uploads on object storage when MEDIA_S3_* say so (every web machine then sees the same files);
# half a configuration raises ImproperlyConfigured here. Without it: this host's disk, served at /media/.
MEDIA_OBJECT_STORAGE = media_storage(
    bucket=MEDIA_S3_BUCKET,
    region=MEDIA_S3_REGION,
    endpoint_url=MEDIA_S3_ENDPOINT_URL,
    custom_domain=MEDIA_S3_CUSTOM_DOMAIN,
    access_key_id=MEDIA_S3_ACCESS_KEY_ID,
    secret_access_key=MEDIA_S3_SECRET_ACCESS_KEY,
)
if MEDIA_OBJECT_STORAGE is not None:
    STORAGES["default"] = MEDIA_OBJECT_STORAGE.storage
    MEDIA_URL = MEDIA_OBJECT_STORAGE.public_url
    _directives = CONTENT_SECURITY_POLICY["DIRECTIVES"]
    CONTENT_SECURITY_POLICY = {
        **CONTENT_SECURITY_POLICY,
        "DIRECTIVES": {**_directives, "img-src": [*_directives["img-src"], MEDIA_OBJECT_STORAGE.origin]},
    }
    # Documents are streamed through Wagtail's view (which checks collection privacy) rather than
    # redirected to the bucket, where only images are public.
    WAGTAILDOCS_SERVE_METHOD = "serve_view"

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
