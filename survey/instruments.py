"""The survey's questionnaires (instruments) as data: questions tagged with their SIPAS factor,
answer levels with a 0-100 score and whether Decision 766 counts them as "không hài lòng".

The defaults live in `instruments.yml` next to this module; a province can point
DVCOPS_SURVEY_INSTRUMENTS at its own file. Problems are reported one line each with file, line and
path, like the catalogue's (every field problem at once; the consistency rules once the fields are valid).
"""

from __future__ import annotations

import json
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dvcops.catalog import Slug
from dvcops.i18n import pick
from dvcops.yamlsource import load_model
from survey.errors import SurveyError

DEFAULT_FILE = Path(__file__).with_name("instruments.yml")
SIPAS_FACTORS = ("tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh")
"""SIPAS's five factors, in the Ministry of Home Affairs' order: access, procedure, civil servants,
result, feedback handling."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A string in Vietnamese and English."""

    vi: str
    en: str

    def get(self, lang: str) -> str:
        return pick(self.vi, self.en, lang)


class Level(_Model):
    id: Slug
    vi: str
    en: str
    score: Annotated[float, Field(ge=0, le=100)]
    khong_hai_long: bool = False
    """Decision 766 counts a dossier with an answer at this level as rated "không hài lòng"."""

    def label(self, lang: str) -> str:
        return pick(self.vi, self.en, lang)


class Question(_Model):
    id: Slug
    factor: Literal["tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh"]
    vi: str
    en: str

    def text(self, lang: str) -> str:
        return pick(self.vi, self.en, lang)


class AnswerRow(NamedTuple):
    """One answer: the question, its SIPAS factor, the level chosen and what that level means."""

    question_id: str
    factor: str
    level: str
    score: float
    khong_hai_long: bool
    stored: str
    """The answer as the rating row stores it: a JSON array of the five values above, the last as 1 or 0 (so
    SQL sums it the same way on SQLite and PostgreSQL)."""


class Instrument(_Model):
    id: Slug
    name: Text
    levels: Annotated[list[Level], Field(min_length=2)]
    questions: Annotated[list[Question], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        for what, ids in (("level", [lv.id for lv in self.levels]), ("question", [q.id for q in self.questions])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} id {dupes[0]!r}")
        scores = [lv.score for lv in self.levels]
        if scores != sorted(scores, reverse=True):
            raise ValueError(f"levels must be listed best first (scores {scores} should not increase)")
        if not any(lv.khong_hai_long for lv in self.levels):
            raise ValueError("at least one level needs khong_hai_long: true (Decision 766's 'không hài lòng')")
        if self.levels[0].khong_hai_long:
            raise ValueError(f"the best level {self.levels[0].id!r} cannot count as 'không hài lòng'")
        return self

    @cached_property
    def _levels(self) -> dict[str, Level]:
        return {lv.id: lv for lv in self.levels}

    @cached_property
    def _questions(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @cached_property
    def answer_rows(self) -> dict[tuple[str, str], AnswerRow]:
        """Every valid (question, level) pair and its AnswerRow: a rating's answers are checked and
        derived with one lookup each."""
        return {(q.id, lv.id): AnswerRow(q.id, q.factor, lv.id, lv.score, lv.khong_hai_long, json.dumps(
                    [q.id, q.factor, lv.id, lv.score, int(lv.khong_hai_long)], ensure_ascii=False))
                for q in self.questions for lv in self.levels}

    def level(self, level_id: str) -> Level | None:
        return self._levels.get(level_id)

    def question(self, question_id: str) -> Question | None:
        return self._questions.get(question_id)

    @cached_property
    def _rank(self) -> dict[str, int]:
        return {lv.id: n for n, lv in enumerate(self.levels)}

    def worst(self, level_ids: list[str]) -> Level:
        """The worst of these levels (the rating's level: a rating is as good as its worst answer)."""
        rank = self._rank
        return self.levels[max(rank[i] for i in level_ids)]


class Instruments(_Model):
    version: Literal[1]
    default: Slug
    factors: dict[str, Text]
    instruments: Annotated[list[Instrument], Field(min_length=1)]

    @model_validator(mode="after")
    def _references(self) -> Instruments:
        if set(self.factors) != set(SIPAS_FACTORS):
            raise ValueError(f"factors must name exactly the SIPAS factors {', '.join(SIPAS_FACTORS)}")
        ids = [i.id for i in self.instruments]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate instrument id in {ids}")
        if self.default not in ids:
            raise ValueError(f"default {self.default!r} is not one of the instruments {ids}")
        return self

    def get(self, instrument_id: str) -> Instrument | None:
        return next((i for i in self.instruments if i.id == instrument_id), None)

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.instruments]


def load_instruments(path: Path | str | None = None) -> Instruments:
    """Load and validate an instruments file (default: the packaged one); SurveyError lists every problem."""
    if path is None:
        return _default_instruments()
    return _load(Path(path))


@cache
def _default_instruments() -> Instruments:
    return _load(DEFAULT_FILE)


def _load(path: Path) -> Instruments:
    return load_model(path, Instruments, SurveyError, "instruments")
