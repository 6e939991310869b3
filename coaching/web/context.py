"""What the calendar and booking-panel templates need, shared by the booking views and the Wagtail
pages (CoachPage, WorkshopPage, BookingCalendarBlock), so every calendar on the site is one HTML.

**State in the URL.** A calendar's month, chosen day and chosen time live in the URL of the page it
sits on (`/coaches/amara-okafor/?month=2026-12&day=2026-12-09&start=2026-12-09T09:00:00Z`), so
reload, Back and a shared link show the same thing. Every link has two URLs: `href`, that page
URL (followed without JavaScript, opened in a new tab, copied), and the HTMX URL of the region it
swaps (`/book/…`). Each swapped region carries its page URL (`data-state-url`) and site.js writes
it into the address bar; the panel gets its own history entry, so Back closes it.

**Several calendars on one page.** Each calendar a page renders claims an *instance*: "" for the
first, then "cal2", "cal3"… (a coach page's own calendar claims "" before the body's blocks are
drawn). The instance prefixes the calendar's element ids (`cal2-calendar`), rides along on its
HTMX URLs (`?cal=cal2`), and names the calendar the page URL's state belongs to.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from coaching.exceptions import BookingError, NotBookable
from coaching.invites import google_calendar_url
from coaching.links import ics_url, manage_url
from coaching.models import Booking, Coach, SessionType, Workshop
from coaching.schedule import (
    MonthSchedule,
    get_workshops_month,
    seats_left,
    series_dates,
    validate_slot,
    waitlist_refusal,
    workshop_refusal,
)
from coaching.schedule.cache import month_schedule
from coaching.schedule.next_available import next_free_slot, workshops_with_seats
from coaching.wallclock import month_bounds
from coaching.zones import zone_from_name, zone_title

from .calendar_regions import region_keys
from .forms import SessionBookingForm, WaitlistForm, WorkshopBookingForm
from .page_cache import true_until, uncacheable
from .parsing import iso_z, month_param, parse_day, parse_month, parse_start

INSTANCE = re.compile(r"cal(?:[2-9]|[1-9][0-9])")
# After a guest leaves the checkout, what they typed waits here for the form they return to.
CHECKOUT_CANCELLED_KEY = "booking.checkout_cancelled"
# After a guest opens their package link, its details wait here for the booking form.
PACKAGE_DETAILS_KEY = "booking.package"


def viewer_zone(request: HttpRequest | None) -> zoneinfo.ZoneInfo:
    zone = getattr(request, "user_timezone", None)
    return zone or zoneinfo.ZoneInfo(timezone.get_default_timezone_name())


# --- which calendar of the page ---------------------------------------------------------------------


def requested_instance(query) -> str:
    """The `cal` a request names (a QueryDict, or None), if it is a well-formed instance."""
    value = (query or {}).get("cal", "")
    return value if INSTANCE.fullmatch(value) else ""


def id_prefix(instance: str) -> str:
    return f"{instance}-" if instance else ""


def claim_instance(request: HttpRequest | None, wanted: str | None = None) -> str:
    """The instance this render of a calendar uses: `wanted` if it is still free on this request,
    else the next free one ("" first)."""
    if request is None:
        return wanted or ""
    taken = request.__dict__.setdefault("_booking_calendars", set())
    if wanted is None or wanted in taken:
        wanted = next(name for name in ("", *(f"cal{n}" for n in range(2, 100))) if name not in taken)
    taken.add(wanted)
    return wanted


# --- the state in the URL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarState:
    month: tuple[int, int] | None = None
    day: date | None = None
    start: datetime | None = None  # a 1-on-1 time whose booking panel is open
    workshop: str = ""  # a workshop whose booking panel is open (the all-workshops calendar)
    session_type: str = ""  # the slug of the coach's session type chosen (`?type=`); "" = the first


def read_state(request: HttpRequest | None, instance: str, *, strict: bool = False) -> CalendarState:
    """The state the request's query string gives calendar `instance`.

    `strict` (the /book/ URLs) raises the parsers' readable BookingError for a malformed value; a
    Wagtail page ignores the state instead, so a mangled shared link still shows the page.
    """
    query = request.GET if request is not None else {}
    if query.get("cal", "") != instance:
        return CalendarState()
    try:
        month = parse_month(query["month"], zone=viewer_zone(request)) if query.get("month") else None
        day = parse_day(query["day"]) if query.get("day") else None
        start = parse_start(query["start"]) if query.get("start") else None
    except BookingError:
        if strict:
            raise
        return CalendarState()
    return CalendarState(
        month=month,
        day=day,
        start=start,
        workshop=query.get("workshop", "")[:200],
        session_type=query.get("type", "")[:120],
    )


@dataclass(frozen=True)
class SessionTypeChoice:
    """The coach's session types guests can choose from, and the one chosen."""

    chosen: SessionType | None
    choices: list[SessionType]  # what the guest may choose from (only the pinned one, on a block)
    first: SessionType | None = None  # the coach's first type: what a URL without `type` books

    @property
    def is_default(self) -> bool:
        return self.chosen is None or self.chosen == self.first

    @property
    def url_slug(self) -> str:
        """What the URLs carry as `type`: nothing for the coach's first type, so a coach with one
        type keeps the URLs it always had."""
        return "" if self.is_default else self.chosen.slug


