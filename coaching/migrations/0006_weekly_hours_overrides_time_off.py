"""Weekly hours, date overrides and time off: three new tables, children of Coach.

Tables only: no data is moved or touched. Existing coaches keep their dated availability blocks
(Bulk add), which stay one-off extra availability, so every calendar reads exactly as before until
the owner adds weekly hours (coaching/tests/models/test_hours_migration.py checks it).
"""

import datetime
import django.db.models.deletion
import modelcluster.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0005_booking_invite_uid_domain"),
    ]

    operations = [
        migrations.CreateModel(
            name="DateOverride",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField()),
                ("unavailable", models.BooleanField(default=False, verbose_name="unavailable all day")),
                ("start_time", models.TimeField(blank=True, null=True, verbose_name="from")),
                ("end_time", models.TimeField(blank=True, null=True, verbose_name="until")),
                (
                    "coach",
                    modelcluster.fields.ParentalKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="date_overrides", to="coaching.coach"
                    ),
                ),
            ],
            options={
                "verbose_name": "date override",
                "ordering": ["date", "start_time"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("unavailable", True), ("start_time__isnull", True), ("end_time__isnull", True)),
                            models.Q(
                                ("unavailable", False),
                                ("start_time__isnull", False),
                                ("end_time__isnull", False),
                                models.Q(
                                    ("end_time__gt", models.F("start_time")),
                                    ("end_time", datetime.time(0, 0)),
                                    _connector="OR",
                                ),
                            ),
                            _connector="OR",
                        ),
                        name="date_override_hours_or_unavailable",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="TimeOff",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("start_date", models.DateField(verbose_name="first day")),
                ("start_time", models.TimeField(blank=True, null=True, verbose_name="from")),
                ("end_date", models.DateField(verbose_name="last day")),
                ("end_time", models.TimeField(blank=True, null=True, verbose_name="until")),
                ("reason", models.CharField(max_length=120)),
                (
                    "coach",
                    modelcluster.fields.ParentalKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="time_off", to="coaching.coach"
                    ),
                ),
            ],
            options={
                "verbose_name": "time off",
                "verbose_name_plural": "time off",
                "ordering": ["start_date", "start_time"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("end_date__gt", models.F("start_date")),
                            models.Q(
                                ("end_date", models.F("start_date")),
                                models.Q(
                                    ("start_time__isnull", True),
                                    ("end_time__isnull", True),
                                    ("end_time__gt", models.F("start_time")),
                                    _connector="OR",
                                ),
                            ),
                            _connector="OR",
                        ),
                        name="time_off_ends_after_start",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="WeeklyHours",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ]
                    ),
                ),
                ("start_time", models.TimeField(verbose_name="from")),
                ("end_time", models.TimeField(verbose_name="until")),
                ("valid_from", models.DateField(blank=True, null=True)),
                ("valid_until", models.DateField(blank=True, null=True)),
                (
                    "coach",
                    modelcluster.fields.ParentalKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="weekly_hours", to="coaching.coach"
                    ),
                ),
            ],
            options={
                "verbose_name": "weekly hours",
                "verbose_name_plural": "weekly hours",
                "ordering": ["weekday", "start_time"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("weekday__lte", 6)), name="weekly_hours_weekday_range"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("end_time__gt", models.F("start_time")), ("end_time", datetime.time(0, 0)), _connector="OR"
                        ),
                        name="weekly_hours_end_after_start",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("valid_from__isnull", True),
                            ("valid_until__isnull", True),
                            ("valid_until__gte", models.F("valid_from")),
                            _connector="OR",
                        ),
                        name="weekly_hours_valid_until_after_from",
                    ),
                ],
            },
        ),
    ]
