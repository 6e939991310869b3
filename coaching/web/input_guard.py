"""Refuse requests that carry a NUL character anywhere a value could reach the database.

PostgreSQL text cannot hold NUL (0x00): a query parameter, form field, cookie (the session key!),
header or URL path with one would surface as a DataError deep inside a view — a 500 on an input
problem. SQLite accepts NUL, which is how it went unnoticed. This middleware, first in the chain,
answers 400 before any view, session lookup or page route runs. The Stripe webhook's JSON body is
not a form: its event is validated by coaching/services/stripe_events.py.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def carries_nul(request: HttpRequest) -> bool:
    if NUL in request.path or NUL in request.path_info:
        return True
    for mapping in (request.GET, request.COOKIES):
        if any(NUL in key or NUL in value for key, values in _items(mapping) for value in values):
            return True
    if any(NUL in str(value) for key, value in request.META.items() if key.startswith("HTTP_")):
        return True
    if request.method == "POST" and request.content_type in FORM_TYPES:
        return any(NUL in key or NUL in value for key, values in _items(request.POST) for value in values)
    return False


def _items(mapping):
    if hasattr(mapping, "lists"):
        return mapping.lists()
    return ((key, [value]) for key, value in mapping.items())


class RefuseNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if carries_nul(request):
            return HttpResponse(
                "This request contains a character we cannot accept (NUL). Please check the link or form and try again.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
