"""What every booking change owes, wired to `booking_changed` when the app is ready (apps.py):
emails (the outbox), the coach's Google Calendar, a workshop's waiting list (seats given back
are offered to the next in line after commit), what guest pages keep (freshness.py), and a
package credit or promotion code the booking used (given back on a timely cancellation, or when an
unpaid hold lapses).

Kept apart from coaching/signals.py so that the services, which send the signal, never import the
outbox, the Google sync or the waiting list through it.
"""

from django.dispatch import receiver

from coaching.freshness import booking_coach_id, schedule_changed
from coaching.services.google_sync import schedule_calendar_sync
from coaching.services.outbox import record_notifications
from coaching.services.packages import settle_after_change
from coaching.services.waitlist import advance_after_change
from coaching.signals import booking_changed


@receiver(booking_changed, dispatch_uid="coaching.notifications")
def owe_notifications(sender, booking, change, **extra):
    record_notifications(booking=booking, change=change, **extra)


@receiver(booking_changed, dispatch_uid="coaching.google_calendar")
def sync_coach_calendar(sender, booking, change, **extra):
    schedule_calendar_sync(booking=booking, change=change)


@receiver(booking_changed, dispatch_uid="coaching.waitlist")
def offer_freed_seats(sender, booking, change, **extra):
    advance_after_change(booking=booking, change=change)


@receiver(booking_changed, dispatch_uid="coaching.schedule_cache")
def refresh_calendars(sender, booking, change, **extra):
    schedule_changed(coach_id=booking_coach_id(booking))


@receiver(booking_changed, dispatch_uid="coaching.packages")
def settle_credit_and_code(sender, booking, change, actor, **extra):
    settle_after_change(booking=booking, change=change, actor=actor)
