"""Wagtail admin hooks for the Google Calendar connection (owned by the Google work)."""
