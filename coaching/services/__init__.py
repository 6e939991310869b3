"""The booking brain's write side. Views, webhooks, tasks and admin tools call these; nothing else
changes a booking's state."""

from .booking import (
    BookingResult,
    Guest,
    cancel_booking,
    confirm_paid_booking,
    create_booking,
    expire_holds,
    release_hold,
    reschedule_booking,
    validate_slot,
)
from .log import log_booking

__all__ = [
    "BookingResult",
    "Guest",
    "cancel_booking",
    "confirm_paid_booking",
    "create_booking",
    "expire_holds",
    "log_booking",
    "release_hold",
    "reschedule_booking",
    "validate_slot",
]
