"""The owner's desk on a booking's page: readable facts, attendance, and a partial refund.

Views parse and render; the rules are the services' (services/attendance.py `mark_attendance`,
services/refunds.py `refund_part`). A booking outside the user's own data is a 404 here, as on
every other screen (backoffice/permissions.py).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from coaching.exceptions import BookingError
from coaching.models import Booking
from coaching.money import format_money, minor_units_per_major, to_major_units, to_minor_units
from coaching.schedule import booking_rules
from coaching.services.attendance import attendance_refusal, mark_attendance
from coaching.services.desk import move_booking, move_refusal
from coaching.services.refunds import refund_part, refundable_now
from coaching.wallclock import format_in_zone, format_span_in_zone

from .permissions import require_back_office, visible_bookings
from .slot_picker import read_start, read_week, slot_week


def scoped_booking(request, pk) -> Booking:
    require_back_office(request.user)
    # Outside the user's own data this is a 404, so a coach cannot even learn a reference exists.
    return get_object_or_404(visible_bookings(request.user).select_related("coach", "workshop__host"), pk=pk)


def what_label(booking: Booking) -> str:
    """What the booking is, as the owner says it: 'Intro call with Amara Okafor' or 'Workshop: …'."""
    if booking.workshop_id:
        seats = f" ({booking.seats} seats)" if booking.seats > 1 else ""
        return f"Workshop: {booking.workshop.title}{seats}"
    return booking.title


def when_label(booking: Booking) -> str:
    """The booking's time in its coach's zone, the zone named: 'Mon 07 Jan 2030, 09:00–10:00 GMT (Europe/London)'."""
    return format_span_in_zone(booking.start_at, booking.end_at, booking.host.zone)


def money_label(amount: int, currency: str) -> str:
    return format_money(amount, currency) if amount else "—"


def cancel_label(booking: Booking) -> str:
    """The cancel button says what it cancels: 'Cancel Amara's 1-on-1 with Grace, Mon 07 Jan 09:00'."""
    local = booking.start_at.astimezone(booking.host.zone)
    thing = f"{booking.workshop.title} seat" if booking.workshop_id else (booking.session_title or "1-on-1")
    return f"Cancel {booking.guest_name}'s {thing} on {local:%a %d %b, %H:%M}"


def booking_facts(booking: Booking) -> list[dict]:
    """The booking page's details, each a label and a value a person reads at a glance."""
    zone = booking.host.zone

    def at(moment):
        return format_in_zone(moment, zone) if moment else "—"

    facts = [
        ("Reference", booking.reference),
        ("Status", booking.get_status_display()),
        ("What", what_label(booking)),
        ("When (coach's time)", when_label(booking)),
        ("Client", booking.guest_name),
        ("Email", booking.guest_email),
        ("Phone", booking.guest_phone or "—"),
        ("Client's time zone", booking.guest_timezone),
        ("Notes from the client", booking.guest_notes or "—"),
        ("Price", money_label(booking.amount_due, booking.currency) if booking.amount_due else "Free"),
        ("Paid", money_label(booking.amount_paid, booking.currency)),
        ("Refunded", money_label(booking.amount_refunded, booking.currency)),
    ]
    if booking.payment_note:
        facts.append(("Payment note", booking.payment_note))
    if booking.status == Booking.Status.PENDING_PAYMENT:
        facts.append(("Held for payment until", at(booking.hold_expires_at)))
    facts.append(("Attendance", booking.get_attendance_display()))
    facts += [
        ("Booked", at(booking.created_at)),
        ("Confirmed", at(booking.confirmed_at)),
        ("Cancelled", at(booking.cancelled_at)),
        ("Times moved", str(booking.reschedule_count)),
        ("In Google Calendar", "Yes" if booking.google_event_id else "No"),
    ]
    if booking.erased_at:
        facts.append(("Client data erased", at(booking.erased_at)))
    return [{"label": label, "value": value} for label, value in facts]


def desk_context(booking: Booking, *, now=None) -> dict:
    """What the booking page's desk panel needs: which actions apply now, and their labels."""
    now = now or timezone.now()
    left = refundable_now(booking)
    movable = booking.coach_id is not None and booking.status == Booking.Status.CONFIRMED
    return {
        "move_url": reverse("coaching_admin:move_booking", args=[booking.pk]) if movable else "",
        "cancel_label": cancel_label(booking),
        "attendance_open": not attendance_refusal(booking, now=now),
        "attendance_choices": Booking.Attendance.choices,
        "refundable_display": format_money(left, booking.currency) if left else "",
        "refund_form": PartialRefundForm(booking=booking) if left else None,
    }


