"""GET /healthz (is the server up and its database reachable) and GET /metrics (Prometheus)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from survey.api.deps import ContextDep
from survey.core.metrics import Metrics
from survey.schemas import Health

router = APIRouter(tags=["health"])
DB_CHECK_EVERY = 1.0
"""Seconds between database checks: a prober learns the database is down within a second, and
frequent probes (or a benchmark) cost no query each."""


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request, ctx: ContextDep) -> JSONResponse:
    state = request.app.state
    now = time.monotonic()
    if now - state.db_checked_at >= DB_CHECK_EVERY:
        state.db_checked_at = now
        state.db_ok = await run_in_threadpool(_database_ok, ctx.engine)
    if state.db_ok:
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    """Prometheus exposition: survey_ratings_total{service,level}, survey_http_request_duration_seconds."""
    m: Metrics = request.app.state.metrics
    return Response(m.exposition(), media_type=CONTENT_TYPE_LATEST)
