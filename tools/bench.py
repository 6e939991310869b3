"""`make bench`: how fast the booking brain is, measured (not asserted).

Builds a dense month in a throwaway test database (SQLite by default, PostgreSQL when DATABASE_URL
points at it) and prints one figure per line as `name: value unit`:

- 8 h/day of availability, 30-minute sessions, 30 days, 1 000 bookings, 500 busy slots, 10 workshops
  (bookings and busy slots are short and spread over the whole day so none overlap);
- the same month with 10× of everything, to show the cost grows linearly;
- the same month for a coach on weekly hours (8 h every day, expanded on read) with 4 date
  overrides, 2 spans of time off and 30 one-off Bulk-add blocks, and its 10× (weekly hours split into
  10 ranges a day, 10× the overrides, time off, blocks, bookings, busy slots and workshops);
- on PostgreSQL: creating a booking, and bookings/s with 20 concurrent clients (Celery not eager:
  emails are enqueued on an in-memory broker, as a web process enqueues them to Redis).
"""

import os
import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

from coaching.exceptions import BookingError  # noqa: E402
from coaching.models import (  # noqa: E402
    AvailabilityBlock,
    Booking,
    Coach,
    CoachBusySlot,
    DateOverride,
    SessionType,
    TimeOff,
    WeeklyHours,
    Workshop,
)
from coaching.schedule import free_slots, get_month_schedule  # noqa: E402
from coaching.services import Guest, create_booking  # noqa: E402

YEAR, MONTH = 2030, 1
DAYS = 30
NOW = datetime(2029, 12, 1, tzinfo=UTC)
ZONE = __import__("zoneinfo").ZoneInfo("Europe/London")


def spread(day: datetime, count: int, minutes: float) -> list[tuple[datetime, datetime]]:
    """`count` non-overlapping spans of about `minutes` spread evenly over one UTC day."""
    spacing = 24 * 60 / count
    length = timedelta(minutes=min(minutes, spacing / 2))
    return [(day + timedelta(minutes=i * spacing), day + timedelta(minutes=i * spacing) + length) for i in range(count)]


def with_session_type(coach: Coach, *, minutes: int = 30) -> Coach:
    """`coach` offering one `minutes`-long free session type."""
    session_type = SessionType.objects.create(title="Session", slug=f"{coach.slug}-session", duration_minutes=minutes)
    session_type.coaches.add(coach)
    session_type.save()  # a ParentalManyToManyField is written when its object is saved
    return coach


def bench_coach(slug: str) -> Coach:
    coach = Coach.objects.create(
        name=f"Bench {slug}",
        slug=slug,
        email=f"{slug}@example.com",
        timezone="Europe/London",
        min_notice_minutes=0,
        horizon_days=400,
    )
    return with_session_type(coach, minutes=30)


def build_month(slug: str, scale: int) -> Coach:
    coach = bench_coach(slug)
    blocks = []
    for d in range(DAYS):
        day = datetime(YEAR, MONTH, 1 + d, tzinfo=UTC)
        # 8 hours of availability, split into `scale` blocks (1-minute gaps keep them separate).
        block_len = timedelta(minutes=8 * 60 / scale)
        for i in range(scale):
            start = day + timedelta(hours=9) + i * block_len
            blocks.append(
                AvailabilityBlock(coach=coach, start_at=start, end_at=start + block_len - timedelta(minutes=1))
            )
    AvailabilityBlock.objects.bulk_create(blocks, batch_size=2000)
    add_blockers(coach, slug, scale)
    return coach


