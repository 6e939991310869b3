"""A client's data: the export holds everything about their email address; erasing leaves no trace
of the person in any column of any coaching table, while the business's totals and the audit trail
stay."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.db.models import Count, Sum
from django.test import Client

from coaching.exceptions import ClientNotFound
from coaching.intake import answer_key
from coaching.models import Booking, BookingLog, IntakeQuestion, Notification, Refund, WaitlistEntry
from coaching.services import Guest, cancel_booking, create_booking
from coaching.services.attendance import mark_attendance
from coaching.services.client_data import erase_client, export_as_csv, export_client
from coaching.services.refunds import refund_part
from coaching.tests.factories import AvailabilityBlockFactory, CoachFactory, WorkshopFactory
from coaching.tests.standins.google import connected_coach, event_answer
from coaching.tests.standins.stripe import pay

NOW = datetime(2030, 1, 1, 8, tzinfo=UTC)
NAME = "Grace Hopper"
EMAIL = "grace.hopper@example.com"
PHONE = "+44 7700 900123"
NOTES = "My back hurts after the marathon"
GRACE = Guest(name=NAME, email=EMAIL, phone=PHONE, notes=NOTES, timezone="Europe/London")

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def at(day, hour):
    return datetime(2030, 1, day, hour, tzinfo=UTC)


@pytest.fixture
def history(stripe_standin, after_commit):
    """Grace's life with the business: a paid session half refunded and attended, a cancelled one,
    a free one with another coach, a waiting-list entry; and someone else's booking beside them."""
    paid_coach = CoachFactory(name="Bea Brown", price_amount=6000)
    AvailabilityBlockFactory(coach=paid_coach, start_at=at(7, 9), end_at=at(7, 17))
    free_coach = CoachFactory(name="Cal Chen")
    AvailabilityBlockFactory(coach=free_coach, start_at=at(8, 9), end_at=at(8, 17))

    paid = after_commit(lambda: create_booking(guest=GRACE, coach=paid_coach, start_at=at(7, 10), now=NOW)).booking
    after_commit(lambda: pay(Client(), paid, payment_intent="pi_grace"))
    paid.refresh_from_db()
    after_commit(lambda: refund_part(booking=paid, amount=3000, reason=f"Half back for {NAME}, as agreed"))
    cancelled = after_commit(lambda: create_booking(guest=GRACE, coach=paid_coach, start_at=at(7, 14), now=NOW)).booking
    after_commit(lambda: cancel_booking(booking=cancelled, actor="owner", reason=f"{NAME} phoned ({EMAIL})"))
    free = after_commit(lambda: create_booking(guest=GRACE, coach=free_coach, start_at=at(8, 10), now=NOW)).booking
    workshop = WorkshopFactory(host=free_coach, capacity=1, start_at=at(9, 10), end_at=at(9, 12))
    WaitlistEntry.objects.create(workshop=workshop, guest_name=NAME, guest_email=EMAIL, guest_timezone="Europe/London")
    other = after_commit(
        lambda: create_booking(
            guest=Guest(name="Ada Lovelace", email="ada@example.com"), coach=free_coach, start_at=at(8, 12), now=NOW
        )
    ).booking
    return {"paid": paid, "cancelled": cancelled, "free": free, "other": other, "coaches": (paid_coach, free_coach)}


def everyone():
    return {"bookings": Booking.objects.all(), "waitlist": WaitlistEntry.objects.all()}


def test_the_export_holds_every_booking_answer_log_entry_and_email_of_the_address(history):
    export = export_client(email="Grace.Hopper@Example.com", **everyone())  # any case finds them

    assert {b["reference"] for b in export["bookings"]} == {
        history["paid"].reference,
        history["cancelled"].reference,
        history["free"].reference,
    }
    paid = next(b for b in export["bookings"] if b["reference"] == history["paid"].reference)
    assert paid["guest_name"] == NAME and paid["guest_phone"] == PHONE and paid["guest_notes"] == NOTES
    assert paid["amount_paid"] == 6000 and paid["amount_refunded"] == 3000
    assert {"held", "paid", "refund_requested", "refunded"} <= {entry["action"] for entry in paid["log"]}
    assert {note["kind"] for note in paid["notifications"]} >= {"confirmation", "coach_new", "refund"}
    assert paid["refunds"][0]["reason"] == f"Half back for {NAME}, as agreed"
    assert export["waiting_list"][0]["guest_email"] == EMAIL
    assert history["other"].reference not in json.dumps(export)

    rows = list(csv.reader(io.StringIO(export_as_csv(export))))
    assert rows[0] == ["section", "reference", "at", "name", "value"]
    assert ["booking", history["free"].reference, "", "guest_notes", NOTES] in rows
    assert {row[0] for row in rows[1:]} == {"booking", "log", "refund", "notification", "waiting_list"}
    # The export itself is logged on each booking.
    assert BookingLog.objects.filter(action="client_exported").count() == 3


def test_a_coach_exports_only_their_own_bookings_of_the_client(history):
    paid_coach, free_coach = history["coaches"]
    export = export_client(
        email=EMAIL, bookings=Booking.objects.filter(coach=free_coach), waitlist=WaitlistEntry.objects.none()
    )
    assert [b["reference"] for b in export["bookings"]] == [history["free"].reference]
    with pytest.raises(ClientNotFound):
        export_client(email="nobody@example.com", **everyone())


