"""Errors a user of the survey can cause (bad settings, bad instruments file, an invalid rating
written through the Python API). The CLI prints `lines` and exits 2; the HTTP API answers 4xx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dvcops.errors import DvcopsError
from survey.i18n import message


class SurveyError(DvcopsError):
    """A problem with the survey's settings, data files or input."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a rating: `loc` as FastAPI writes it, a `type` code that
    names the message (see i18n.MESSAGES) and the values the message mentions."""

    loc: tuple[str | int, ...]
    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        return message(self.type, lang, **self.params)


class RatingInvalid(SurveyError):
    """The rating does not fit the catalogue or the instrument; the API answers 422 with these errors."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(*[f"{'.'.join(str(p) for p in e.loc)}: {e.message()}" for e in errors])


class DuplicateRating(SurveyError):
    """This dossier already has a rating (one rating per dossier); the API answers 409."""

    def __init__(self) -> None:
        super().__init__("dossier_code: this dossier has already been rated (one rating per dossier)")
