"""Where a booking happens, in one sentence and (for calls online) a link: what the confirmation,
every email, the reminder, the manage page, the .ics invite and the Google event all say.

A 1-on-1 booking keeps the meeting place its session type had when it was booked
(`Booking.location_kind` / `location_detail`); a Google Meet link is stored on the booking once
Google has made it on the coach's event (services/google_sync.py). A workshop seat meets where the
workshop says (its address and/or its online link).
"""

from __future__ import annotations

from dataclasses import dataclass

from coaching.models import LocationKind


@dataclass(frozen=True)
class MeetingPlace:
    kind: str  # a LocationKind value, or "workshop"
    text: str  # what to read: an address, "Phone call: +44 …", "Video call", "Google Meet"
    url: str = ""  # the link to join, for calls online
    pending: bool = False  # a Google Meet link not made yet

    @property
    def ics_location(self) -> str:
        """An invite's LOCATION: the address, or the link for a call online."""
        return self.url or self.text


def meeting_place(booking) -> MeetingPlace | None:
    """Where `booking` happens, or None when nobody said."""
    if booking.workshop_id:
        workshop = booking.workshop
        if not workshop.location and not workshop.online_url:
            return None
        return MeetingPlace(kind="workshop", text=workshop.location or "Online", url=workshop.online_url)
    kind, detail = booking.location_kind, booking.location_detail
    if kind == LocationKind.IN_PERSON:
        return MeetingPlace(kind=kind, text=detail)
    if kind == LocationKind.PHONE:
        return MeetingPlace(kind=kind, text=f"Phone call: {booking.coach.name} calls {booking.guest_phone}")
    if kind == LocationKind.VIDEO:
        return MeetingPlace(kind=kind, text="Video call", url=detail)
    if kind == LocationKind.GOOGLE_MEET:
        if booking.meeting_url:
            return MeetingPlace(kind=kind, text="Google Meet", url=booking.meeting_url)
        return MeetingPlace(kind=kind, text="Google Meet (the link follows by email)", pending=True)
    return None
