"""`manage.py send_notifications`: the beat's email work, for setups without a Celery beat.

    manage.py send_notifications            # owe due reminders, then send everything owed and due

With Redis and `celery beat` running this happens every minute by itself. In the embedded mode
(no broker) emails go out at once when a booking changes, but retries after an SMTP failure and the
reminders need this command from cron, e.g. `* * * * * cd /srv/site && .venv/bin/python manage.py
send_notifications`. Running it twice sends nothing twice.
"""

from django.core.management.base import BaseCommand

from coaching.models import Notification
from coaching.services import delivery


class Command(BaseCommand):
    help = "Owe due booking reminders and send every owed email that is due (safe to run often)."

    def handle(self, *args, **options):
        reminders = delivery.send_due_reminders()
        outcomes = delivery.deliver_pending()
        failed_total = Notification.objects.filter(status=Notification.Status.FAILED).count()
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(f"Reminders owed: {reminders}. Delivery: {summary}. Given up (all time): {failed_total}.")
