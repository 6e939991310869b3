"""Intake questions: what a session type asks a guest when they book, and the answers as stored.

The rules for an acceptable answer live here, once: the booking form shows them as inline errors,
and `services/booking.py` applies them again to whatever was posted (a forged form included)
before anything is written. Answers are stored on the booking as asked —
`[{"question": ..., "kind": ..., "answer": ...}]` — so a question edited later changes nothing
already answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from coaching.exceptions import InvalidDetails
from coaching.models import IntakeQuestion, QuestionKind

MAX_LENGTH = {QuestionKind.SHORT_TEXT: 200, QuestionKind.LONG_TEXT: 2000}
YES_NO = {"yes": "Yes", "no": "No"}


def answer_key(question: IntakeQuestion) -> str:
    """The form field (and POST key) of a question."""
    return f"q{question.pk}"


def clean_answers(questions: Iterable[IntakeQuestion], raw: Mapping[str, object]) -> list[dict]:
    """The answers to store for `questions`, from `raw` (POST-like: a question's key to a string,
    or a list of strings for multiple choice). Raises InvalidDetails naming the question when a
    required one is unanswered or an answer is not one of the choices or too long."""
    answers = []
    for question in questions:
        value = raw.get(answer_key(question))
        answers.append({"question": question.label, "kind": question.kind, "answer": _clean(question, value)})
    return answers


def _clean(question: IntakeQuestion, value: object) -> str | list[str]:
    label = question.label
    if question.kind == QuestionKind.MULTIPLE_CHOICE:
        picked = [str(v).strip() for v in (value if isinstance(value, list | tuple) else [value] if value else [])]
        picked = [v for v in picked if v]
        if any(v not in question.choice_list for v in picked):
            raise InvalidDetails(f"“{label}”: please pick from the choices given.")
        if question.required and not picked:
            raise InvalidDetails(f"Please answer “{label}”.")
        return [choice for choice in question.choice_list if choice in picked]
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    text = str(value or "").strip()
    if question.required and not text:
        raise InvalidDetails(f"Please answer “{label}”.")
    if not text:
        return ""
    if question.kind == QuestionKind.SINGLE_CHOICE and text not in question.choice_list:
        raise InvalidDetails(f"“{label}”: please pick one of the choices given.")
    if question.kind == QuestionKind.YES_NO:
        if text.lower() not in YES_NO:
            raise InvalidDetails(f"“{label}”: please answer yes or no.")
        return YES_NO[text.lower()]
    limit = MAX_LENGTH.get(question.kind)
    if limit and len(text) > limit:
        raise InvalidDetails(f"“{label}”: please keep it under {limit} characters.")
    return text


def answer_text(answer: dict) -> str:
    """One stored answer as a line of text ("—" when left empty)."""
    value = answer.get("answer")
    if isinstance(value, list):
        return ", ".join(value) or "—"
    return value or "—"
