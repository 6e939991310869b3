"""A coach's length, buffer and price now live on its session types (filled by 0012)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0012_session_types_from_coaches"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="coach",
            name="coach_session_minutes_min",
        ),
        migrations.RemoveField(
            model_name="coach",
            name="buffer_minutes",
        ),
        migrations.RemoveField(
            model_name="coach",
            name="currency",
        ),
        migrations.RemoveField(
            model_name="coach",
            name="price_amount",
        ),
        migrations.RemoveField(
            model_name="coach",
            name="session_minutes",
        ),
    ]
