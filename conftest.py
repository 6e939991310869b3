"""Project-wide pytest setup: database-specific skips (with the reason printed) and shared fixtures."""

import os
import shutil

import pytest
from django.db import connection

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    have_chromium = shutil.which(CHROMIUM) is not None
    in_ci = os.environ.get("CI") == "true"
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (races / exclusion constraint): run with DATABASE_URL=postgres://... make test"
    )
    skip_browser = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium); CI installs it")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        # In CI a missing browser is a failure, never a silent skip.
        if "browser" in item.keywords and not have_chromium and not in_ci:
            item.add_marker(skip_browser)
