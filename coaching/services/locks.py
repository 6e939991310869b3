"""The transaction and row locks every booking write takes, in one place.

Locks are taken only inside a transaction and always in the same order (coach → booking, or
workshop → booking), so two writers never wait on each other in a circle. `lock_workshop` locks the
host's row with the workshop's (select_related under FOR UPDATE on PostgreSQL), so changing a
workshop and booking its host's 1-on-1 sessions wait for each other. A lock that cannot be
had within LOCK_TIMEOUT_MS becomes the friendly `Busy` ("try again"), and PostgreSQL's exclusion
constraint refusing an overlap becomes the same `SlotUnavailable` the re-check under the lock gives.

On SQLite, `transaction_mode=IMMEDIATE` (config/settings/base.py) serialises writers instead.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import IntegrityError, OperationalError, connection, transaction

from coaching.exceptions import Busy, SlotUnavailable
from coaching.models import Booking, Coach, Workshop

# Test-only switch (as pretix does): with locking off, the race tests show the oversell is real.
LOCKING_ENABLED = True
LOCK_TIMEOUT_MS = 5000


def set_lock_timeout() -> None:
    # A lock we cannot get within a few seconds becomes a friendly "busy, try again".
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")


@contextmanager
def booking_transaction():
    """A transaction that takes booking locks: a lock wait past the timeout becomes Busy, and the
    PostgreSQL exclusion constraint's refusal becomes the same SlotUnavailable the re-check gives."""
    try:
        with transaction.atomic():
            set_lock_timeout()
            yield
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            raise SlotUnavailable() from exc
        raise
    except OperationalError as exc:
        raise Busy() from exc


def _is_overlap_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "23P01" or "booking_no_overlapping_active_one_on_one" in str(exc)


def lock_coach(coach: Coach) -> Coach:
    query = Coach.objects.select_for_update() if LOCKING_ENABLED else Coach.objects
    return query.get(pk=coach.pk)


def lock_workshop(workshop: Workshop) -> Workshop:
    query = Workshop.objects.select_for_update() if LOCKING_ENABLED else Workshop.objects
    return query.select_related("host").get(pk=workshop.pk)


def lock_booking(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().get(pk=booking.pk)


def lock_active_seats(workshop: Workshop) -> list[Booking]:
    """The workshop's active seat bookings, locked in id order (after the workshop's own lock)."""
    return list(Booking.objects.select_for_update().active().filter(workshop=workshop).order_by("pk"))