# --- attendance ------------------------------------------------------------------------------------


@require_POST
def attendance_view(request, pk):
    booking = scoped_booking(request, pk)
    choice = request.POST.get("attendance", "")
    if choice not in Booking.Attendance.values:
        messages.error(request, "Choose attended, no-show or not marked.")
    else:
        try:
            mark_attendance(booking=booking, attendance=choice, user=request.user)
        except BookingError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"{booking.reference}: {Booking.Attendance(choice).label.lower()} ({booking.guest_name})."
            )
    return redirect(reverse("coaching_booking_modeladmin_inspect", args=[booking.pk]))


# --- partial refund --------------------------------------------------------------------------------


class PartialRefundForm(forms.Form):
    amount = forms.CharField(max_length=20, label="Amount to refund")
    reason = forms.CharField(max_length=500, label="Reason", help_text="Kept in the booking log.")

    def __init__(self, *args, booking: Booking, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking = booking
        currency = booking.currency
        left = refundable_now(booking)
        step = "1" if minor_units_per_major(currency) == 1 else "0.01"
        self.fields["amount"].widget = forms.NumberInput(
            attrs={"min": step, "step": step, "max": str(to_major_units(left, currency)), "inputmode": "decimal"}
        )
        self.fields["amount"].label = f"Amount to refund ({currency})"
        self.fields[
            "amount"
        ].help_text = f"In {currency}, e.g. {to_major_units(left // 2 or left, currency)} — at most {format_money(left, currency)}."

    def clean_amount(self):
        try:
            return to_minor_units(self.cleaned_data["amount"], self.booking.currency)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


def refund_view(request, pk):
    """GET: the form. POST: refund part of the payment, through refund_part."""
    booking = scoped_booking(request, pk)
    inspect_url = reverse("coaching_booking_modeladmin_inspect", args=[booking.pk])
    form = PartialRefundForm(request.POST or None, booking=booking)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                refund = refund_part(
                    booking=booking,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
            except BookingError as error:
                form.add_error("amount", error.message)
            else:
                messages.success(
                    request,
                    f"Refund of {format_money(refund.amount, refund.currency)} to {booking.guest_name} is on its way.",
                )
                return redirect(inspect_url)
        status = 400
    context = {
        "booking": booking,
        "form": form,
        "inspect_url": inspect_url,
        "what": what_label(booking),
        "when": when_label(booking),
        "paid_display": money_label(booking.amount_paid, booking.currency),
        "refunded_display": money_label(booking.amount_refunded, booking.currency),
        "refundable_display": money_label(refundable_now(booking), booking.currency),
    }
    return TemplateResponse(request, "coaching/admin/refund_booking.html", context, status=status)


# --- move a booking --------------------------------------------------------------------------------


def move_view(request, pk):
    """GET: the booking's coach's free times, a week at a time, and whether the guests' rules would
    refuse a move now. POST: move it, through move_booking (the guests' reschedule)."""
    booking = scoped_booking(request, pk)
    inspect_url = reverse("coaching_booking_modeladmin_inspect", args=[booking.pk])
    now = timezone.now()
    status = 200
    chosen_start = request.POST.get("start_at", "")
    if request.method == "POST":
        start_at = read_start(chosen_start)
        override = request.POST.get("override_policy") == "on"
        if start_at is None:
            messages.error(request, "Choose one of the times shown.")
            status = 400
        else:
            try:
                move_booking(booking=booking, new_start_at=start_at, user=request.user, override_policy=override)
            except BookingError as error:
                messages.error(request, error.message)
                status = error.http_status
            else:
                booking.refresh_from_db()
                messages.success(
                    request,
                    f"{booking.reference} moved to {when_label(booking)}. {booking.guest_name} has been emailed "
                    "the new time with an updated calendar invite.",
                )
                return redirect(inspect_url)
    context = {"booking": booking, "inspect_url": inspect_url, "what": what_label(booking), "when": when_label(booking)}
    if booking.coach_id is not None and booking.status == Booking.Status.CONFIRMED:
        first_day = read_week(request.GET.get("week"), coach=booking.coach, now=now)
        context.update(
            # The booking keeps its own length and its type's buffer, notice and horizon (as a guest's move).
            week=slot_week(
                coach=booking.coach,
                first_day=first_day,
                now=now,
                exclude_booking=booking,
                rules=booking_rules(booking),
            ),
            week_url=f"{reverse('coaching_admin:move_booking', args=[booking.pk])}?",
            policy_refusal=move_refusal(booking, now=now),
            chosen_start=chosen_start,
        )
    return TemplateResponse(request, "coaching/admin/move_booking.html", context, status=status)
