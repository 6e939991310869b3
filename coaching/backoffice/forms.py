"""Forms of the back office: snippet validation, the Bulk add / remove availability tools, cancel."""

from django import forms
from wagtail.admin.forms import WagtailAdminModelForm

from coaching.exceptions import BookingError, CapacityBelowSeatsSold, HostHasSessions
from coaching.models.hours import conflicting_overrides, overlapping_weekly_hours
from coaching.services.availability import (
    MAX_RANGE_DAYS,
    WEEKDAY_CODES,
    InvalidAvailabilityRequest,
    parse_time_ranges,
)
from coaching.services.workshops import change_workshop, create_workshop
from coaching.vocabulary import Actor

from .permissions import visible_coaches

WEEKDAY_CHOICES = [(str(number), code.capitalize()) for number, code in enumerate(WEEKDAY_CODES)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CoachForm(WagtailAdminModelForm):
    """The Coach snippet; the IANA check is the model's `validate_timezone` (runs in full_clean).

    Its inline weekly hours, date overrides and time off each check themselves (the models'
    `clean`); here the rows are checked against each other — ranges of one day must not overlap
    (models/hours.py) — and a clash is shown on the row that causes it.
    """

    def clean(self):
        cleaned = super().clean()
        self._check_rows("weekly_hours", overlapping_weekly_hours)
        self._check_rows("date_overrides", conflicting_overrides)
        return cleaned

    def _check_rows(self, relation: str, check) -> None:
        formset = self.formsets.get(relation)
        # A row with its own errors already says so; compare rows only once each is well formed.
        if formset is None or not formset.is_valid():
            return
        deleted = formset.deleted_forms
        kept = [form for form in formset.forms if form.cleaned_data and form not in deleted]
        by_row = {id(form.instance): form for form in kept}
        for problem in check([form.instance for form in kept]):
            by_row[id(problem.row)].add_error(None, problem.message)


class WorkshopForm(WagtailAdminModelForm):
    """The Workshop snippet. Saving goes through the workshop service, which moves the sold seats
    with the workshop and checks the capacity and the host's sessions under the workshop's lock;
    its refusals come back as errors on this form (snippets.py, WorkshopRefusalsAsErrors)."""

    confirm_clash = forms.BooleanField(
        required=False,
        label="Publish even though the host has 1-on-1 bookings at this time",
        help_text="Only tick this after you have moved or cancelled the clashing sessions, or agreed it with the guests.",
    )

    def save(self, commit=True):
        if not commit:
            return super().save(commit=False)
        values = {name: value for name, value in self.cleaned_data.items() if name != "confirm_clash"}
        allow_host_clash = bool(self.cleaned_data.get("confirm_clash"))
        if self.instance.pk is None:
            self.instance = create_workshop(values=values, allow_host_clash=allow_host_clash)
        else:
            self.instance = change_workshop(
                workshop=self.instance,
                changes=values,
                actor=Actor.OWNER,
                user=self.for_user,
                allow_host_clash=allow_host_clash,
            ).workshop
        return self.instance

    def add_refusal(self, refusal: BookingError) -> None:
        """Show a refusal of the workshop service on the field it is about."""
        if isinstance(refusal, CapacityBelowSeatsSold):
            self.add_error("capacity", refusal.message)
        elif isinstance(refusal, HostHasSessions):
            self.add_error("start_at", f"{refusal.message} Or tick the box below to publish anyway.")
        else:
            self.add_error(None, refusal.message)


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
