"""POST /ratings (citizens, kiosks, apps); GET /ratings and /ratings.csv (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.routing import Match, Route
from starlette.types import Scope

from survey import invitations
from survey.api.deps import AdminDep, ContextDep, context_of, enforce_rate_limit, writer_of
from survey.core.config import API_V1
from survey.core.writer import WriterUnavailable
from survey.csv_export import iter_csv
from survey.errors import FieldError, RatingInvalid
from survey.invitation_checks import invitation_refusal
from survey.invitations import CHANNEL_KEY_HEADER
from survey.listing import list_ratings as ratings_page
from survey.schemas import Problem, RatingCreate, RatingPage, RatingReceipt, ValidationProblems
from survey.validation import prepare

router = APIRouter(prefix=API_V1, tags=["ratings"])
RATING_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/RatingCreate"}}}}}


async def read_rating(request: Request) -> RatingCreate:
    """The JSON body parsed and validated in one pass by pydantic's core (FastAPI's generic body handling
    costs several times more); errors come out exactly as FastAPI's, with the same 422 handler."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestValidationError([{"type": "content_type", "loc": ("body",), "input": content_type,
                                       "msg": "the body must be JSON sent as Content-Type: application/json"}])
    try:
        return RatingCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError([_body_error(e) for e in exc.errors(include_url=False)]) from None


def _body_error(error: Any) -> dict[str, Any]:
    """A pydantic error located in the body; the whole raw body (malformed JSON) is not echoed back."""
    out = {"type": error["type"], "loc": ("body", *error["loc"]), "msg": error["msg"]}
    if not isinstance(error.get("input"), bytes | bytearray):
        out["input"] = error.get("input")
    return out
ADMIN_RESPONSES: dict[int | str, dict[str, object]] = {401: {"model": Problem}, 429: {"model": Problem}}


@router.post(
    "/ratings", status_code=201, response_model=RatingReceipt, openapi_extra=RATING_BODY,
    responses={403: {"model": Problem, "description": "No valid invitation (or channel key) for this dossier: "
                                                      "nothing stored"},
               409: {"model": Problem, "description": "This dossier has already been rated"},
               413: {"model": Problem, "description": "Request body too large"},
               422: {"model": ValidationProblems, "description": "Invalid rating: every field in error"},
               429: {"model": Problem, "description": "Too many ratings from this address (see Retry-After)"},
               503: {"model": Problem, "description": "The database is unavailable: the rating was not stored; retry"}},
)
async def create_rating(request: Request) -> JSONResponse:
    """Record one rating per dossier. 201 means it is committed durably."""
    # The busiest route: no dependencies to resolve and the answer built directly (each FastAPI dependency
    # and response-model pass costs more than a rating's own checks).
    enforce_rate_limit(request)
    body = await read_rating(request)
    ctx = context_of(request)
    if body.invitation is not None or ctx.settings.invitations == "required":  # else today's path, as lean
        refused = invitation_refusal(ctx, body, request.headers.get(CHANNEL_KEY_HEADER))
        if refused is not None:
            raise HTTPException(403, invitations.message(refused))
    item = prepare(body, ctx.services, ctx.instruments, ctx.key, ctx.today())
    try:
        outcome = await writer_of(request).submit(item)
    except WriterUnavailable:
        raise HTTPException(503, "the rating was not stored: the ratings database is unavailable; retry later",
                            headers={"Retry-After": "5"}) from None
    if outcome.status == "duplicate":
        raise HTTPException(409, "this dossier has already been rated (one rating per dossier)")
    if outcome.status == "closed":
        raise RatingInvalid([FieldError(("body", "service_id"), "survey_closed", {
            "value": item.service_id, "day": item.rated_on.isoformat(), "window": outcome.window})])
    return JSONResponse({"receipt_id": item.receipt_id, "service_id": item.service_id, "instrument": item.instrument,
                         "level": item.level, "khong_hai_long": item.khong_hai_long,
                         "rated_on": item.rated_on.isoformat()}, status_code=201)


class PeakRoute(Route):
    """POST /ratings as a plain Starlette route, placed first in the app's routing table.

    It is the route citizens hit at peak. FastAPI (0.165) spends about 2 µs matching each API route placed
    before the one that answers, and tens of µs per request on its dependency machinery, together more than
    a rating's own checks; `create_rating` needs neither. Middleware, exception handlers and the body-size
    limit apply as to every route; the API route of the same endpoint above documents it in OpenAPI."""

    def __init__(self) -> None:
        super().__init__(f"{API_V1}/ratings", create_rating, methods=["POST"], include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self  # FastAPI's router sets this for its own routes only (metrics label)
        return match, child_scope


@router.get("/ratings", response_model=RatingPage, responses=ADMIN_RESPONSES)
def list_ratings(ctx: ContextDep, _admin: AdminDep, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=500)] = 50) -> RatingPage:
    """Admin: stored ratings, oldest first."""
    return ratings_page(ctx.engine, page, per_page)


@router.get(
    "/ratings.csv", response_class=StreamingResponse, responses={
        **ADMIN_RESPONSES, 200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                 "description": "UTF-8 with BOM, for Excel"}},
)
def export_ratings(ctx: ContextDep, _admin: AdminDep, lang: Literal["vi", "en"] = "vi",
                   delimiter: Literal["comma", "semicolon"] | None = None,
                   decimal: Literal["dot", "comma"] | None = None) -> StreamingResponse:
    """Admin: every rating as CSV, UTF-8 with BOM so Excel shows Vietnamese correctly. With `lang=vi` (the
    default) it is laid out for Excel in a Vietnamese locale: ';' between fields and a decimal comma (62,5),
    which that Excel reads as numbers; with `lang=en`, ',' and a decimal point. `delimiter` and `decimal`
    override either."""
    vi = lang == "vi"
    sep = ";" if (delimiter or ("semicolon" if vi else "comma")) == "semicolon" else ","
    mark = "," if (decimal or ("comma" if vi else "dot")) == "comma" else "."
    rows = iter_csv(ctx.engine, ctx.catalog, ctx.instruments, lang, sep, decimal=mark)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="danh-gia-hai-long.csv"'})
