"""One signal for every booking state change, sent by the services inside their transaction.

Receivers only *record* what is owed (outbox rows, in the same transaction) and *enqueue* work with
`transaction.on_commit`; they never decide business rules. `change` is one of:
"confirmed", "held", "rescheduled", "cancelled", "expired", "payment_received", "refunded",
"payment_failed".
"""

from django.dispatch import Signal, receiver

booking_changed = Signal()


@receiver(booking_changed, dispatch_uid="coaching.notifications")
def owe_notifications(sender, booking, change, **extra):
    from coaching.notifications import record_notifications

    record_notifications(booking=booking, change=change, **extra)


@receiver(booking_changed, dispatch_uid="coaching.google_calendar")
def sync_coach_calendar(sender, booking, change, **extra):
    from coaching.calendar_sync import schedule_calendar_sync

    schedule_calendar_sync(booking=booking, change=change)
