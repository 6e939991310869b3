from django.core.management.base import BaseCommand

from tools.demo import seed


class Command(BaseCommand):
    help = "Create demo content (idempotent): admin user, coaches, availability, workshops, pages."

    def handle(self, *args, **options):
        report = seed.run()
        for line in report:
            self.stdout.write(line)
