"""Demo content for the embedded mode. Every step is idempotent: a second run changes nothing."""

import os
from datetime import date, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from wagtail.models import Page, Site

from coaching.models import (
    AvailabilityBlock,
    Booking,
    Coach,
    DateOverride,
    IntakeQuestion,
    Package,
    PromotionCode,
    SessionType,
    TimeOff,
    WaitlistEntry,
    WeeklyHours,
    Workshop,
    WorkshopSeries,
)
from coaching.services.payment import LOCAL_PAYMENT_INTENT_PREFIX
from coaching.wallclock import local_to_utc
from pages.models import CoachIndexPage, CoachPage, HomePage, StandardPage, WorkshopIndexPage, WorkshopPage
from snippets.models import FAQ, Testimonial

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "change-me-demo")

COACHES = [
    {
        "slug": "amara-okafor",
        "name": "Amara Okafor",
        "email": "amara@example.com",
        "headline": "Career coach for people changing direction",
        "bio": "Fifteen years in recruitment taught Amara what hiring managers look for. "
        "Start with a free intro call; her sessions help you find the next step and a plan to take it.",
        "timezone": "Europe/London",
        # Three kinds of session: a free intro call first (what a first visit books), then two paid ones,
        # each with its own place and questions.
        "session_types": [
            {
                "slug": "amara-intro-call",
                "title": "Intro call",
                "description": "A free 20 minutes to see whether we are a good fit.",
                "duration_minutes": 20,
                "buffer_minutes": 10,
                "price_amount": 0,
                "currency": "GBP",
                "location_kind": "video",
                "location_detail": "https://video.example.com/amara-okafor",
                "questions": [
                    {"label": "What would you like to change?", "kind": "short_text", "required": False},
                ],
            },
            {
                "slug": "amara-career-session",
                "title": "Career session",
                "description": "An hour on where you are, where you want to be and the next step.",
                "duration_minutes": 60,
                "buffer_minutes": 15,
                "price_amount": 7500,
                "currency": "GBP",
                "location_kind": "in_person",
                "location_detail": "Northstar Studio, 12 Clerkenwell Road, London EC1M 5PQ",
                "questions": [
                    {
                        "label": "Where are you now?",
                        "kind": "single_choice",
                        "required": True,
                        "choices": "Employed\nBetween jobs\nStudying\nSelf-employed",
                    },
                    {"label": "Anything Amara should read before you meet?", "kind": "long_text", "required": False},
                ],
                # Recurring sessions: guests may book the same time every week, up to 8 in one go.
                "recurring_every_weeks": 1,
                "recurring_max_occurrences": 8,
            },
            {
                "slug": "amara-deep-dive",
                "title": "Deep dive",
                "description": "90 minutes on your CV, interviews or a whole career change, with a written plan after.",
                "duration_minutes": 90,
                "buffer_minutes": 15,
                "price_amount": 14000,
                "currency": "GBP",
                "location_kind": "phone",
                "questions": [
                    {
                        "label": "What shall we cover?",
                        "kind": "multiple_choice",
                        "required": True,
                        "choices": "Your CV\nInterviews\nNegotiating an offer\nChanging career",
                    },
                    {"label": "Have you had a session with Amara before?", "kind": "yes_no", "required": True},
                ],
            },
        ],
        "min_notice_minutes": 12 * 60,
        "horizon_days": 60,
    },
    {
        "slug": "daniel-reyes",
        "name": "Daniel Reyes",
        "email": "daniel@example.com",
        "headline": "Leadership coach for first-time managers",
        "bio": "Daniel has coached over 300 new managers through their first year: feedback, "
        "delegation and the conversations nobody trains you for.",
        "timezone": "America/New_York",
        "session_types": [
            {
                "slug": "daniel-leadership-session",
                "title": "Leadership session",
                "description": "45 minutes on the conversation, decision or habit in front of you this week.",
                "duration_minutes": 45,
                "price_amount": 9000,
                "currency": "USD",
                "buffer_minutes": 15,
            },
        ],
        "min_notice_minutes": 24 * 60,
        "horizon_days": 60,
    },
    {
        "slug": "yuki-tanaka",
        "name": "Yuki Tanaka",
        "email": "yuki@example.com",
        "headline": "Focus and productivity coach",
        "bio": "Yuki helps founders and creatives protect deep work without burning out.",
        "timezone": "Asia/Tokyo",
        "session_types": [
            {
                "slug": "yuki-focus-session",
                "title": "Focus session",
                "description": "Half an hour to plan a week of deep work, and protect it.",
                "duration_minutes": 30,
                "price_amount": 4500,
                "currency": "GBP",
                "buffer_minutes": 0,
            },
        ],
        "min_notice_minutes": 6 * 60,
        "horizon_days": 60,
    },
]

