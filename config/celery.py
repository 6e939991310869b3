"""Celery application.

With `REDIS_URL` unset (the embedded default) settings turn on `task_always_eager`, so every task
runs in-process; with it set, tasks go to Redis and a worker (and exactly one beat) must run.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
