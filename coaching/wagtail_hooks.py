"""Wagtail admin registration for the booking domain.

Google Calendar admin views register their own hooks in coaching/google_admin.py.
"""

from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from . import google_admin  # noqa: F401
from .admin_views import BookingsDashboardPanel, get_admin_urls
from .viewsets import BookingsGroup, CoachViewSet, WorkshopViewSet

register_snippet(CoachViewSet)
register_snippet(WorkshopViewSet)
modeladmin_register(BookingsGroup)


@hooks.register("register_admin_urls")
def register_coaching_admin_urls():
    return get_admin_urls()


@hooks.register("construct_homepage_panels")
def add_bookings_dashboard_panel(request, panels):
    panels.insert(0, BookingsDashboardPanel())