# Every demo coach works Mon–Fri 09:00–12:00 and 13:00–17:00 in their own zone: weekly hours, so the
# calendar never runs dry. On top: one date override (Yuki), a week of time off (Daniel) and one
# one-off Bulk-add block (Amara), so each kind of availability can be seen in the admin.
WEEKLY_HOURS = [(weekday, time(9), time(12)) for weekday in range(5)] + [
    (weekday, time(13), time(17)) for weekday in range(5)
]

TESTIMONIALS = [
    {
        "author": "Priya N.",
        "role": "Moved from finance into product",
        "quote": "Three sessions with Amara gave me a plan I actually followed. Six months later I have the job.",
    },
    {
        "author": "Tom B.",
        "role": "First-time engineering manager",
        "quote": "Daniel helped me have the conversation I had put off for a month. It went better than I feared.",
    },
]

FAQS = [
    {
        "question": "How do I book a session?",
        "answer": "<p>Choose a coach, a day with a dot and a time. Free sessions are confirmed at once; "
        "paid ones as soon as your payment goes through.</p>",
    },
    {
        "question": "Can I move or cancel my booking?",
        "answer": "<p>Yes. Your confirmation email has a link to your booking, where you can move or cancel it. "
        "Lost it? Use <b>Get a new one</b> at the bottom of any page.</p>",
    },
    {
        "question": "Which time zone are the times in?",
        "answer": "<p>Yours: your browser tells us, and every time on the site says which zone it is in. "
        "You can change it under the calendar.</p>",
    },
]


def run() -> list[str]:
    report = []
    with transaction.atomic():
        report.append(ensure_admin())
        coaches = {spec["slug"]: ensure_coach(spec) for spec in COACHES}
        report.append(f"Coaches: {len(coaches)}; {ensure_availability(coaches)}")
        workshops = ensure_workshops(coaches)
        report.append(f"Workshops: {len(workshops)}")
        report.append(ensure_past_session(coaches["yuki-tanaka"]))
        report.append(ensure_package_and_code(coaches))
        home = ensure_home_page()
        report.extend(ensure_pages(home, coaches, workshops))
        report.extend(ensure_testimonials_and_faqs(home))
    report.append(f"Wagtail admin: /admin/  user: {DEMO_ADMIN_USERNAME}  password: {DEMO_ADMIN_PASSWORD}")
    return report


def ensure_admin() -> str:
    User = get_user_model()
    if User.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        return f"Admin user '{DEMO_ADMIN_USERNAME}' already exists"
    User.objects.create_superuser(DEMO_ADMIN_USERNAME, "owner@example.com", DEMO_ADMIN_PASSWORD)
    return f"Created admin user '{DEMO_ADMIN_USERNAME}'"


