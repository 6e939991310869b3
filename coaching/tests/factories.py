"""factory-boy factories shared by every test module."""

from datetime import UTC, date, datetime, time, timedelta

import factory
from django.utils import timezone

from coaching.models import (
    AvailabilityBlock,
    Booking,
    Coach,
    CoachBusySlot,
    DateOverride,
    TimeOff,
    WeeklyHours,
    Workshop,
)


class CoachFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coach

    name = factory.Sequence(lambda n: f"Coach {n}")
    slug = factory.Sequence(lambda n: f"coach-{n}")
    email = factory.Sequence(lambda n: f"coach{n}@example.com")
    timezone = "Europe/London"
    session_minutes = 60
    price_amount = 0
    currency = "GBP"
    buffer_minutes = 0
    min_notice_minutes = 0
    horizon_days = 365


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
    """A confirmed 1-on-1 booking written directly (bypassing the services)."""

    class Meta:
        model = Booking

    coach = factory.SubFactory(CoachFactory)
    workshop = None
    start_at = factory.LazyFunction(lambda: datetime(2030, 1, 7, 10, tzinfo=UTC))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=1))
    seats = 1
    status = Booking.Status.CONFIRMED
    guest_name = factory.Sequence(lambda n: f"Guest {n}")
    guest_email = factory.Sequence(lambda n: f"guest{n}@example.com")
    guest_timezone = "Europe/London"
    currency = "GBP"


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
