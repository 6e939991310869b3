"""The Wagtail back office: snippets, the Bookings group, Bulk add / remove, cancel, CSV, dashboard."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from coaching.models import AvailabilityBlock, Booking, BookingLog, Coach, Notification, Workshop
from coaching.tests.factories import (
    AvailabilityBlockFactory,
    BookingFactory,
    CoachBusySlotFactory,
    CoachFactory,
    WorkshopFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def coach_user(django_user_model):
    """A coach with a Wagtail login: admin access only, no model permissions."""
    user = django_user_model.objects.create_user("anna", "anna@example.com", "pw")
    group, _ = Group.objects.get_or_create(name="Coaches")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(group)
    return user


@pytest.fixture
def anna(coach_user):
    return CoachFactory(name="Anna", slug="anna", user=coach_user)


@pytest.fixture
def coach_client(client, coach_user, anna):
    client.force_login(coach_user)
    return client


def assert_refused(response):
    """Wagtail turns PermissionDenied into a redirect to the dashboard with an error message."""
    refused_by_wagtail = response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert response.status_code in (403, 404) or refused_by_wagtail, response


def bulk_add_data(coach, **overrides):
    data = {
        "coach": coach.pk,
        "weekdays": ["0", "2"],
        "time_ranges": "09:00-12:00, 13:00-17:00",
        "start_date": "2026-03-23",
        "end_date": "2026-04-05",
        "action": "preview",
    }
    data.update(overrides)
    return data


# --- Bulk add / remove -----------------------------------------------------------------------


def test_bulk_add_preview_lists_the_blocks_and_writes_nothing(owner_client):
    coach = CoachFactory()
    response = owner_client.post(reverse("coaching_admin:bulk_add"), bulk_add_data(coach))
    assert response.status_code == 200
    assert len(response.context["plan"].to_create) == 8
    assert b"Create 8 blocks" in response.content
    assert not AvailabilityBlock.objects.exists()


def test_bulk_add_confirm_creates_blocks_in_coach_time_and_reports_skips(owner_client):
    coach = CoachFactory()
    # Already offered on Wed 25 March, 10:00–11:00 GMT: that morning is skipped.
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2026, 3, 25, 10, tzinfo=UTC), end_at=datetime(2026, 3, 25, 11, tzinfo=UTC)
    )
    response = owner_client.post(reverse("coaching_admin:bulk_add"), bulk_add_data(coach, action="confirm"))
    assert response.status_code == 200
    result = response.context["result"]
    assert len(result.created) == 7
    assert [s.reason for s in result.skipped] == ["overlaps availability"]
    assert b"Overlaps availability" in response.content
    # Mon 30 March is after the clocks went forward: 09:00 BST is 08:00 UTC.
    assert AvailabilityBlock.objects.filter(coach=coach, start_at=datetime(2026, 3, 30, 8, tzinfo=UTC)).exists()


def test_bulk_add_form_shows_a_clear_error_for_bad_time_ranges(owner_client):
    coach = CoachFactory()
    response = owner_client.post(reverse("coaching_admin:bulk_add"), bulk_add_data(coach, time_ranges="12:00-09:00"))
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
    assert response.context["plan"] is None


def test_coach_can_bulk_add_only_for_themselves(coach_client, anna):
    other = CoachFactory()
    response = coach_client.post(reverse("coaching_admin:bulk_add"), bulk_add_data(other, action="confirm"))
    assert response.status_code == 200
    assert "coach" in response.context["form"].errors
    assert not AvailabilityBlock.objects.filter(coach=other).exists()

    response = coach_client.post(reverse("coaching_admin:bulk_add"), bulk_add_data(anna, action="confirm"))
    assert len(response.context["result"].created) == 8


def test_remove_availability_preview_then_confirm(owner_client):
    coach = CoachFactory()
    AvailabilityBlockFactory(
        coach=coach, start_at=datetime(2026, 8, 3, 8, tzinfo=UTC), end_at=datetime(2026, 8, 3, 16, tzinfo=UTC)
    )
    booking = BookingFactory(
        coach=coach, start_at=datetime(2026, 8, 3, 9, tzinfo=UTC), end_at=datetime(2026, 8, 3, 10, tzinfo=UTC)
    )
    data = {"coach": coach.pk, "start_date": "2026-08-03", "end_date": "2026-08-03", "action": "preview"}
    response = owner_client.post(reverse("coaching_admin:remove_availability"), data)
    assert response.status_code == 200
    assert booking.reference in response.content.decode()
    assert AvailabilityBlock.objects.filter(coach=coach).count() == 1

    response = owner_client.post(reverse("coaching_admin:remove_availability"), {**data, "action": "confirm"})
    assert response.status_code == 200
    assert not AvailabilityBlock.objects.filter(coach=coach).exists()


def test_stranger_without_a_coach_profile_is_refused_the_tools(client, django_user_model):
    user = django_user_model.objects.create_user("stranger", "s@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert_refused(client.get(reverse("coaching_admin:bulk_add")))
    assert_refused(client.get(reverse("coaching_admin:remove_availability")))
    assert_refused(client.get(reverse("coaching_booking_modeladmin_index")))


# --- Pages answer for the owner --------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name",
    [
        "wagtailadmin_home",
        "coaching_admin:bulk_add",
        "coaching_admin:remove_availability",
        "coaching_booking_modeladmin_index",
        "coaching_availabilityblock_modeladmin_index",
        "coaching_availabilityblock_modeladmin_create",
        "coaching_coachbusyslot_modeladmin_index",
        "wagtailsnippets_coaching_coach:list",
        "wagtailsnippets_coaching_coach:add",
        "wagtailsnippets_coaching_workshop:list",
        "wagtailsnippets_coaching_workshop:add",
    ],
)
def test_admin_pages_answer_for_the_owner(owner_client, url_name):
    booking = BookingFactory()
    CoachBusySlotFactory(coach=booking.coach)
    AvailabilityBlockFactory(coach=booking.coach)
    assert owner_client.get(reverse(url_name)).status_code == 200


def test_owner_can_inspect_a_booking_and_read_its_log(owner_client):
    booking = BookingFactory()
    BookingLog.objects.create(booking=booking, action="confirmed", actor="guest", message="Booked online")
    response = owner_client.get(reverse("coaching_booking_modeladmin_inspect", args=[booking.pk]))
    assert response.status_code == 200
    assert "Booked online" in response.content.decode()
    assert reverse("coaching_admin:cancel_booking", args=[booking.pk]) in response.content.decode()


# --- A coach sees only their own data --------------------------------------------------------


def test_coach_lists_only_their_own_bookings(coach_client, anna):
    own = BookingFactory(coach=anna)
    hosted_seat = BookingFactory(workshop=WorkshopFactory(host=anna), seats=2)
    foreign = BookingFactory()
    response = coach_client.get(reverse("coaching_booking_modeladmin_index"))
    assert response.status_code == 200
    listed = set(response.context["view"].queryset)
    assert listed == {own, hosted_seat}
    assert foreign.reference not in response.content.decode()


def test_coach_is_refused_another_coachs_booking(coach_client, anna):
    foreign = BookingFactory()
    assert_refused(coach_client.get(reverse("coaching_booking_modeladmin_inspect", args=[foreign.pk])))
    assert coach_client.get(reverse("coaching_admin:cancel_booking", args=[foreign.pk])).status_code == 404
    response = coach_client.post(reverse("coaching_admin:cancel_booking", args=[foreign.pk]), {"refund": "full"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Booking.Status.CONFIRMED


def test_coach_can_open_their_own_booking(coach_client, anna):
    own = BookingFactory(coach=anna)
    assert coach_client.get(reverse("coaching_booking_modeladmin_inspect", args=[own.pk])).status_code == 200


def test_coach_sees_and_edits_only_their_own_availability(coach_client, anna):
    own = AvailabilityBlockFactory(coach=anna)
    foreign = AvailabilityBlockFactory()
    response = coach_client.get(reverse("coaching_availabilityblock_modeladmin_index"))
    assert set(response.context["view"].queryset) == {own}
    assert coach_client.get(reverse("coaching_availabilityblock_modeladmin_edit", args=[own.pk])).status_code == 200
    assert_refused(coach_client.get(reverse("coaching_availabilityblock_modeladmin_edit", args=[foreign.pk])))
    assert_refused(coach_client.post(reverse("coaching_availabilityblock_modeladmin_delete", args=[foreign.pk])))
    assert AvailabilityBlock.objects.filter(pk=foreign.pk).exists()


def test_coach_cannot_create_availability_for_another_coach(coach_client, anna):
    other = CoachFactory()
    response = coach_client.post(
        reverse("coaching_availabilityblock_modeladmin_create"),
        {"coach": other.pk, "start_at": "2030-01-07 09:00", "end_at": "2030-01-07 12:00"},
    )
    assert response.status_code == 200  # the form again, with an error on "coach"
    assert not AvailabilityBlock.objects.filter(coach=other).exists()


def test_busy_slots_are_read_only_even_for_the_owner(owner_client):
    slot = CoachBusySlotFactory()
    assert_refused(owner_client.get(reverse("coaching_coachbusyslot_modeladmin_create")))
    assert_refused(owner_client.get(reverse("coaching_coachbusyslot_modeladmin_edit", args=[slot.pk])))
    assert owner_client.get(reverse("coaching_coachbusyslot_modeladmin_inspect", args=[slot.pk])).status_code == 200


# --- Cancel from the admin -------------------------------------------------------------------


def future(hours):
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)


def test_owner_cancels_a_booking_through_the_service_and_the_log_says_who(owner_client, owner):
    booking = BookingFactory(start_at=future(72), end_at=future(73))
    response = owner_client.post(
        reverse("coaching_admin:cancel_booking", args=[booking.pk]), {"refund": "none", "reason": "Coach ill"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    entry = booking.log_entries.get(action="cancelled")
    assert (entry.actor, entry.actor_user, entry.message) == ("owner", owner, "Coach ill")


def test_owner_cancel_without_refund_refunds_nothing_even_before_the_cutoff(owner_client):
    booking = BookingFactory(start_at=future(72), end_at=future(73), is_paid=True, amount_due=5000, amount_paid=5000)
    owner_client.post(reverse("coaching_admin:cancel_booking", args=[booking.pk]), {"refund": "none"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.amount_refunded == 0
    assert booking.log_entries.get(action="cancelled").data["refund_due"] == 0


def test_owner_cancel_with_full_refund_owes_everything_paid_even_after_the_cutoff(owner_client):
    booking = BookingFactory(start_at=future(2), end_at=future(3), is_paid=True, amount_due=5000, amount_paid=5000)
    owner_client.post(reverse("coaching_admin:cancel_booking", args=[booking.pk]), {"refund": "full"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.log_entries.get(action="cancelled").data["refund_due"] == 5000


def test_owner_cancel_by_policy_after_the_cutoff_owes_nothing(owner_client):
    booking = BookingFactory(start_at=future(2), end_at=future(3), is_paid=True, amount_due=5000, amount_paid=5000)
    owner_client.post(reverse("coaching_admin:cancel_booking", args=[booking.pk]), {"refund": "policy"})
    booking.refresh_from_db()
    assert booking.log_entries.get(action="cancelled").data["refund_due"] == 0


def test_cancelling_an_already_cancelled_booking_is_refused_with_the_services_message(owner_client):
    booking = BookingFactory(cancelled=True)
    response = owner_client.post(reverse("coaching_admin:cancel_booking", args=[booking.pk]), {"refund": "full"})
    assert response.status_code == 409
    assert "already cancelled" in response.content.decode()
    assert not booking.log_entries.exists()


def test_coach_can_cancel_their_own_booking(coach_client, anna, coach_user):
    booking = BookingFactory(coach=anna, start_at=future(72), end_at=future(73))
    response = coach_client.post(reverse("coaching_admin:cancel_booking", args=[booking.pk]), {"refund": "full"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.log_entries.get(action="cancelled").actor_user == coach_user


# --- CSV export ------------------------------------------------------------------------------


def export_rows(client, query):
    response = client.get(reverse("coaching_booking_modeladmin_index") + f"?export=csv&{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_csv_export_contains_exactly_the_filtered_rows(owner_client):
    coach = CoachFactory()
    wanted = [
        BookingFactory(
            coach=coach, start_at=datetime(2030, 1, d, 10, tzinfo=UTC), end_at=datetime(2030, 1, d, 11, tzinfo=UTC)
        )
        for d in (7, 8)
    ]
    BookingFactory(
        coach=coach,
        cancelled=True,
        start_at=datetime(2030, 1, 9, 10, tzinfo=UTC),
        end_at=datetime(2030, 1, 9, 11, tzinfo=UTC),
    )
    BookingFactory()  # another coach
    rows = export_rows(owner_client, f"status__exact=confirmed&coach__id__exact={coach.pk}")
    assert sorted(row["Reference"] for row in rows) == sorted(b.reference for b in wanted)


def test_csv_export_follows_the_search(owner_client):
    match = BookingFactory(guest_name="Zelda Fitzgerald")
    BookingFactory(guest_name="Ernest Hemingway")
    rows = export_rows(owner_client, "q=zelda")
    assert [row["Reference"] for row in rows] == [match.reference]


@pytest.mark.parametrize(
    "typed",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+44 20 7946 0000",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_csv_export_never_hands_a_spreadsheet_a_formula(owner_client, typed):
    booking = BookingFactory(guest_name=typed, guest_phone=typed[:40])
    (row,) = [row for row in export_rows(owner_client, "") if row["Reference"] == booking.reference]
    for column, value in (("Guest Name", typed), ("Guest Phone", typed[:40])):
        assert row[column] == "'" + value  # shown as the text the guest typed, never evaluated
        assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_ordinary_names_are_exported_as_typed(owner_client):
    booking = BookingFactory(guest_name="Zoë O'Brien-Smith", guest_phone="020 7946 0000")
    (row,) = [row for row in export_rows(owner_client, "") if row["Reference"] == booking.reference]
    assert (row["Guest Name"], row["Guest Phone"]) == ("Zoë O'Brien-Smith", "020 7946 0000")


def test_coachs_csv_export_holds_only_their_own_rows(coach_client, anna):
    own = BookingFactory(coach=anna)
    BookingFactory()
    rows = export_rows(coach_client, "")
    assert [row["Reference"] for row in rows] == [own.reference]


# --- Snippets --------------------------------------------------------------------------------


def coach_form_data(**overrides):
    data = {
        "name": "Bea",
        "slug": "bea",
        "email": "bea@example.com",
        "headline": "",
        "bio": "",
        "timezone": "Europe/London",
        "session_minutes": 60,
        "buffer_minutes": 0,
        "price_amount": 0,
        "currency": "GBP",
        "min_notice_minutes": 720,
        "horizon_days": 60,
        "is_active": "on",
        "google_calendar_id": "",
        "google_busy_calendar_ids": "[]",
    }
    # The inline weekly hours, date overrides and time off (empty here).
    for relation in ("weekly_hours", "date_overrides", "time_off"):
        data.update({f"{relation}-TOTAL_FORMS": "0", f"{relation}-INITIAL_FORMS": "0", f"{relation}-MAX_NUM_FORMS": ""})
    data.update(overrides)
    return data


def test_owner_creates_a_coach_snippet(owner_client):
    response = owner_client.post(reverse("wagtailsnippets_coaching_coach:add"), coach_form_data())
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    assert Coach.objects.get(slug="bea").timezone == "Europe/London"


def test_coach_snippet_refuses_a_made_up_time_zone(owner_client):
    response = owner_client.post(
        reverse("wagtailsnippets_coaching_coach:add"), coach_form_data(timezone="Europe/Atlantis")
    )
    assert response.status_code == 200
    assert "is not a time zone name" in str(response.context["form"].errors["timezone"])
    assert not Coach.objects.filter(slug="bea").exists()


def workshop_form_data(workshop, **overrides):
    local = timezone.localtime
    data = {
        "title": workshop.title,
        "slug": workshop.slug,
        "summary": "",
        "host": workshop.host.pk,
        "start_at": local(workshop.start_at).strftime("%Y-%m-%d %H:%M"),
        "end_at": local(workshop.end_at).strftime("%Y-%m-%d %H:%M"),
        "capacity": workshop.capacity,
        "price_amount": 0,
        "currency": "GBP",
        "location": "",
        "online_url": "",
        "is_published": "on",
    }
    data.update(overrides)
    return data


def test_workshop_capacity_cannot_go_below_seats_sold(owner_client):
    workshop = WorkshopFactory(capacity=10)
    BookingFactory(workshop=workshop, seats=3)
    BookingFactory(workshop=workshop, seats=2)
    url = reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk])
    response = owner_client.post(url, workshop_form_data(workshop, capacity=4))
    assert response.status_code == 200
    assert "5 seats are already sold" in str(response.context["form"].errors["capacity"])
    assert owner_client.post(url, workshop_form_data(workshop, capacity=5)).status_code == 302
    workshop.refresh_from_db()
    assert workshop.capacity == 5


def test_moving_a_published_workshop_onto_hosts_bookings_needs_explicit_confirmation(owner_client):
    workshop = WorkshopFactory(
        start_at=datetime(2030, 3, 4, 10, tzinfo=UTC), end_at=datetime(2030, 3, 4, 12, tzinfo=UTC)
    )
    clash = BookingFactory(
        coach=workshop.host, start_at=datetime(2030, 3, 5, 10, tzinfo=UTC), end_at=datetime(2030, 3, 5, 11, tzinfo=UTC)
    )
    url = reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk])
    moved = {"start_at": "2030-03-05 10:00", "end_at": "2030-03-05 12:00"}  # GMT in March 2030 = UTC

    response = owner_client.post(url, workshop_form_data(workshop, **moved))
    assert response.status_code == 200
    assert clash.reference in str(response.context["form"].errors["start_at"])
    workshop.refresh_from_db()
    assert workshop.start_at == datetime(2030, 3, 4, 10, tzinfo=UTC)

    response = owner_client.post(url, workshop_form_data(workshop, confirm_clash="on", **moved))
    assert response.status_code == 302
    workshop.refresh_from_db()
    assert workshop.start_at == datetime(2030, 3, 5, 10, tzinfo=UTC)


def test_unpublished_workshop_may_sit_on_hosts_bookings(owner_client):
    workshop = WorkshopFactory(
        start_at=datetime(2030, 3, 4, 10, tzinfo=UTC), end_at=datetime(2030, 3, 4, 12, tzinfo=UTC)
    )
    BookingFactory(
        coach=workshop.host, start_at=datetime(2030, 3, 4, 10, tzinfo=UTC), end_at=datetime(2030, 3, 4, 11, tzinfo=UTC)
    )
    url = reverse("wagtailsnippets_coaching_workshop:edit", args=[workshop.pk])
    data = workshop_form_data(workshop)
    del data["is_published"]
    assert owner_client.post(url, data).status_code == 302
    assert Workshop.objects.get(pk=workshop.pk).is_published is False


# --- Dashboard -------------------------------------------------------------------------------


def midday_today(time_machine):
    """Stop the clock at 12:00 UTC today: "in five minutes" must still be today in the site's zone."""
    time_machine.move_to(timezone.now().replace(hour=12, minute=0, second=0, microsecond=0), tick=False)
    return timezone.now()