def choose_session_type(
    coach: Coach, slug: str = "", *, pinned: SessionType | None = None, strict: bool = False
) -> SessionTypeChoice:
    """The coach's active types (one query) and the one `slug` names (a block may pin one); the
    first when none is named. An unknown or inactive slug raises NotBookable when `strict` (the
    /book/ URLs and every booking POST), else falls back to the first (a Wagtail page)."""
    choices = list(coach.session_types_for_guests())
    wanted = pinned.slug if pinned is not None else slug
    chosen = next((t for t in choices if t.slug == wanted), None) if wanted else None
    if wanted and chosen is None and strict:
        raise NotBookable(f"{coach.name} does not offer that session.")
    first = choices[0] if choices else None
    if chosen is None:
        chosen = first
    if pinned is not None:
        choices = [chosen] if chosen is not None else []
    return SessionTypeChoice(chosen=chosen, choices=choices, first=first)


def page_base(request: HttpRequest | None, fallback: str) -> str:
    """The path of the page the calendar is on: the Wagtail page being drawn, or for an HTMX region
    the page the guest has open (HTMX's `HX-Current-URL`); `fallback` (the /book/ page) otherwise."""
    if request is None:
        return fallback
    if getattr(request, "htmx", False):
        path = urlsplit(request.htmx.current_url_abs_path or "").path
    else:
        path = request.path
    if not path.startswith("/") or path.startswith(("//", "/book/")) or len(path) > 500:
        return fallback
    return path


class CalendarLinks:
    """Both URLs of every link in one calendar: `page(...)`, the page URL holding that state, and
    `region(...)`, the /book/ URL of the HTMX region (with this calendar's `cal`)."""

    def __init__(self, request: HttpRequest | None, *, coach: Coach | None, instance: str, session_type: str = ""):
        self.coach = coach
        self.instance = instance
        self.session_type = session_type  # the `type` every link carries ("" for the coach's first)
        self.book_url = (
            reverse("coaching:coach_calendar", args=[coach.slug]) if coach else reverse("coaching:workshops_calendar")
        )
        self.page_url = page_base(request, self.book_url)

    @staticmethod
    def _with(url: str, query: dict) -> str:
        query = {key: value for key, value in query.items() if value}
        return f"{url}?{urlencode(query)}" if query else url

    def page(
        self, *, month: tuple[int, int] | None = None, day: date | None = None, start=None, workshop: str = ""
    ) -> str:
        return self._with(
            self.page_url,
            {
                "cal": self.instance,
                "month": month_param(*month) if month else "",
                "day": day.isoformat() if day else "",
                "start": iso_z(start) if start else "",
                "workshop": workshop,
                "type": self.session_type,
            },
        )

    def region(self, name: str, *args, **query) -> str:
        return self._with(
            reverse(f"coaching:{name}", args=args), {"cal": self.instance, "type": self.session_type, **query}
        )

    @staticmethod
    def ending_in(url: str, param: str) -> str:
        """`url` ready for a template to append `param`'s value: '/coaches/amara/?month=2026-12&day='."""
        return f"{url}{'&' if '?' in url else '?'}{param}="

    def calendar(self, *, month: tuple[int, int], day: date | None = None, refresh: bool = False) -> str:
        query = {"month": month_param(*month), "day": day.isoformat() if day else "", "refresh": "1" if refresh else ""}
        return self._with(self.book_url, {"cal": self.instance, "type": self.session_type, **query})


