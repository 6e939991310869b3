"""The payment seam: everything the booking brain asks of the payment provider.

Until Stripe is wired in, paid bookings are refused with a clear message (no hold is kept).
"""

from coaching.exceptions import PaymentUnavailable
from coaching.models import Booking


def start_checkout(*, booking: Booking) -> str:
    """Open a checkout for a PENDING_PAYMENT hold and return the URL to send the guest to."""
    raise PaymentUnavailable("Online payment is not available yet. Please contact us to book this.")


def expire_checkout(*, booking: Booking) -> None:
    """Close the provider's checkout for a hold that lapsed or was cancelled (best effort)."""


def refund(*, booking: Booking, amount: int, actor: str, user=None, reason: str = "") -> int:
    """Refund `amount` (minor units) of what the guest paid; returns the amount refunded."""
    if amount <= 0:
        return 0
    raise PaymentUnavailable("Refunds are not available yet.")
