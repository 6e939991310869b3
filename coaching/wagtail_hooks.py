"""Every Wagtail hook of the booking domain, in one place: snippets, the Bookings group, admin URLs,
menu items, the dashboard panel and the coach listing's buttons. The screens themselves live in
coaching/backoffice/."""

from django.urls import reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from coaching.backoffice import urls as backoffice_urls
from coaching.backoffice.bookings import BookingsGroup
from coaching.backoffice.packages import PackagesGroup, PackageViewSet, PromotionCodeViewSet
from coaching.backoffice.permissions import can_manage_coach, is_owner
from coaching.backoffice.session_types import SessionTypeViewSet
from coaching.backoffice.snippets import CoachViewSet, WorkshopSeriesViewSet, WorkshopViewSet
from coaching.backoffice.views import BookingsDashboardPanel
from coaching.models import Coach, Workshop
from coaching.services.workshops import CANCEL_LOG_ACTION

register_snippet(CoachViewSet)
register_snippet(SessionTypeViewSet)
register_snippet(WorkshopViewSet)
register_snippet(WorkshopSeriesViewSet)
register_snippet(PackageViewSet)
register_snippet(PromotionCodeViewSet)
modeladmin_register(BookingsGroup)
modeladmin_register(PackagesGroup)


@hooks.register("register_admin_urls")
def register_coaching_admin_urls():
    return backoffice_urls.urlpatterns


@hooks.register("construct_homepage_panels")
def add_bookings_dashboard_panel(request, panels):
    panels.insert(0, BookingsDashboardPanel())


class CoachCalendarsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("coaching.change_coach") or hasattr(request.user, "coach_profile")


@hooks.register("register_admin_menu_item")
def register_google_menu_item():
    return CoachCalendarsMenuItem(
        "Calendar sync", reverse("coaching_google:index"), name="calendar-sync", icon_name="date", order=350
    )


@hooks.register("register_snippet_listing_buttons")
def coach_calendar_buttons(snippet, user, next_url=None):
    if isinstance(snippet, Coach) and can_manage_coach(user, snippet):
        status = snippet.get_google_status_display()
        yield Button(
            f"Google Calendar: {status}",
            reverse("coaching_google:coach", args=[snippet.pk]),
            icon_name="date",
            priority=60,
        )
        yield Button(
            "Why is a slot not offered?",
            reverse("coaching_google:why", args=[snippet.pk]),
            icon_name="help",
            priority=61,
        )


@hooks.register("register_snippet_listing_buttons")
def workshop_buttons(snippet, user, next_url=None):
    # The Workshop listing shows only the user's own workshops (WorkshopViewSet.get_queryset), and
    # the screens check again.
    if isinstance(snippet, Workshop):
        yield Button(
            "Seats, waiting list, refunds",
            reverse("coaching_admin:workshop", args=[snippet.pk]),
            icon_name="list-ul",
            priority=60,
        )
        if not snippet.is_cancelled:
            yield Button(
                "Cancel workshop…",
                reverse("coaching_admin:cancel_workshop", args=[snippet.pk]),
                icon_name="cross",
                priority=61,
            )


class OwnerOnlyMenuItem(MenuItem):
    def is_shown(self, request):
        return is_owner(request.user)


@hooks.register("register_settings_menu_item")
def register_sign_in_security_menu_item():
    return OwnerOnlyMenuItem(
        "Sign-in security", reverse("coaching_sign_in:security"), name="sign-in-security", icon_name="lock", order=900
    )


@hooks.register("register_account_menu_item")
def register_two_factor_account_menu_item(request):
    return {
        "url": reverse("coaching_sign_in:two_factor"),
        "label": "Two-factor sign-in",
        "help_text": "Ask for a code from an authenticator app on your phone as well as your password.",
    }


@hooks.register("register_log_actions")
def register_workshop_log_actions(actions):
    actions.register_action(
        CANCEL_LOG_ACTION, "Cancel workshop", "Workshop cancelled: every seat cancelled and refunded"
    )