# --- the month grid ------------------------------------------------------------------------------------


def month_nav(schedule: MonthSchedule, *, base_url: str, today: date) -> dict:
    """Previous/next month links of a calendar (no "previous" before the viewer's current month)."""
    prev_year, prev_month = schedule.prev_month
    next_year, next_month = schedule.next_month
    can_go_back = (prev_year, prev_month) >= (today.year, today.month)
    return {
        "prev_url": f"{base_url}?{urlencode({'month': month_param(prev_year, prev_month)})}" if can_go_back else "",
        "next_url": f"{base_url}?{urlencode({'month': month_param(next_year, next_month)})}",
    }


def link_days(schedule: MonthSchedule, day_url: Callable[[date], str]) -> None:
    for day in schedule.days:
        day.url = day_url(day.date)


def schedule_context(schedule: MonthSchedule, *, zone: zoneinfo.ZoneInfo, base_url: str, today: date) -> dict:
    """The calendar region's context for any month grid."""
    return {
        "schedule": schedule,
        "zone": zone,
        "zone_title": zone_title(zone),
        "today": today,
        "month_start": schedule.first_day,
        "workshop_offers": schedule.workshop_offers,
        **month_nav(schedule, base_url=base_url, today=today),
    }


def calendar_context(
    request: HttpRequest | None,
    *,
    coach: Coach | None,
    state: CalendarState | None = None,
    instance: str | None = None,
    open_panel: bool = True,
    pinned_type: SessionType | None = None,
    strict: bool = False,
) -> dict:
    """A coach's booking calendar for one of its session types (the state's `type`, `pinned_type`
    for a block that shows one, else the first) — or, with `coach=None`, the all-workshops
    calendar — in the viewer's zone, showing `state` (default: what the page URL says for this
    calendar). With `open_panel`, a time (or workshop) in the state opens its booking panel, as the
    page URL asks. `strict` (the /book/ URLs): an unknown type is refused, not replaced."""
    instance = claim_instance(request, instance)
    if state is None:
        state = read_state(request, instance)
    zone = viewer_zone(request)
    now = timezone.now()
    today = now.astimezone(zone).date()
    chosen_day = state.day or (state.start.astimezone(zone).date() if state.start else None)
    if state.month:
        year, month = state.month
    elif chosen_day:
        year, month = chosen_day.year, chosen_day.month
    else:
        year, month = default_month(coach=coach, zone=zone, today=today)
    type_choice = choose_session_type(coach, state.session_type, pinned=pinned_type, strict=strict) if coach else None
    session_type = type_choice.chosen if type_choice else None
    links = CalendarLinks(request, coach=coach, instance=instance, session_type=type_choice.url_slug if coach else "")
    if coach is not None:
        schedule = month_schedule(coach=coach, year=year, month=month, tz=zone, now=now, session_type=session_type)
        link_days(schedule, lambda day: links.region("coach_day", coach.slug, day.isoformat()))
    else:
        schedule = get_workshops_month(year=year, month=month, tz=zone, now=now)
    prev_month, next_month = schedule.prev_month, schedule.next_month
    can_go_back = prev_month >= (today.year, today.month)
    context = {
        "coach": coach,
        "session_type": session_type,
        "session_type_cards": type_cards(type_choice, links) if type_choice else [],
        "cal": instance,
        "p": id_prefix(instance),
        "calendar_links": links,
        **schedule_context(schedule, zone=zone, base_url=links.book_url, today=today),
        "prev_url": links.page(month=prev_month, day=chosen_day) if can_go_back else "",
        "prev_hx": links.calendar(month=prev_month, day=chosen_day) if can_go_back else "",
        "next_url": links.page(month=next_month, day=chosen_day),
        "next_hx": links.calendar(month=next_month, day=chosen_day),
        "day_href_prefix": links.ending_in(links.page(month=(year, month)), "day"),
        "state_url": links.page(month=(year, month), day=chosen_day),
        "refresh_url": links.calendar(month=(year, month), day=chosen_day, refresh=True),
    }
    context.update(next_available_context(schedule, coach=coach, zone=zone, now=now, links=links))
    if chosen_day is not None and coach is not None:
        # The chosen day stays beside the grid when the guest looks at another month.
        day_schedule = schedule
        if (chosen_day.year, chosen_day.month) != (year, month):
            day_schedule = month_schedule(
                coach=coach, year=chosen_day.year, month=chosen_day.month, tz=zone, now=now, session_type=session_type
            )
            true_until(request, day_schedule.valid_until)
        context.update(day_context(day_schedule, chosen_day, links=links))
    if coach is not None:  # the grid and the day's times, drawn once for everyone who sees the same
        context.update(region_keys(context, schedule, hour_cycle=getattr(request, "hour_cycle", "h23")))
    keep_page_while_true(request, context, coach=coach, state=state, open_panel=open_panel)
    if open_panel and coach is not None and state.start is not None:
        context.update(
            slot_panel_context(
                request, coach=coach, start_at=state.start, links=links, validate=True, session_type=session_type
            )
        )
    elif open_panel and coach is None and state.workshop:
        workshop = Workshop.objects.published().select_related("host").filter(slug=state.workshop).first()
        if workshop is not None:
            panel = workshop_panel_context(request, workshop, links=links)
            if panel["refusal"] is not None:
                panel.update(slot_refused=True, form_error=panel["refusal"].message)
            context.update(panel, slide_over_open=True)
    return context


