"""Who sees what in the back office.

The owner (a superuser, or a staff user with the coaching permissions who is *not* a coach) sees
everything. A coach whose `Coach.user` is the logged-in user sees and manages only their own
bookings and availability — even if a group gives them wider model permissions, because the link
to a Coach row is the stronger statement. Everyone else sees nothing.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from coaching.models import (
    AvailabilityBlock,
    Booking,
    Coach,
    CoachBusySlot,
    Notification,
    Refund,
    WaitlistEntry,
    Workshop,
)

OWNER_PERMISSION = "coaching.change_booking"


def coach_of(user) -> Coach | None:
    if not user.is_authenticated:
        return None
    # Asked many times a request (every row's buttons): looked up once per user object, i.e. per request.
    if not hasattr(user, "_coaching_coach"):
        user._coaching_coach = Coach.objects.filter(user=user).first()
    return user._coaching_coach


def is_owner(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.has_perm(OWNER_PERMISSION) and coach_of(user) is None


def can_use_back_office(user) -> bool:
    return is_owner(user) or coach_of(user) is not None


def visible_coaches(user) -> QuerySet[Coach]:
    if is_owner(user):
        return Coach.objects.all()
    coach = coach_of(user)
    return Coach.objects.filter(pk=coach.pk) if coach else Coach.objects.none()


def visible_bookings(user) -> QuerySet[Booking]:
    if is_owner(user):
        return Booking.objects.all()
    coach = coach_of(user)
    if coach is None:
        return Booking.objects.none()
    # A coach's own 1-on-1 sessions and the seats of the workshops they host.
    return Booking.objects.filter(Q(coach=coach) | Q(workshop__host=coach))


def visible_workshops(user) -> QuerySet[Workshop]:
    """The owner: every workshop. A coach: the workshops they host."""
    return Workshop.objects.filter(host__in=visible_coaches(user))


def visible_waitlist(user) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(workshop__in=visible_workshops(user))


def visible_refunds(user) -> QuerySet[Refund]:
    return Refund.objects.filter(booking__in=visible_bookings(user))


def visible_notifications(user) -> QuerySet[Notification]:
    """The owner: every outbox row. A coach: the emails of their own bookings and of the waiting
    lists of the workshops they host (never the owner's alerts without a booking)."""
    if is_owner(user):
        return Notification.objects.all()
    return Notification.objects.filter(
        Q(booking__in=visible_bookings(user)) | Q(waitlist_entry__in=visible_waitlist(user))
    )


def visible_availability(user) -> QuerySet[AvailabilityBlock]:
    return AvailabilityBlock.objects.filter(coach__in=visible_coaches(user))


def visible_busy_slots(user) -> QuerySet[CoachBusySlot]:
    return CoachBusySlot.objects.filter(coach__in=visible_coaches(user))


def can_manage_coach(user, coach: Coach) -> bool:
    """May `user` change this coach's settings (Google connection, diagnostics)? The owner, or staff
    allowed to edit coaches who are not themselves a coach; a coach only their own record."""
    own = coach_of(user)
    if own is not None:
        return own.pk == coach.pk
    return is_owner(user) or (user.is_authenticated and user.has_perm("coaching.change_coach"))


def require_back_office(user) -> None:
    if not can_use_back_office(user):
        raise PermissionDenied
