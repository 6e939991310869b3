"""Calendar invites (.ics) for a booking.

One stable UID per booking (`Booking.ics_uid`) and the booking's `ics_sequence`, so Google, Apple
and Outlook update or remove the event they already have instead of adding a second one. Times are
written in UTC (RFC 5545 form 2), which every client converts correctly without a VTIMEZONE block.
"""

from datetime import UTC, datetime
from email.utils import parseaddr
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from coaching.links import manage_url
from coaching.places import meeting_place


def booking_location(booking) -> str:
    """Where the session happens, as an invite's LOCATION shows it: the meeting place (an address,
    or the link of a call online: coaching/places.py), else where it was booked."""
    place = meeting_place(booking)
    if place is not None and not place.pending:
        return place.ics_location
    if booking.workshop_id:
        return booking.workshop.location or booking.workshop.online_url or settings.WAGTAIL_SITE_NAME
    return f"{settings.WAGTAIL_SITE_NAME} — 1-on-1 with {booking.coach.name}"


def build_ics(
    booking,
    *,
    method: str,
    sequence: int | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The iCalendar invite for `booking`: METHOD:REQUEST (new or moved) or METHOD:CANCEL.

    `sequence`, `start_at` and `end_at` default to the booking's current values; the outbox passes
    the values recorded when the message became owed, so a late delivery describes its own change.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"Unsupported iTIP method {method!r}")
    host = booking.host
    organizer_name, organizer_email = parseaddr(settings.DEFAULT_FROM_EMAIL)

    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.WAGTAIL_SITE_NAME}//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", booking.ics_uid)
    event.add("sequence", booking.ics_sequence if sequence is None else sequence)
    event.add("dtstamp", (stamp or timezone.now()).astimezone(UTC))
    event.add("dtstart", (start_at or booking.start_at).astimezone(UTC))
    event.add("dtend", (end_at or booking.end_at).astimezone(UTC))
    event.add("summary", booking.title)
    event.add("location", booking_location(booking))
    link = manage_url(booking)
    place = meeting_place(booking)
    where = ""
    if place is not None:
        where = f"Where: {place.text}" + (f"\nJoin: {place.url}" if place.url else "") + "\n"
    event.add(
        "description",
        f"Booking reference {booking.reference}.\nWith {host.name}.\n{where}To reschedule or cancel: {link}",
    )
    # URL: the link to join a call online, else the booking's manage page.
    event.add("url", place.url if place is not None and place.url else link)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")

    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(organizer_name or settings.WAGTAIL_SITE_NAME)
    event.add("organizer", organizer)

    guest = vCalAddress(f"mailto:{booking.guest_email}")
    guest.params["cn"] = vText(booking.guest_name)
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["partstat"] = vText("ACCEPTED")
    guest.params["rsvp"] = vText("FALSE")
    event.add("attendee", guest)

    coach = vCalAddress(f"mailto:{host.email}")
    coach.params["cn"] = vText(host.name)
    coach.params["role"] = vText("CHAIR")
    coach.params["partstat"] = vText("ACCEPTED")
    event.add("attendee", coach)

    calendar.add_component(event)
    return calendar.to_ical()


def google_calendar_url(booking) -> str:
    """A link that opens Google Calendar's "new event" form filled in with this booking (the guest
    saves it there; nothing is sent to Google by us). Same title, times, place and manage link as
    the invite."""
    stamp = "%Y%m%dT%H%M%SZ"
    query = {
        "action": "TEMPLATE",
        "text": booking.title,
        "dates": f"{booking.start_at.astimezone(UTC):{stamp}}/{booking.end_at.astimezone(UTC):{stamp}}",
        "details": f"Booking reference {booking.reference}.\nTo reschedule or cancel: {manage_url(booking)}",
        "location": booking_location(booking),
    }
    return f"https://calendar.google.com/calendar/render?{urlencode(query)}"