def type_cards(type_choice: SessionTypeChoice, links: CalendarLinks) -> list[dict]:
    """One card per session type when the coach offers several: what it is, and the page URL that
    opens its calendar (a plain link: it works without JavaScript and as a deep link)."""
    if len(type_choice.choices) < 2:
        return []
    first = type_choice.first
    cards = []
    for session_type in type_choice.choices:
        query = {"cal": links.instance, "type": "" if session_type == first else session_type.slug}
        cards.append(
            {
                "session_type": session_type,
                "url": links._with(links.page_url, query),
                "chosen": session_type == type_choice.chosen,
            }
        )
    return cards


def keep_page_while_true(
    request, context: dict, *, coach: Coach | None, state: CalendarState, open_panel: bool
) -> None:
    """Tell the page cache (web/page_cache.py) until when this calendar stays as drawn; the
    all-workshops calendar, an open panel and an empty month's search are never kept."""
    if coach is None or context.get("month_is_empty") or (open_panel and (state.start or state.workshop)):
        uncacheable(request)
        return
    true_until(request, context["schedule"].valid_until)


def default_month(*, coach: Coach | None, zone: zoneinfo.ZoneInfo, today: date) -> tuple[int, int]:
    """This month, except that the workshops calendar opens on the next workshop's month (an empty
    first page would look like there is nothing to book)."""
    if coach is None:
        next_start = (
            Workshop.objects.published()
            .filter(start_at__gt=timezone.now())
            .order_by("start_at")
            .values_list("start_at", flat=True)
            .first()
        )
        if next_start is not None:
            local = next_start.astimezone(zone)
            return local.year, local.month
    return today.year, today.month


