"""Client data: look up an email address, export everything held about it (JSON or CSV), or erase
the client. Coach-scoped: a coach sees, exports and erases only their own bookings and the waiting
lists of workshops they host. The rules are services/client_data.py's.
"""

import json

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from coaching.exceptions import ClientNotFound
from coaching.services.client_data import client_bookings, client_waitlist, erase_client, export_as_csv, export_client

from .desk import what_label, when_label
from .exports import neutralise_cell
from .permissions import require_back_office, visible_bookings, visible_waitlist


class ClientLookupForm(forms.Form):
    email = forms.EmailField(label="Client's email address")


class EraseClientForm(forms.Form):
    email = forms.EmailField(widget=forms.HiddenInput)
    confirm = forms.CharField(
        label="Type ERASE to confirm",
        help_text="This cannot be undone. Amounts, dates and the booking log are kept; the person is not.",
    )

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip().upper() != "ERASE":
            raise forms.ValidationError("Type ERASE to confirm.")
        return "ERASE"


def _scope(user):
    return {"bookings": visible_bookings(user), "waitlist": visible_waitlist(user)}


def client_view(request):
    """Look up an email address: its bookings and waiting-list entries in the user's scope, and the
    Export and Erase buttons."""
    require_back_office(request.user)
    form = ClientLookupForm(request.GET or None)
    context = {"form": form, "email": "", "bookings": [], "entries": []}
    if form.is_valid():
        email = form.cleaned_data["email"]
        scope = _scope(request.user)
        bookings = list(
            client_bookings(email=email, bookings=scope["bookings"])
            .select_related("coach", "workshop__host")
            .order_by("-start_at")
        )
        for booking in bookings:
            booking.what_label, booking.when_label = what_label(booking), when_label(booking)
        context.update(
            email=email,
            bookings=bookings,
            entries=list(client_waitlist(email=email, waitlist=scope["waitlist"]).select_related("workshop")),
            erase_form=EraseClientForm(initial={"email": email}),
            query=urlencode({"email": email}),
        )
    return TemplateResponse(request, "coaching/admin/client.html", context)


def export_view(request):
    """GET ?email=…&format=json|csv: the export as a download (logged on every booking exported)."""
    require_back_office(request.user)
    form = ClientLookupForm(request.GET or None)
    if not form.is_valid():
        return redirect(reverse("coaching_admin:client"))
    email = form.cleaned_data["email"]
    try:
        export = export_client(email=email, user=request.user, **_scope(request.user))
    except ClientNotFound as error:
        return HttpResponse(error.message, status=404, content_type="text/plain; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    slug = email.replace("@", "-at-").replace(".", "-")
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            export_as_csv(export, neutralise=neutralise_cell), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="client-{slug}-{stamp}.csv"'
        return response
    response = HttpResponse(json.dumps(export, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="client-{slug}-{stamp}.json"'
    return response


@require_POST
def erase_view(request):
    require_back_office(request.user)
    form = EraseClientForm(request.POST)
    back = reverse("coaching_admin:client")
    if not form.is_valid():
        email = request.POST.get("email", "")
        messages.error(request, "Not erased: type ERASE to confirm.")
        return redirect(f"{back}?{urlencode({'email': email})}" if email else back)
    email = form.cleaned_data["email"]
    try:
        erasure = erase_client(email=email, user=request.user, **_scope(request.user))
    except ClientNotFound as error:
        messages.error(request, error.message)
        return redirect(back)
    count = len(erasure.bookings)
    messages.success(
        request,
        f"Erased {email}: {count} booking{'s' if count != 1 else ''} and {erasure.waitlist_entries} waiting-list "
        f"entr{'ies' if erasure.waitlist_entries != 1 else 'y'} now show “Erased client”; amounts, dates and logs kept"
        + (f"; {erasure.google_events} Google Calendar event(s) being cleared." if erasure.google_events else "."),
    )
    return redirect(back)
