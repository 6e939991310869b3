"""Errors a guest (or the owner) can cause. Each message is written to be shown as it is.

Every screen answers a refusal with `http_status` and the message (the guest pages through
coaching/web/responses.py, the admin through its own views); nothing that raises one of these
leaves a half-written booking behind.
"""


class BookingError(Exception):
    """Base class: a request the booking rules refuse. `status_code` is what the view answers."""

    status_code = 400
    default_message = "This booking could not be made."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        """The status a response carries: always a 4xx, even for "payment not available" or "busy"
        (5xx in `status_code`). A refusal is the guest's business, not a server fault: monitoring
        never pages on a business rule, and HTMX still swaps the message into the form."""
        return self.status_code if 400 <= self.status_code < 500 else 409


class SlotUnavailable(BookingError):
    status_code = 409
    default_message = "Sorry — that time was just taken. Please pick another slot."


class OutsideAvailability(BookingError):
    status_code = 409
    default_message = "That time is not offered. Please pick one of the times shown."


class SlotInPast(BookingError):
    default_message = "That time has already passed. Please pick a later slot."


class InsideMinimumNotice(BookingError):
    default_message = "That time is too soon to book. Please pick a later slot."


class BeyondHorizon(BookingError):
    default_message = "That time is too far ahead to book yet."


class WorkshopFull(BookingError):
    status_code = 409
    default_message = "Sorry — this workshop is sold out."


class NotEnoughSeats(BookingError):
    status_code = 409
    default_message = "There are not enough seats left for that many people."


class SeatsAvailable(BookingError):
    """A guest asked to join a waiting list while there are seats to book."""

    status_code = 409

    def __init__(self, seats_left: int):
        self.seats_left = seats_left
        left = f"{seats_left} seat is" if seats_left == 1 else f"{seats_left} seats are"
        super().__init__(f"Good news — {left} still available, so you can book straight away.")


class WaitlistClosed(BookingError):
    status_code = 409
    default_message = "Sorry — this workshop is sold out and has no waiting list."


class AlreadyOnWaitlist(BookingError):
    status_code = 409
    default_message = "You are already on this workshop's waiting list. We will email you when seats free up."


class OfferNotClaimable(BookingError):
    """A waiting-list offer that cannot be claimed (any more)."""

    status_code = 409
    default_message = "These seats can no longer be claimed."


class OfferLapsed(OfferNotClaimable):
    status_code = 410
    default_message = (
        "Sorry — the time to claim these seats is over, so they went to the next person on the waiting list."
    )


class NotBookable(BookingError):
    status_code = 404
    default_message = "This is not open for booking."


class BookingNotCancellable(BookingError):
    status_code = 409
    default_message = "This booking can no longer be cancelled."


class BookingNotReschedulable(BookingError):
    status_code = 409
    default_message = "This booking can no longer be moved."


class WorkshopNotChangeable(BookingError):
    """The owner's change of a workshop would break what it already sold or whose time it takes."""

    status_code = 409
    default_message = "This workshop cannot be changed like that."


class CapacityBelowSeatsSold(WorkshopNotChangeable):
    def __init__(self, seats_sold: int, seats_offered: int = 0):
        self.seats_sold = seats_sold
        self.seats_offered = seats_offered
        sold = f"{seats_sold} seat is" if seats_sold == 1 else f"{seats_sold} seats are"
        if not seats_offered:
            super().__init__(f"{sold} already sold; the capacity cannot be lower than that.")
            return
        offered = f"{seats_offered} more {'is' if seats_offered == 1 else 'are'} offered to the waiting list"
        super().__init__(
            f"{sold} already sold and {offered}; the capacity cannot be lower than {seats_sold + seats_offered}."
        )


class HostHasSessions(WorkshopNotChangeable):
    """A published workshop would sit on its host's 1-on-1 bookings."""

    def __init__(self, *, host_name: str, references: list[str]):
        self.references = references
        super().__init__(
            f"{host_name} already has 1-on-1 bookings at this time ({', '.join(references)}). "
            "Move or cancel them first, or change the time."
        )


class InvalidWorkshop(BookingError):
    """A workshop's own details are not acceptable (the model's validation said no)."""

    status_code = 400
    default_message = "Please check the workshop's details."


class PaymentUnavailable(BookingError):
    status_code = 503
    default_message = "Payments are not available right now. Please try again in a few minutes."


class Busy(BookingError):
    """A lock could not be taken in time: the guest can simply try again."""

    status_code = 503
    default_message = "We are busy right now — please try again in a moment."


class InvalidDetails(BookingError):
    """The guest's details (name, email, seats, time zone) are not acceptable."""

    status_code = 400
    default_message = "Please check your details."


# --- the owner's desk -------------------------------------------------------------------------------


class AttendanceNotMarkable(BookingError):
    status_code = 409
    default_message = "Attendance can be marked only for a confirmed booking once it has started."


class RefundNotAllowed(BookingError):
    """A refund the owner asked for is not possible (more than is left, nothing paid, no reason)."""

    status_code = 409
    default_message = "This refund is not possible."


class ClientNotFound(BookingError):
    status_code = 404
    default_message = "No bookings for that email address."


class InvalidCode(BookingError):
    """A package or promotion code that does not exist, or cannot be used here or now."""

    status_code = 400
    default_message = "We don't recognise that code. Please check it, or leave the box empty."


class CodeUsedUp(InvalidCode):
    status_code = 409
    default_message = "Sorry — this promotion code has been used as many times as it allows."


class PackageNotUsable(BookingError):
    """A package whose credit cannot pay for this booking (used up, expired, ended, not covered)."""

    status_code = 409
    default_message = "This package cannot be used for this booking."


class PackageNotForSale(BookingError):
    status_code = 404
    default_message = "This package is not for sale right now."


class OccurrenceUnavailable(SlotUnavailable):
    """One chosen occurrence of a series is not free (any more): nothing of the series is booked."""

    def __init__(self, *, number: int, when: str, reason: str):
        self.number = number
        super().__init__(
            f"Session {number} ({when}) can no longer be booked: {reason} Nothing was booked — "
            "please look at the dates again."
        )


class RecurringNotAllowed(BookingError):
    status_code = 400
    default_message = "These sessions cannot be booked as a recurring series."