def next_available_context(
    schedule: MonthSchedule, *, coach: Coach | None, zone: zoneinfo.ZoneInfo, now: datetime, links: CalendarLinks
) -> dict:
    """ "Next available" for the grid: where to jump when this month has nothing, and in the current
    month the first open time. A month that shows openings costs no query; an empty one the
    schedule's four (eight when it lies past the horizon and the answer is earlier)."""
    month_start, month_end = month_bounds(schedule.year, schedule.month, zone)
    if coach is None:
        if any(day.has_openings for day in schedule.days):
            return {}
        upcoming = workshops_with_seats(after=month_end, now=now, limit=1) or workshops_with_seats(
            after=now, now=now, limit=1
        )
        if not upcoming:
            return {"month_is_empty": True}
        local = upcoming[0].start_at.astimezone(zone)
        return {
            "month_is_empty": True,
            "next_workshop": upcoming[0],
            "next_workshop_url": links.page(month=(local.year, local.month)),
            "next_workshop_hx": links.calendar(month=(local.year, local.month)),
        }
    first_in_month = next((slot for day in schedule.days for slot in day.slots), None)
    if first_in_month is not None:
        if month_start > now:
            return {}  # a later month with openings: its dots say it all
        slot = first_in_month
    else:
        session_type = schedule.session_type
        slot = next_free_slot(coach=coach, after=max(month_start, now), now=now, session_type=session_type)
        if slot is None and month_start > now:  # past the horizon: the first one at all
            slot = next_free_slot(coach=coach, after=now, now=now, session_type=session_type)
    context = {"month_is_empty": first_in_month is None}
    if first_in_month is None:
        horizon_days = schedule.rules.horizon_days if schedule.rules else coach.horizon_days
        context["beyond_horizon"] = month_start > now + timedelta(days=horizon_days)
        context["horizon_days"] = horizon_days
    if slot is not None:
        local_day = slot.start_at.astimezone(zone).date()
        context.update(
            next_available=slot.start_at,
            next_available_url=links.page(month=(local_day.year, local_day.month), day=local_day),
            next_available_hx=links.region("coach_day", coach.slug, local_day.isoformat()),
        )
    return context


def day_context(schedule: MonthSchedule, day: date, *, links: CalendarLinks | None = None) -> dict:
    context = {"selected_day": schedule.day(day), "selected_date": day}
    if links is not None and links.coach is not None:
        month = (day.year, day.month)
        day_url = links.page(month=month, day=day)
        context.update(
            day_state_url=day_url,
            time_href_prefix=links.ending_in(day_url, "start"),
            time_hx_prefix=links.ending_in(links.region("coach_slot", links.coach.slug), "start"),
        )
    return context


# --- the booking panel ----------------------------------------------------------------------------------


def guest_form(form_class, *, instance: str, data=None, initial=None, **kwargs):
    """A booking form whose field ids are this calendar's (two calendars' forms never share an id)."""
    return form_class(data, initial=initial, auto_id=f"{id_prefix(instance)}id_%s", **kwargs)


def slot_panel_context(
    request: HttpRequest | None,
    *,
    coach: Coach,
    start_at: datetime,
    links: CalendarLinks,
    form=None,
    validate: bool = False,
    session_type=None,
) -> dict:
    """The slide-over for one 1-on-1 time of `session_type` (default: the coach's first): its times,
    the form (again, after a cancelled checkout, filled in) and where it posts. With `validate`, a
    time that is no longer offered shows why."""
    zone = viewer_zone(request)
    session_type = session_type or coach.default_session_type()
    form_kwargs = {"session_type": session_type}
    local_day = start_at.astimezone(zone).date()
    month = (local_day.year, local_day.month)
    returning = returning_from_checkout(request, coach=coach, start_at=start_at)
    package = None if returning else package_details(request, coach)
    panel = {
        "coach": coach,
        "cal": links.instance,
        "p": id_prefix(links.instance),
        "session_type": session_type,
        "slot_start": start_at,
        "slot_end": start_at + timedelta(minutes=session_type.duration_minutes if session_type else 0),
        "form_action": links.region("coach_slot", coach.slug, start=iso_z(start_at)),
        "close_url": links.page(month=month, day=local_day),
        "panel_state_url": links.page(month=month, day=local_day, start=start_at),
        "price_display": session_type.price_display if session_type else "",
        "paid_with_package": package is not None,
        "zone": zone,
        "slide_over_open": True,
        "checkout_cancelled": returning is not None,
        "form": form
        or guest_form(SessionBookingForm, instance=links.instance, initial=returning or package, **form_kwargs),
    }
    if validate:
        try:
            validate_slot(coach=coach, start_at=start_at, now=timezone.now(), session_type=session_type)
        except BookingError as exc:
            panel.update(refusal=exc, slot_refused=True, form_error=exc.message)
    return panel


