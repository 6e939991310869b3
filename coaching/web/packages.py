"""Packages for guests: buying one (the form, the checkout's return and "back" pages, the built-in
test checkout) and the signed package link (credits left, expiry, the bookings made with it, and
the coach's calendar to book the next one with a credit).

These views only parse, call services/packages.py and render; the webhook alone makes a purchase.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from coaching.exceptions import BookingError
from coaching.links import manage_url, package_url, read_package_cancel_token
from coaching.models import Booking, CreditUse, Package, PackageOrder, PackagePurchase
from coaching.services import payment
from coaching.services.local_checkout import deliver_test_package_payment, test_checkout_enabled
from coaching.services.packages import (
    abandon_package_checkout,
    cancel_url,
    purchase_for_token,
    start_package_checkout,
)

from .context import PACKAGE_DETAILS_KEY, calendar_context, read_state, viewer_zone
from .forms import PackageBuyForm
from .ratelimit import ratelimit

LEFT_CHECKOUT = "Payment cancelled — nothing was bought. You can try again below."


def _package(slug: str) -> Package:
    return get_object_or_404(Package.objects.select_related("coach"), slug=slug, is_active=True, coach__is_active=True)


@require_http_methods(["GET", "POST"])
@ratelimit("booking", rate_setting="BOOKING_POST_RATE")
def package_buy(request: HttpRequest, slug: str) -> HttpResponse:
    """The package's page with the buyer's form; posting it opens the checkout."""
    package = _package(slug)
    form = PackageBuyForm(request.POST or None)
    context = {"package": package, "form": form, "left_checkout": request.GET.get("left") == "1"}
    if request.method == "POST" and form.is_valid():
        try:
            _, checkout_url = start_package_checkout(
                package=package,
                buyer=form.buyer(timezone=viewer_zone(request).key),
                promotion_code=form.cleaned_data["code"],
            )
        except BookingError as exc:
            context["form_error"] = exc.message
            return render(request, "coaching/packages/buy.html", context, status=exc.http_status)
        return HttpResponseRedirect(checkout_url, status=303)
    status = 422 if request.method == "POST" else 200
    return render(request, "coaching/packages/buy.html", context, status=status)


def _order_by_session(session_id: str) -> PackageOrder:
    if not session_id:
        raise Http404("No checkout session.")
    return get_object_or_404(
        PackageOrder.objects.select_related("package__coach"), stripe_checkout_session_id=session_id
    )


@require_GET
def package_checkout_return(request: HttpRequest) -> HttpResponse:
    """Where the buyer lands after paying: "Confirming your payment…" until the webhook has made
    the purchase, then the package's link."""
    session_id = request.GET.get("session_id", "")
    order = _order_by_session(session_id)
    purchase = PackagePurchase.objects.filter(order=order).first()
    if purchase is not None:
        state = "ready"
    elif order.status == PackageOrder.Status.OPEN:
        state = "waiting"
    else:
        state = "closed"
    context = {
        "order": order,
        "package": order.package,
        "purchase": purchase,
        "state": state,
        "package_url": package_url(purchase) if purchase else "",
        "poll_url": f"{reverse('coaching:package_checkout_return')}?{urlencode({'session_id': session_id})}",
        "buy_url": reverse("coaching:package_buy", args=[order.package.slug]),
    }
    template = "coaching/packages/return.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)


@require_GET
def package_checkout_cancel(request: HttpRequest) -> HttpResponse:
    """The checkout's "back": the order is closed (its promotion code's use given back) and the
    buyer is back on the package's page."""
    reference = read_package_cancel_token(request.GET.get("order", ""))
    order = PackageOrder.objects.select_related("package").filter(reference=reference).first() if reference else None
    if order is None:
        raise Http404("Unknown order.")
    abandon_package_checkout(order)
    return redirect(f"{reverse('coaching:package_buy', args=[order.package.slug])}?left=1")


@require_http_methods(["GET", "POST"])
def package_test_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The built-in stand-in for Stripe Checkout, for a package order. "Pay (test)" sends a signed
    checkout.session.completed through the webhook's own receiver; nothing here makes a purchase."""
    if not test_checkout_enabled() or not payment.is_local_session(session_id):
        raise Http404("No test checkout here.")
    order = _order_by_session(session_id)
    error = ""
    if request.method == "POST":
        if "cancel" in request.POST:
            return redirect(cancel_url(order).removeprefix(settings.SITE_URL))
        if order.status != PackageOrder.Status.OPEN:
            error = "This checkout is no longer open."
        elif deliver_test_package_payment(order):
            return redirect(f"{reverse('coaching:package_checkout_return')}?{urlencode({'session_id': session_id})}")
        else:
            error = "The test payment was not accepted by the webhook. Please try again."
    context = {"order": order, "package": order.package, "error": error, "open": order.status == "open"}
    return render(request, "coaching/packages/test_checkout.html", context, status=409 if error else 200)


@require_GET
def package_page(request: HttpRequest, token: str) -> HttpResponse:
    """The buyer's package: sessions left, expiry, every booking made with it (each with its manage
    link), and the coach's calendar, whose booking form comes filled in with the package's code."""
    try:
        purchase = purchase_for_token(token)
    except BookingError as exc:
        return render(request, "coaching/booking_error.html", {"message": exc.message}, status=exc.http_status)
    coach = purchase.package.coach
    now = timezone.now()
    uses = CreditUse.objects.filter(purchase=purchase).select_related("booking__coach").order_by("booking__start_at")
    bookings = [
        {
            "booking": use.booking,
            "returned": use.returned_at is not None,
            "manage_url": manage_url(use.booking) if use.booking.status == Booking.Status.CONFIRMED else "",
        }
        for use in uses
    ]
    usable = purchase.ended_at is None and not purchase.is_expired(now) and purchase.credits_left > 0
    context = {
        "purchase": purchase,
        "package": purchase.package,
        "coach": coach,
        "bookings": bookings,
        "usable": usable,
        "expired": purchase.is_expired(now),
        "guest_zone": viewer_zone(request),
    }
    if usable and coach.is_active:
        request.session[PACKAGE_DETAILS_KEY] = {
            "coach": coach.slug,
            "code": purchase.code_display,
            "name": purchase.buyer_name,
            "email": purchase.buyer_email,
        }
        # The calendar offers a type the package pays for: the one it names, or the guest's pick of
        # those it names; any of the coach's when it names none.
        covered = [session_type for session_type in purchase.package.session_types.all() if session_type.is_active]
        pinned = covered[0] if len(covered) == 1 else None
        state = read_state(request, "")
        if len(covered) > 1 and state.session_type not in {session_type.slug for session_type in covered}:
            state = replace(state, session_type=covered[0].slug)
        context.update(calendar_context(request, coach=coach, state=state, instance="", pinned_type=pinned))
        context["coach"] = coach
    response = render(request, "coaching/packages/package.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
