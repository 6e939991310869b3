"""Liveness/readiness for load balancers and the container health check, and a clean answer when
the database is unreachable."""

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"


def check_broker() -> str:
    if not settings.REDIS_URL:
        return "not configured (tasks run in-process)"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"


def healthz(request):
    """200 when the database and the broker answer, 503 otherwise (never a secret in the body)."""
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(not value.startswith("error") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)


class DatabaseUnavailableMiddleware:
    """A database that is restarting or unreachable gives a 503 "try again" page, not a 500 trace.

    The request's transaction has already rolled back, so nothing was half-written.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            logger.error("Database unavailable: %s", type(exception).__name__, extra={"path": request.path})
            body = render_to_string("503.html")
            response = HttpResponse(body, status=503)
            response["Retry-After"] = "10"
            return response
        return None
