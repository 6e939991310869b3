"""The owner's desk through the admin's HTTP edge: a readable booking page, attendance, a partial
refund, the Notifications screen, client data, the dashboard — and a coach kept to their own rows
on every one of those URLs, and on the snippets' edit URLs."""

import csv
import io
import json
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from coaching.intake import answer_key
from coaching.models import Booking, BookingLog, IntakeQuestion, Notification, Refund
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachFactory,
    SessionTypeFactory,
    WorkshopFactory,
)
from coaching.wallclock import local_to_utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def coach_user(django_user_model):
    """A coach whose group gives wide model permissions: the Coach link still keeps them to their rows."""
    user = django_user_model.objects.create_user("anna", "anna@example.com", "pw")
    group, _ = Group.objects.get_or_create(name="Coaches with editing rights")
    group.permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "access_admin",
                "change_coach",
                "view_coach",
                "delete_coach",
                "change_workshop",
                "view_workshop",
                "delete_workshop",
                "change_sessiontype",
                "view_sessiontype",
            ]
        )
    )
    user.groups.add(group)
    return user


@pytest.fixture
def anna(coach_user):
    return CoachFactory(name="Anna", slug="anna", user=coach_user)


@pytest.fixture
def coach_client(client, coach_user, anna):
    client.force_login(coach_user)
    return client


def past(hours):
    return (timezone.now() - timedelta(hours=hours)).replace(microsecond=0)


def future(hours):
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)


def inspect_url(booking):
    return reverse("coaching_booking_modeladmin_inspect", args=[booking.pk])


# --- a readable booking page and list --------------------------------------------------------------


def test_the_booking_page_reads_in_the_coachs_zone_with_money_as_money(owner_client):
    coach = CoachFactory(name="Hana Sato", timezone="Asia/Tokyo", currency="JPY", price_amount=5000)
    booking = BookingFactory(
        coach=coach,
        guest_name="Grace Hopper",
        start_at=datetime(2030, 1, 7, 0, tzinfo=UTC),
        end_at=datetime(2030, 1, 7, 1, tzinfo=UTC),
        currency="JPY",
        amount_due=5000,
        amount_paid=5000,
        is_paid=True,
    )
    page = owner_client.get(inspect_url(booking)).content.decode()
    assert "Mon 07 Jan 2030, 09:00–10:00 JST (Asia/Tokyo)" in page  # 00:00 UTC is 09:00 in Tokyo
    assert "¥5,000" in page and ">5000<" not in page
    assert "Cancel Grace Hopper&#x27;s 1-on-1 session on Mon 07 Jan, 09:00" in page
    assert "1-on-1 session with Hana Sato" in page


def test_the_bookings_list_shows_the_coachs_time_money_and_attendance(owner_client):
    coach = CoachFactory(name="Bea Brown", timezone="America/New_York")
    BookingFactory(
        coach=coach,
        start_at=datetime(2030, 7, 1, 14, tzinfo=UTC),
        end_at=datetime(2030, 7, 1, 15, tzinfo=UTC),
        amount_due=6000,
        amount_paid=6000,
        amount_refunded=3000,
        attendance="no_show",
    )
    page = owner_client.get(reverse("coaching_booking_modeladmin_index")).content.decode()
    assert "Mon 01 Jul 2030, 10:00–11:00 EDT (America/New_York)" in page
    assert "£60.00 (£30.00 refunded)" in page
    assert "No-show" in page
    assert "When (coach&#x27;s time)" in page or "When (coach's time)" in page


