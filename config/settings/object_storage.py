"""Where uploaded images and documents live in production: object storage when it is configured.

Not a settings module: production.py calls `media_storage()` with the MEDIA_S3_* values read in
base.py. Either nothing is set (files stay on this host's disk under MEDIA_ROOT, served at /media/
by config/media.py), or the bucket and both credentials are: anything in between raises
ImproperlyConfigured, so a half-configured process refuses to start instead of writing uploads to a
disk that the other web machines cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
# Browsers and CDNs may keep an image a day. Wagtail never rewrites a file under the same name:
# a replaced image gets a new original and new renditions.
CACHE_CONTROL = "public, max-age=86400"


@dataclass(frozen=True)
class MediaStorage:
    storage: dict  # the STORAGES["default"] entry
    public_url: str  # what every file URL starts with (MEDIA_URL), ending in "/"

    @property
    def origin(self) -> str:
        """scheme://host[:port] of the file URLs: the Content-Security-Policy must allow it for images."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"


def media_storage(
    *,
    bucket: str,
    region: str = "",
    endpoint_url: str = "",
    custom_domain: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
) -> MediaStorage | None:
    """The object storage described by the MEDIA_S3_* variables, or None when none is set.

    Raises ImproperlyConfigured, naming what is missing or wrong, on half a configuration: a bucket
    without both credentials, or any other MEDIA_S3_* variable without a bucket.
    """
    others = {
        "MEDIA_S3_REGION": region,
        "MEDIA_S3_ENDPOINT_URL": endpoint_url,
        "MEDIA_S3_CUSTOM_DOMAIN": custom_domain,
        "MEDIA_S3_ACCESS_KEY_ID": access_key_id,
        "MEDIA_S3_SECRET_ACCESS_KEY": secret_access_key,
    }
    if not bucket:
        stray = [name for name, value in others.items() if value]
        if stray:
            raise ImproperlyConfigured(
                f"{', '.join(stray)} set but MEDIA_S3_BUCKET is empty. Set MEDIA_S3_BUCKET (and both "
                "credentials) to keep uploads in object storage, or unset them all to keep uploads on "
                "this host's disk (MEDIA_ROOT)."
            )
        return None
    missing = [
        name
        for name, value in (
            ("MEDIA_S3_ACCESS_KEY_ID", access_key_id),
            ("MEDIA_S3_SECRET_ACCESS_KEY", secret_access_key),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"MEDIA_S3_BUCKET is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            "empty: uploads could not be written to the bucket. Set both credentials (an access key "
            "allowed to read and write that bucket), or unset MEDIA_S3_BUCKET."
        )
    if endpoint_url and urlsplit(endpoint_url).scheme not in ("http", "https"):
        raise ImproperlyConfigured(
            f"MEDIA_S3_ENDPOINT_URL must be an http(s) URL such as https://<account>.r2.cloudflarestorage.com, "
            f"not {endpoint_url!r}."
        )
    if "://" in custom_domain:
        raise ImproperlyConfigured(
            f"MEDIA_S3_CUSTOM_DOMAIN is a host name (cdn.example.com), without https:// — got {custom_domain!r}."
        )

    # One public base URL for every file, computed once: no per-URL request signing, and the same
    # origin goes into the Content-Security-Policy.
    if custom_domain:
        public_url = f"https://{custom_domain.strip('/')}"
    elif endpoint_url:
        # Path-style (endpoint/bucket/key): what MinIO needs and every S3-compatible service accepts.
        public_url = f"{endpoint_url.rstrip('/')}/{bucket}"
    else:
        host = f"{bucket}.s3.{region}.amazonaws.com" if region else f"{bucket}.s3.amazonaws.com"
        public_url = f"https://{host}"
    scheme, rest = public_url.split("://", 1)
    options = {
        "bucket_name": bucket,
        "access_key": access_key_id,
        "secret_key": secret_access_key,
        "region_name": region or None,
        "endpoint_url": endpoint_url or None,
        "addressing_style": "path" if endpoint_url else None,
        # django-storages builds "<url_protocol>//<custom_domain>/<key>" from these.
        "custom_domain": rest,
        "url_protocol": f"{scheme}:",
        # Public, unsigned URLs: a page's HTML (and any cache of it) never holds an expiring link.
        # The bucket policy makes images/ and original_images/ readable (README, "Deploy").
        "querystring_auth": False,
        # Never overwrite: two uploads called photo.jpg must stay two files.
        "file_overwrite": False,
        # Buckets created today refuse ACLs ("bucket owner enforced"): access is the bucket policy's job.
        "default_acl": None,
        "object_parameters": {"CacheControl": CACHE_CONTROL},
    }
    return MediaStorage(storage={"BACKEND": S3_BACKEND, "OPTIONS": options}, public_url=public_url + "/")
