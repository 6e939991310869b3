"""Which local Redis database a test uses, so that parallel test workers never share one.

REDIS_TEST_URL names the first (default: db 15 on the local server). A test process takes three
databases counting down from it: slot 0 for the Celery broker tests, 1 spare, 2 for the tests that
run their own shared cache (two web processes, periodic-job claims). Under pytest-xdist worker gwN
starts 3·N lower (gw0: 15, 14, 13; gw1: 12, 11, 10), so workers never flush or count each other's keys.
"""

import os

SLOTS_PER_WORKER = 3


def redis_test_url(slot: int = 0) -> str:
    url = os.environ.get("REDIS_TEST_URL") or "redis://127.0.0.1:6379/15"
    base, _, db = url.rpartition("/")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    return f"{base}/{(int(db or 0) - SLOTS_PER_WORKER * index - slot) % 16}"