def workshop_panel_context(
    request: HttpRequest | None, workshop: Workshop, *, form=None, links: CalendarLinks | None = None
) -> dict:
    """The "book a seat" panel of a workshop, including whether it can be booked now and why not,
    and whether its waiting list can be joined instead."""
    now = timezone.now()
    left = seats_left(workshop, now=now)
    zone = viewer_zone(request)
    refusal = workshop_refusal(workshop, seats_left=left, now=now)
    waitlist_refused = waitlist_refusal(workshop, seats_left=left, now=now)
    links = links or CalendarLinks(request, coach=None, instance=requested_instance(getattr(request, "GET", None)))
    local = workshop.start_at.astimezone(zone)
    returning = returning_from_checkout(request, workshop=workshop)
    return {
        "waitlist_open": waitlist_refused is None,
        "waitlist_refusal": waitlist_refused,
        "waitlist_action": reverse("coaching:workshop_waitlist", args=[workshop.slug]),
        "workshop": workshop,
        "cal": links.instance,
        "p": id_prefix(links.instance),
        "seats_left": left,
        "bookable": refusal is None,
        "refusal": refusal,
        "slot_start": workshop.start_at,
        "slot_end": workshop.end_at,
        "form": form or guest_form(WorkshopBookingForm, instance=links.instance, initial=returning, seats_left=left),
        "form_action": links.region("workshop_book", workshop.slug),
        "close_url": links.page(month=(local.year, local.month)),
        "panel_state_url": links.page(month=(local.year, local.month), workshop=workshop.slug),
        "price_display": "Free" if workshop.is_free else f"{workshop.price_display} per seat",
        "zone": zone,
        "checkout_cancelled": returning is not None,
    }


def returning_from_checkout(
    request: HttpRequest | None, *, coach: Coach | None = None, start_at=None, workshop: Workshop | None = None
) -> dict | None:
    """What the guest typed before leaving the checkout (kept in their session by the checkout's
    cancel page), once, for the form of the same time or workshop; else None."""
    session = getattr(request, "session", None)
    if session is None or CHECKOUT_CANCELLED_KEY not in session:
        return None
    saved = session[CHECKOUT_CANCELLED_KEY]
    if workshop is not None:
        matches = saved.get("workshop") == workshop.slug
    else:
        matches = coach is not None and saved.get("coach") == coach.slug and saved.get("start") == iso_z(start_at)
    if not matches:
        return None
    del session[CHECKOUT_CANCELLED_KEY]
    return saved.get("guest", {})


def package_details(request: HttpRequest | None, coach: Coach) -> dict | None:
    """The booking form's details when the guest came from their package link (coaching/web/packages.py
    keeps them in their session): name, email and the package's code, for that package's coach only."""
    saved = getattr(request, "session", {}).get(PACKAGE_DETAILS_KEY) if request is not None else None
    if not saved or saved.get("coach") != coach.slug:
        return None
    return {key: saved.get(key, "") for key in ("name", "email", "code")}


def confirmation_context(request: HttpRequest | None, booking: Booking) -> dict:
    """A confirmed booking as its guest sees it (the free booking's panel and the paid return page):
    both zones, the calendar links and the manage link."""
    return {
        "booking": booking,
        "guest_zone": zone_from_name(booking.guest_timezone) or viewer_zone(request),
        "host_zone": booking.host.zone,
        "ics_url": ics_url(booking),
        "google_calendar_url": google_calendar_url(booking),
        "manage_url": manage_url(booking),
    }


def workshop_page_context(request: HttpRequest, workshop: Workshop) -> dict:
    """A workshop's own page (pages.WorkshopPage): its booking panel, the waiting-list form when it
    is sold out, and every upcoming date of its series."""
    context = workshop_panel_context(request, workshop)
    if context["waitlist_open"]:
        context["waitlist_form"] = WaitlistForm()
    context["series_dates"] = series_dates(workshop)
    return context
