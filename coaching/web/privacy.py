"""Responses for pages whose URL is the key to something personal (a booking, a place on a waiting
list): never cached, never indexed, and no Referer leaving the page."""

import functools

from django.views.decorators.cache import never_cache


def private_page(view=None, *, referrer_policy: str = "no-referrer"):
    """No caching anywhere and no Referer leaving the page: the URL itself is the key to the booking.

    Pages that hold a POST form (the confirmation steps, the lost-link form) send `same-origin`
    instead of `no-referrer`: under `no-referrer` browsers send `Origin: null` and no Referer with
    the form, and Django's CSRF check (Origin, and Referer over HTTPS) refuses the POST. `same-origin`
    still sends nothing to any other site; the only Referer it allows goes back to us.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Referrer-Policy", referrer_policy)
            response["X-Robots-Tag"] = "noindex, nofollow"
            return response

        return never_cache(wrapped)

    return decorator(view) if view is not None else decorator
