"""The session-types data migration on a database with coaches and bookings already in it: every
coach gets one session type from its own length, buffer and price, every 1-on-1 booking points at it
with its snapshot filled, and each calendar reads exactly as before."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython

from coaching.models import Booking, Coach, SessionType
from coaching.schedule import free_slots

NOW = datetime(2030, 1, 1, tzinfo=UTC)
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)


def data_migration(loader: MigrationLoader):
    """The migration that makes session types from coaches, whatever number it ends up with."""
    for key, migration in loader.disk_migrations.items():
        if key[0] == "coaching" and any(
            isinstance(op, RunPython) and op.code.__name__ == "types_from_coaches" for op in migration.operations
        ):
            return key, migration
    raise AssertionError("no migration makes session types from coaches")


@pytest.mark.django_db(transaction=True)
def test_every_coach_gets_its_own_session_as_a_type_and_its_bookings_point_at_it():
    executor = MigrationExecutor(connection)
    key, migration = data_migration(executor.loader)
    leaves = executor.loader.graph.leaf_nodes()
    before = [parent for parent in migration.dependencies if parent[0] == "coaching"]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldCoach = old.get_model("coaching", "Coach")
    OldBooking = old.get_model("coaching", "Booking")
    OldBlock = old.get_model("coaching", "AvailabilityBlock")
    london = OldCoach.objects.create(
        name="Lena", slug="lena", email="lena@example.com", timezone="Europe/London", session_minutes=45,
        buffer_minutes=15, price_amount=5000, currency="USD", min_notice_minutes=0, horizon_days=365,
    )  # fmt: skip
    free = OldCoach.objects.create(
        name="Fay", slug="fay", email="fay@example.com", timezone="UTC", min_notice_minutes=0, horizon_days=365
    )
    for coach in (london, free):
        OldBlock.objects.create(coach=coach, start_at=MONDAY + timedelta(hours=9), end_at=MONDAY + timedelta(hours=17))
    booked = OldBooking.objects.create(
        coach=london,
        start_at=MONDAY + timedelta(hours=10),
        end_at=MONDAY + timedelta(hours=10, minutes=45),
        guest_name="Guest",
        guest_email="guest@example.com",
        amount_due=5000,
        currency="USD",
    )
    # Made when the coach's sessions were still 30 minutes long: it keeps its own length.
    older = OldBooking.objects.create(
        coach=london,
        start_at=MONDAY + timedelta(hours=15),
        end_at=MONDAY + timedelta(hours=15, minutes=30),
        guest_name="Guest",
        guest_email="guest@example.com",
        status="cancelled",
    )

    MigrationExecutor(connection).migrate(leaves)

    lena_type = SessionType.objects.get(coaches__slug="lena")
    assert (lena_type.title, lena_type.duration_minutes, lena_type.buffer_minutes) == ("1-on-1 session", 45, 15)
    assert (lena_type.price_amount, lena_type.currency, lena_type.is_active) == (5000, "USD", True)
    assert lena_type.min_notice_minutes is None and lena_type.horizon_days is None  # the coach's
    fay_type = SessionType.objects.get(coaches__slug="fay")
    assert (fay_type.duration_minutes, fay_type.price_amount) == (60, 0)
    assert lena_type.slug != fay_type.slug
    rows = {b.pk: b for b in Booking.objects.all()}
    assert (rows[booked.pk].session_type, rows[booked.pk].session_title, rows[booked.pk].session_minutes) == (
        lena_type,
        "1-on-1 session",
        45,
    )
    assert rows[older.pk].session_minutes == 30 and rows[older.pk].session_type == lena_type
    assert rows[booked.pk].title == "1-on-1 session with Lena"

    lena = Coach.objects.get(slug="lena")
    starts = [s.start_at for s in free_slots(coach=lena, start=MONDAY, end=MONDAY + timedelta(days=1), now=NOW)]
    # 45-minute sessions every hour (45 + 15) from 09:00, as before; 10:00 is booked.
    assert starts == [MONDAY + timedelta(hours=h) for h in (9, 11, 12, 13, 14, 15, 16)]
