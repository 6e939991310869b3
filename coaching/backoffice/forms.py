"""Forms of the back office: snippet validation, the Bulk add / remove availability tools, cancel."""

from django import forms
from django.db.models import Sum
from wagtail.admin.forms import WagtailAdminModelForm

from coaching.models import Booking
from coaching.services.availability import (
    MAX_RANGE_DAYS,
    WEEKDAY_CODES,
    InvalidAvailabilityRequest,
    parse_time_ranges,
)

from .permissions import visible_coaches

WEEKDAY_CHOICES = [(str(number), code.capitalize()) for number, code in enumerate(WEEKDAY_CODES)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CoachForm(WagtailAdminModelForm):
    """The Coach snippet; the IANA check is the model's `validate_timezone` (runs in full_clean)."""


class WorkshopForm(WagtailAdminModelForm):
    confirm_clash = forms.BooleanField(
        required=False,
        label="Publish even though the host has 1-on-1 bookings at this time",
        help_text="Only tick this after you have moved or cancelled the clashing sessions, or agreed it with the guests.",
    )

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        capacity, host = cleaned.get("capacity"), cleaned.get("host")
        start_at, end_at = cleaned.get("start_at"), cleaned.get("end_at")

        if instance.pk and capacity is not None:
            sold = instance.bookings.active().aggregate(total=Sum("seats"))["total"] or 0
            if capacity < sold:
                self.add_error("capacity", f"{sold} seats are already sold; the capacity cannot be lower than that.")

        if cleaned.get("is_published") and host and start_at and end_at and end_at > start_at:
            clashes = list(
                Booking.objects.active().filter(coach=host).overlapping(start_at, end_at).order_by("start_at")[:10]
            )
            if clashes and not cleaned.get("confirm_clash"):
                references = ", ".join(booking.reference for booking in clashes)
                self.add_error(
                    "start_at",
                    f"{host.name} already has 1-on-1 bookings at this time ({references}). Move or cancel them "
                    "first, change the time, or tick the box below to publish anyway.",
                )
        return cleaned


class _CoachScopedForm(forms.Form):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coach"].queryset = visible_coaches(user)
        if self.fields["coach"].queryset.count() == 1:
            self.fields["coach"].initial = self.fields["coach"].queryset.first()

    def clean(self):
        cleaned = super().clean()
        start_date, end_date = cleaned.get("start_date"), cleaned.get("end_date")
        if start_date and end_date:
            if end_date < start_date:
                self.add_error("end_date", "The last day must not be before the first day.")
            elif (end_date - start_date).days >= MAX_RANGE_DAYS:
                self.add_error("end_date", f"Choose at most {MAX_RANGE_DAYS} days at a time.")
        return cleaned


class BulkAddForm(_CoachScopedForm):
    coach = forms.ModelChoiceField(queryset=None, help_text="Times are in this coach's own time zone.")
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["0", "1", "2", "3", "4"]
    )
    time_ranges = forms.CharField(
        label="Daily times",
        initial="09:00-12:00, 13:00-17:00",
        help_text="One or more ranges, separated by commas, e.g. 09:00-12:00, 13:00-17:00.",
    )
    start_date = forms.DateField(label="From", widget=DateInput())
    end_date = forms.DateField(label="To (included)", widget=DateInput())

    def clean_weekdays(self):
        return [int(day) for day in self.cleaned_data["weekdays"]]

    def clean_time_ranges(self):
        try:
            return parse_time_ranges(self.cleaned_data["time_ranges"])
        except InvalidAvailabilityRequest as error:
            raise forms.ValidationError(error.message) from None


class RemoveAvailabilityForm(_CoachScopedForm):
    coach = forms.ModelChoiceField(queryset=None)
    start_date = forms.DateField(label="From", widget=DateInput())
    end_date = forms.DateField(label="To (included)", widget=DateInput())


class CancelBookingForm(forms.Form):
    REFUND_CHOICES = [
        ("policy", "As the booking policy says"),
        ("full", "Full refund"),
        ("none", "No refund"),
    ]
    refund = forms.ChoiceField(choices=REFUND_CHOICES, initial="full", widget=forms.RadioSelect)
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept in the booking log."
    )

    def refund_argument(self) -> bool | None:
        return {"policy": None, "full": True, "none": False}[self.cleaned_data["refund"]]
