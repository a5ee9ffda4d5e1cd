"""POST /ratings (citizens, kiosks, apps); GET /ratings and /ratings.csv (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from survey import crud
from survey.api.deps import AdminDep, ContextDep, WriterDep, rate_limit
from survey.core.config import API_V1
from survey.core.writer import WriterUnavailable
from survey.errors import FieldError, RatingInvalid
from survey.schemas import Problem, RatingCreate, RatingPage, RatingReceipt

router = APIRouter(prefix=API_V1, tags=["ratings"])
ADMIN_RESPONSES: dict[int | str, dict[str, object]] = {401: {"model": Problem}, 429: {"model": Problem}}


@router.post(
    "/ratings", status_code=201, response_model=RatingReceipt, dependencies=[Depends(rate_limit)],
    responses={409: {"model": Problem, "description": "This dossier has already been rated"},
               413: {"model": Problem, "description": "Request body too large"},
               429: {"model": Problem, "description": "Too many ratings from this address (see Retry-After)"},
               503: {"model": Problem, "description": "The database is unavailable; retry"}},
)
async def create_rating(body: RatingCreate, ctx: ContextDep, writer: WriterDep) -> RatingReceipt:
    """Record one rating per dossier. 201 means it is committed durably."""
    item = crud.prepare(body, ctx.catalog, ctx.instruments, ctx.key, ctx.today())
    try:
        outcome = await writer.submit(item)
    except WriterUnavailable:
        raise HTTPException(503, "the ratings database is unavailable: retry later",
                            headers={"Retry-After": "5"}) from None
    if outcome.status == "duplicate":
        raise HTTPException(409, "this dossier has already been rated (one rating per dossier)")
    if outcome.status == "closed":
        raise RatingInvalid([FieldError(("body", "service_id"), "survey_closed", {
            "value": item.service_id, "day": item.rated_on.isoformat(), "window": outcome.window})])
    return RatingReceipt(receipt_id=item.receipt_id, service_id=item.service_id, instrument=item.instrument,
                         level=item.level, khong_hai_long=item.khong_hai_long, rated_on=item.rated_on)


@router.get("/ratings", response_model=RatingPage, responses=ADMIN_RESPONSES)
def list_ratings(ctx: ContextDep, _admin: AdminDep, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=500)] = 50) -> RatingPage:
    """Admin: stored ratings, oldest first."""
    return crud.list_ratings(ctx.engine, page, per_page)


@router.get(
    "/ratings.csv", response_class=StreamingResponse, responses={
        **ADMIN_RESPONSES, 200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                                 "description": "UTF-8 with BOM, for Excel"}},
)
def export_ratings(ctx: ContextDep, _admin: AdminDep, lang: Literal["vi", "en"] = "vi",
                   delimiter: Literal["comma", "semicolon"] = "comma") -> StreamingResponse:
    """Admin: every rating as CSV (UTF-8 with BOM so Excel shows Vietnamese correctly; `delimiter=semicolon`
    for Excel set to a Vietnamese locale, whose list separator is ';')."""
    rows = crud.iter_csv(ctx.engine, ctx.catalog, ctx.instruments, lang, "," if delimiter == "comma" else ";")
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="danh-gia-hai-long.csv"'})
