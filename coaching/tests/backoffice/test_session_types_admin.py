"""Session types in the Wagtail admin: a snippet beside Coaches, with questions and the meeting place;
the coach's Sessions tab lists the coach's types with links to edit or add one."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from coaching.models import IntakeQuestion
from coaching.tests.factories import CoachFactory

pytestmark = pytest.mark.django_db


def test_the_coach_edit_screen_lists_its_session_types_with_edit_and_add_links(admin_client):
    coach = CoachFactory(name="Amara Okafor", session_minutes=45, buffer_minutes=15, price_amount=7500)
    session_type = coach.default_session_type()
    html = admin_client.get(reverse("wagtailsnippets_coaching_coach:edit", args=[coach.pk])).content.decode()
    assert "data-coach-session-types" in html and "1-on-1 session" in html
    assert "45 min (+15 buffer)" in html and "£75.00" in html
    assert reverse("wagtailsnippets_coaching_sessiontype:edit", args=[session_type.pk]) in html
    assert reverse("wagtailsnippets_coaching_sessiontype:add") in html


def test_the_session_type_screen_edits_length_price_place_and_questions(admin_client):
    coach = CoachFactory()
    session_type = coach.default_session_type()
    session_type.questions.add(IntakeQuestion(label="What brings you here?", kind="short_text", required=True))
    session_type.save()
    html = admin_client.get(reverse("wagtailsnippets_coaching_sessiontype:edit", args=[session_type.pk])).content
    html = html.decode()
    for field in ("duration_minutes", "buffer_minutes", "price_amount", "location_kind", "location_detail"):
        assert f'name="{field}"' in html
    assert "What brings you here?" in html and 'name="questions-0-kind"' in html
    listing = admin_client.get(reverse("wagtailsnippets_coaching_sessiontype:list")).content.decode()
    assert "1-on-1 session" in listing


def test_an_in_person_type_needs_an_address_and_a_choice_question_two_choices():
    coach = CoachFactory()
    session_type = coach.default_session_type()
    session_type.location_kind = "in_person"
    with pytest.raises(ValidationError, match="address"):
        session_type.full_clean()
    question = IntakeQuestion(session_type=session_type, label="Pick", kind="single_choice", choices="Only one")
    with pytest.raises(ValidationError, match="two choices"):
        question.full_clean()