def ensure_coach(spec: dict) -> Coach:
    fields = {key: value for key, value in spec.items() if key != "session_types"}
    coach, _ = Coach.objects.get_or_create(slug=spec["slug"], defaults=fields)
    # A demo database seeded before session types existed got one "1-on-1 session" per coach from
    # the migration; the demo's own types replace it.
    SessionType.objects.filter(coaches=coach, slug=f"{coach.slug}-session").update(is_active=False)
    for position, type_spec in enumerate(spec["session_types"]):
        fields = {key: value for key, value in type_spec.items() if key != "questions"}
        session_type, created = SessionType.objects.get_or_create(
            slug=type_spec["slug"], defaults={**fields, "sort_order": position}
        )
        if created:
            session_type.coaches.add(coach)
            for order, question in enumerate(type_spec.get("questions", [])):
                session_type.questions.add(IntakeQuestion(sort_order=order, **question))
            session_type.save()  # a cluster's children and ParentalManyToManyField are written on save
    return coach


def ensure_availability(coaches: dict[str, Coach]) -> str:
    """Weekly hours for every coach; Yuki's override, Daniel's week off and Amara's one-off block.

    Each is added only when that coach has none of its kind yet, so a second run adds nothing (and
    a database seeded before weekly hours existed keeps its blocks).
    """
    added = {"weekly hours": 0, "date overrides": 0, "time off": 0, "one-off blocks": 0}
    for coach in coaches.values():
        if not WeeklyHours.objects.filter(coach=coach).exists():
            WeeklyHours.objects.bulk_create(
                WeeklyHours(coach=coach, weekday=weekday, start_time=start, end_time=end)
                for weekday, start, end in WEEKLY_HOURS
            )
            added["weekly hours"] += len(WEEKLY_HOURS)
    today = {slug: timezone.now().astimezone(coach.zone).date() for slug, coach in coaches.items()}
    yuki = coaches["yuki-tanaka"]
    if not DateOverride.objects.filter(coach=yuki).exists():
        # Afternoon only on Friday next week.
        DateOverride.objects.create(
            coach=yuki, date=_next_weekday(today[yuki.slug], 4, 1), start_time=time(13), end_time=time(17)
        )
        added["date overrides"] += 1
    daniel = coaches["daniel-reyes"]
    if not TimeOff.objects.filter(coach=daniel).exists():
        first = _next_weekday(today[daniel.slug], 0, 3)  # Monday, in three weeks
        TimeOff.objects.create(
            coach=daniel, start_date=first, end_date=first + timedelta(days=6), reason="Leadership conference"
        )
        added["time off"] += 1
    amara = coaches["amara-okafor"]
    if not AvailabilityBlock.objects.filter(coach=amara).exists():
        # An extra Saturday morning next week: what Bulk add is for.
        saturday = _next_weekday(today[amara.slug], 5, 1)
        AvailabilityBlock.objects.create(
            coach=amara,
            start_at=local_to_utc(saturday, time(10), amara.zone),
            end_at=local_to_utc(saturday, time(13), amara.zone),
        )
        added["one-off blocks"] += 1
    return "added " + ", ".join(f"{kind}: {count}" for kind, count in added.items())


def ensure_package_and_code(coaches: dict[str, Coach]) -> str:
    """One package for sale on Daniel's page (five leadership sessions, $400 instead of $450, six months) and
    one promotion code (WELCOME10: 10 % off anything, 100 uses)."""
    package, _ = Package.objects.get_or_create(
        slug="five-leadership-sessions",
        defaults={
            "title": "5 leadership sessions",
            "coach": coaches["daniel-reyes"],
            "summary": "Your first months as a manager, one conversation at a time. Save $50 on five sessions.",
            "credits": 5,
            "price_amount": 40000,
            "currency": "USD",
            "validity_days": 180,
        },
    )
    if not package.session_types.exists():
        package.session_types.set(SessionType.objects.filter(slug="daniel-leadership-session"))
    code, _ = PromotionCode.objects.get_or_create(
        code="WELCOME10",
        defaults={"description": "Demo: 10% off for new clients", "percent_off": 10, "max_uses": 100},
    )
    return f"Package: {package.title} ({package.price_display}); promotion code: {code.code} ({code.discount_display})"


