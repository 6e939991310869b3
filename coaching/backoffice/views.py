"""Custom Wagtail admin views: Bulk add slots, remove availability, cancel a booking, dashboard panel.

Views parse the form and call the services; every rule (overlaps, DST, refunds) is decided there.
"""

import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.ui.components import Component

from coaching.exceptions import BookingError
from coaching.models import Booking, Coach, Notification
from coaching.services import cancel_booking
from coaching.services.availability import (
    InvalidAvailabilityRequest,
    bulk_add_availability,
    preview_bulk_add,
    preview_remove_availability,
    remove_availability,
)
from coaching.vocabulary import Actor
from coaching.wallclock import local_day_bounds

from .desk import cancel_label
from .forms import BulkAddForm, CancelBookingForm, RemoveAvailabilityForm
from .permissions import (
    can_use_back_office,
    require_back_office,
    visible_bookings,
    visible_coaches,
    visible_notifications,
)


def bulk_add_view(request):
    """GET: the form. POST action=preview: what would happen. POST action=confirm: do it."""
    require_back_office(request.user)
    form = BulkAddForm(request.POST or None, user=request.user)
    context = {"form": form, "plan": None, "result": None}
    if request.method == "POST" and form.is_valid():
        arguments = {
            name: form.cleaned_data[name] for name in ("coach", "weekdays", "time_ranges", "start_date", "end_date")
        }
        try:
            if request.POST.get("action") == "confirm":
                result = bulk_add_availability(**arguments)
                messages.success(
                    request,
                    f"Added {len(result.created)} availability block(s) for {result.coach.name}; "
                    f"skipped {len(result.skipped)}.",
                )
                context["result"] = result
            else:
                context["plan"] = preview_bulk_add(**arguments)
        except InvalidAvailabilityRequest as error:
            form.add_error(None, error.message)
    return TemplateResponse(request, "coaching/admin/bulk_add.html", context)


def remove_availability_view(request):
    require_back_office(request.user)
    form = RemoveAvailabilityForm(request.POST or None, user=request.user)
    context = {"form": form, "plan": None, "done": False}
    if request.method == "POST" and form.is_valid():
        arguments = {name: form.cleaned_data[name] for name in ("coach", "start_date", "end_date")}
        try:
            if request.POST.get("action") == "confirm":
                plan = remove_availability(**arguments)
                messages.success(
                    request, f"Removed {len(plan.blocks_removed)} availability block(s) for {plan.coach.name}."
                )
                context["done"] = True
            else:
                plan = preview_remove_availability(**arguments)
            context["plan"] = plan
        except InvalidAvailabilityRequest as error:
            form.add_error(None, error.message)
    return TemplateResponse(request, "coaching/admin/remove_availability.html", context)


def cancel_booking_view(request, pk):
    """Cancel one booking as the owner, with or without a refund, through the guests' own service."""
    require_back_office(request.user)
    # Outside the user's own data this is a 404, so a coach cannot even learn a reference exists.
    booking = get_object_or_404(visible_bookings(request.user).select_related("coach", "workshop"), pk=pk)
    form = CancelBookingForm(request.POST or None)
    inspect_url = reverse("coaching_booking_modeladmin_inspect", args=[booking.pk])
    if request.method == "POST" and form.is_valid():
        try:
            cancel_booking(
                booking=booking,
                actor=Actor.OWNER,
                user=request.user,
                refund=form.refund_argument(),
                reason=form.cleaned_data["reason"],
            )
        except BookingError as error:
            messages.error(request, error.message)
            return TemplateResponse(
                request,
                "coaching/admin/cancel_booking.html",
                {"booking": booking, "form": form, "cancel_label": cancel_label(booking)},
                status=error.http_status,
            )
        messages.success(request, f"Booking {booking.reference} cancelled.")
        return redirect(inspect_url)
    return TemplateResponse(
        request,
        "coaching/admin/cancel_booking.html",
        {"booking": booking, "form": form, "inspect_url": inspect_url, "cancel_label": cancel_label(booking)},
    )


class BookingsDashboardPanel(Component):
    """Today, this week, pending holds and integration problems, on the admin home page."""

    name = "coaching_bookings"
    template_name = "coaching/admin/dashboard_panel.html"
    order = 50

    def get_context_data(self, parent_context):
        request = parent_context["request"]
        user = request.user
        zone = zoneinfo.ZoneInfo(timezone.get_current_timezone_name())
        now = timezone.now()
        today = now.astimezone(zone).date()
        today_start, today_end = local_day_bounds(today, zone)
        week_start, _ = local_day_bounds(today - timedelta(days=today.weekday()), zone)
        _, week_end = local_day_bounds(today + timedelta(days=6 - today.weekday()), zone)

        bookings = visible_bookings(user).select_related("coach", "workshop")
        confirmed = bookings.filter(status=Booking.Status.CONFIRMED).order_by("start_at")
        coaches = visible_coaches(user)
        context = {
            "today": list(confirmed.filter(start_at__gte=today_start, start_at__lt=today_end)),
            "this_week_count": confirmed.filter(start_at__gte=week_start, start_at__lt=week_end).count(),
            "pending_holds": list(
                bookings.filter(status=Booking.Status.PENDING_PAYMENT).order_by("hold_expires_at")[:10]
            ),
            "broken_coaches": list(coaches.filter(google_status=Coach.GoogleStatus.BROKEN)),
            "failed_notifications": 0,
            "notifications_url": reverse("coaching_admin:notifications") + "?status=failed",
            # No-shows of the last 30 days, and the list of them.
            "no_show_count": bookings.filter(
                attendance=Booking.Attendance.NO_SHOW, start_at__gte=now - timedelta(days=30)
            ).count(),
            "no_shows_url": reverse("coaching_booking_modeladmin_index")
            + "?"
            + urlencode({"attendance": Booking.Attendance.NO_SHOW}),
            "bookings_url": reverse("coaching_booking_modeladmin_index"),
            # Aware instants, so the list filters on exactly this week in the admin's zone.
            "week_url": reverse("coaching_booking_modeladmin_index")
            + "?"
            + urlencode({"start_at__gte": week_start.isoformat(), "start_at__lt": week_end.isoformat()}),
            "bulk_add_url": reverse("coaching_admin:bulk_add"),
            "book_for_client_url": reverse("coaching_admin:book_for_client"),
            "zone": zone,
        }
        context["failed_notifications"] = visible_notifications(user).filter(status=Notification.Status.FAILED).count()
        return context

    def render_html(self, parent_context=None):
        if not can_use_back_office(parent_context["request"].user):
            return ""
        return super().render_html(parent_context)
