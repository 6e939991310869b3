from coaching.models import Booking, BookingLog


def log_booking(booking: Booking, action: str, *, actor: str, user=None, message: str = "", **data) -> BookingLog:
    """Append one entry to the booking's history. Call it inside the transaction that made the change."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return BookingLog.objects.create(
        booking=booking, action=action, actor=actor, actor_user=user, message=message, data=_jsonable(data)
    )


def _jsonable(data: dict) -> dict:
    out = {}
    for key, value in data.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