def _next_weekday(start: date, weekday: int, weeks_ahead: int) -> date:
    days = (weekday - start.weekday()) % 7
    return start + timedelta(days=days + 7 * weeks_ahead)


def ensure_workshops(coaches: dict[str, Coach]) -> list[Workshop]:
    today = timezone.now().date()
    specs = [
        {
            "slug": "career-clarity-lab",
            "title": "Career Clarity Lab",
            "host": coaches["amara-okafor"],
            "summary": "A free evening workshop: map your strengths and leave with three concrete next steps.",
            "day": _next_weekday(today, 2, 1),  # Wednesday, next week
            "start": time(18, 0),
            "hours": 2,
            "capacity": 20,
            "price_amount": 0,
            "currency": "GBP",
            "online_url": "https://meet.example.com/career-clarity",
        },
        {
            "slug": "leading-through-change",
            "title": "Leading Through Change",
            "host": coaches["daniel-reyes"],
            "summary": "A half-day workshop for managers steering a team through a reorganisation.",
            "day": _next_weekday(today, 3, 2),  # Thursday, in two weeks
            "start": time(13, 0),
            "hours": 3,
            "capacity": 12,
            "price_amount": 4500,
            "currency": "GBP",
            "location": "The Studio, 12 Market Street, London",
        },
        {
            "slug": "deep-work-sprint",
            "title": "Deep Work Sprint",
            "host": coaches["yuki-tanaka"],
            "summary": "Ninety minutes of guided focus practice. Sold out — join the waiting list for a seat that frees up.",
            "day": _next_weekday(today, 5, 1),  # Saturday, next week
            "start": time(10, 0),
            "hours": 1.5,
            "capacity": 8,
            "price_amount": 0,
            "currency": "GBP",
            "online_url": "https://meet.example.com/deep-work",
        },
    ]
    workshops = []
    for spec in specs:
        host = spec["host"]
        start_at = local_to_utc(spec["day"], spec["start"], host.zone)
        defaults = {
            "title": spec["title"],
            "host": host,
            "summary": spec["summary"],
            "start_at": start_at,
            "end_at": start_at + timedelta(hours=spec["hours"]),
            "capacity": spec["capacity"],
            "price_amount": spec["price_amount"],
            "currency": spec["currency"],
            "location": spec.get("location", ""),
            "online_url": spec.get("online_url", ""),
        }
        workshop, created = Workshop.objects.get_or_create(slug=spec["slug"], defaults=defaults)
        workshops.append(workshop)
    _fill(workshops[2], seats_taken=8)  # sold out…
    _wait(workshops[2], name="Priya Shah", email="priya@demo.invalid")  # …with someone on its waiting list
    _fill(workshops[1], seats_taken=2, paid=True)  # paid seats, refunded by the test checkout if cancelled
    return workshops + ensure_series(coaches["yuki-tanaka"])


