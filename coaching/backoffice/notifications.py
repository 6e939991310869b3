"""The Notifications screen: every outbox row (kind, recipient, booking, status, attempts, last
error), filterable, with "Retry now" for the ones given up on.

The "email not delivered" alert and the dashboard link here (filtered to failed). Who sees which
rows is backoffice/permissions.py's (`visible_notifications`); retrying is the delivery service's.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from coaching.models import Notification
from coaching.services.delivery import retry_notification
from coaching.services.outbox import KINDS

from .permissions import require_back_office, visible_notifications

# What each kind of email is, in the owner's words.
KIND_LABELS = {
    "confirmation": "Booking confirmed (to the client)",
    "payment_received": "Payment received",
    "payment_failed": "Payment failed",
    "reschedule": "Booking moved (to the client)",
    "workshop_moved": "Workshop moved",
    "cancellation": "Booking cancelled (to the client)",
    "workshop_cancelled": "Workshop cancelled",
    "refund": "Refund made",
    "hold_expired": "Hold expired (unpaid)",
    "reminder": "Reminder",
    "manage_link": "New manage link",
    "coach_new": "New booking (to the coach)",
    "coach_rescheduled": "Booking moved (to the coach)",
    "coach_cancelled": "Booking cancelled (to the coach)",
    "delivery_failed": "Alert: email not delivered",
    "refund_failed": "Alert: refund not made",
    "refund_delayed": "Alert: refund delayed",
    "payment_flagged": "Alert: payment did not match",
    "google_broken": "Alert: Google Calendar disconnected",
    "payment_link": "Payment link (to the client)",
    "waitlist_joined": "Waiting list: joined",
    "waitlist_offer": "Waiting list: seats offered",
    "waitlist_lapsed": "Waiting list: offer lapsed",
    "waitlist_closed": "Waiting list: closed",
}
PAGE_SIZE = 50


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


class NotificationFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Notification.Status.choices])
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any kind")] + sorted(((k, kind_label(k)) for k in KINDS), key=lambda c: c[1])
    )
    q = forms.CharField(required=False, label="Recipient or booking reference", max_length=200)

    def filter(self, rows):
        if not self.is_valid():
            return rows
        data = self.cleaned_data
        if data["status"]:
            rows = rows.filter(status=data["status"])
        if data["kind"]:
            rows = rows.filter(kind=data["kind"])
        if data["q"]:
            text = data["q"].strip()
            rows = rows.filter(
                Q(recipient__icontains=text)
                | Q(booking__reference__iexact=text)
                | Q(waitlist_entry__reference__iexact=text)
            )
        return rows


def notifications_view(request):
    require_back_office(request.user)
    form = NotificationFilterForm(request.GET or None)
    rows = form.filter(visible_notifications(request.user)).select_related("booking").order_by("-created_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.kind_label = kind_label(row.kind)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "here": request.get_full_path(),
    }
    return TemplateResponse(request, "coaching/admin/notifications.html", context)


def notification_detail_view(request, pk):
    require_back_office(request.user)
    # Outside the user's own data this is a 404: a coach cannot even learn that a row exists.
    notification = get_object_or_404(visible_notifications(request.user).select_related("booking"), pk=pk)
    notification.kind_label = kind_label(notification.kind)
    return TemplateResponse(
        request,
        "coaching/admin/notification_detail.html",
        {"notification": notification, "here": request.get_full_path()},
    )


@require_POST
def retry_notification_view(request, pk):
    require_back_office(request.user)
    notification = get_object_or_404(visible_notifications(request.user), pk=pk)
    was_failed = notification.status == Notification.Status.FAILED
    notification = retry_notification(notification=notification)
    label = f"“{kind_label(notification.kind)}” to {notification.recipient}"
    if not was_failed:
        messages.info(request, f"{label} was not waiting for a retry ({notification.get_status_display().lower()}).")
    elif notification.status == Notification.Status.SENT:
        messages.success(request, f"Sent {label}.")
    else:
        messages.warning(
            request, f"{label} is being sent again{': ' + notification.last_error if notification.last_error else '.'}"
        )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("coaching_admin:notifications")
    return redirect(next_url)
