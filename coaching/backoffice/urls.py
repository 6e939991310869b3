"""Admin URLs of the back office, mounted under /admin/coaching/ by coaching/wagtail_hooks.py."""

from django.urls import include, path

from . import book_for_client, clients, desk, google, notifications, packages, recurring, sign_in, views, workshops

tools = [
    path("bulk-add-slots/", views.bulk_add_view, name="bulk_add"),
    path("remove-availability/", views.remove_availability_view, name="remove_availability"),
    path("bookings/<int:pk>/cancel/", views.cancel_booking_view, name="cancel_booking"),
    path("bookings/<int:pk>/cancel-series/", recurring.cancel_series_view, name="cancel_series"),
    path("workshops/<int:pk>/", workshops.workshop_overview_view, name="workshop"),
    path("workshops/<int:pk>/cancel/", workshops.cancel_workshop_view, name="cancel_workshop"),
    path("refunds/<int:pk>/retry/", workshops.retry_refund_view, name="retry_refund"),
    # The owner's desk.
    path("bookings/<int:pk>/attendance/", desk.attendance_view, name="attendance"),
    path("bookings/<int:pk>/refund/", desk.refund_view, name="refund_booking"),
    path("bookings/<int:pk>/move/", desk.move_view, name="move_booking"),
    path("book-for-a-client/", book_for_client.book_for_client_view, name="book_for_client"),
    path("notifications/", notifications.notifications_view, name="notifications"),
    path("notifications/<int:pk>/", notifications.notification_detail_view, name="notification"),
    path("notifications/<int:pk>/retry/", notifications.retry_notification_view, name="retry_notification"),
    path("clients/", clients.client_view, name="client"),
    path("clients/export/", clients.export_view, name="client_export"),
    path("clients/erase/", clients.erase_view, name="client_erase"),
    path("package-purchases/<int:pk>/", packages.purchase_view, name="package_purchase"),
    path("package-purchases/<int:pk>/extend/", packages.extend_purchase_view, name="extend_package"),
    path("package-purchases/<int:pk>/adjust/", packages.adjust_credits_view, name="adjust_package_credits"),
    path("package-purchases/<int:pk>/refund/", packages.refund_purchase_view, name="refund_package"),
]

google_calendar = [
    path("", google.index, name="index"),
    path("callback/", google.callback, name="callback"),
    path("coaches/<int:pk>/", google.coach_detail, name="coach"),
    path("coaches/<int:pk>/connect/", google.connect, name="connect"),
    path("coaches/<int:pk>/disconnect/", google.disconnect, name="disconnect"),
    path("coaches/<int:pk>/sync/", google.sync_now, name="sync"),
    path("coaches/<int:pk>/why/", google.why_not_offered, name="why"),
]

sign_in_security = [
    path("", sign_in.security_view, name="security"),
    path("unlock/", sign_in.unlock_view, name="unlock"),
    path("two-factor/", sign_in.two_factor_view, name="two_factor"),
    path("two-factor/<int:user_id>/reset/", sign_in.reset_two_factor_view, name="reset_two_factor"),
]

urlpatterns = [
    path("coaching/sign-in/", include((sign_in_security, "coaching_sign_in"), namespace="coaching_sign_in")),
    path("coaching/google/", include((google_calendar, "coaching_google"), namespace="coaching_google")),
    path("coaching/", include((tools, "coaching_admin"))),
]
