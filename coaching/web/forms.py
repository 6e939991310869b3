"""Forms a guest fills in. They only parse and check input; the booking rules live in coaching.services.

The zone picker's form lives with the zone middleware (coaching/web/zone.py)."""

from django import forms

from coaching.intake import MAX_LENGTH, answer_key
from coaching.models import QuestionKind
from coaching.services.booking import MAX_SEATS_PER_BOOKING, Guest

INPUT_CLASSES = (
    "mt-1 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-base text-slate-900 "
    "shadow-sm focus:border-teal-600 focus:outline-none focus:ring-2 focus:ring-teal-600/40 "
    "aria-[invalid=true]:border-rose-600 aria-[invalid=true]:bg-rose-50/40"
)


class GuestDetailsForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=120)
    email = forms.EmailField(label="Email", max_length=254)
    phone = forms.CharField(label="Phone (optional)", max_length=40, required=False)
    notes = forms.CharField(
        label="Anything the coach should know? (optional)", max_length=2000, required=False, widget=forms.Textarea
    )
    # A package's code pays with one of its credits; a promotion code takes its discount off.
    code = forms.CharField(label="Package or promotion code (optional)", max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autocomplete = {"name": "name", "email": "email", "phone": "tel", "notes": "off", "code": "off"}
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", INPUT_CLASSES)
            field.widget.attrs.setdefault("autocomplete", autocomplete.get(name, "off"))
        self.fields["notes"].widget.attrs["rows"] = 3
        self.fields["phone"].widget.input_type = "tel"

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Please enter your name.")
        return name

    def guest(self, *, timezone: str) -> Guest:
        data = self.cleaned_data
        return Guest(
            name=data["name"],
            email=data["email"],
            phone=data.get("phone", ""),
            notes=data.get("notes", ""),
            timezone=timezone,
        )


class SessionBookingForm(GuestDetailsForm):
    """A 1-on-1 booking: the guest's details, the session type's questions in order (coaching/intake.py
    has the rules; the service checks them again), and the phone number when the coach calls."""

    CHOICE_CLASSES = "mt-1 space-y-1 text-sm text-slate-900"

    def __init__(self, *args, session_type=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(session_type.questions.all()) if session_type is not None else []
        if session_type is not None and session_type.asks_for_phone:
            self.fields["phone"].required = True
            self.fields["phone"].label = "Phone (the coach calls you on it)"
        for question in self.questions:
            self.fields[answer_key(question)] = self._field(question)
        self.order_fields(["name", "email", "phone", *(answer_key(q) for q in self.questions), "notes"])

    def _field(self, question) -> forms.Field:
        label = question.label if question.required else f"{question.label} (optional)"
        common = {"label": label, "required": question.required, "help_text": question.help_text}
        choices = [(choice, choice) for choice in question.choice_list]
        if question.kind == QuestionKind.SINGLE_CHOICE:
            return forms.ChoiceField(choices=choices, widget=forms.RadioSelect(attrs={"class": "mr-2"}), **common)
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            widget = forms.CheckboxSelectMultiple(attrs={"class": "mr-2"})
            return forms.MultipleChoiceField(choices=choices, widget=widget, **common)
        if question.kind == QuestionKind.YES_NO:
            widget = forms.RadioSelect(attrs={"class": "mr-2"})
            return forms.ChoiceField(choices=[("yes", "Yes"), ("no", "No")], widget=widget, **common)
        widget = forms.Textarea(attrs={"rows": 3}) if question.kind == QuestionKind.LONG_TEXT else forms.TextInput
        field = forms.CharField(max_length=MAX_LENGTH[question.kind], widget=widget, **common)
        field.widget.attrs.update({"class": INPUT_CLASSES, "autocomplete": "off"})
        return field

    def answers(self) -> dict:
        """The answers as posted (the service cleans them, coaching/intake.py)."""
        return {answer_key(q): self.cleaned_data.get(answer_key(q)) for q in self.questions}


class WorkshopBookingForm(GuestDetailsForm):
    seats = forms.IntegerField(
        label="Seats",
        min_value=1,
        max_value=MAX_SEATS_PER_BOOKING,
        initial=1,
        error_messages={"invalid": "Please enter a whole number of seats."},
    )

    def __init__(self, *args, seats_left: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seats"].widget.attrs.update({"class": INPUT_CLASSES, "inputmode": "numeric"})
        if seats_left is not None:
            self.fields["seats"].widget.attrs["max"] = max(1, min(seats_left, MAX_SEATS_PER_BOOKING))
        # Seats first: it is the one choice that matters for a group booking.
        self.order_fields(["seats", "name", "email", "phone", "notes", "code"])


class WaitlistForm(forms.Form):
    """Joining a sold-out workshop's waiting list: who, and for how many seats."""

    seats = forms.IntegerField(
        label="Seats",
        min_value=1,
        max_value=MAX_SEATS_PER_BOOKING,
        initial=1,
        error_messages={"invalid": "Please enter a whole number of seats."},
    )
    name = forms.CharField(label="Your name", max_length=120)
    email = forms.EmailField(label="Email", max_length=254)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autocomplete = {"name": "name", "email": "email", "seats": "off"}
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", INPUT_CLASSES)
            field.widget.attrs.setdefault("autocomplete", autocomplete[name])
        self.fields["seats"].widget.attrs["inputmode"] = "numeric"

    clean_name = GuestDetailsForm.clean_name

    def guest(self, *, timezone: str) -> Guest:
        return Guest(name=self.cleaned_data["name"], email=self.cleaned_data["email"], timezone=timezone)


class ClaimOfferForm(forms.Form):
    """Claiming seats offered from the waiting list: the name and email are the entry's already."""

    phone = forms.CharField(label="Phone (optional)", max_length=40, required=False)
    notes = forms.CharField(
        label="Anything the host should know? (optional)", max_length=2000, required=False, widget=forms.Textarea
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", INPUT_CLASSES)
        self.fields["phone"].widget.input_type = "tel"
        self.fields["phone"].widget.attrs["autocomplete"] = "tel"
        self.fields["notes"].widget.attrs["rows"] = 3


class PackageBuyForm(forms.Form):
    """Buying a package: who it is for (the package link and code are emailed there), and a code."""

    name = forms.CharField(label="Your name", max_length=120)
    email = forms.EmailField(label="Email", max_length=254, help_text="Your package link and code are sent here.")
    code = forms.CharField(label="Promotion code (optional)", max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autocomplete = {"name": "name", "email": "email", "code": "off"}
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", INPUT_CLASSES)
            field.widget.attrs.setdefault("autocomplete", autocomplete[name])

    clean_name = GuestDetailsForm.clean_name

    def buyer(self, *, timezone: str) -> Guest:
        return Guest(name=self.cleaned_data["name"], email=self.cleaned_data["email"], timezone=timezone)