def ensure_series(host: Coach) -> list[Workshop]:
    """ "Saturday Deep Work": one workshop on the first Saturday of each of the next three months,
    18:00 in Tokyo, six seats a date (a WorkshopSeries of three Workshop rows)."""
    series, _ = WorkshopSeries.objects.get_or_create(
        slug="saturday-deep-work",
        defaults={"title": "Saturday Deep Work", "summary": "Two hours of quiet, focused work together, monthly."},
    )
    today = timezone.now().date()
    dates = []
    for number in range(1, 4):
        first = date(today.year + (today.month - 1 + number) // 12, (today.month - 1 + number) % 12 + 1, 1)
        start_at = local_to_utc(_next_weekday(first, 5, 0), time(18, 0), host.zone)
        workshop, _ = Workshop.objects.get_or_create(
            slug=f"saturday-deep-work-{number}",
            defaults={
                "title": "Saturday Deep Work",
                "series": series,
                "host": host,
                "summary": series.summary,
                "start_at": start_at,
                "end_at": start_at + timedelta(hours=2),
                "capacity": 6,
                "online_url": "https://meet.example.com/saturday-deep-work",
            },
        )
        dates.append(workshop)
    _fill(dates[0], seats_taken=4)
    return dates


def _fill(workshop: Workshop, *, seats_taken: int, paid: bool = False) -> None:
    existing = Booking.objects.filter(workshop=workshop, guest_email__endswith="@demo.invalid").count()
    Booking.objects.bulk_create(
        [
            Booking(
                workshop=workshop,
                start_at=workshop.start_at,
                end_at=workshop.end_at,
                seats=1,
                status=Booking.Status.CONFIRMED,
                guest_name=f"Demo guest {n + 1}",
                guest_email=f"guest{n + 1}.{workshop.slug}@demo.invalid",
                guest_timezone=workshop.host.timezone,
                currency=workshop.currency,
                confirmed_at=timezone.now(),
                amount_due=workshop.price_amount if paid else 0,
                is_paid=paid,
                amount_paid=workshop.price_amount if paid else 0,
                # "Paid" through the built-in test checkout: a refund is recorded, no money moves.
                stripe_payment_intent_id=f"{LOCAL_PAYMENT_INTENT_PREFIX}demo{n + 1}{workshop.pk}" if paid else "",
            )
            for n in range(existing, seats_taken)
        ]
    )


def ensure_past_session(coach: Coach) -> str:
    """A paid 1-on-1 from yesterday for the owner's desk: mark it attended, refund half, export or
    erase its client ("Maya Patel")."""
    email = "maya.patel@demo.invalid"
    if Booking.objects.filter(guest_email=email).exists():
        return "Past paid session (Maya Patel) already there"
    session_type = coach.default_session_type()
    yesterday = timezone.now().astimezone(coach.zone).date() - timedelta(days=1)
    start_at = local_to_utc(yesterday, time(10), coach.zone)
    Booking.objects.create(
        coach=coach,
        session_type=session_type,
        session_title=session_type.title,
        session_minutes=session_type.duration_minutes,
        start_at=start_at,
        end_at=start_at + timedelta(minutes=session_type.duration_minutes),
        status=Booking.Status.CONFIRMED,
        guest_name="Maya Patel",
        guest_email=email,
        guest_phone="+44 7700 900456",
        guest_notes="Wants to protect mornings for writing.",
        guest_timezone="Europe/London",
        currency=session_type.currency,
        amount_due=session_type.price_amount,
        is_paid=True,
        amount_paid=session_type.price_amount,
        confirmed_at=start_at - timedelta(days=3),
        # "Paid" through the built-in test checkout: a refund is recorded, no money moves.
        stripe_payment_intent_id=f"{LOCAL_PAYMENT_INTENT_PREFIX}demo-maya",
    )
    return "Past paid session: Maya Patel with Yuki Tanaka, yesterday (mark attended, refund half)"


def _wait(workshop: Workshop, *, name: str, email: str) -> None:
    WaitlistEntry.objects.get_or_create(
        workshop=workshop,
        guest_email=email,
        defaults={"guest_name": name, "guest_timezone": "Europe/London", "seats": 1},
    )


def ensure_home_page() -> HomePage:
    home = HomePage.objects.first()
    if home is None:
        # Wagtail's migration creates the tree root; a flushed database (e.g. after a transactional
        # test) has none, so make one rather than fail.
        root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
        # Wagtail's migration leaves a placeholder "Welcome" page; our HomePage replaces it.
        placeholder = Page.objects.filter(depth=2, slug="home").exclude(content_type__app_label="pages").first()
        slug = "home"
        if placeholder is not None:
            placeholder.slug = "wagtail-welcome"
            placeholder.save()
        home = HomePage(
            title="Coaching that moves you forward",
            slug=slug,
            intro="Book a 1-on-1 session with one of our coaches, or a seat in a small-group workshop.",
        )
        root.add_child(instance=home)
        home.save_revision().publish()
        if placeholder is not None:
            Site.objects.filter(root_page=placeholder).update(root_page=home)
            placeholder.delete()
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost", port=80, root_page=home, is_default_site=True, site_name="Northstar Coaching"
        )
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.save()
    return home


