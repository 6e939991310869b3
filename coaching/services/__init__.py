"""The booking brain's write side: the only code that changes state. Views, the webhook, tasks,
management commands and admin tools call these functions; nothing else writes a booking.

Modules, by concern:
- `locks`: the transaction and row locks every booking write takes.
- `booking`: making a booking (1-on-1 or workshop seats, free or held for payment).
- `holds`: unpaid holds and the payment's outcome (confirm, expire, abandon, late payment).
- `changes`: cancel and reschedule.
- `workshops`: changing a workshop's time or capacity, with its seat bookings.
- `payment` (the provider seam: checkout, expire, refund) and `stripe_events` (webhook events).
- `availability`: adding and removing a coach's availability blocks.
- `outbox`, `delivery`, `email_content`: the emails each change owes, sent and rendered.
- `google_sync`: the coach's Google Calendar.
- `attendance`, `desk` (book for a client, move as staff), `client_data` (export, erase): the
  owner's desk.
- `log`: the append-only booking log. `enqueue`: handing work to the worker by task name.
"""

from .booking import BookingResult, Guest, create_booking
from .changes import cancel_booking, reschedule_booking
from .holds import confirm_paid_booking, expire_holds, release_hold
from .log import log_booking
from .workshops import change_workshop, create_workshop

__all__ = [
    "BookingResult",
    "Guest",
    "cancel_booking",
    "change_workshop",
    "confirm_paid_booking",
    "create_booking",
    "create_workshop",
    "expire_holds",
    "log_booking",
    "release_hold",
    "reschedule_booking",
]
