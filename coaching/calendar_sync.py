"""Push booking changes to the coach's Google Calendar, after the booking's transaction commits.

Called by the `booking_changed` receiver inside the service's transaction: it only decides which
task to enqueue, and enqueues it with `transaction.on_commit`, so a rolled-back change never reaches
Google and a Google (or broker) outage never blocks a booking. Pending holds are not pushed; the
tasks re-read the booking, so one that changed again before its task ran is handled by its state.
"""

import logging

from django.db import transaction

from coaching.models import Booking

logger = logging.getLogger(__name__)

PUSH_CHANGES = {"confirmed", "payment_received"}
REMOVE_CHANGES = {"cancelled", "expired", "refunded"}


def schedule_calendar_sync(*, booking, change):
    from coaching import tasks
    from coaching.services.google_sync import is_connected

    if booking.coach_id is None or not is_connected(booking.coach):
        return None
    task = None
    if change in PUSH_CHANGES and booking.status == Booking.Status.CONFIRMED:
        task = tasks.push_booking_event_task
    elif change == "rescheduled" and booking.status == Booking.Status.CONFIRMED:
        task = tasks.patch_booking_event_task
    elif change in REMOVE_CHANGES and booking.status in (Booking.Status.CANCELLED, Booking.Status.EXPIRED):
        if booking.google_event_id or booking.confirmed_at:
            task = tasks.delete_booking_event_task
    if task is None:
        return None
    booking_id = booking.pk
    transaction.on_commit(lambda: _enqueue(task, booking_id))
    return task.name


def _enqueue(task, booking_id: int) -> None:
    try:
        task.delay(booking_id)
    except Exception:  # broker down: the booking stands; the owner can "sync" later
        logger.exception("Could not enqueue %s for booking %s", task.name, booking_id)
