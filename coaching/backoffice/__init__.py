"""The Wagtail back office: snippet viewsets (coaches, workshops), the "Bookings" modeladmin group,
the admin tools (Bulk add, Remove availability, Cancel), the Google Calendar screens and who may
see what (`permissions`). Hooks are registered in coaching/wagtail_hooks.py only.

Screens parse the form and call coaching/services; every rule is decided there.
"""
