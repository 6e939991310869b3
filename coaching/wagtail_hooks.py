"""Wagtail admin registration for the booking domain.

Google Calendar admin views register their own hooks in coaching/google_admin.py.
"""

from . import google_admin  # noqa: F401
