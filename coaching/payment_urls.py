"""Payment URLs, included from coaching/urls.py (namespace "coaching")."""

from django.urls import path

from . import payment_views, webhooks

urlpatterns = [
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
    path("stripe/test-checkout/<str:session_id>/", payment_views.test_checkout, name="test_checkout"),
    path("bookings/checkout/return/", payment_views.checkout_return, name="checkout_return"),
    path("bookings/checkout/cancel/", payment_views.checkout_cancel, name="checkout_cancel"),
]
