"""The "Bookings" modeladmin group: bookings (list, inspect, CSV, cancel), availability blocks,
Google busy times, and the Bulk add / Remove availability tools.

Access rules live in `coaching.backoffice.permissions`; every queryset here is narrowed through
it, and the per-object checks turn anything outside a coach's own data into a 403.
"""

import zoneinfo

from django.utils import timezone
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail_modeladmin.helpers import ButtonHelper, PermissionHelper
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup

from coaching.models import AvailabilityBlock, Booking, CoachBusySlot

from .permissions import (
    can_use_back_office,
    coach_of,
    is_owner,
    visible_availability,
    visible_bookings,
    visible_busy_slots,
    visible_coaches,
)

# ---------------------------------------------------------------------------------------------
# The "Bookings" group (wagtail-modeladmin)


class ScopedPermissionHelper(PermissionHelper):
    """Owner: everything their model permissions allow. Coach: their own rows only."""

    visible = staticmethod(lambda user: None)
    coach_may_change = True

    def _in_scope(self, user, obj) -> bool:
        return self.visible(user).filter(pk=obj.pk).exists()

    def user_can_list(self, user):
        return can_use_back_office(user)

    def user_can_inspect_obj(self, user, obj):
        return self.inspect_view_enabled and can_use_back_office(user) and self._in_scope(user, obj)

    def user_can_create(self, user):
        return is_owner(user) or (self.coach_may_change and coach_of(user) is not None)

    def user_can_edit_obj(self, user, obj):
        return self.user_can_create(user) and self._in_scope(user, obj)

    def user_can_delete_obj(self, user, obj):
        return self.user_can_edit_obj(user, obj)


class ReadOnlyPermissionHelper(ScopedPermissionHelper):
    """Listed and inspected in the admin, never created, edited or deleted there."""

    def user_can_create(self, user):
        return False

    def user_can_edit_obj(self, user, obj):
        return False

    def user_can_delete_obj(self, user, obj):
        return False


class BookingPermissionHelper(ReadOnlyPermissionHelper):
    # Bookings are made and changed only through the booking services (cancel action below).
    visible = staticmethod(visible_bookings)


class BookingButtonHelper(ButtonHelper):
    def get_buttons_for_obj(self, obj, exclude=None, classnames_add=None, classnames_exclude=None):
        from django.urls import reverse

        buttons = super().get_buttons_for_obj(obj, exclude, classnames_add, classnames_exclude)
        if obj.is_active and self.permission_helper.user_can_inspect_obj(self.request.user, obj):
            buttons.append(
                {
                    "url": reverse("coaching_admin:cancel_booking", args=[obj.pk]),
                    "label": "Cancel",
                    "classname": " ".join(["button", "button-secondary", "no", *(classnames_add or [])]),
                    "title": f"Cancel booking {obj.reference}",
                }
            )
        return buttons


def _local(moment):
    return timezone.localtime(moment).strftime("%a %d %b %Y, %H:%M")


class BookingAdmin(ModelAdmin):
    model = Booking
    menu_label = "Bookings"
    menu_icon = "date"
    inspect_view_enabled = True
    inspect_template_name = "coaching/admin/booking_inspect.html"
    permission_helper_class = BookingPermissionHelper
    button_helper_class = BookingButtonHelper
    list_display = ["reference", "guest_name", "guest_email", "what", "when", "status", "amount_due_display"]
    list_filter = ["status", "coach", "workshop", "start_at"]
    search_fields = ["guest_name", "guest_email", "reference"]
    list_select_related = ["coach", "workshop"]
    list_export = [
        "reference",
        "status",
        "what",
        "start_at",
        "end_at",
        "seats",
        "guest_name",
        "guest_email",
        "guest_phone",
        "amount_due",
        "amount_paid",
        "amount_refunded",
        "currency",
        "created_at",
    ]
    export_filename = "bookings"
    inspect_view_fields = [
        "reference",
        "status",
        "title",
        "start_at",
        "end_at",
        "seats",
        "guest_name",
        "guest_email",
        "guest_phone",
        "guest_notes",
        "guest_timezone",
        "amount_due_display",
        "is_paid",
        "amount_paid",
        "amount_refunded",
        "hold_expires_at",
        "stripe_payment_intent_id",
        "google_event_id",
        "created_at",
        "confirmed_at",
        "cancelled_at",
    ]

    def get_queryset(self, request):
        return visible_bookings(request.user).select_related("coach", "workshop")

    @staticmethod
    def what(obj):
        return obj.workshop.title if obj.workshop_id else f"1-on-1 with {obj.coach.name}"

    @staticmethod
    def when(obj):
        return _local(obj.start_at)


class AvailabilityBlockForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.for_user is not None and "coach" in self.fields:
            self.fields["coach"].queryset = visible_coaches(self.for_user)

    def clean(self):
        cleaned = super().clean()
        start_at, end_at = cleaned.get("start_at"), cleaned.get("end_at")
        if start_at and end_at and end_at <= start_at:
            self.add_error("end_at", "A block must end after it starts.")
        return cleaned


class AvailabilityPermissionHelper(ScopedPermissionHelper):
    visible = staticmethod(visible_availability)


class AvailabilityBlockAdmin(ModelAdmin):
    model = AvailabilityBlock
    menu_label = "Availability"
    menu_icon = "time"
    permission_helper_class = AvailabilityPermissionHelper
    list_display = ["coach", "local_start", "local_end", "start_at"]
    list_filter = ["coach", "start_at"]
    list_select_related = ["coach"]
    edit_handler = ObjectList(
        [FieldPanel("coach"), FieldRowPanel([FieldPanel("start_at"), FieldPanel("end_at")])],
        base_form_class=AvailabilityBlockForm,
    )

    def get_queryset(self, request):
        return visible_availability(request.user).select_related("coach").order_by("start_at")

    @staticmethod
    def local_start(obj):
        return obj.start_at.astimezone(zoneinfo.ZoneInfo(obj.coach.timezone)).strftime("%a %d %b %Y, %H:%M %Z")

    local_start.short_description = "Starts (coach's time)"

    @staticmethod
    def local_end(obj):
        return obj.end_at.astimezone(zoneinfo.ZoneInfo(obj.coach.timezone)).strftime("%H:%M %Z")

    local_end.short_description = "Ends"


class BusySlotPermissionHelper(ReadOnlyPermissionHelper):
    """Busy slots mirror Google Calendar: replaced by every pull, so nobody edits them here."""

    visible = staticmethod(visible_busy_slots)


class CoachBusySlotAdmin(ModelAdmin):
    model = CoachBusySlot
    menu_label = "Busy times (Google)"
    menu_icon = "warning"
    inspect_view_enabled = True
    permission_helper_class = BusySlotPermissionHelper
    list_display = ["coach", "start_at", "end_at", "fetched_at"]
    list_filter = ["coach", "start_at"]
    list_select_related = ["coach"]

    def get_queryset(self, request):
        return visible_busy_slots(request.user).select_related("coach").order_by("start_at")


class BackOfficeMenuItem(MenuItem):
    def is_shown(self, request):
        return can_use_back_office(request.user)


class BookingsGroup(ModelAdminGroup):
    menu_label = "Bookings"
    menu_icon = "date"
    menu_order = 150
    items = (BookingAdmin, AvailabilityBlockAdmin, CoachBusySlotAdmin)

    def get_submenu_items(self):
        from django.urls import reverse_lazy

        items = super().get_submenu_items()
        order = len(items) + 1
        items.append(
            BackOfficeMenuItem(
                "Bulk add slots",
                reverse_lazy("coaching_admin:bulk_add"),
                name="bulk-add-slots",
                icon_name="plus",
                order=order,
            )
        )
        items.append(
            BackOfficeMenuItem(
                "Remove availability",
                reverse_lazy("coaching_admin:remove_availability"),
                name="remove-availability",
                icon_name="bin",
                order=order + 1,
            )
        )
        return items
