"""Session types: what a coach sells (coaching/models/session_types.py), and the booking's snapshot of
the type it was made for. Schema only; 0012 fills them from every coach's one session, 0013 then drops
the coach's own length, buffer and price."""

import django.core.validators
import django.db.models.deletion
import modelcluster.fields
import modelsearch.index
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0010_workshop_google_event"),
    ]

    operations = [
        migrations.CreateModel(
            name="SessionType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "title",
                    models.CharField(help_text="What guests choose, e.g. “Intro call” or “Deep dive”.", max_length=120),
                ),
                (
                    "slug",
                    models.SlugField(
                        help_text="Its web address: the coach's page links to it with ?type=<slug>.",
                        max_length=120,
                        unique=True,
                    ),
                ),
                ("description", models.TextField(blank=True, help_text="Shown to guests on the session's card.")),
                (
                    "duration_minutes",
                    models.PositiveSmallIntegerField(
                        default=60,
                        validators=[
                            django.core.validators.MinValueValidator(5),
                            django.core.validators.MaxValueValidator(720),
                        ],
                        verbose_name="length (minutes)",
                    ),
                ),
                (
                    "buffer_minutes",
                    models.PositiveSmallIntegerField(
                        default=0,
                        help_text="Free time kept before and after each session of this type. Between two sessions the larger of their two buffers applies. Start times step by length + buffer.",
                        validators=[django.core.validators.MaxValueValidator(240)],
                        verbose_name="buffer (minutes)",
                    ),
                ),
                (
                    "price_amount",
                    models.PositiveIntegerField(
                        default=0, help_text="Price of one session in minor units (pence/cents). 0 means free."
                    ),
                ),
                (
                    "currency",
                    models.CharField(
                        choices=[("GBP", "GBP £"), ("EUR", "EUR €"), ("USD", "USD $"), ("JPY", "JPY ¥")],
                        default="GBP",
                        max_length=3,
                    ),
                ),
                (
                    "min_notice_minutes",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="How soon before its start it can still be booked. Empty: the coach's.",
                        null=True,
                    ),
                ),
                (
                    "horizon_days",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="How far ahead guests may book it. Empty: the coach's.",
                        null=True,
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "is_active",
                    models.BooleanField(default=True, help_text="Inactive types are not offered (bookings are kept)."),
                ),
                (
                    "sort_order",
                    models.PositiveSmallIntegerField(default=0, help_text="Lower first on the coach's page."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["sort_order", "title", "pk"],
            },
            bases=(modelsearch.index.Indexed, models.Model),
        ),
        migrations.AddField(
            model_name="booking",
            name="session_minutes",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="booking",
            name="session_title",
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.AlterField(
            model_name="coach",
            name="horizon_days",
            field=models.PositiveSmallIntegerField(
                default=60,
                help_text="How far ahead guests may book (each session type may set its own).",
                validators=[django.core.validators.MinValueValidator(1)],
            ),
        ),
        migrations.AlterField(
            model_name="coach",
            name="min_notice_minutes",
            field=models.PositiveIntegerField(
                default=720,
                help_text="How soon before its start a session can still be booked (each session type may set its own).",
            ),
        ),
        migrations.AddField(
            model_name="sessiontype",
            name="coaches",
            field=modelcluster.fields.ParentalManyToManyField(
                help_text="Who offers it. A type shared by several coaches is booked with each in their own calendar.",
                related_name="session_types",
                to="coaching.coach",
            ),
        ),
        migrations.AddField(
            model_name="booking",
            name="session_type",
            field=models.ForeignKey(
                blank=True,
                help_text="Set for 1-on-1 sessions.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="bookings",
                to="coaching.sessiontype",
            ),
        ),
        migrations.AddConstraint(
            model_name="sessiontype",
            constraint=models.CheckConstraint(
                condition=models.Q(("duration_minutes__gte", 5)), name="session_type_duration_min"
            ),
        ),
        migrations.AddConstraint(
            model_name="sessiontype",
            constraint=models.CheckConstraint(
                condition=models.Q(("horizon_days__isnull", True), ("horizon_days__gte", 1), _connector="OR"),
                name="session_type_horizon_min",
            ),
        ),
    ]
