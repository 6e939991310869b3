"""The words the booking domain uses for what happened and who did it, in one place.

Services, the booking log, the outbox and the Google sync all speak this vocabulary, so a change
named in one place is the same string everywhere else (and in the database). Each is a `str`
subclass: it compares equal to its value and is stored as plain text.
"""

from django.db import models


class Actor(models.TextChoices):
    """Who or what caused a change (the booking log's "by")."""

    GUEST = "guest", "Guest"
    OWNER = "owner", "Owner / staff"
    WEBHOOK = "webhook", "Stripe webhook"
    TASK = "task", "Background task"
    SYSTEM = "system", "System"


class Change(models.TextChoices):
    """A booking state change, as the `booking_changed` signal announces it.

    Receivers decide what each change owes: emails (services/outbox.py) and the coach's Google
    Calendar (services/google_sync.py).
    """

    HELD = "held", "Held for payment"
    CONFIRMED = "confirmed", "Confirmed"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    EXPIRED = "expired", "Hold expired"
    CHECKOUT_CANCELLED = "checkout_cancelled", "Checkout cancelled by the guest"
    RESCHEDULED = "rescheduled", "Rescheduled"
    WORKSHOP_MOVED = "workshop_moved", "Workshop moved"
    WORKSHOP_CANCELLED = "workshop_cancelled", "Workshop cancelled"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    MEETING_LINK = "meeting_link", "Meeting link ready"


class LogAction(models.TextChoices):
    """What a booking log entry records."""

    HELD = "held", "Held for payment"
    CHECKOUT_STARTED = "checkout_started", "Checkout opened"
    CHECKOUT_FAILED = "checkout_failed", "Checkout could not open"
    PAYMENT_PROCESSING = "payment_processing", "Payment processing"
    PAID = "paid", "Paid"
    CONFIRMED = "confirmed", "Confirmed"
    LATE_PAYMENT_UNPLACEABLE = "late_payment_unplaceable", "Late payment, time taken"
    PAYMENT_FLAGGED = "payment_flagged", "Payment did not match (refunded)"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    EXPIRED = "expired", "Hold expired"
    CHECKOUT_CANCELLED = "checkout_cancelled", "Checkout cancelled by the guest"
    RESCHEDULED = "rescheduled", "Rescheduled"
    WORKSHOP_MOVED = "workshop_moved", "Workshop moved"
    WORKSHOP_CANCELLED = "workshop_cancelled", "Workshop cancelled"
    SEAT_MOVED = "seat_moved", "Seat moved to another date"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    REFUND_FAILED = "refund_failed", "Refund failed"
    MEETING_LINK = "meeting_link", "Google Meet link made"
    EMAIL_FAILED = "email_failed", "Email not delivered"
    GOOGLE_EVENT_PUSHED = "google_event_pushed", "Added to Google Calendar"
    GOOGLE_EVENT_MOVED = "google_event_moved", "Moved in Google Calendar"
    GOOGLE_EVENT_DELETED = "google_event_deleted", "Removed from Google Calendar"
    # The owner's desk (services/attendance.py, refunds, client_data.py, desk.py).
    ATTENDED = "attended", "Attended"
    NO_SHOW = "no_show", "No-show"
    ATTENDANCE_CLEARED = "attendance_cleared", "Attendance cleared"
    REFUND_REQUESTED = "refund_requested", "Refund requested"
    PAID_OUTSIDE_STRIPE = "paid_outside_stripe", "Paid outside Stripe"
    PAYMENT_LINK_SENT = "payment_link_sent", "Payment link emailed"
    POLICY_OVERRIDDEN = "policy_overridden", "Booking policy overridden"
    CLIENT_EXPORTED = "client_exported", "Client data exported"
    CLIENT_ERASED = "client_erased", "Client data erased"
