"""Uploaded images on a single host: /media/ answered by the app when they live on this machine's disk.

With object storage (MEDIA_S3_*) every file URL points at the bucket and this view is not routed.
Without it nothing else would answer /media/ in production: whitenoise serves only the static files
it found at start-up, and Django's own `static()` helper is for DEBUG. So this view serves what a
public page shows — Wagtail's original images and renditions, as images — and nothing else under
MEDIA_ROOT: documents go through Wagtail's /documents/ view, which checks collection privacy.
"""

import posixpath
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.utils._os import safe_join
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

# Where Wagtail writes images (wagtail.images: `original_images/` on upload, `images/` for renditions).
PUBLIC_FOLDERS = ("original_images/", "images/")
# By extension, not by sniffing: never an SVG or HTML file that a browser would run as a page.
IMAGE_TYPES = {
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
# A day in browsers and shared caches; If-Modified-Since answers 304 after that. Wagtail never
# rewrites a file under the same name (a replaced image gets a new original and new renditions).
CACHE_CONTROL = "public, max-age=86400"


@require_safe
def serve_media(request, path: str):
    """GET/HEAD one image under MEDIA_ROOT's image folders; 404 for anything else."""
    path = posixpath.normpath(path).lstrip("/")
    if not path.startswith(PUBLIC_FOLDERS):
        raise Http404("Not a public file.")
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        # safe_join refuses "..", and resolve() follows symlinks so none can lead out of MEDIA_ROOT.
        file = Path(safe_join(root, path)).resolve()
    except SuspiciousFileOperation as exc:
        raise Http404("Not a public file.") from exc
    content_type = IMAGE_TYPES.get(file.suffix.lower())
    if content_type is None or not file.is_relative_to(root) or not file.is_file():
        raise Http404("Not a public file.")
    modified = file.stat().st_mtime
    if not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), modified):
        response = HttpResponseNotModified()
    else:
        response = FileResponse(file.open("rb"), content_type=content_type)
    response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = CACHE_CONTROL
    return response
