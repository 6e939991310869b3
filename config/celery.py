"""Celery application.

With `REDIS_URL` unset (the embedded default) settings turn on `task_always_eager`, so every task
runs in-process; with it set, tasks go to Redis and a worker (and exactly one beat) must run:

    celery -A config worker --loglevel=info     # as many as you like (`make worker`)
    celery -A config beat --loglevel=info       # exactly one (`make beat`)

Settings are read from Django settings with the `CELERY_` prefix (config/settings/base.py), including
the beat schedule. Emails never depend on the broker being up: they are owed in an outbox table in
the booking's own transaction, and the beat's `deliver_pending_notifications` sends whatever a
broker outage or a crashed worker left behind (coaching/notifications.py).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
