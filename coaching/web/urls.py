"""Every guest-facing URL (namespace "coaching"), by flow. Each page URL is a full page, or one region
of it for HTMX."""

from django.urls import path

from . import booking, files, health, manage, packages, payments, recurring, waitlist, webhook, zone

app_name = "coaching"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Booking: a coach's calendar, a day's times, the slot form; workshops.
    path("book/coach/<slug:slug>/", booking.coach_calendar, name="coach_calendar"),
    path("book/coach/<slug:slug>/day/<str:day>/", booking.coach_day, name="coach_day"),
    path("book/coach/<slug:slug>/slot/", booking.coach_slot, name="coach_slot"),
    path("book/coach/<slug:slug>/series/", recurring.coach_series, name="coach_series"),
    path("book/workshops/", booking.workshops_calendar, name="workshops_calendar"),
    path("book/workshop/<slug:slug>/", booking.workshop_book, name="workshop_book"),
    path("book/workshop/<slug:slug>/waitlist/", waitlist.workshop_waitlist, name="workshop_waitlist"),
    path("book/timezone/", zone.set_timezone, name="set_timezone"),
    path("book/timezone/options/", zone.timezone_options, name="timezone_options"),
    # Files.
    path("bookings/<str:reference>/calendar.ics", files.booking_ics, name="booking_ics"),
    # Payments: the Stripe webhook, the checkout's return and cancel pages, the built-in test checkout.
    path("stripe/webhook/", webhook.stripe_webhook, name="stripe_webhook"),
    path("stripe/test-checkout/<str:session_id>/", payments.test_checkout, name="test_checkout"),
    path("bookings/checkout/return/", payments.checkout_return, name="checkout_return"),
    path("bookings/checkout/cancel/", payments.checkout_cancel, name="checkout_cancel"),
    # Recurring sessions: one checkout for a whole series.
    path("bookings/series/checkout/return/", recurring.series_checkout_return, name="series_checkout_return"),
    path("bookings/series/checkout/cancel/", recurring.series_checkout_cancel, name="series_checkout_cancel"),
    path("stripe/test-checkout/series/<str:session_id>/", recurring.series_test_checkout, name="series_test_checkout"),
    # Guest self-service by magic link.
    path("bookings/manage/<str:token>/", manage.manage_booking, name="manage_booking"),
    path("bookings/manage/<str:token>/cancel/", manage.manage_cancel, name="manage_cancel"),
    path("bookings/manage/<str:token>/reschedule/", manage.manage_reschedule, name="manage_reschedule"),
    path(
        "bookings/manage/<str:token>/reschedule/day/<str:day>/",
        manage.manage_reschedule_day,
        name="manage_reschedule_day",
    ),
    path(
        "bookings/manage/<str:token>/reschedule/confirm/",
        manage.manage_reschedule_confirm,
        name="manage_reschedule_confirm",
    ),
    path("bookings/manage/<str:token>/move-date/", manage.manage_move_date, name="manage_move_date"),
    path(
        "bookings/manage/<str:token>/move-date/confirm/",
        manage.manage_move_date_confirm,
        name="manage_move_date_confirm",
    ),
    path("bookings/manage/<str:token>/cancel-series/", recurring.manage_cancel_series, name="manage_cancel_series"),
    path("bookings/lost-link/", manage.lost_link, name="lost_link"),
    # Packages of sessions: buying one, its checkout's pages, and the buyer's signed package link.
    path("packages/buy/<slug:slug>/", packages.package_buy, name="package_buy"),
    path("packages/checkout/return/", packages.package_checkout_return, name="package_checkout_return"),
    path("packages/checkout/cancel/", packages.package_checkout_cancel, name="package_checkout_cancel"),
    path("packages/test-checkout/<str:session_id>/", packages.package_test_checkout, name="package_test_checkout"),
    path("packages/mine/<str:token>/", packages.package_page, name="package"),
    # A workshop's waiting list, from the links in its emails.
    path("waitlist/<str:token>/claim/", waitlist.waitlist_claim, name="waitlist_claim"),
    path("waitlist/<str:token>/leave/", waitlist.waitlist_leave, name="waitlist_leave"),
]
