"""The booking domain's schema.

All datetimes are aware and stored in UTC; conversion to a coach's or guest's zone happens only at
the edges. Money is integer minor units (pence, cents) plus an ISO 4217 currency code.

What must never be false is enforced by the database: check constraints on the models, and on
PostgreSQL an exclusion constraint (migration 0002) that forbids two active 1-on-1 bookings of one
coach from overlapping. Business rules live in `coaching/services/`, not in `save()`.

Nothing here imports the web layer, the back office or the services.
"""

from coaching.zones import validate_timezone

from .availability import AvailabilityBlock, CoachBusySlot
from .bookings import (
    ACTIVE_STATUSES,
    DEFAULT_SESSION_TITLE,
    Booking,
    BookingLog,
    ProcessedStripeEvent,
    holds_time_q,
    new_booking_reference,
)
from .coaches import Coach, Workshop, WorkshopSeries
from .hours import WEEKDAY_NAMES, DateOverride, TimeOff, WeeklyHours
from .outbox import Notification
from .owner_settings import BookingPolicy
from .packages import CreditUse, Package, PackageLog, PackageOrder, PackagePurchase
from .promotions import PromotionCode, PromotionRedemption
from .recurring import BookingSeries
from .refunds import Refund
from .session_types import MAX_BUFFER_MINUTES, IntakeQuestion, LocationKind, QuestionKind, SessionType
from .waitlist import WaitlistEntry, offered_seats_subquery

__all__ = [
    "ACTIVE_STATUSES",
    "DEFAULT_SESSION_TITLE",
    "AvailabilityBlock",
    "Booking",
    "BookingLog",
    "BookingPolicy",
    "BookingSeries",
    "Coach",
    "CreditUse",
    "CoachBusySlot",
    "DateOverride",
    "Notification",
    "Package",
    "PackageLog",
    "PackageOrder",
    "PackagePurchase",
    "PromotionCode",
    "PromotionRedemption",
    "ProcessedStripeEvent",
    "Refund",
    "SessionType",
    "IntakeQuestion",
    "LocationKind",
    "QuestionKind",
    "MAX_BUFFER_MINUTES",
    "TimeOff",
    "WEEKDAY_NAMES",
    "WeeklyHours",
    "WaitlistEntry",
    "Workshop",
    "WorkshopSeries",
    "holds_time_q",
    "new_booking_reference",
    "offered_seats_subquery",
    "validate_timezone",
]