def split_day(start_hour: int, hours: int, parts: int) -> list[tuple[wall_time, wall_time]]:
    """`hours` from `start_hour` as `parts` wall-clock ranges (1-minute gaps keep them separate)."""
    length = hours * 60 // parts

    def at(minute: int) -> wall_time:
        return wall_time(start_hour + minute // 60, minute % 60)

    return [(at(i * length), at((i + 1) * length - 1)) for i in range(parts)]


def build_rules_month(slug: str, scale: int) -> Coach:
    """A coach on weekly hours: 09:00–17:00 every day (in `scale` ranges), 4 dates overridden to
    07:00–15:00 (in `scale` ranges), 2×`scale` hours of time off, 30×`scale` one-off evening blocks,
    and the same bookings, busy slots and workshops as build_month."""
    coach = bench_coach(slug)
    WeeklyHours.objects.bulk_create(
        WeeklyHours(coach=coach, weekday=weekday, start_time=start, end_time=end)
        for weekday in range(7)
        for start, end in split_day(9, 8, scale)
    )
    first = date(YEAR, MONTH, 1)
    DateOverride.objects.bulk_create(
        DateOverride(coach=coach, date=first + timedelta(days=3 + 7 * week), start_time=start, end_time=end)
        for week in range(4)
        for start, end in split_day(7, 8, scale)
    )
    TimeOff.objects.bulk_create(
        TimeOff(
            coach=coach,
            start_date=first + timedelta(days=i % DAYS),
            start_time=wall_time(13),
            # Every other one runs into the next day.
            end_date=first + timedelta(days=i % DAYS + i % 2),
            end_time=wall_time(14),
            reason="Bench",
        )
        for i in range(2 * scale)
    )
    evening = timedelta(minutes=60 / scale)
    AvailabilityBlock.objects.bulk_create(
        [
            AvailabilityBlock(
                coach=coach,
                start_at=datetime(YEAR, MONTH, 1 + d, 18, tzinfo=UTC) + i * evening,
                end_at=datetime(YEAR, MONTH, 1 + d, 18, tzinfo=UTC) + (i + 1) * evening - timedelta(minutes=1),
            )
            for d in range(DAYS)
            for i in range(scale)
        ],
        batch_size=2000,
    )
    add_blockers(coach, slug, scale)
    return coach


def add_blockers(coach: Coach, slug: str, scale: int) -> None:
    """1 000 bookings, 500 busy slots and 10 workshops (×`scale`) spread over the month."""
    bookings, busy, workshops = [], [], []
    per_day_bookings = 1000 * scale // DAYS + 1
    per_day_busy = 500 * scale // DAYS + 1
    for d in range(DAYS):
        day = datetime(YEAR, MONTH, 1 + d, tzinfo=UTC)
        for start, end in spread(day, per_day_bookings, 15):
            bookings.append(
                Booking(
                    coach=coach,
                    start_at=start,
                    end_at=end,
                    guest_name="Bench",
                    guest_email="bench@example.com",
                    status=Booking.Status.CONFIRMED,
                )
            )
        for start, end in spread(day + timedelta(minutes=7), per_day_busy, 5):
            busy.append(CoachBusySlot(coach=coach, start_at=start, end_at=end))
    for i in range(10 * scale):
        start = datetime(YEAR, MONTH, 1, tzinfo=UTC) + timedelta(hours=i * (DAYS * 24 / (10 * scale)) + 3.3)
        workshops.append(
            Workshop(
                title=f"W{i}",
                slug=f"{slug}-w{i}",
                host=coach,
                start_at=start,
                end_at=start + timedelta(minutes=10),
                capacity=10,
            )
        )
    Booking.objects.bulk_create(bookings[: 1000 * scale], batch_size=2000)
    CoachBusySlot.objects.bulk_create(busy[: 500 * scale], batch_size=2000)
    Workshop.objects.bulk_create(workshops, batch_size=2000)


def p50_ms(fn, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def emit(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{' ' + unit if unit else ''}", flush=True)


def bench_schedule() -> None:
    dense = build_month("dense", 1)
    dense_10x = build_month("dense10x", 10)

    def month(coach):
        session_type = coach.default_session_type()  # the page reads it once, from the URL
        return lambda: get_month_schedule(
            coach=coach, year=YEAR, month=MONTH, tz=ZONE, now=NOW, session_type=session_type
        )

    dense_month = month(dense)
    dense_month()  # warm caches (zoneinfo, query compilation)
    with CaptureQueriesContext(connection) as queries:
        schedule = dense_month()
    emit("month_schedule_queries", len(queries.captured_queries))
    emit("month_schedule_slots", schedule.slot_count)
    emit("month_schedule_p50", f"{p50_ms(month(dense), 30):.1f}", "ms")
    emit("month_schedule_10x_p50", f"{p50_ms(month(dense_10x), 10):.1f}", "ms")

    rules = build_rules_month("rules", 1)
    rules_10x = build_rules_month("rules10x", 10)
    rules_month = month(rules)
    rules_month()
    with CaptureQueriesContext(connection) as queries:
        schedule = rules_month()
    emit("weekly_hours_month_queries", len(queries.captured_queries))
    emit("weekly_hours_month_slots", schedule.slot_count)
    emit("weekly_hours_month_p50", f"{p50_ms(month(rules), 30):.1f}", "ms")
    emit("weekly_hours_month_10x_p50", f"{p50_ms(month(rules_10x), 10):.1f}", "ms")


def bench_bookings() -> None:
    coaches = []
    for n in range(5):
        coach = with_session_type(
            Coach.objects.create(
                name=f"Race {n}",
                slug=f"race-{n}",
                email=f"race{n}@example.com",
                timezone="UTC",
                min_notice_minutes=0,
                horizon_days=400,
            )
        )
        AvailabilityBlock.objects.create(
            coach=coach, start_at=datetime(YEAR, MONTH, 1, tzinfo=UTC), end_at=datetime(YEAR, MONTH, 31, tzinfo=UTC)
        )
        coaches.append(coach)
    slots = {
        c.pk: free_slots(
            coach=c, start=datetime(YEAR, MONTH, 1, tzinfo=UTC), end=datetime(YEAR, MONTH, 31, tzinfo=UTC), now=NOW
        )
        for c in coaches
    }

    sequential = slots[coaches[0].pk][:50]
    guest = Guest(name="Bench", email="bench@example.com", timezone="UTC")
    timings = []
    for slot in sequential:
        started = time.perf_counter()
        create_booking(guest=guest, coach=coaches[0], start_at=slot.start_at, now=NOW)
        timings.append((time.perf_counter() - started) * 1000)
    emit("booking_create_p50", f"{statistics.median(timings):.1f}", "ms")

    # 20 clients, each booking its own stream of slots across 4 coaches (so some contend on a coach lock).
    clients = 20
    per_client = 10
    work = [
        (coaches[1 + n % 4], slots[coaches[1 + n % 4].pk][n // 4 :: clients // 4][:per_client]) for n in range(clients)
    ]
    barrier = threading.Barrier(clients)
    made = []

    def client(coach, own_slots):
        barrier.wait()
        count = 0
        for slot in own_slots:
            try:
                create_booking(guest=guest, coach=coach, start_at=slot.start_at, now=NOW)
                count += 1
            except BookingError:
                pass
        made.append(count)
        connections.close_all()

    threads = [threading.Thread(target=client, args=item) for item in work]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    emit("concurrent_bookings_per_s", f"{sum(made) / elapsed:.0f}", "bookings/s")
    emit("concurrent_bookings_made", sum(made))


def main() -> int:
    # Measure what a web request does in production: enqueue the emails, not send them inline.
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://"
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        emit("database", connection.vendor)
        bench_schedule()
        if connection.vendor == "postgresql":
            bench_bookings()
        else:
            emit("booking_create_p50", "skipped (set DATABASE_URL to a PostgreSQL database)")
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
