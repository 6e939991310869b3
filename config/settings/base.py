"""Settings shared by every run mode.

Every value that differs between machines comes from an environment variable, read here and only
here; each one is listed in the README's configuration table with its default. The defaults are the
embedded mode: SQLite, tasks run eagerly, email to the console, Stripe's built-in test checkout,
Google Calendar off.
"""

import hashlib
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# The placeholder is refused by production settings (config/settings/production.py).
INSECURE_SECRET_KEY = "django-insecure-local-only-never-use-in-production"
SECRET_KEY = env("SECRET_KEY", INSECURE_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

# Absolute links in emails, ICS files, magic links and Stripe return URLs are built from this,
# never from the request's Host header (which a client controls).
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
WAGTAILADMIN_BASE_URL = SITE_URL
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)
# The domain part of calendar invite UIDs (booking-<ref>@<domain>). Each booking keeps the one it was
# made with, so changing SITE_URL (or this) never changes an existing invite's UID.
INVITE_UID_DOMAIN = env("INVITE_UID_DOMAIN")

INSTALLED_APPS = [
    "pages",
    "coaching",
    "snippets",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail_modeladmin",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django_htmx",
    "template_partials",
    # Not for its URLs (there are none): wagtail_modeladmin's list filters look up `admin.site`.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First: a NUL in any value would reach PostgreSQL as a DataError (500) otherwise.
    "coaching.web.input_guard.RefuseNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # HTML compressed when the client asks (Django's BREACH mitigation pads each answer by a random
    # length; every CSRF token is freshly masked per answer), then its ETag for 304s.
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): did this session give a two-factor code? Then our admin rule on it.
    "django_otp.middleware.OTPMiddleware",
    "coaching.backoffice.sign_in.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "coaching.web.zone.UserTimezoneMiddleware",
    "coaching.web.health.DatabaseUnavailableMiddleware",
    # After the zone (it keys on it) and CSRF (which sets the cookie of the token it fills in).
    "coaching.web.page_cache.PageCacheMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the view into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# SQLite by default. IMMEDIATE transactions make every atomic block take the write lock up front,
# so two bookings for one slot serialize instead of both reading "free" (the embedded mode's
# protection against double booking; PostgreSQL adds row locks and an exclusion constraint).
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# The site's default zone: used for a guest whose browser did not tell us theirs.
TIME_ZONE = env("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# Uploaded images and documents on S3 or any S3-compatible object storage, so every web machine sees
# the same files. Production switches to it when MEDIA_S3_BUCKET is set and refuses half a
# configuration (config/settings/object_storage.py); without it files stay under MEDIA_ROOT.
MEDIA_S3_BUCKET = env("MEDIA_S3_BUCKET")
MEDIA_S3_REGION = env("MEDIA_S3_REGION")
MEDIA_S3_ENDPOINT_URL = env("MEDIA_S3_ENDPOINT_URL")
MEDIA_S3_CUSTOM_DOMAIN = env("MEDIA_S3_CUSTOM_DOMAIN")
MEDIA_S3_ACCESS_KEY_ID = env("MEDIA_S3_ACCESS_KEY_ID")
MEDIA_S3_SECRET_ACCESS_KEY = env("MEDIA_S3_SECRET_ACCESS_KEY")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Caches. "default" stays in process memory so a Redis outage can never break page serving;
# "ratelimit" is shared through Redis when configured (counters must be seen by every web process)
# and fails open when Redis is down (coaching/ratelimit.py); so is "locks", where each periodic job
# claims its period so that a second beat cannot double it (coaching/services/single_run.py).
REDIS_URL = env("REDIS_URL")


def shared_cache(name: str) -> dict:
    if not REDIS_URL:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": shared_cache("ratelimit"),
    "locks": shared_cache("locks"),
    # Coach months and their versions (coaching/schedule/cache.py): one truth for every web process.
    # Without Redis, files on this host, so the server and the periodic jobs (`make run`) share it.
    "schedule": shared_cache("schedule")
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(
            Path(tempfile.gettempdir()) / f"coaching-schedule-{hashlib.sha256(DATABASE_URL.encode()).hexdigest()[:12]}"
        ),
    },
}

# Email. Console by default; set EMAIL_HOST for real SMTP.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST) and EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Bookings <bookings@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who hears about broken integrations and undeliverable mail.
OWNER_EMAIL = env("OWNER_EMAIL", "owner@example.com")
# Outbox delivery (coaching/notifications.py): a failing message is retried after 1, 2, 4 … minutes
# (capped at an hour) and marked "failed" — shown in the admin and mailed to OWNER_EMAIL — after this many attempts.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 6)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", 60)

