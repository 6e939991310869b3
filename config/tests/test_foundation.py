import os
import subprocess
import sys
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from coaching.models import (
    AvailabilityBlock,
    Booking,
    Coach,
    DateOverride,
    TimeOff,
    WeeklyHours,
    Workshop,
    WorkshopSeries,
)

pytestmark = pytest.mark.django_db


def test_makemigrations_check_is_clean():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_every_migration_is_applied_on_this_database():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    assert plan == []


def _counts():
    models = [Coach, Workshop, AvailabilityBlock, WeeklyHours, DateOverride, TimeOff, Booking] + [
        apps.get_model("wagtailcore", "Page"),
        apps.get_model("auth", "User"),
    ]
    return {m.__name__: m.objects.count() for m in models}


def test_seed_demo_twice_leaves_identical_counts():
    call_command("seed_demo", stdout=StringIO())
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
    assert first["Coach"] == 3 and first["Workshop"] == 6  # three workshops, and a series of three dates
    zones = set(Coach.objects.values_list("timezone", flat=True))
    assert zones == {"Europe/London", "America/New_York", "Asia/Tokyo"}
    # Weekly hours for every coach (the calendar never runs dry), one override, one week off, one
    # one-off Bulk-add block.
    assert set(WeeklyHours.objects.values_list("coach__slug", flat=True)) == set(
        Coach.objects.values_list("slug", flat=True)
    )
    assert (first["DateOverride"], first["TimeOff"], first["AvailabilityBlock"]) == (1, 1, 1)


def test_seeded_workshops_include_free_paid_sold_out_with_a_waiting_list_and_a_series():
    call_command("seed_demo", stdout=StringIO())
    prices = {w.slug: w.price_amount for w in Workshop.objects.all()}
    assert 0 in prices.values() and any(p > 0 for p in prices.values())
    sold_out = Workshop.objects.get(slug="deep-work-sprint")
    sold = sum(Booking.objects.active().filter(workshop=sold_out).values_list("seats", flat=True))
    assert sold == sold_out.capacity
    assert list(sold_out.waitlist_entries.values_list("guest_name", "status")) == [("Priya Shah", "waiting")]
    series = WorkshopSeries.objects.get(slug="saturday-deep-work")
    starts = list(series.dates.order_by("start_at").values_list("start_at", flat=True))
    assert len(starts) == 3 and len({start.month for start in starts}) == 3
    paid = Booking.objects.filter(workshop__slug="leading-through-change", is_paid=True)
    assert paid.count() == 2 and all(b.amount_paid == 4500 for b in paid)


def test_home_page_and_admin_login_answer(client):
    call_command("seed_demo", stdout=StringIO())
    home = client.get("/")
    assert home.status_code == 200
    assert b"Coaching that moves you forward" in home.content
    # The main menu lists the seeded sections.
    for link in (b'href="/coaches/"', b'href="/workshops/"', b'href="/about/"'):
        assert link in home.content
    assert client.get("/admin/login/").status_code == 200
    # The admin itself requires a login.
    assert client.get("/admin/").status_code == 302


def test_healthz_answers(client):
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("secret", ["", "django-insecure-local-only-never-use-in-production", "short"])
def test_production_settings_refuse_to_start_without_a_real_secret_key(secret):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    if secret:
        env["SECRET_KEY"] = secret
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr


def test_production_settings_start_with_a_real_secret_key():
    env = dict(os.environ, SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="config.settings.production")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_without_stripe_keys_has_no_test_checkout_and_refuses_webhooks():
    """The test checkout's webhook secret is public: production must not accept it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    env.update(SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="config.settings.production")
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.STRIPE_TEST_CHECKOUT, repr(s.STRIPE_WEBHOOK_SECRET))"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ''"


def test_every_test_module_is_under_a_testpath_and_no_production_module_looks_like_one():
    """pytest searches only pyproject's testpaths: a test file elsewhere would never run, and a
    production module named test_*.py inside an app (a service once was) must not be collected."""
    import tomllib
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    testpaths = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in {"node_modules", "tmp"}]
        found += [
            Path(folder, name).relative_to(root) for name in files if name.startswith("test_") and name.endswith(".py")
        ]
    assert found
    stray = [str(path) for path in found if not any(path.is_relative_to(testpath) for testpath in testpaths)]
    assert stray == [], f"test_*.py outside {testpaths}: rename it, or add its tests/ package to testpaths"
    assert all(Path(testpath).name == "tests" and (root / testpath / "__init__.py").exists() for testpath in testpaths)
