"""The "Bookings" modeladmin group: bookings (list, inspect with refunds to retry, CSV, cancel),
workshops' waiting lists, availability blocks, Google busy times, and the Bulk add / Remove
availability tools.

Access rules live in `coaching.backoffice.permissions`; every queryset here is narrowed through
it, and the per-object checks turn anything outside a coach's own data into a 403.
"""

import copy
import zoneinfo

from django import forms
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from wagtail.admin import messages
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList
from wagtail.log_actions import log
from wagtail_modeladmin.helpers import ButtonHelper, PermissionHelper
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup
from wagtail_modeladmin.views import CreateView, DeleteView, EditView, InspectView

from coaching.intake import answer_text
from coaching.models import AvailabilityBlock, Booking, CoachBusySlot, Refund, WaitlistEntry
from coaching.money import format_money, to_major_units
from coaching.places import meeting_place
from coaching.services.availability import (
    BlockChange,
    InvalidAvailabilityRequest,
    add_availability_block,
    change_availability_block,
    preview_remove_availability_block,
    remove_availability_block,
)
from coaching.vocabulary import LogAction
from coaching.wallclock import format_in_zone, format_span_in_zone

from .desk import booking_facts, cancel_label, desk_context, what_label, when_label
from .exports import SafeExportIndexView
from .permissions import (
    can_use_back_office,
    coach_of,
    is_owner,
    visible_availability,
    visible_bookings,
    visible_busy_slots,
    visible_coaches,
    visible_waitlist,
)

# ---------------------------------------------------------------------------------------------
# The "Bookings" group (wagtail-modeladmin)


class ScopedPermissionHelper(PermissionHelper):
    """Owner: everything their model permissions allow. Coach: their own rows only."""

    visible = staticmethod(lambda user: None)
    coach_may_change = True

    def _in_scope(self, user, obj) -> bool:
        # The owner sees every row: no query per row of a listing.
        return is_owner(user) or self.visible(user).filter(pk=obj.pk).exists()

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
                    "label": "Cancel…",
                    "classname": " ".join(["button", "button-secondary", "no", *(classnames_add or [])]),
                    "title": cancel_label(obj),
                }
            )
        return buttons


class BookingInspectView(InspectView):
    """The booking's details (readable: the coach's time with its zone named, money as money), the
    desk's actions (cancel, move, refund part, attendance, client data), its refunds not made yet
    with a Retry button each, and its log."""

    def get_fields_dict(self):
        return booking_facts(self.instance)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["refunds_needing_attention"] = (
            self.instance.refunds.filter(status__in=[Refund.Status.FAILED, Refund.Status.PENDING])
            .select_related("booking")
            .order_by("created_at")
        )
        context["desk"] = desk_context(self.instance)
        zone = self.instance.host.zone
        entries = list(self.instance.log_entries.select_related("actor_user"))
        for entry in entries:
            entry.at_display = format_in_zone(entry.at, zone, "%a %d %b %Y, %H:%M:%S")
            entry.action_label = LogAction(entry.action).label if entry.action in LogAction.values else entry.action
        context["log_entries"] = entries
        return context


