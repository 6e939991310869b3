"""Book for a client: the owner (or a coach, for themselves) books a session on the phone or at the
desk. One page: choose the coach and the session type, pick a time from the week shown — the same free
times the guest's calendar offers, in the coach's zone — fill in the client's details and how they
pay. The booking is made by services/desk.py `book_for_client`, through the guests' own service.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from coaching.exceptions import BookingError
from coaching.intake import MAX_LENGTH, answer_key
from coaching.models import QuestionKind, SessionType
from coaching.money import format_money, to_minor_units
from coaching.services.booking import Guest
from coaching.services.desk import DeskPayment, book_for_client
from coaching.zones import zone_from_name

from .permissions import require_back_office, visible_coaches
from .slot_picker import read_start, read_week, slot_week


class ChooseCoachForm(forms.Form):
    """Which coach, and which of their sessions (any active type; empty: the coach's first)."""

    coach = forms.ModelChoiceField(queryset=None, label="Coach", empty_label=None)
    type = forms.ModelChoiceField(
        queryset=None, label="Session", required=False, empty_label="The coach's first session type"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        coaches = visible_coaches(user).filter(is_active=True).order_by("name")
        self.fields["coach"].queryset = coaches
        self.fields["type"].queryset = SessionType.objects.for_guests().filter(coaches__in=coaches).distinct()
        self.fields["type"].label_from_instance = lambda kind: (
            f"{kind.title} — {kind.duration_minutes} min, {kind.price_display}"
        )

    def clean(self):
        cleaned = super().clean()
        coach, kind = cleaned.get("coach"), cleaned.get("type")
        if coach is not None:
            offered = coach.session_types_for_guests()
            if kind is not None and not offered.filter(pk=kind.pk).exists():
                kind = None  # another coach's type: fall back to this coach's first
            cleaned["type"] = kind or offered.first()
            if cleaned["type"] is None:
                self.add_error("coach", f"{coach.name} offers no session type yet (Coaches → Session types).")
        return cleaned


class ClientBookingForm(forms.Form):
    name = forms.CharField(label="Client's name", max_length=120)
    email = forms.EmailField(
        label="Client's email", max_length=254, help_text="The confirmation and the manage link go here."
    )
    phone = forms.CharField(label="Phone (optional)", max_length=40, required=False)
    notes = forms.CharField(
        label="Notes for the coach (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    client_timezone = forms.CharField(
        label="Client's time zone",
        max_length=64,
        help_text="Their emails show times in this zone (an IANA name such as Europe/London).",
    )
    payment = forms.ChoiceField(choices=DeskPayment.choices, widget=forms.RadioSelect, initial=DeskPayment.FREE)
    amount_paid = forms.CharField(
        label="Amount paid",
        max_length=20,
        required=False,
        help_text="Only for “paid outside Stripe”, e.g. 60 or 60.00.",
    )
    payment_note = forms.CharField(
        label="Payment note", max_length=500, required=False, help_text="How they paid (kept on the booking)."
    )

    def __init__(self, *args, currency: str, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["amount_paid"].label = f"Amount paid ({currency})"
        # The session type's intake questions, asked as the guest's form asks them; the service
        # checks the answers (coaching/intake.py) exactly as for a guest.
        self.questions = list(questions)
        for question in self.questions:
            self.fields[answer_key(question)] = question_field(question)
        self.order_fields(["name", "email", "phone", *(answer_key(q) for q in self.questions), "notes"])

    def clean_client_timezone(self):
        name = self.cleaned_data["client_timezone"].strip()
        if zone_from_name(name) is None:
            raise forms.ValidationError("Enter a time zone name such as Europe/London or America/New_York.")
        return name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("payment") == DeskPayment.OUTSIDE:
            try:
                cleaned["amount_paid"] = to_minor_units(cleaned.get("amount_paid") or "", self.currency)
            except ValueError as error:
                self.add_error("amount_paid", str(error))
            else:
                if cleaned["amount_paid"] <= 0:
                    self.add_error("amount_paid", "Enter the amount the client paid.")
        else:
            cleaned["amount_paid"] = 0
        return cleaned

    def answers(self) -> dict:
        return {answer_key(q): self.cleaned_data.get(answer_key(q)) for q in self.questions}

    def guest(self) -> Guest:
        data = self.cleaned_data
        return Guest(
            name=data["name"],
            email=data["email"],
            phone=data.get("phone", ""),
            notes=data.get("notes", ""),
            timezone=data["client_timezone"],
        )


def question_field(question) -> forms.Field:
    """A form field for one intake question (the client's answer, typed in by staff)."""
    label = question.label if question.required else f"{question.label} (optional)"
    common = {"label": label, "required": question.required, "help_text": question.help_text}
    choices = [(choice, choice) for choice in question.choice_list]
    if question.kind == QuestionKind.SINGLE_CHOICE:
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    if question.kind == QuestionKind.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    if question.kind == QuestionKind.YES_NO:
        return forms.ChoiceField(choices=[("yes", "Yes"), ("no", "No")], widget=forms.RadioSelect, **common)
    widget = forms.Textarea(attrs={"rows": 3}) if question.kind == QuestionKind.LONG_TEXT else forms.TextInput
    return forms.CharField(max_length=MAX_LENGTH[question.kind], widget=widget, **common)


def book_for_client_view(request):
    require_back_office(request.user)
    now = timezone.now()
    choose = ChooseCoachForm(request.GET or None, user=request.user)
    coaches = choose.fields["coach"].queryset
    if not choose.is_bound and coaches.count() == 1:
        choose = ChooseCoachForm({"coach": coaches.first().pk}, user=request.user)
    context = {"choose": choose, "coach": None}
    status = 200
    if choose.is_valid():
        coach, session_type = choose.cleaned_data["coach"], choose.cleaned_data["type"]
        options = {"session_type": session_type}
        first_day = read_week(request.GET.get("week"), coach=coach, now=now)
        currency = session_type.currency
        form = ClientBookingForm(
            request.POST or None,
            currency=currency,
            questions=session_type.questions.all(),
            initial={"client_timezone": coach.timezone},
        )
        chosen_start = request.POST.get("start_at", "")
        if request.method == "POST" and form.is_valid():
            start_at = read_start(chosen_start)
            if start_at is None:
                form.add_error(None, "Choose one of the times shown.")
            else:
                try:
                    result = book_for_client(
                        guest=form.guest(),
                        coach=coach,
                        start_at=start_at,
                        user=request.user,
                        payment=form.cleaned_data["payment"],
                        amount_paid=form.cleaned_data["amount_paid"],
                        payment_note=form.cleaned_data["payment_note"],
                        answers=form.answers(),
                        **options,
                    )
                except BookingError as error:
                    form.add_error(None, error.message)
                    status = error.http_status
                else:
                    booking = result.booking
                    if result.checkout_url:
                        done = (
                            f"Booked {booking.reference}, held until payment: a link to pay "
                            f"{format_money(booking.amount_due, booking.currency)} has been emailed to {booking.guest_email}."
                        )
                    else:
                        done = (
                            f"Booked {booking.reference} for {booking.guest_name}; the confirmation has been emailed."
                        )
                    messages.success(request, done)
                    return redirect(reverse("coaching_booking_modeladmin_inspect", args=[booking.pk]))
        if request.method == "POST" and status == 200:
            status = 400
        query = {"coach": coach.pk, "type": session_type.pk}
        context.update(
            coach=coach,
            session_type=session_type,
            form=form,
            week=slot_week(coach=coach, first_day=first_day, now=now, **options),
            week_url=f"{reverse('coaching_admin:book_for_client')}?{urlencode(query)}&",
            post_url=f"{reverse('coaching_admin:book_for_client')}?{urlencode({**query, 'week': first_day.isoformat()})}",
            chosen_start=chosen_start,
        )
    return TemplateResponse(request, "coaching/admin/book_for_client.html", context, status=status)
