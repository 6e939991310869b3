"""`manage.py expire_holds`: the beat's hold cleanup, for setups without a Celery beat.

With Redis and `celery beat` running, `coaching.tasks.expire_holds_task` does this every minute. In
the embedded mode (no broker) run it from cron, e.g.
`* * * * * cd /srv/site && .venv/bin/python manage.py expire_holds`. Running it twice releases
nothing twice.
"""

from django.core.management.base import BaseCommand

from coaching import services


class Command(BaseCommand):
    help = "Release unpaid holds whose time is up and expire their Stripe checkouts (safe to run often)."

    def handle(self, *args, **options):
        released = services.expire_holds()
        self.stdout.write(f"Holds released: {released}.")