class BookingAdmin(ModelAdmin):
    index_view_class = SafeExportIndexView
    inspect_view_class = BookingInspectView
    model = Booking
    menu_label = "Bookings"
    menu_icon = "date"
    inspect_view_enabled = True
    inspect_template_name = "coaching/admin/booking_inspect.html"
    index_template_name = "coaching/admin/booking_index.html"
    permission_helper_class = BookingPermissionHelper
    button_helper_class = BookingButtonHelper
    list_display = ["reference", "client", "what", "when", "status_label", "price", "paid", "attendance_label"]
    list_filter = ["status", "attendance", "coach", "workshop", "start_at"]
    search_fields = ["guest_name", "guest_email", "reference"]
    list_select_related = ["coach", "workshop__host"]
    list_export = [
        "reference",
        "status_label",
        "what",
        "when",
        "start_at",
        "end_at",
        "seats",
        "guest_name",
        "guest_email",
        "guest_phone",
        "price_major",
        "paid_major",
        "refunded_major",
        "currency",
        "attendance_label",
        "created_at",
        "where",
        "answers",
    ]
    export_filename = "bookings"
    inspect_view_fields = [
        "reference",
        "status",
        "title",
        "session_title",
        "session_minutes",
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
        return visible_bookings(request.user).select_related("coach", "workshop__host")

    # Columns (and CSV cells) in the owner's words: the coach's time with its zone named, money in
    # the currency's real units, labels rather than codes.
    def client(self, obj):
        # The name only: the email address is on the booking's page and found by the search.
        return obj.guest_name

    client.short_description = "Client"

    def what(self, obj):
        return what_label(obj)

    what.short_description = "What"

    def when(self, obj):
        return when_label(obj)

    when.short_description = "When (coach's time)"

    def status_label(self, obj):
        return obj.get_status_display()

    status_label.short_description = "Status"

    def price(self, obj):
        return format_money(obj.amount_due, obj.currency)

    price.short_description = "Price"

    def paid(self, obj):
        if not obj.amount_paid:
            return "—"
        if obj.amount_refunded:
            refunded = format_money(obj.amount_refunded, obj.currency)
            return f"{format_money(obj.amount_paid, obj.currency)} ({refunded} refunded)"
        return format_money(obj.amount_paid, obj.currency)

    paid.short_description = "Paid"

    # The CSV's amounts: numbers in the currency's real units (30.00, not 3000), for a spreadsheet.
    def price_major(self, obj):
        return str(to_major_units(obj.amount_due, obj.currency))

    price_major.short_description = "Price"

    def paid_major(self, obj):
        return str(to_major_units(obj.amount_paid, obj.currency))

    paid_major.short_description = "Paid"

    def refunded_major(self, obj):
        return str(to_major_units(obj.amount_refunded, obj.currency))

    refunded_major.short_description = "Refunded"

    def attendance_label(self, obj):
        return obj.get_attendance_display() if obj.attendance else "—"

    attendance_label.short_description = "Attendance"

    @staticmethod
    def where(obj):
        place = meeting_place(obj)
        return " ".join(part for part in (place.text, place.url) if part) if place else ""

    @staticmethod
    def answers(obj):
        """The guest's intake answers in one cell: "Question: answer; …"."""
        return "; ".join(f"{answer['question']}: {answer_text(answer)}" for answer in obj.intake_answers or [])


def _block_in_coach_time(block: AvailabilityBlock) -> str:
    return format_span_in_zone(block.start_at, block.end_at, zoneinfo.ZoneInfo(block.coach.timezone))


class AvailabilityBlockForm(WagtailAdminModelForm):
    """Parses the block; the views below write it through coaching/services/availability.py."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.for_user is not None and "coach" in self.fields:
            self.fields["coach"].queryset = visible_coaches(self.for_user)
        typed_in = f"In your admin time zone ({timezone.get_current_timezone_name()})."
        for name in ("start_at", "end_at"):
            if name in self.fields:
                self.fields[name].help_text = typed_in
        if self.instance.pk:
            # A block stays with its coach: the service moves it in time only, under that coach's lock.
            if "coach" in self.fields:
                coach_field = self.fields["coach"]
                coach_field.disabled = True
                # A plain select: the chooser's "Choose another coach" button would suggest otherwise.
                coach_field.widget = forms.Select(choices=coach_field.choices)
                coach_field.help_text = "To give this time to another coach, delete the block and add it for them."
            if "start_at" in self.fields:
                self.fields["start_at"].help_text = f"Now {_block_in_coach_time(self.instance)}. {typed_in}"

    def clean(self):
        cleaned = super().clean()
        start_at, end_at = cleaned.get("start_at"), cleaned.get("end_at")
        if start_at and end_at and end_at <= start_at:
            self.add_error("end_at", "A block must end after it starts.")
        return cleaned


class AvailabilityPermissionHelper(ScopedPermissionHelper):
    visible = staticmethod(visible_availability)


def _report_bookings_left_alone(request, change: BlockChange) -> None:
    """Bookings the block no longer covers are kept: tell the owner which, with a link to each."""
    if not change.bookings_affected:
        return
    listed = ", ".join(
        f"{booking.reference} ({booking.start_at.astimezone(change.zone):%a %d %b %Y, %H:%M %Z})"
        for booking in change.bookings_affected
    )
    count = len(change.bookings_affected)
    messages.warning(
        request,
        f"{count} booking{'s' if count != 1 else ''} no longer inside availability, not cancelled: {listed}. "
        "Open each one to move or cancel it.",
        buttons=[
            messages.button(reverse("coaching_booking_modeladmin_inspect", args=[booking.pk]), booking.reference)
            for booking in change.bookings_affected[:5]
        ],
    )


class BlockInCoachTimeMixin:
    def get_page_subtitle(self):
        return f"{self.instance.coach.name}: {_block_in_coach_time(self.instance)}"


class AvailabilityBlockCreateView(CreateView):
    """Adds the block through `add_availability_block`: coach locked, overlaps refused on the form."""

    def form_valid(self, form):
        try:
            change = add_availability_block(
                coach=form.cleaned_data["coach"],
                start_at=form.cleaned_data["start_at"],
                end_at=form.cleaned_data["end_at"],
            )
        except InvalidAvailabilityRequest as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        self.instance = change.block
        log(instance=self.instance, action="wagtail.create", content_changed=True)
        messages.success(
            self.request,
            f"Added availability for {self.instance.coach.name}: {_block_in_coach_time(self.instance)}.",
            buttons=self.get_success_message_buttons(self.instance),
        )
        return redirect(self.get_success_url())


class AvailabilityBlockEditView(BlockInCoachTimeMixin, EditView):
    """Moves or resizes the block through `change_availability_block`; bookings left outside are
    listed, never cancelled."""

    def get_instance(self):
        # Validating a bound form writes the typed times onto its instance: give it a copy, so the
        # page (and a refused edit) keeps showing the block as it is.
        return copy.copy(self.instance)

    def form_valid(self, form):
        try:
            change = change_availability_block(
                block=self.instance, start_at=form.cleaned_data["start_at"], end_at=form.cleaned_data["end_at"]
            )
        except InvalidAvailabilityRequest as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        self.instance = change.block
        log(instance=self.instance, action="wagtail.edit", content_changed=form.has_changed())
        messages.success(
            self.request,
            f"Changed {self.instance.coach.name}'s availability to {_block_in_coach_time(self.instance)}.",
            buttons=self.get_success_message_buttons(self.instance),
        )
        _report_bookings_left_alone(self.request, change)
        return redirect(self.get_success_url())


class AvailabilityBlockDeleteView(BlockInCoachTimeMixin, DeleteView):
    """Removes the block through `remove_availability_block`; the confirmation page lists the
    bookings inside it, which are kept."""

    def confirmation_message(self):
        return f"Delete this availability block? Guests can no longer book {_block_in_coach_time(self.instance)}."

    def get_context_data(self, **kwargs):
        kwargs.setdefault("preview", preview_remove_availability_block(block=self.instance))
        return super().get_context_data(**kwargs)

    def post(self, request, *args, **kwargs):
        described = f"{self.instance.coach.name}'s availability {_block_in_coach_time(self.instance)}"
        with transaction.atomic():
            log(instance=self.instance, action="wagtail.delete")
            change = remove_availability_block(block=self.instance)
        messages.success(request, f"Removed {described}.")
        _report_bookings_left_alone(request, change)
        return redirect(self.index_url)


class AvailabilityBlockAdmin(ModelAdmin):
    model = AvailabilityBlock
    menu_label = "Availability"
    menu_icon = "time"
    permission_helper_class = AvailabilityPermissionHelper
    # Add, edit and delete go through coaching/services/availability.py (coach lock, overlap check).
    create_view_class = AvailabilityBlockCreateView
    edit_view_class = AvailabilityBlockEditView
    delete_view_class = AvailabilityBlockDeleteView
    delete_template_name = "coaching/admin/availability_delete.html"
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


class WaitlistPermissionHelper(ReadOnlyPermissionHelper):
    """Entries change only through the waiting-list services (guests' links, offers, cancellation)."""

    visible = staticmethod(visible_waitlist)


class WaitlistAdmin(ModelAdmin):
    model = WaitlistEntry
    menu_label = "Waiting lists"
    menu_icon = "list-ol"
    inspect_view_enabled = True
    permission_helper_class = WaitlistPermissionHelper
    list_display = ["workshop", "guest_name", "guest_email", "seats", "status", "joined_at", "offer_expires_at"]
    list_filter = ["status", "workshop"]
    search_fields = ["guest_name", "guest_email", "reference"]
    list_select_related = ["workshop"]
    inspect_view_fields = [
        "reference",
        "workshop",
        "status",
        "seats",
        "guest_name",
        "guest_email",
        "guest_timezone",
        "joined_at",
        "offered_at",
        "offer_expires_at",
        "claimed_at",
        "ended_at",
        "booking",
    ]

    def get_queryset(self, request):
        return visible_waitlist(request.user).select_related("workshop").order_by("workshop__start_at", "joined_at")


# The owner's desk screens in the Bookings menu (backoffice/desk.py, notifications.py, clients.py).
DESK_MENU = [
    ("Book for a client", reverse_lazy("coaching_admin:book_for_client"), "book-for-a-client", "plus"),
    ("Notifications", reverse_lazy("coaching_admin:notifications"), "notifications", "mail"),
    ("Client data", reverse_lazy("coaching_admin:client"), "client-data", "user"),
]


class BackOfficeMenuItem(MenuItem):
    def is_shown(self, request):
        return can_use_back_office(request.user)


class BookingsGroup(ModelAdminGroup):
    menu_label = "Bookings"
    menu_icon = "date"
    menu_order = 150
    items = (BookingAdmin, WaitlistAdmin, AvailabilityBlockAdmin, CoachBusySlotAdmin)

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
        items += [
            BackOfficeMenuItem(label, url, name=name, icon_name=icon, order=order + 2 + n)
            for n, (label, url, name, icon) in enumerate(DESK_MENU)
        ]
        return items
