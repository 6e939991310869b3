"""The back office door: one login (Wagtail's), locked after repeated failures, with optional
two-factor sign-in. README, "Measured: … Security" and "Running the business from the Wagtail admin"."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/django-admin/", "/django-admin/login/", "/django-admin/auth/user/"])
def test_there_is_no_second_login_door_at_django_admin(client, path):
    response = client.get(path)
    assert response.status_code == 404
    response = client.post(path, {"username": "owner", "password": "guess"})
    assert response.status_code == 404
