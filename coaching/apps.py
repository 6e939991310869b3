from django.apps import AppConfig


class CoachingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "coaching"
    verbose_name = "Coaching & bookings"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the booking_changed receivers)
        from .freshness import connect_invalidation

        connect_invalidation()