def test_the_csv_has_attendance_and_amounts_in_real_units(owner_client):
    booking = BookingFactory(amount_due=6000, amount_paid=6000, amount_refunded=2550, attendance="attended")
    response = owner_client.get(reverse("coaching_booking_modeladmin_index") + "?export=csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    (row,) = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert row["Reference"] == booking.reference
    assert (row["Price"], row["Paid"], row["Refunded"], row["Attendance"]) == ("60.00", "60.00", "25.50", "Attended")


# --- attendance ----------------------------------------------------------------------------------


def test_attendance_buttons_appear_after_the_start_and_mark_it(owner_client, owner):
    upcoming = BookingFactory(start_at=future(2), end_at=future(3))
    assert 'id="attendance-form"' not in owner_client.get(inspect_url(upcoming)).content.decode()

    started = BookingFactory(start_at=past(1), end_at=future(1))
    assert "Mark no-show" in owner_client.get(inspect_url(started)).content.decode()
    response = owner_client.post(reverse("coaching_admin:attendance", args=[started.pk]), {"attendance": "no_show"})
    assert response.status_code == 302
    started.refresh_from_db()
    assert started.attendance == Booking.Attendance.NO_SHOW
    entry = started.log_entries.get(action="no_show")
    assert entry.actor_user == owner

    page = owner_client.get(inspect_url(started)).content.decode()
    assert "No-show" in page and "Mark attended" in page

    owner_client.post(reverse("coaching_admin:attendance", args=[upcoming.pk]), {"attendance": "attended"})
    upcoming.refresh_from_db()
    assert upcoming.attendance == ""


def test_no_shows_count_on_the_dashboard(owner_client):
    BookingFactory(start_at=past(30), end_at=past(29), attendance="no_show")
    BookingFactory(start_at=past(30), end_at=past(29), attendance="attended")
    page = owner_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "No-shows in the last 30 days: 1" in page


# --- a partial refund ----------------------------------------------------------------------------


def paid_booking(**fields):
    fields = {
        "start_at": future(48),
        "end_at": future(49),
        "amount_due": 6000,
        "amount_paid": 6000,
        "is_paid": True,
        "stripe_payment_intent_id": "pi_test_local_abc",
        **fields,
    }
    return BookingFactory(**fields)


def test_the_owner_refunds_half_in_pounds_with_a_reason(owner_client, django_capture_on_commit_callbacks):
    booking = paid_booking()
    url = reverse("coaching_admin:refund_booking", args=[booking.pk])
    page = owner_client.get(url).content.decode()
    assert "£60.00" in page and "at most £60.00" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, {"amount": "30", "reason": "Session cut short"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.amount_refunded == 3000 and booking.status == Booking.Status.CONFIRMED
    refund = Refund.objects.get(booking=booking)
    assert (refund.amount, refund.reason, refund.status) == (3000, "Session cut short", Refund.Status.SUCCEEDED)


@pytest.mark.parametrize(
    ("typed", "message"),
    [("60.01", "at most £60.00"), ("0", "above zero"), ("12.345", "two decimals"), ("lots", "such as 30")],
)
def test_a_refund_above_what_was_paid_or_not_an_amount_is_refused(owner_client, typed, message):
    booking = paid_booking()
    response = owner_client.post(
        reverse("coaching_admin:refund_booking", args=[booking.pk]), {"amount": typed, "reason": "Goodwill"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Refund.objects.exists()


def test_a_failed_refund_shows_on_the_booking_with_retry(owner_client):
    booking = paid_booking(amount_refunded=0)
    refund = Refund.objects.create(
        booking=booking,
        amount=2500,
        currency="GBP",
        actor="owner",
        status=Refund.Status.FAILED,
        last_error="StripeRefused: charge disputed",
    )
    page = owner_client.get(inspect_url(booking)).content.decode()
    assert "£25.00" in page and "charge disputed" in page
    assert reverse("coaching_admin:retry_refund", args=[refund.pk]) in page


# --- the Notifications screen --------------------------------------------------------------------


def notification(booking, **fields):
    fields = {
        "kind": "confirmation",
        "recipient": booking.guest_email,
        "dedupe_key": f"test:{booking.pk}:{fields.get('kind', 'confirmation')}:{fields.get('status', 'sent')}",
        "context": {"start_at": booking.start_at.isoformat(), "end_at": booking.end_at.isoformat(), "sequence": 0},
        **fields,
    }
    return Notification.objects.create(booking=booking, **fields)


def test_the_notifications_screen_lists_filters_and_retries(owner_client, django_capture_on_commit_callbacks):
    booking = BookingFactory()
    failed = notification(booking, status="failed", attempts=6, last_error="Mailbox unavailable")
    notification(booking, kind="coach_new", recipient=booking.coach.email, status="sent")

    page = owner_client.get(reverse("coaching_admin:notifications")).content.decode()
    assert "Booking confirmed (to the client)" in page and "New booking (to the coach)" in page
    assert "Mailbox unavailable" in page and booking.reference in page

    response = owner_client.get(reverse("coaching_admin:notifications") + "?status=failed")
    assert [row.pk for row in response.context["page"].object_list] == [failed.pk]
    response = owner_client.get(reverse("coaching_admin:notifications") + f"?q={booking.coach.email}")
    assert [row.kind for row in response.context["page"].object_list] == ["coach_new"]

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("coaching_admin:retry_notification", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Notification.Status.SENT


def test_the_dashboards_undelivered_alert_links_to_the_notifications_screen(owner_client):
    notification(BookingFactory(), status="failed")
    page = owner_client.get(reverse("wagtailadmin_home")).content.decode()
    assert f'href="{reverse("coaching_admin:notifications")}?status=failed"' in page
    assert owner_client.get(reverse("coaching_admin:notifications") + "?status=failed").status_code == 200


# --- client data ---------------------------------------------------------------------------------


def test_the_owner_finds_exports_and_erases_a_client(owner_client, owner):
    booking = BookingFactory(guest_name="Grace Hopper", guest_email="grace@example.com", guest_notes="Knee")
    page = owner_client.get(reverse("coaching_admin:client") + "?email=grace@example.com").content.decode()
    assert booking.reference in page and "Erase grace@example.com" in page

    response = owner_client.get(reverse("coaching_admin:client_export") + "?email=grace@example.com&format=json")
    assert response["Content-Disposition"].startswith('attachment; filename="client-grace-at-example-com')
    export = json.loads(response.content)
    assert export["bookings"][0]["guest_notes"] == "Knee"
    response = owner_client.get(reverse("coaching_admin:client_export") + "?email=grace@example.com&format=csv")
    assert "Grace Hopper" in response.content.decode()

    refused = owner_client.post(reverse("coaching_admin:client_erase"), {"email": "grace@example.com", "confirm": "no"})
    assert refused.status_code == 302
    booking.refresh_from_db()
    assert booking.guest_name == "Grace Hopper"

    owner_client.post(reverse("coaching_admin:client_erase"), {"email": "grace@example.com", "confirm": "ERASE"})
    booking.refresh_from_db()
    assert booking.guest_name == "Erased client" and booking.guest_notes == ""
    actions = list(BookingLog.objects.filter(booking=booking).values_list("action", "actor_user"))
    assert ("client_exported", owner.pk) in actions and ("client_erased", owner.pk) in actions


# --- a coach is kept to their own rows on every desk URL ------------------------------------------


def test_a_coach_is_refused_another_coachs_booking_notification_export_and_erase(coach_client, anna):
    foreign = paid_booking(guest_email="foreign@example.com", start_at=past(1), end_at=future(1))
    row = notification(foreign, status="failed")
    for url in (
        inspect_url(foreign),
        reverse("coaching_admin:refund_booking", args=[foreign.pk]),
        reverse("coaching_admin:notification", args=[row.pk]),
    ):
        response = coach_client.get(url)
        assert response.status_code in (403, 404) or response.url == reverse("wagtailadmin_home"), url
    for url, data in (
        (reverse("coaching_admin:attendance", args=[foreign.pk]), {"attendance": "no_show"}),
        (reverse("coaching_admin:refund_booking", args=[foreign.pk]), {"amount": "10", "reason": "x"}),
        (reverse("coaching_admin:retry_notification", args=[row.pk]), {}),
    ):
        assert coach_client.post(url, data).status_code == 404, url
    export = coach_client.get(reverse("coaching_admin:client_export") + "?email=foreign@example.com&format=json")
    assert export.status_code == 404
    coach_client.post(reverse("coaching_admin:client_erase"), {"email": "foreign@example.com", "confirm": "ERASE"})

    foreign.refresh_from_db()
    row.refresh_from_db()
    assert (foreign.attendance, foreign.amount_refunded, foreign.guest_email) == ("", 0, "foreign@example.com")
    assert row.status == Notification.Status.FAILED and not Refund.objects.exists()
    listed = coach_client.get(reverse("coaching_admin:notifications")).context["page"].object_list
    assert row not in listed


def test_a_coach_works_the_desk_on_their_own_bookings(coach_client, anna):
    own = BookingFactory(coach=anna, start_at=past(1), end_at=future(1), guest_email="mine@example.com")
    row = notification(own, status="failed")
    assert coach_client.get(inspect_url(own)).status_code == 200
    assert coach_client.get(reverse("coaching_admin:notification", args=[row.pk])).status_code == 200
    coach_client.post(reverse("coaching_admin:attendance", args=[own.pk]), {"attendance": "attended"})
    own.refresh_from_db()
    assert own.attendance == "attended"
    response = coach_client.get(reverse("coaching_admin:client_export") + "?email=mine@example.com&format=json")
    assert [b["reference"] for b in json.loads(response.content)["bookings"]] == [own.reference]


def test_a_coach_with_editing_rights_is_refused_other_coaches_and_workshops_snippet_urls(coach_client, anna):
    other = CoachFactory()
    foreign_workshop = WorkshopFactory(host=other)
    own_workshop = WorkshopFactory(host=anna)
    foreign_type = other.default_session_type()
    assert (
        coach_client.get(reverse("wagtailsnippets_coaching_sessiontype:edit", args=[foreign_type.pk])).status_code
        == 404
    )
    for name, pk in (("coach", other.pk), ("workshop", foreign_workshop.pk)):
        for view in ("edit", "delete", "history", "usage", "copy"):
            url = reverse(f"wagtailsnippets_coaching_{name}:{view}", args=[pk])
            assert coach_client.get(url).status_code == 404, url
        assert coach_client.post(reverse(f"wagtailsnippets_coaching_{name}:delete", args=[pk])).status_code == 404
    assert coach_client.get(reverse("wagtailsnippets_coaching_coach:edit", args=[anna.pk])).status_code == 200
    own_type = anna.default_session_type()
    assert coach_client.get(reverse("wagtailsnippets_coaching_sessiontype:edit", args=[own_type.pk])).status_code == 200
    assert (
        coach_client.get(reverse("wagtailsnippets_coaching_workshop:edit", args=[own_workshop.pk])).status_code == 200
    )
    other.refresh_from_db()
    foreign_workshop.refresh_from_db()


# --- move a booking ------------------------------------------------------------------------------


def test_the_owner_moves_a_booking_on_the_coachs_free_times(owner_client, owner, django_capture_on_commit_callbacks):
    coach = CoachFactory(name="Daniel Reyes", timezone="America/New_York", min_notice_minutes=0)
    day = (timezone.now() + timedelta(days=10)).astimezone(coach.zone).date()
    nine = local_to_utc(day, time(9), coach.zone)
    AvailabilityBlockFactory(coach=coach, start_at=nine, end_at=nine + timedelta(hours=4))
    booking = BookingFactory(coach=coach, start_at=nine, end_at=nine + timedelta(hours=1), confirmed_at=nine)
    url = reverse("coaching_admin:move_booking", args=[booking.pk])

    page = owner_client.get(f"{url}?week={day:%Y-%m-%d}").content.decode()
    assert "New York (GMT" in page  # the coach's zone, named
    picker = page.split('id="slot-picker"')[1]
    assert "10:00–11:00" in picker and "09:00–10:00" not in picker  # its own time is not offered
    eleven = (nine + timedelta(hours=2)).astimezone(UTC).isoformat()
    assert f'value="{eleven}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url, {"start_at": eleven})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.start_at == nine + timedelta(hours=2) and booking.ics_sequence == 1
    assert booking.log_entries.get(action="rescheduled").actor_user == owner
    assert booking.notifications.filter(kind="reschedule").exists()


def test_a_move_refused_by_the_policy_says_so_and_offers_the_override(owner_client):
    booking = BookingFactory(start_at=future(2), end_at=future(3), reschedule_count=2, confirmed_at=past(48))
    url = reverse("coaching_admin:move_booking", args=[booking.pk])
    page = owner_client.get(url).content.decode()
    assert 'id="policy-refusal"' in page and "Override the booking policy" in page
    response = owner_client.post(url, {"start_at": future(5).astimezone(UTC).isoformat()})
    assert response.status_code == 409
    assert "Override the booking policy" in response.content.decode()


def test_a_coach_cannot_move_another_coachs_booking(coach_client):
    foreign = BookingFactory(start_at=future(48), end_at=future(49))
    url = reverse("coaching_admin:move_booking", args=[foreign.pk])
    assert coach_client.get(url).status_code == 404
    assert coach_client.post(url, {"start_at": future(50).isoformat()}).status_code == 404


# --- book for a client ---------------------------------------------------------------------------


def test_book_for_a_client_offers_the_guests_times_and_books_through_the_form(owner_client, owner):
    coach = CoachFactory(name="Amara Okafor", min_notice_minutes=0)
    day = (timezone.now() + timedelta(days=5)).astimezone(coach.zone).date()
    nine = local_to_utc(day, time(9), coach.zone)
    AvailabilityBlockFactory(coach=coach, start_at=nine, end_at=nine + timedelta(hours=2))
    url = reverse("coaching_admin:book_for_client") + f"?coach={coach.pk}&week={day:%Y-%m-%d}"
    page = owner_client.get(url).content.decode()
    assert "09:00–10:00" in page and "10:00–11:00" in page

    response = owner_client.post(
        url,
        {
            "start_at": nine.astimezone(UTC).isoformat(),
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "client_timezone": "Europe/London",
            "payment": "free",
        },
    )
    booking = Booking.objects.get(guest_email="grace@example.com")
    assert response.status_code == 302 and response.url == inspect_url(booking)
    assert booking.start_at == nine and booking.log_entries.get(action="confirmed").actor_user == owner
    # Taken now: the same time again is refused with the guests' message, on the form.
    response = owner_client.post(
        url,
        {
            "start_at": nine.astimezone(UTC).isoformat(),
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "client_timezone": "Europe/London",
            "payment": "free",
        },
    )
    assert response.status_code == 409
    assert "that time was just taken" in response.content.decode()


def test_a_coach_books_clients_only_for_themselves(coach_client, anna):
    other = CoachFactory()
    response = coach_client.get(reverse("coaching_admin:book_for_client") + f"?coach={other.pk}")
    assert response.status_code == 200 and response.context["coach"] is None  # not a choice for them
    assert list(response.context["choose"].fields["coach"].queryset) == [anna]
    assert coach_client.get(reverse("coaching_admin:book_for_client")).context["coach"] == anna


def test_book_for_a_client_books_the_chosen_session_type_at_its_length_and_price(owner_client):
    coach = CoachFactory(name="Amara Okafor", min_notice_minutes=0)
    deep_dive = SessionTypeFactory(title="Deep dive", duration_minutes=90, price_amount=15000, coaches=coach)
    day = (timezone.now() + timedelta(days=5)).astimezone(coach.zone).date()
    nine = local_to_utc(day, time(9), coach.zone)
    AvailabilityBlockFactory(coach=coach, start_at=nine, end_at=nine + timedelta(hours=3))
    url = reverse("coaching_admin:book_for_client") + f"?coach={coach.pk}&type={deep_dive.pk}&week={day:%Y-%m-%d}"
    page = owner_client.get(url).content.decode()
    assert "Deep dive" in page and "09:00–10:30" in page and "10:30–12:00" in page

    owner_client.post(
        url,
        {
            "start_at": nine.astimezone(UTC).isoformat(),
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "client_timezone": "Europe/London",
            "payment": "outside",
            "amount_paid": "150",
            "payment_note": "Bank transfer",
        },
    )
    booking = Booking.objects.get(guest_email="grace@example.com")
    assert (booking.session_type, booking.session_title, booking.end_at) == (
        deep_dive,
        "Deep dive",
        nine + timedelta(minutes=90),
    )
    assert (booking.amount_paid, booking.payment_note) == (15000, "Bank transfer")


def test_the_desk_screens_run_a_constant_number_of_queries(owner_client, django_assert_max_num_queries):
    for _ in range(3):
        booking = BookingFactory(amount_paid=6000, amount_due=6000, is_paid=True)
        notification(booking, status="failed")
    owner_client.get(reverse("coaching_admin:notifications"))  # warm the session and the site
    with django_assert_max_num_queries(12) as few:
        owner_client.get(reverse("coaching_admin:notifications"))
    with django_assert_max_num_queries(20) as few_bookings:
        owner_client.get(reverse("coaching_booking_modeladmin_index"))
    for _ in range(20):
        booking = BookingFactory()
        notification(booking, status="failed")
    with django_assert_max_num_queries(len(few.captured_queries)):
        owner_client.get(reverse("coaching_admin:notifications"))
    with django_assert_max_num_queries(len(few_bookings.captured_queries)):
        owner_client.get(reverse("coaching_booking_modeladmin_index"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        owner_client.get(reverse("coaching_admin:client") + "?email=guest1@example.com")


def test_book_for_a_client_asks_the_session_types_questions_and_keeps_the_answers(owner_client):
    coach = CoachFactory(name="Amara Okafor", min_notice_minutes=0)
    question = IntakeQuestion.objects.create(
        session_type=coach.default_session_type(), label="What would you like to work on?", required=True
    )
    day = (timezone.now() + timedelta(days=5)).astimezone(coach.zone).date()
    nine = local_to_utc(day, time(9), coach.zone)
    AvailabilityBlockFactory(coach=coach, start_at=nine, end_at=nine + timedelta(hours=2))
    url = reverse("coaching_admin:book_for_client") + f"?coach={coach.pk}&week={day:%Y-%m-%d}"
    assert "What would you like to work on?" in owner_client.get(url).content.decode()
    data = {
        "start_at": nine.astimezone(UTC).isoformat(),
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "client_timezone": "Europe/London",
        "payment": "free",
    }
    assert owner_client.post(url, data).status_code == 400  # a required question, as for a guest
    owner_client.post(url, {**data, answer_key(question): "Public speaking"})
    booking = Booking.objects.get(guest_email="grace@example.com")
    assert booking.intake_answers[0]["answer"] == "Public speaking"
