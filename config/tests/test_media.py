"""Uploaded images in production: object storage when MEDIA_S3_* say so (and refusing to start on
half of them), otherwise this host's disk served at /media/ by the app. README "Configuration" and
"Deploy (production)" → "Uploaded images"."""

import io
import json
import os
import re
import subprocess
import sys
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage
from storages.backends.s3 import S3Storage
from wagtail.images.models import Image

from coaching.tests.factories import CoachFactory
from coaching.tests.standins.s3 import BUCKET, public_images_policy
from config.settings.object_storage import CACHE_CONTROL, S3_BACKEND, media_storage
from pages.models import CoachPage
from pages.tests.tree import coach_index_page

S3_ENVIRONMENT = {
    "MEDIA_S3_BUCKET": "northstar-media",
    "MEDIA_S3_REGION": "auto",
    "MEDIA_S3_ENDPOINT_URL": "https://account.r2.cloudflarestorage.com",
    "MEDIA_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "MEDIA_S3_SECRET_ACCESS_KEY": "secret-example",
}
REPORT = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
from django.urls import Resolver404, resolve
try:
    media_view = resolve("/media/images/a.png").url_name
except Resolver404:
    media_view = None
print(json.dumps({
    "backend": settings.STORAGES["default"]["BACKEND"],
    "class": type(storages["default"]).__name__,
    "url": storages["default"].url("images/coach photo.fill-240x240.png"),
    "img_src": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
    "documents": getattr(settings, "WAGTAILDOCS_SERVE_METHOD", None),
    "media_view": media_view,
}))
"""


def production(variables: dict[str, str]) -> subprocess.CompletedProcess:
    """Start Django with production settings and these MEDIA_S3_* variables (and no others)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_S3_")}
    env.update(variables, SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="config.settings.production")
    return subprocess.run([sys.executable, "-c", REPORT], env=env, capture_output=True, text=True, timeout=60)


# --- which storage production chooses ---------------------------------------------------------------


