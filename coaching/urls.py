from django.urls import path

from . import views

app_name = "coaching"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
