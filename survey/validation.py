"""Validate a rating against the catalogue and its instrument, and derive what is stored with it.

`prepare` turns a RatingCreate into a NewRating (the row to store) or raises RatingInvalid with every
field error at once; `check_answers` is the instrument's part of it, which the citizen form also uses
to put each error beside its question.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from dvcops.catalog import Service
from survey.core.security import dossier_hash, new_receipt_id
from survey.errors import FieldError, RatingInvalid
from survey.instruments import AnswerRow, Instrument, Instruments
from survey.schemas import RatingCreate


class NewRating(NamedTuple):
    """A validated rating with everything derived, ready to insert (a NamedTuple: made for every rating).
    Its fields are named after the columns of survey_ratings (survey/batch/rows.py builds the row by name)."""

    receipt_id: str
    dossier_hash: str
    service_id: str
    agency_id: str
    instrument: str
    level: str
    khong_hai_long: bool
    score: float
    channel: str
    comment: str | None
    rated_on: date
    answers: str
    """The answers as stored: a JSON array of their AnswerRow.stored, sorted by question id."""


def prepare(rating: RatingCreate, services: Mapping[str, Service], instruments: Instruments, key: bytes,
            rated_on: date) -> NewRating:
    """Check the rating against the catalogue's services (by id) and its instrument; derive level, 766 verdict
    and score."""
    errors: list[FieldError] = []
    service = services.get(rating.service_id)
    if service is None:
        errors.append(FieldError(("body", "service_id"), "unknown_service", {"value": rating.service_id}))
    instrument = instruments.get(rating.instrument)
    if instrument is None:
        errors.append(FieldError(("body", "instrument"), "unknown_instrument",
                                 {"value": rating.instrument, "expected": ", ".join(instruments.ids)}))
    answers: list[AnswerRow] = []
    if instrument is not None:
        answer_errors, answers = check_answers(instrument, rating.answers)
        errors += answer_errors
    if errors or service is None or instrument is None:
        raise RatingInvalid(errors)
    worst = instrument.worst([a.level for a in answers])
    return NewRating(
        receipt_id=new_receipt_id(), dossier_hash=dossier_hash(key, rating.dossier_code),
        service_id=service.id, agency_id=service.agency, instrument=instrument.id, level=worst.id,
        khong_hai_long=worst.khong_hai_long, score=round(sum(a.score for a in answers) / len(answers), 4),
        channel=rating.channel, comment=rating.comment, rated_on=rated_on,
        answers="[" + ",".join(a.stored for a in sorted(answers)) + "]",
    )


def check_answers(instrument: Instrument, given: Mapping[str, str]) -> tuple[list[FieldError], list[AnswerRow]]:
    """Every question answered once with one of the instrument's levels, and nothing else."""
    rows = instrument.answer_rows
    answers = [rows[q, lv] for q, lv in given.items() if (q, lv) in rows]
    if len(answers) == len(given) == len(instrument.questions):  # all known; keys are unique: every question once
        return [], answers
    errors: list[FieldError] = []
    level_ids = ", ".join(lv.id for lv in instrument.levels)
    for qid in given:
        if instrument.question(qid) is None:
            errors.append(FieldError(("body", "answers", qid), "unknown_question", {
                "value": qid, "instrument": instrument.id, "expected": ", ".join(q.id for q in instrument.questions)}))
    for question in instrument.questions:
        level_id = given.get(question.id)
        if level_id is None:
            errors.append(FieldError(("body", "answers", question.id), "missing_answer",
                                     {"question": question.id, "expected": level_ids}))
        elif instrument.level(level_id) is None:
            errors.append(FieldError(("body", "answers", question.id), "unknown_level",
                                     {"value": level_id, "expected": level_ids}))
    return errors, answers