def totals():
    return {
        "bookings": Booking.objects.aggregate(
            n=Count("pk"), paid=Sum("amount_paid"), refunded=Sum("amount_refunded"), due=Sum("amount_due")
        ),
        "statuses": sorted(Booking.objects.values_list("reference", "status", "start_at")),
        "refunds": sorted(Refund.objects.values_list("amount", "status")),
        "log": BookingLog.objects.count(),
        "notifications": Notification.objects.count(),
    }


def personal_data_left(*needles: str) -> list[str]:
    """Every (table, column, row) of every coaching table whose value mentions one of `needles`."""
    found = []
    for model in apps.get_app_config("coaching").get_models():
        columns = [field for field in model._meta.concrete_fields]
        for row in model.objects.values_list("pk", *[field.attname for field in columns]):
            for field, value in zip(columns, row[1:], strict=True):
                text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
                for needle in needles:
                    if needle.lower() in text.lower():
                        found.append(f"{model._meta.db_table}.{field.column} (pk {row[0]}) mentions {needle!r}")
    return found


def test_erasing_leaves_no_personal_data_in_any_table_while_totals_and_the_audit_trail_stay(history, frozen_clock):
    frozen_clock.move_to(at(8, 11))
    mark_attendance(booking=history["paid"], attendance="attended")
    before = totals()
    log_before = BookingLog.objects.count()
    assert personal_data_left(NAME, EMAIL, PHONE, NOTES)  # the scan does find her before

    erasure = erase_client(email=EMAIL, **everyone())

    assert personal_data_left(NAME, EMAIL, PHONE, NOTES) == []
    after = totals()
    assert after["bookings"] == before["bookings"]
    assert after["statuses"] == before["statuses"]
    assert after["refunds"] == before["refunds"]
    assert after["notifications"] == before["notifications"]
    # Every entry kept, one more per booking erased ("client_erased", by whom).
    assert BookingLog.objects.count() == log_before + 3
    assert len(erasure.bookings) == 3 and erasure.waitlist_entries == 1
    paid = Booking.objects.get(pk=history["paid"].pk)
    assert paid.guest_name == "Erased client" and paid.erased_at is not None
    assert paid.attendance == "attended" and paid.amount_paid == 6000 and paid.amount_refunded == 3000
    # Someone else's booking is untouched.
    assert Booking.objects.get(pk=history["other"].pk).guest_email == "ada@example.com"


def test_erasing_stops_emails_still_owed_to_the_client(history):
    free = history["free"]
    owed = Notification.objects.create(
        booking=free, kind="reminder", recipient=EMAIL, dedupe_key="test:owed", context={"note": NOTES}
    )
    erase_client(email=EMAIL, **everyone())
    owed.refresh_from_db()
    assert owed.status == Notification.Status.FAILED and "erased" in owed.last_error
    assert owed.context == {"note": "[erased]"}


def test_erasing_clears_the_google_event_of_a_confirmed_session(google_api, after_commit):
    coach = connected_coach()
    AvailabilityBlockFactory(coach=coach, start_at=at(7, 9), end_at=at(7, 17))
    mock = google_api(event_answer("ev1"))  # the push when the booking is confirmed
    booking = after_commit(lambda: create_booking(guest=GRACE, coach=coach, start_at=at(7, 10), now=NOW)).booking
    booking.refresh_from_db()
    assert booking.google_event_id

    mock = google_api(event_answer(booking.google_event_id))  # the patch after the erasure
    after_commit(lambda: erase_client(email=EMAIL, **everyone()))

    ((uri, method, body, headers),) = [request for request in mock.request_sequence]
    assert method == "PATCH" and booking.google_event_id in uri
    patch = json.loads(body)
    assert patch["attendees"] == [] and "erased" in patch["description"]
    for needle in (NAME, EMAIL, PHONE, NOTES):
        assert needle not in body


def test_nothing_to_erase_is_refused():
    with pytest.raises(ClientNotFound):
        erase_client(email="nobody@example.com", **everyone())


def test_erasing_removes_typed_intake_answers_and_keeps_picked_choices(after_commit):
    coach = CoachFactory(name="Dee Dunn")
    session_type = coach.default_session_type()
    story = IntakeQuestion.objects.create(session_type=session_type, label="What brings you here?", kind="long_text")
    level = IntakeQuestion.objects.create(
        session_type=session_type, label="Level", kind="single_choice", choices="Beginner\nExpert"
    )
    AvailabilityBlockFactory(coach=coach, start_at=at(7, 9), end_at=at(7, 17))
    secret = "My divorce from Charles Babbage"
    booking = create_booking(
        guest=GRACE,
        coach=coach,
        start_at=at(7, 10),
        now=NOW,
        answers={answer_key(story): secret, answer_key(level): "Expert"},
    ).booking
    export = export_client(email=EMAIL, **everyone())
    assert [a["answer"] for a in export["bookings"][0]["intake_answers"]] == [secret, "Expert"]

    erase_client(email=EMAIL, **everyone())

    booking.refresh_from_db()
    assert [a["answer"] for a in booking.intake_answers] == ["", "Expert"]
    assert personal_data_left(NAME, EMAIL, PHONE, secret) == []
