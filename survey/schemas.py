"""The JSON API's models (pydantic at the edge). Every string a client sends is NFC-normalised and
stripped of control characters before it is validated, so "Hài lòng" typed on any keyboard is one value
and nothing invisible reaches the database or an admin's screen."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

CHANNELS = ("web", "kiosk", "mobile", "api")
DOSSIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, exactly
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # can make text display other than it reads


def clean_text(value: Any, multiline: bool = False) -> Any:
    """NFC-normalise and strip control characters (keeping newlines in multi-line text)."""
    if not isinstance(value, str):
        return value
    if value.isascii() and value.isprintable():  # the common case (ids, codes): nothing to normalise or strip
        return value.strip()
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    value = (_CONTROLS_BUT_NEWLINE if multiline else _CONTROLS).sub("", value)
    return _BIDI_CONTROLS.sub("", value).strip()


def _comment(value: Any) -> Any:
    """Blank text means no comment; anything that is not text ({} or 3) stays as it is, to be refused."""
    if not isinstance(value, str):
        return value
    return clean_text(value, multiline=True) or None


def _dossier(value: str) -> str:
    return value.upper()  # codes are case-insensitive: one dossier, one hash


SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
"""An id from the catalogue or the instruments: checked by pattern (in pydantic's core, no Python call per
value), which also keeps out anything that would need normalising."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingCreate(_In):
    """One citizen's rating of one dossier (POST /api/v1/ratings)."""

    service_id: Annotated[Slug, Field(description="A service id from GET /api/v1/services")]
    dossier_code: Annotated[
        str, BeforeValidator(clean_text), Field(pattern=DOSSIER_PATTERN, description="Mã hồ sơ (case-insensitive)"),
        AfterValidator(_dossier),
    ]
    instrument: Annotated[Slug, Field(description="An instrument id from GET /api/v1/instruments")]
    answers: Annotated[
        dict[Slug, Slug],
        Field(max_length=50, description="question id -> level id; every question of the instrument needs one"),
    ]
    comment: Annotated[Annotated[str, Field(max_length=2000)] | None, BeforeValidator(_comment)] = None
    """Optional, at most 2,000 characters; empty or blank means none."""
    channel: Literal["web", "kiosk", "mobile", "api"]
    invitation: Annotated[str | None, Field(max_length=64, description=(
        "The invitation from the link sent to the dossier's owner (`moi=`); required when the server runs "
        "with DVCOPS_SURVEY_INVITATIONS=required, unless a kiosk or app sends its channel key"))] = None


class RatingReceipt(BaseModel):
    """201: the rating is committed."""

    receipt_id: str
    service_id: str
    instrument: str
    level: str
    khong_hai_long: bool
    rated_on: date


class RatingOut(BaseModel):
    """A stored rating as admins see it (no dossier code: only its hash is stored, and not shown)."""

    receipt_id: str
    rated_on: date
    service_id: str
    agency_id: str
    instrument: str
    level: str
    khong_hai_long: bool
    score: float
    channel: str
    comment: str | None
    answers: dict[str, str]


class RatingPage(BaseModel):
    items: list[RatingOut]
    total: int
    page: int
    per_page: int


class WindowIn(_In):
    opens_on: date
    closes_on: date | None = None


class WindowOut(BaseModel):
    service_id: str
    opens_on: date
    closes_on: date | None


class ServiceOut(BaseModel):
    id: str
    name: str
    agency: str
    agency_name: str
    open: bool
    """Whether the survey accepts ratings for this service today."""
    window: WindowOut | None
    form_url: str
    """The citizen form; add ?ma_ho_so=CODE."""


class TextOut(BaseModel):
    vi: str
    en: str


class LevelOut(BaseModel):
    id: str
    label: TextOut
    score: float
    khong_hai_long: bool


class QuestionOut(BaseModel):
    id: str
    factor: str
    factor_name: TextOut
    text: TextOut


class InstrumentOut(BaseModel):
    id: str
    name: TextOut
    default: bool
    levels: list[LevelOut]
    questions: list[QuestionOut]


class FieldProblem(BaseModel):
    loc: list[str | int]
    """Where: ["body", "answers", "ket-qua"], ["query", "to"] ..."""
    msg: str
    type: str
    input: Any = None


class ValidationProblems(BaseModel):
    """422: every field in error (FastAPI's own format)."""

    detail: list[FieldProblem]


class Problem(BaseModel):
    """A 4xx/5xx that is not a field error."""

    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