def test_production_keeps_uploads_in_the_bucket_when_the_s3_variables_are_set():
    result = production(S3_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == S3_BACKEND and report["class"] == "S3Storage"
    assert (
        report["url"]
        == "https://account.r2.cloudflarestorage.com/northstar-media/images/coach%20photo.fill-240x240.png"
    )
    # The page may show images from the bucket (the Content-Security-Policy would block them otherwise)…
    assert "https://account.r2.cloudflarestorage.com" in report["img_src"]
    # …documents are streamed through Wagtail's privacy-checking view, and /media/ is not answered.
    assert report["documents"] == "serve_view"
    assert report["media_view"] is None


def test_production_without_s3_variables_keeps_uploads_on_disk_and_serves_them_at_media():
    result = production({})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == "django.core.files.storage.FileSystemStorage"
    assert report["url"] == "/media/images/coach%20photo.fill-240x240.png"
    assert report["media_view"] == "media"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"MEDIA_S3_BUCKET": "northstar-media"},
            "MEDIA_S3_BUCKET is set but MEDIA_S3_ACCESS_KEY_ID and MEDIA_S3_SECRET_ACCESS_KEY are empty",
        ),
        (
            {k: v for k, v in S3_ENVIRONMENT.items() if k != "MEDIA_S3_BUCKET"},
            "MEDIA_S3_REGION, MEDIA_S3_ENDPOINT_URL, MEDIA_S3_ACCESS_KEY_ID, MEDIA_S3_SECRET_ACCESS_KEY set but "
            "MEDIA_S3_BUCKET is empty",
        ),
    ],
    ids=["bucket-without-credentials", "credentials-without-bucket"],
)
def test_production_refuses_to_start_on_half_an_s3_configuration(variables, message):
    result = production(variables)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"bucket": "b", "access_key_id": "k"}, "MEDIA_S3_SECRET_ACCESS_KEY is empty"),
        ({"bucket": "b", "secret_access_key": "s"}, "MEDIA_S3_ACCESS_KEY_ID is empty"),
        ({"bucket": "", "custom_domain": "cdn.example.com"}, "MEDIA_S3_CUSTOM_DOMAIN set but MEDIA_S3_BUCKET is empty"),
        (
            {"bucket": "b", "access_key_id": "k", "secret_access_key": "s", "endpoint_url": "minio:9000"},
            "MEDIA_S3_ENDPOINT_URL must be an http(s) URL",
        ),
        (
            {"bucket": "b", "access_key_id": "k", "secret_access_key": "s", "custom_domain": "https://cdn.example.com"},
            "MEDIA_S3_CUSTOM_DOMAIN is a host name",
        ),
    ],
)
def test_every_half_configuration_is_refused_with_what_to_fix(variables, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        media_storage(**variables)


@pytest.mark.parametrize(
    ("variables", "url"),
    [
        ({"region": "eu-west-2"}, "https://northstar-media.s3.eu-west-2.amazonaws.com/images/a%20b.png"),
        ({}, "https://northstar-media.s3.amazonaws.com/images/a%20b.png"),
        ({"endpoint_url": "http://127.0.0.1:9000/"}, "http://127.0.0.1:9000/northstar-media/images/a%20b.png"),
        (
            {"region": "eu-west-2", "custom_domain": "media.northstar.example"},
            "https://media.northstar.example/images/a%20b.png",
        ),
    ],
    ids=["aws-region", "aws-default-region", "s3-compatible-endpoint", "cdn-domain"],
)
def test_file_urls_are_public_unsigned_and_on_the_origin_the_page_allows(variables, url):
    configured = media_storage(bucket="northstar-media", access_key_id="k", secret_access_key="s", **variables)
    storage = S3Storage(**configured.storage["OPTIONS"])
    assert storage.url("images/a b.png") == url  # no signature that would expire in a cached page
    assert configured.public_url == url.removesuffix("images/a%20b.png")
    parts = urlsplit(url)
    assert configured.origin == f"{parts.scheme}://{parts.netloc}"
    assert storage.file_overwrite is False  # two uploads called photo.jpg stay two files
    assert storage.object_parameters == {"CacheControl": CACHE_CONTROL}


def test_nothing_set_means_this_hosts_disk():
    assert media_storage(bucket="") is None


# --- the single-host fallback: /media/ answered by the app ------------------------------------------


def png(colour=(20, 120, 200), size=(400, 300)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path, db):
    """MEDIA_ROOT in a fresh folder (and the database: a 404 page reads the site's settings)."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_an_image_on_disk_is_served_with_its_type_and_cache_headers(client, media_root):
    (media_root / "original_images").mkdir()
    (media_root / "original_images" / "grace.png").write_bytes(png())
    response = client.get("/media/original_images/grace.png")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png()
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == CACHE_CONTROL
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response  # cacheable by any shared cache
    again = client.get("/media/original_images/grace.png", HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert again.status_code == 304
    assert client.head("/media/original_images/grace.png").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "documents/contract.pdf",  # documents go through Wagtail's privacy-checking /documents/ view
        "images/../documents/contract.pdf",
        "images/%2e%2e/documents/contract.pdf",
        "images/../../secret.png",
        "images/page.html",
        "images/logo.svg",
        "images/missing.png",
        "images/",
        "secret.png",
    ],
)
def test_nothing_but_existing_images_is_served(client, media_root, path):
    for folder in ("images", "documents"):
        (media_root / folder).mkdir()
    (media_root / "documents" / "contract.pdf").write_bytes(b"%PDF-1.4 private")
    (media_root / "images" / "page.html").write_text("<script>alert(1)</script>")
    (media_root / "images" / "logo.svg").write_text("<svg onload='alert(1)'/>")
    (media_root / "secret.png").write_bytes(png())
    assert client.get(f"/media/{path}").status_code == 404


def test_a_symlink_cannot_lead_out_of_the_media_folder(client, media_root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "elsewhere.png"
    outside.write_bytes(png())
    (media_root / "images").mkdir()
    (media_root / "images" / "link.png").symlink_to(outside)
    assert client.get("/media/images/link.png").status_code == 404


def test_the_media_view_only_reads(client, media_root):
    (media_root / "images").mkdir()
    (media_root / "images" / "a.png").write_bytes(png())
    assert client.post("/media/images/a.png").status_code == 405
    stale = formatdate(0, usegmt=True)
    assert client.get("/media/images/a.png", HTTP_IF_MODIFIED_SINCE=stale).status_code == 200


@pytest.mark.django_db
def test_without_object_storage_a_coach_photo_uploaded_in_the_admin_shows_on_the_coach_page(
    client, media_root, admin_user
):
    """One host, no bucket: upload in the Wagtail admin, and the public coach page's photo loads from
    this app's /media/ (DEBUG off, as in production)."""
    index = coach_index_page()
    client.force_login(admin_user)
    upload = SimpleUploadedFile("grace.png", png(), content_type="image/png")
    assert client.post(reverse("wagtailimages:add"), {"title": "Grace", "file": upload}).status_code == 302
    coach = CoachFactory(name="Grace Hopper", photo=Image.objects.get(title="Grace"))
    index.add_child(instance=CoachPage(title="Grace Hopper", slug="grace-hopper", coach=coach))

    page = client.get("/coaches/grace-hopper/")
    assert page.status_code == 200
    (rendition_url,) = re.findall(r'<img[^>]+src="(/media/images/[^"]+fill-240x240[^"]*)"', page.content.decode())
    served = client.get(rendition_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert PILImage.open(io.BytesIO(b"".join(served.streaming_content))).size == (240, 240)


def test_the_bucket_policy_in_the_readme_is_the_one_the_tests_enforce():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Uploaded images") :]
    policy = section[section.index("```json") + len("```json") : section.index("```", section.index("```json") + 7)]
    assert json.loads(policy.replace("<bucket>", BUCKET)) == public_images_policy(BUCKET)
