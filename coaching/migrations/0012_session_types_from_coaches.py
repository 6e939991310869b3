"""Every existing coach gets one session type made from its own length, buffer and price, and every
existing 1-on-1 booking points at its coach's type with the snapshot filled in, so nothing a guest
sees changes until the owner adds more types. The notice and horizon stay the coach's (the type's
are left empty, meaning "the coach's").

Reversible: going back copies each coach's first type back onto the coach and forgets the types.
"""

from django.db import migrations

TITLE = "1-on-1 session"
BATCH = 500


def unique_slug(SessionType, base: str) -> str:
    slug, n = base[:120], 2
    while SessionType.objects.filter(slug=slug).exists():
        suffix = f"-{n}"
        slug, n = base[: 120 - len(suffix)] + suffix, n + 1
    return slug


def types_from_coaches(apps, schema_editor):
    Coach = apps.get_model("coaching", "Coach")
    SessionType = apps.get_model("coaching", "SessionType")
    Booking = apps.get_model("coaching", "Booking")
    for coach in Coach.objects.order_by("pk").iterator():
        session_type = SessionType.objects.create(
            title=TITLE,
            slug=unique_slug(SessionType, f"{coach.slug}-session"),
            duration_minutes=coach.session_minutes,
            buffer_minutes=coach.buffer_minutes,
            price_amount=coach.price_amount,
            currency=coach.currency,
            is_active=True,
            sort_order=0,
        )
        # Through the join table: a ParentalManyToManyField's add() waits for a cluster save.
        SessionType.coaches.through.objects.create(sessiontype_id=session_type.pk, coach_id=coach.pk)
        changed = []
        for booking in Booking.objects.filter(coach=coach, session_type__isnull=True).iterator():
            booking.session_type = session_type
            booking.session_title = TITLE
            # The booking's own length: the coach's length may have changed since it was made.
            booking.session_minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
            changed.append(booking)
            if len(changed) >= BATCH:
                Booking.objects.bulk_update(changed, ["session_type", "session_title", "session_minutes"])
                changed = []
        if changed:
            Booking.objects.bulk_update(changed, ["session_type", "session_title", "session_minutes"])


def coaches_from_types(apps, schema_editor):
    Coach = apps.get_model("coaching", "Coach")
    SessionType = apps.get_model("coaching", "SessionType")
    Booking = apps.get_model("coaching", "Booking")
    for coach in Coach.objects.order_by("pk"):
        first = SessionType.objects.filter(coaches=coach).order_by("sort_order", "title", "pk").first()
        if first is not None:
            coach.session_minutes = first.duration_minutes
            coach.buffer_minutes = first.buffer_minutes
            coach.price_amount = first.price_amount
            coach.currency = first.currency
            coach.save(update_fields=["session_minutes", "buffer_minutes", "price_amount", "currency"])
    Booking.objects.update(session_type=None, session_title="", session_minutes=None)
    SessionType.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0011_session_types"),
    ]

    operations = [migrations.RunPython(types_from_coaches, coaches_from_types)]