def test_dashboard_shows_todays_bookings_holds_and_integration_problems(owner_client, time_machine):
    now = midday_today(time_machine)
    today = BookingFactory(
        guest_name="Today Guest", start_at=now + timedelta(minutes=5), end_at=now + timedelta(minutes=65)
    )
    hold = BookingFactory(
        guest_name="Pending Guest",
        held=True,
        start_at=now + timedelta(days=3),
        end_at=now + timedelta(days=3, hours=1),
        hold_expires_at=now + timedelta(minutes=10),
    )
    BookingFactory(guest_name="Next Month", start_at=now + timedelta(days=30), end_at=now + timedelta(days=30, hours=1))
    CoachFactory(name="Broken Bob", google_status=Coach.GoogleStatus.BROKEN)
    Notification.objects.create(kind="confirmation", recipient="x@example.com", dedupe_key="k1", status="failed")
    response = owner_client.get(reverse("wagtailadmin_home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Today Guest" in html
    assert hold.reference in html
    assert "Broken Bob" in html
    assert "1 email could not be delivered" in html
    week_list = owner_client.get(
        response.context["panels"][0].get_context_data({"request": response.wsgi_request})["week_url"]
    )
    assert week_list.status_code == 200
    listed = set(week_list.context["view"].queryset)
    assert today in listed
    assert not any(booking.start_at > now + timedelta(days=8) for booking in listed)


def test_coachs_dashboard_shows_only_their_own_bookings(coach_client, anna, time_machine):
    now = midday_today(time_machine)
    BookingFactory(
        coach=anna, guest_name="Mine", start_at=now + timedelta(minutes=5), end_at=now + timedelta(minutes=65)
    )
    BookingFactory(guest_name="Not Mine", start_at=now + timedelta(minutes=5), end_at=now + timedelta(minutes=65))
    html = coach_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Mine" in html
    assert "Not Mine" not in html


def test_dates_used_in_tests_are_real_dst_boundaries():
    # Guards the fixtures above: 29 March and 25 October 2026 are the London change days.
    assert date(2026, 3, 29).weekday() == 6 and date(2026, 10, 25).weekday() == 6
