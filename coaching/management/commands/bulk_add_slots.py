"""`manage.py bulk_add_slots`: the admin's Bulk add slots tool, for scripts.

    manage.py bulk_add_slots --coach anna --weekdays mon,tue,wed,thu,fri \\
        --times 09:00-12:00,13:00-17:00 --from 2026-03-02 --to 2026-04-26 [--dry-run]

Times are wall-clock in the coach's own time zone. Spans that already exist or overlap availability,
bookings or workshops are skipped and listed, so running the same command twice adds nothing.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from coaching.models import Coach
from coaching.services.availability import (
    InvalidAvailabilityRequest,
    bulk_add_availability,
    parse_time_ranges,
    parse_weekdays,
    preview_bulk_add,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"“{value}” is not a date like 2026-03-02.") from None


class Command(BaseCommand):
    help = "Add a coach's weekly availability pattern over a date range (in the coach's time zone)."

    def add_arguments(self, parser):
        parser.add_argument("--coach", required=True, help="Coach slug.")
        parser.add_argument("--weekdays", required=True, help="Comma-separated: mon,tue,wed,thu,fri,sat,sun.")
        parser.add_argument("--times", required=True, help="Daily ranges, comma-separated: 09:00-12:00,13:00-17:00.")
        parser.add_argument("--from", dest="start_date", required=True, help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end_date", required=True, help="Last day, included (YYYY-MM-DD).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be created; write nothing.")

    def handle(self, *args, **options):
        try:
            coach = Coach.objects.get(slug=options["coach"])
        except Coach.DoesNotExist:
            raise CommandError(f"No coach with slug “{options['coach']}”.") from None
        try:
            arguments = dict(
                coach=coach,
                weekdays=parse_weekdays(options["weekdays"]),
                time_ranges=parse_time_ranges(options["times"]),
                start_date=_date(options["start_date"]),
                end_date=_date(options["end_date"]),
            )
            plan = preview_bulk_add(**arguments) if options["dry_run"] else bulk_add_availability(**arguments)
        except InvalidAvailabilityRequest as error:
            raise CommandError(error.message) from None

        zone = plan.zone
        for span in plan.to_create:
            start, end = span.local(zone)
            self.stdout.write(f"  + {start:%a %Y-%m-%d %H:%M}–{end:%H:%M} {start.tzname()}")
        for skipped in plan.skipped:
            start, end = skipped.start_at.astimezone(zone), skipped.end_at.astimezone(zone)
            self.stdout.write(f"  - {start:%a %Y-%m-%d %H:%M}–{end:%H:%M} skipped: {skipped.reason}")
        verb = "Would create" if options["dry_run"] else "Created"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(plan.to_create)} block(s) for {coach.name} ({zone.key}); skipped {len(plan.skipped)}."
            )
        )
