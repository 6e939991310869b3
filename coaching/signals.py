"""One signal for every booking state change, sent by the services inside their transaction.

Services call `announce`; the receivers (coaching/receivers.py, connected when the app is ready)
only *record* what is owed (outbox rows, in the same transaction) and *enqueue* work with
`transaction.on_commit`; they never decide business rules. `change` is a `coaching.vocabulary.Change`.
"""

from django.dispatch import Signal

from coaching.vocabulary import Change

booking_changed = Signal()


def announce(booking, change: Change, *, actor: str, **extra) -> None:
    """Tell the receivers that `booking` went through `change` (call inside the change's transaction)."""
    from coaching.models import Booking

    booking_changed.send(sender=Booking, booking=booking, change=Change(change), actor=actor, **extra)