# Celery. No broker configured → tasks run in-process, at once (embedded mode).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Several sites (or test runs) can share one Redis by giving each its own queue.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "celery")
# A broker outage must not hang a booking request: fail fast, the outbox catches up later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BEAT_SCHEDULE = {
    "expire-holds": {"task": "coaching.tasks.expire_holds_task", "schedule": timedelta(minutes=1)},
    "deliver-outbox": {"task": "coaching.tasks.deliver_pending_notifications", "schedule": timedelta(minutes=1)},
    "send-refunds": {"task": "coaching.tasks.send_due_refunds", "schedule": timedelta(minutes=1)},
    "advance-waitlists": {"task": "coaching.tasks.advance_due_waitlists", "schedule": timedelta(minutes=1)},
    "send-reminders": {"task": "coaching.tasks.send_due_reminders", "schedule": timedelta(minutes=10)},
    "google-busy-pull": {"task": "coaching.tasks.pull_all_busy_times", "schedule": crontab(minute="*/15")},
}

# Stripe. Without a secret key the built-in test checkout stands in (embedded mode only).
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
# In embedded mode the test checkout signs its events with this secret, so the real webhook
# verification runs; with real keys it must be the endpoint's secret from the Stripe dashboard.
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "" if STRIPE_SECRET_KEY else "whsec_local_test_checkout")
# The built-in test checkout (embedded mode). Production turns it off unless explicitly asked for,
# because its webhook secret is public: anyone could "pay" with it.
STRIPE_TEST_CHECKOUT = env_bool("STRIPE_TEST_CHECKOUT", not STRIPE_SECRET_KEY)
# Only for tests and local stand-ins: where the stripe SDK sends API calls.
STRIPE_API_BASE = env("STRIPE_API_BASE")
# A slow Stripe must not hang a guest's request: give up after this long, retrying (with the same
# idempotency key) this many times first.
STRIPE_TIMEOUT_SECONDS = float(env("STRIPE_TIMEOUT_SECONDS", "10"))
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
BOOKING_HOLD_MINUTES = env_int("BOOKING_HOLD_MINUTES", 15)
# Refunds are sent after the deciding transaction commits and retried (1, 2, 4 … minutes, capped at
# an hour) this many times before the owner is told to refund by hand.
REFUND_MAX_ATTEMPTS = env_int("REFUND_MAX_ATTEMPTS", 8)

# Google Calendar. Off until a client id and secret are configured.
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET")
# Fernet key(s) for refresh tokens at rest; derived from SECRET_KEY when unset.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")

WAGTAIL_SITE_NAME = env("SITE_NAME", "Northstar Coaching")
# What authenticator apps show above the code.
OTP_TOTP_ISSUER = WAGTAIL_SITE_NAME
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]

# Content Security Policy for the public site: no inline scripts anywhere (JS lives in static/js);
# checkout.stripe.com is a form-action because a no-JavaScript booking POST redirects there.
# The Wagtail admin ships its own inline scripts and is excluded.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'", "https://checkout.stripe.com"],
    },
}
X_FRAME_OPTIONS = "SAMEORIGIN"

# Rate limits (coaching/ratelimit.py) on the shared cache.
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
RATELIMIT_TRUST_FORWARDED_FOR = env_bool("RATELIMIT_TRUST_FORWARDED_FOR", False)
BOOKING_POST_RATE = env("BOOKING_POST_RATE", "10/m")
MAGIC_LINK_RATE = env("MAGIC_LINK_RATE", "30/m")
LOST_LINK_RATE = env("LOST_LINK_RATE", "5/h")
# The admin sign-in (coaching/backoffice/sign_in.py, django-axes): after this many failed sign-ins for
# one username, or from one client address, further attempts are refused for the cool-off (0 = until
# the owner unlocks). Counts live in the database, so every web process sees the same numbers.
ADMIN_LOGIN_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
ADMIN_LOCKOUT_MINUTES = env_int("ADMIN_LOCKOUT_MINUTES", 15)
AXES_HANDLER = "coaching.backoffice.sign_in.SignInAttemptHandler"
AXES_FAILURE_LIMIT = ADMIN_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=ADMIN_LOCKOUT_MINUTES) if ADMIN_LOCKOUT_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "coaching.backoffice.sign_in.sign_in_client_ip"
AXES_LOCKOUT_CALLABLE = "coaching.backoffice.sign_in.locked_out_response"
AXES_HTTP_RESPONSE_CODE = 429
# Two-factor sign-in (TOTP, django-otp): offered to every admin user; when this is on, a user with
# admin access but no confirmed device must turn it on before using the admin.
ADMIN_REQUIRE_TWO_FACTOR = env_bool("ADMIN_REQUIRE_TWO_FACTOR", False)
WAGTAILADMIN_USER_LOGIN_FORM = "coaching.backoffice.sign_in.SignInForm"
# Request size limit: booking forms are tiny; the admin's image uploads go through files, not this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Wagtail runs search-index and reference-index tasks through django-tasks; one line each is noise.
        "django_tasks": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; its WARNINGs (each failure, each lockout) are the ones to keep.
        "axes": {"level": "WARNING"},
    },
}
