"""Admin: survey windows (open/close dates) per service. A service without a window is always open."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from survey import windows
from survey.api.deps import AdminDep, ContextDep
from survey.core.config import API_V1
from survey.errors import FieldError, RatingInvalid
from survey.schemas import Problem, WindowIn, WindowOut

router = APIRouter(prefix=f"{API_V1}/windows", tags=["windows"])
ADMIN: dict[int | str, dict[str, object]] = {401: {"model": Problem}, 429: {"model": Problem}}
ServiceId = Annotated[str, Path(max_length=63)]


@router.get("", response_model=list[WindowOut], responses=ADMIN)
def list_windows(ctx: ContextDep, _admin: AdminDep) -> list[WindowOut]:
    return windows.get_windows(ctx.engine)


@router.put("/{service_id}", response_model=WindowOut, responses={**ADMIN, 413: {"model": Problem}})
def put_window(service_id: ServiceId, window: WindowIn, ctx: ContextDep, _admin: AdminDep) -> WindowOut:
    """Open the survey of a service from opens_on to closes_on inclusive (closes_on null: open-ended)."""
    errors = []
    if service_id not in {s.id for s in ctx.catalog.services}:
        errors.append(FieldError(("path", "service_id"), "unknown_service", {"value": service_id}))
    if window.closes_on is not None and window.closes_on < window.opens_on:
        errors.append(FieldError(("body", "closes_on"), "schema",
                                 {"msg": f"closes_on {window.closes_on} is before opens_on {window.opens_on}"}))
    if errors:
        raise RatingInvalid(errors)
    return windows.set_window(ctx.engine, service_id, window)


@router.delete("/{service_id}", status_code=204, responses={**ADMIN, 404: {"model": Problem}})
def delete_window(service_id: ServiceId, ctx: ContextDep, _admin: AdminDep) -> Response:
    """Remove the window: the service's survey is open again every day."""
    if not windows.delete_window(ctx.engine, service_id):
        raise HTTPException(404, f"service {service_id!r} has no survey window")
    return Response(status_code=204)
