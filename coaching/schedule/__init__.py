"""Read side of the booking brain: which times a guest may book.

Rules, in the owner's words (the README repeats them):
- A coach offers 1-on-1 sessions only inside their availability: their weekly hours (or a date
  override's hours on that date), plus Bulk-add blocks as one-off extras, minus time off and days
  overridden as unavailable — rules in the coach's zone, expanded on read (`rules`). Inside each
  window of availability, session start times step from the window's start by the session type's
  length plus its buffer (09:00, 10:15, ... for 60-minute sessions with a 15-minute buffer), and a
  session must end inside the window.
- A session is not offered if it, widened by the buffer on both sides, touches an active booking
  (confirmed or held for payment), a Google busy slot, or one of the coach's workshops.
- Nothing starts in the past, sooner than the coach's minimum notice, or further ahead than the
  booking horizon.

Everything works on sorted lists of UTC intervals, so the cost is linear in the number of
availability blocks, bookings, busy slots and workshops, and a month costs a fixed handful of queries.

Modules: `intervals` (the sweep), `rules` (weekly hours, overrides, blocks and time off → availability),
`loading` (the queries; the rules and blocks in one), `session_rules` (a session type's length,
buffer, notice and horizon; how buffers combine), `slots` (free 1-on-1 times of one session type and
the check of one chosen start), `workshops` (seats sold, offered and left, is a workshop bookable or its waiting list open, the host's sessions it would sit on), `month` (the month grid in
the viewer's zone), `diagnosis` (the owner's "why is this time not offered?").
Nothing here writes; the services in coaching/services/ do, after asking these same functions.
"""

from .intervals import Interval, Slot, candidate_starts, merge_intervals, remove_blocked, widen
from .loading import CoachIntervals, fetch_spans, load_coach_intervals
from .month import (
    DaySchedule,
    MonthSchedule,
    WorkshopOffer,
    get_month_schedule,
    get_move_schedule,
    get_workshops_month,
    group_by_day,
)
from .session_rules import SessionRules, booking_rules, session_rules
from .slots import bookable_window, compute_free_slots, duration_in_words, free_slots, validate_slot
from .workshops import (
    SeriesDate,
    first_entries_that_fit,
    host_sessions_during,
    listing_state,
    seat_move_refusal,
    seats_left,
    seats_offered,
    seats_sold,
    series_dates,
    waitlist_refusal,
    workshop_refusal,
)

__all__ = [
    "CoachIntervals",
    "DaySchedule",
    "Interval",
    "MonthSchedule",
    "SeriesDate",
    "SessionRules",
    "booking_rules",
    "session_rules",
    "Slot",
    "WorkshopOffer",
    "bookable_window",
    "candidate_starts",
    "compute_free_slots",
    "duration_in_words",
    "fetch_spans",
    "first_entries_that_fit",
    "free_slots",
    "get_month_schedule",
    "get_move_schedule",
    "get_workshops_month",
    "group_by_day",
    "host_sessions_during",
    "listing_state",
    "load_coach_intervals",
    "merge_intervals",
    "remove_blocked",
    "seats_left",
    "seats_offered",
    "seats_sold",
    "seat_move_refusal",
    "series_dates",
    "validate_slot",
    "waitlist_refusal",
    "widen",
    "workshop_refusal",
]
