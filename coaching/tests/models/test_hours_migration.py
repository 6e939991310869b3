"""The weekly-hours migration adds tables only: existing coaches keep every dated block, and their
calendars read exactly as before (blocks alone) until the owner gives them weekly hours."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import CreateModel

from coaching.models import AvailabilityBlock, Coach
from coaching.schedule import candidate_starts, fetch_spans, free_slots, load_coach_intervals, merge_intervals
from coaching.tests.factories import AvailabilityBlockFactory, BookingFactory, CoachFactory
from coaching.wallclock import expand_weekly_pattern

NOW = datetime(2030, 1, 1, tzinfo=UTC)
WINDOW = (datetime(2030, 1, 6, tzinfo=UTC), datetime(2030, 1, 20, tzinfo=UTC))


def hours_migration(loader: MigrationLoader):
    """The migration that creates WeeklyHours, whatever number it ends up with."""
    for key, migration in loader.disk_migrations.items():
        if key[0] == "coaching" and any(
            isinstance(op, CreateModel) and op.name == "WeeklyHours" for op in migration.operations
        ):
            return key, migration
    raise AssertionError("no migration creates WeeklyHours")


def test_the_migration_only_creates_the_three_tables():
    _, migration = hours_migration(MigrationLoader(None, ignore_no_migrations=True))
    assert [(type(op).__name__, op.name) for op in migration.operations] == [
        ("CreateModel", "DateOverride"),
        ("CreateModel", "TimeOff"),
        ("CreateModel", "WeeklyHours"),
    ]


def calendar(coach: Coach):
    return [(slot.start_at, slot.end_at) for slot in free_slots(coach=coach, start=WINDOW[0], end=WINDOW[1], now=NOW)]


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forward_with_coaches_and_blocks_in_place_keeps_every_block_and_calendar():
    coaches = []
    for slug, zone in (("london", "Europe/London"), ("tokyo", "Asia/Tokyo")):
        coach = CoachFactory(slug=slug, timezone=zone, session_minutes=45, buffer_minutes=15)
        for start, end in expand_weekly_pattern(
            zone=coach.zone,
            weekdays=range(5),
            time_ranges=[(time(9), time(12)), (time(13), time(17))],
            start_date=WINDOW[0].date(),
            end_date=WINDOW[1].date(),
        ):
            AvailabilityBlockFactory(coach=coach, start_at=start, end_at=end)
        BookingFactory(
            coach=coach,
            start_at=WINDOW[0] + timedelta(days=1, hours=10),
            end_at=WINDOW[0] + timedelta(days=1, hours=11),
        )
        coaches.append(coach)
    blocks_before = list(AvailabilityBlock.objects.order_by("pk").values_list("pk", "coach_id", "start_at", "end_at"))
    calendars_before = {coach.pk: calendar(coach) for coach in coaches}
    # A coach without weekly hours is offered exactly what its blocks give, as before the feature.
    for coach in coaches:
        blocks = merge_intervals(fetch_spans(AvailabilityBlock.objects.filter(coach=coach)))
        assert load_coach_intervals(coach=coach, start=WINDOW[0], end=WINDOW[1], now=NOW).availability == blocks
        assert calendars_before[coach.pk] and set(calendars_before[coach.pk]) <= {
            (slot.start_at, slot.end_at)
            for slot in candidate_starts(blocks, length=timedelta(minutes=45), step=timedelta(minutes=60))
        }

    executor = MigrationExecutor(connection)
    key, migration = hours_migration(executor.loader)
    previous = [parent for parent in migration.dependencies if parent[0] == "coaching"]
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(previous)
    old_apps = executor.loader.project_state(previous).apps
    assert "weeklyhours" not in old_apps.all_models["coaching"]
    old_blocks = old_apps.get_model("coaching", "AvailabilityBlock")
    assert list(old_blocks.objects.order_by("pk").values_list("pk", "coach_id", "start_at", "end_at")) == blocks_before

    executor = MigrationExecutor(connection)
    executor.migrate(leaves)
    assert key in MigrationExecutor(connection).loader.applied_migrations
    assert (
        list(AvailabilityBlock.objects.order_by("pk").values_list("pk", "coach_id", "start_at", "end_at"))
        == blocks_before
    )
    assert {coach.pk: calendar(Coach.objects.get(pk=coach.pk)) for coach in coaches} == calendars_before
