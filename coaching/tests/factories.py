"""factory-boy factories shared by every test module: rows written directly (bypassing the services)
and `GuestFactory` for the guest a test books through the real services (`create_booking`)."""

from datetime import UTC, date, datetime, time, timedelta

import factory
from django.utils import timezone

from coaching.models import (
    AvailabilityBlock,
    Booking,
    Coach,
    CoachBusySlot,
    DateOverride,
    Package,
    PromotionCode,
    SessionType,
    TimeOff,
    WeeklyHours,
    Workshop,
)
from coaching.services import Guest


class SessionTypeFactory(factory.django.DjangoModelFactory):
    """A session type; `coaches=coach` (or a list) offers it."""

    class Meta:
        model = SessionType
        skip_postgeneration_save = True

    title = "1-on-1 session"
    slug = factory.Sequence(lambda n: f"session-{n}")
    duration_minutes = 60
    buffer_minutes = 0
    price_amount = 0
    currency = "GBP"

    @factory.post_generation
    def coaches(obj, create, extracted, **kwargs):
        if create and extracted:
            # A ParentalManyToManyField keeps the change in memory until the type is saved.
            obj.coaches.add(*(extracted if isinstance(extracted, list | tuple) else [extracted]))
            obj.save()


class CoachFactory(factory.django.DjangoModelFactory):
    """A coach with one session type ("1-on-1 session") made from `session_minutes`,
    `buffer_minutes`, `price_amount` and `currency`; `default_session_type=None` makes none."""

    class Meta:
        model = Coach
        skip_postgeneration_save = True

    class Params:
        session_minutes = 60
        price_amount = 0
        currency = "GBP"
        buffer_minutes = 0

    name = factory.Sequence(lambda n: f"Coach {n}")
    slug = factory.Sequence(lambda n: f"coach-{n}")
    email = factory.Sequence(lambda n: f"coach{n}@example.com")
    timezone = "Europe/London"
    min_notice_minutes = 0
    horizon_days = 365
    default_session_type = factory.RelatedFactory(
        SessionTypeFactory,
        factory_related_name="coaches",
        duration_minutes=factory.SelfAttribute("..session_minutes"),
        buffer_minutes=factory.SelfAttribute("..buffer_minutes"),
        price_amount=factory.SelfAttribute("..price_amount"),
        currency=factory.SelfAttribute("..currency"),
    )


class PaidCoachFactory(CoachFactory):
    """The coach of the paid-flow tests: Bea Brown, in London, £60 a session."""

    class Params:
        price_amount = 6000
        currency = "GBP"

    name = "Bea Brown"


def session_type_of(coach: Coach) -> SessionType:
    """The coach's first session type (the one its factory made)."""
    return coach.default_session_type()


class WorkshopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workshop

    title = factory.Sequence(lambda n: f"Workshop {n}")
    slug = factory.Sequence(lambda n: f"workshop-{n}")
    host = factory.SubFactory(CoachFactory)
    start_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    )
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=2))
    capacity = 10
    price_amount = 0
    currency = "GBP"
    is_published = True


class AvailabilityBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityBlock

    coach = factory.SubFactory(CoachFactory)
    start_at = factory.LazyFunction(lambda: datetime(2030, 1, 7, 9, tzinfo=UTC))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=8))


class CoachBusySlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoachBusySlot

    coach = factory.SubFactory(CoachFactory)
    start_at = factory.LazyFunction(lambda: datetime(2030, 1, 7, 12, tzinfo=UTC))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=1))


