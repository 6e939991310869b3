"""The emails of a recurring series: one message for the whole series, one invite per occurrence.

Why one invite per occurrence rather than one event with an RRULE (and EXDATE for skipped weeks):
each occurrence is a booking of its own that the guest may move or cancel alone. With one invite
per occurrence, moving week 3 is a plain METHOD:REQUEST for that occurrence's UID with a higher
SEQUENCE, and cancelling it a METHOD:CANCEL for that UID — what every client already handles for a
single booking (and what our outbox already sends). With an RRULE, the same change needs a
RECURRENCE-ID override of one instance of a recurring event, sent later in its own message, which
Outlook and Gmail apply inconsistently (a duplicate or a lost event); the rule would also need a
VTIMEZONE block to keep 18:00 at 18:00 across DST (our invites use UTC), and could not describe a
series whose occurrences were moved one by one. So: one email, and in it one iTIP REQUEST per
occurrence (RFC 5546 allows one UID per iTIP object), each with the occurrence's own UID and SEQUENCE.

The outbox (services/outbox.py) owes a series' messages of making and paying once per series (the
first occurrence to announce the change carries them); this module says what they contain.
"""

import zoneinfo

from coaching.models import Booking, Notification
from coaching.wallclock import format_in_zone

# Owed once for the whole series: the email lists every occurrence (and carries each one's invite).
SERIES_KINDS = frozenset({"confirmation", "coach_new", "payment_received", "hold_expired", "payment_failed"})


def is_series_message(notification: Notification) -> bool:
    booking = notification.booking
    return booking is not None and booking.series_id is not None and notification.kind in SERIES_KINDS


def series_occurrences(notification: Notification) -> list[Booking]:
    """The occurrences a series email is about: the active ones for a confirmation, all otherwise."""
    occurrences = notification.booking.series.occurrences.select_related("coach").order_by("start_at")
    if notification.kind in ("confirmation", "coach_new", "payment_received"):
        occurrences = occurrences.active()
    return list(occurrences)


def series_context(notification: Notification) -> dict:
    """What a series email shows beyond a single booking's: every occurrence in both zones."""
    if not is_series_message(notification):
        return {}
    booking = notification.booking
    guest_zone = zoneinfo.ZoneInfo(booking.guest_timezone)
    coach_zone = booking.host.zone
    occurrences = series_occurrences(notification)
    return {
        "series": booking.series,
        "series_occurrences": [
            {
                "number": occurrence.series_number,
                "reference": occurrence.reference,
                "guest": format_in_zone(occurrence.start_at, guest_zone),
                "coach": format_in_zone(occurrence.start_at, coach_zone),
                "same_zone": guest_zone.key == coach_zone.key,
            }
            for occurrence in occurrences
        ],
        "series_paid_display": booking.series.amount_due_display,
    }


def series_invites(notification: Notification) -> list[tuple[Booking, str]]:
    """(occurrence, attachment file name) for every invite a series email carries; [] when the
    message is not a series'."""
    if not is_series_message(notification):
        return []
    return [(occurrence, f"session-{occurrence.series_number}.ics") for occurrence in series_occurrences(notification)]