def ensure_pages(home: HomePage, coaches: dict, workshops: list) -> list[str]:
    report = []
    if not StandardPage.objects.filter(slug="about").exists():
        about = StandardPage(
            title="About us",
            slug="about",
            show_in_menus=True,
            intro="A small team of coaches who believe good coaching should be easy to book.",
        )
        home.add_child(instance=about)
        about.save_revision().publish()
        report.append("Created page: About us")
    report.extend(ensure_booking_pages(home, coaches, workshops))
    return report


def _publish_child(parent, page) -> None:
    parent.add_child(instance=page)
    page.save_revision().publish()


def ensure_booking_pages(home: HomePage, coaches: dict, workshops: list) -> list[str]:
    """Coach index + one CoachPage per coach, workshop index + one WorkshopPage per workshop, and a
    booking calendar on the home page. Each is created only when missing."""
    report = []
    coach_index = CoachIndexPage.objects.first()
    if coach_index is None:
        coach_index = CoachIndexPage(
            title="Coaches", slug="coaches", show_in_menus=True, intro="Pick a coach and book a time that suits you."
        )
        _publish_child(home, coach_index)
        report.append("Created page: Coaches")
    for coach in coaches.values():
        if not CoachPage.objects.filter(coach=coach).exists():
            _publish_child(coach_index, CoachPage(title=coach.name, slug=coach.slug, coach=coach))
            report.append(f"Created coach page: {coach.name}")
    workshop_index = WorkshopIndexPage.objects.first()
    if workshop_index is None:
        workshop_index = WorkshopIndexPage(
            title="Workshops",
            slug="workshops",
            show_in_menus=True,
            intro="Small-group workshops, online and in person.",
        )
        _publish_child(home, workshop_index)
        report.append("Created page: Workshops")
    for workshop in workshops:
        if workshop.series_id and workshop.series.dates.exclude(pk=workshop.pk).filter(pages__isnull=False).exists():
            continue  # one page per series: it lists every date
        if not WorkshopPage.objects.filter(workshop=workshop).exists():
            slug = workshop.series.slug if workshop.series_id else workshop.slug
            _publish_child(workshop_index, WorkshopPage(title=workshop.title, slug=slug, workshop=workshop))
            report.append(f"Created workshop page: {workshop.title}")
    if not any(block.block_type == "booking_calendar" for block in home.body):
        first_coach = next(iter(coaches.values()))
        home.body.append(
            (
                "booking_calendar",
                {
                    "heading": f"Book a free session with {first_coach.name}",
                    "show": "coach",
                    "coach": first_coach,
                    "session_type": first_coach.default_session_type(),  # pinned: the free intro call
                },
            )
        )
        home.save_revision().publish()
        report.append("Added a booking calendar to the home page")
    return report


def ensure_testimonials_and_faqs(home: HomePage) -> list[str]:
    """The Testimonial and FAQ snippets, shown on the home page below its calendar."""
    testimonials = [Testimonial.objects.get_or_create(author=spec["author"], defaults=spec)[0] for spec in TESTIMONIALS]
    faqs = [
        FAQ.objects.get_or_create(question=spec["question"], defaults={**spec, "sort_order": position})[0]
        for position, spec in enumerate(FAQS, start=1)
    ]
    if any(block.block_type in ("testimonial", "faq") for block in home.body):
        return []
    for testimonial in testimonials:
        home.body.append(("testimonial", {"testimonial": testimonial}))
    home.body.append(("faq", {"heading": "Questions and answers", "questions": faqs}))
    home.save_revision().publish()
    return [f"Added {len(testimonials)} testimonials and {len(faqs)} FAQs to the home page"]