class BookingFactory(factory.django.DjangoModelFactory):
    """A 1-on-1 booking written directly (bypassing the services): confirmed, or `held=True`
    (awaiting payment), `cancelled=True`, `expired=True`. With `workshop=` it is seats on that
    workshop, at the workshop's time, with no coach. Nothing else is filled in for a state (no
    confirmed_at, cancelled_at or hold expiry): pass what the test is about."""

    class Meta:
        model = Booking

    class Params:
        held = factory.Trait(status=Booking.Status.PENDING_PAYMENT)
        cancelled = factory.Trait(status=Booking.Status.CANCELLED)
        expired = factory.Trait(status=Booking.Status.EXPIRED)

    workshop = None
    coach = factory.Maybe("workshop", yes_declaration=None, no_declaration=factory.SubFactory(CoachFactory))
    start_at = factory.Maybe(
        "workshop",
        yes_declaration=factory.SelfAttribute("workshop.start_at"),
        no_declaration=factory.LazyFunction(lambda: datetime(2030, 1, 7, 10, tzinfo=UTC)),
    )
    end_at = factory.Maybe(
        "workshop",
        yes_declaration=factory.SelfAttribute("workshop.end_at"),
        no_declaration=factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=1)),
    )
    session_type = factory.LazyAttribute(lambda o: o.coach.default_session_type() if o.coach else None)
    session_title = factory.LazyAttribute(lambda o: o.session_type.title if o.session_type else "")
    session_minutes = factory.LazyAttribute(
        lambda o: int((o.end_at - o.start_at).total_seconds() // 60) if o.session_type else None
    )
    seats = 1
    status = Booking.Status.CONFIRMED
    guest_name = factory.Sequence(lambda n: f"Guest {n}")
    guest_email = factory.Sequence(lambda n: f"guest{n}@example.com")
    guest_timezone = "Europe/London"
    currency = "GBP"


class GuestFactory(factory.Factory):
    """The guest details a booking form sends (`coaching.services.Guest`), for `create_booking`."""

    class Meta:
        model = Guest

    name = factory.Sequence(lambda n: f"Guest {n}")
    email = factory.Sequence(lambda n: f"guest{n}@example.com")
    timezone = "Europe/London"


def open_hours(coach: Coach, *, days_ahead: int, hours: int) -> datetime:
    """Give `coach` `hours` of availability from 09:00 UTC `days_ahead` days from now (the real clock,
    for tests that cannot travel in time: live servers, other processes); returns the first start."""
    start = (timezone.now() + timedelta(days=days_ahead)).replace(hour=9, minute=0, second=0, microsecond=0)
    AvailabilityBlockFactory(coach=coach, start_at=start, end_at=start + timedelta(hours=hours))
    return start


class WeeklyHoursFactory(factory.django.DjangoModelFactory):
    """Monday 09:00–17:00 in the coach's zone unless told otherwise."""

    class Meta:
        model = WeeklyHours

    coach = factory.SubFactory(CoachFactory)
    weekday = 0
    start_time = time(9)
    end_time = time(17)


class DateOverrideFactory(factory.django.DjangoModelFactory):
    """Different hours on one date (times None + unavailable=True: unavailable all day)."""

    class Meta:
        model = DateOverride

    coach = factory.SubFactory(CoachFactory)
    date = date(2030, 1, 7)
    start_time = time(10)
    end_time = time(14)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    coach = factory.SubFactory(CoachFactory)
    start_date = date(2030, 1, 7)
    end_date = date(2030, 1, 11)
    reason = "Holiday"


class PackageFactory(factory.django.DjangoModelFactory):
    """Five sessions with a (free-to-book) coach for £400, to use within 180 days."""

    class Meta:
        model = Package

    title = "5 coaching sessions"
    slug = factory.Sequence(lambda n: f"package-{n}")
    coach = factory.SubFactory(CoachFactory)
    credits = 5
    price_amount = 40000
    currency = "GBP"
    validity_days = 180


class PromotionCodeFactory(factory.django.DjangoModelFactory):
    """20 % off, valid now and for ever, unlimited."""

    class Meta:
        model = PromotionCode

    code = factory.Sequence(lambda n: f"SPRING{n}")
    kind = PromotionCode.Kind.PERCENT
    percent_off = 20


def allow_weekly_series(coach: Coach, *, up_to: int = 12) -> Coach:
    """Let the coach's session type(s) be booked as a weekly series of up to `up_to` sessions."""
    SessionType.objects.filter(coaches=coach).update(recurring_every_weeks=1, recurring_max_occurrences=up_to)
    return coach
