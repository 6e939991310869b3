"""What every booking change owes, wired to `booking_changed` when the app is ready (apps.py).

Kept apart from coaching/signals.py so that the services, which send the signal, never import the
outbox or the Google sync through it.
"""

from django.dispatch import receiver

from coaching.services.google_sync import schedule_calendar_sync
from coaching.services.outbox import record_notifications
from coaching.signals import booking_changed


@receiver(booking_changed, dispatch_uid="coaching.notifications")
def owe_notifications(sender, booking, change, **extra):
    record_notifications(booking=booking, change=change, **extra)


@receiver(booking_changed, dispatch_uid="coaching.google_calendar")
def sync_coach_calendar(sender, booking, change, **extra):
    schedule_calendar_sync(booking=booking, change=change)
