"""The survey app: `create_app()` (uvicorn factory `survey.main:create_app`, settings from DVCOPS_SURVEY_*)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from dvcops.catalog import Catalog
from survey.api.main import api_routers
from survey.api.routes import docs, form, health, ratings
from survey.core.config import API_V1, SurveySettings, load_settings
from survey.core.context import SurveyContext
from survey.core.metrics import Metrics, MetricsMiddleware
from survey.core.ratelimit import RateLimiter
from survey.core.writer import BatchWriter
from survey.errors import RatingInvalid
from survey.schemas import RatingCreate

DESCRIPTION = """Citizens rate a handled dossier (hồ sơ) once; the province gets the Decision 766/QĐ-TTg
satisfaction indicators per service and agency, with questions grouped by SIPAS factor.

Build a rating from `GET /api/v1/services` and `GET /api/v1/instruments`, then `POST /api/v1/ratings`.
Admin endpoints use HTTP Basic with the credentials set in DVCOPS_SURVEY_ADMIN_USER/PASSWORD."""
TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
"""FastAPI's OpenTelemetry hooks stay off: metrics go to /metrics, and its failure logs would quote
request bodies (dossier codes) to whatever collector is configured."""


def create_app(settings: SurveySettings | None = None, catalog: Catalog | None = None) -> FastAPI:
    """Build the app; bad settings, catalogue or instruments raise SurveyError/CatalogError before serving."""
    settings = settings or load_settings()
    ctx = SurveyContext.open(settings, catalog)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        writer = BatchWriter(ctx.engine, settings.batch_max, metrics.observe_commit)
        writer.start()
        app.state.writer = writer
        gc.freeze()  # the app's startup objects never die: keep them out of every later collection's scan
        try:
            yield
        finally:
            await writer.stop()
            ctx.close()

    app = FastAPI(title="dvcops survey — Đánh giá mức độ hài lòng", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None,  # /docs and /redoc with local assets: api/routes/docs.py
                  lifespan=lifespan, max_body_size=settings.max_body_bytes, telemetry=TELEMETRY_OFF)  # type: ignore[arg-type]
    metrics = Metrics(ctx.engine)
    app.state.survey = ctx
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.metrics = metrics
    app.state.db_checked_at = float("-inf")
    app.state.db_ok = True
    app.router.routes.insert(0, ratings.PeakRoute())  # POST /ratings first and lean: see PeakRoute
    for router in api_routers:
        app.include_router(router)
    app.include_router(health.router)
    app.include_router(form.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    app.mount(docs.ASSETS_URL, docs.assets(), name="docs-assets")
    app.add_exception_handler(RatingInvalid, _invalid_rating)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.openapi = lambda: _openapi_with_example(app, ctx)  # type: ignore[method-assign]
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI answers 400 when a JSON body is not even UTF-8; for the API that is a malformed body like any
    other: 422 with the body as the field in error."""
    if exc.status_code == 400 and request.url.path.startswith(f"{API_V1}/"):
        return JSONResponse(status_code=422, content={"detail": [
            {"type": "json_invalid", "loc": ["body"], "msg": f"malformed body: {exc.detail}"}]})
    return await http_exception_handler(request, exc)


def _openapi_with_example(app: FastAPI, ctx: SurveyContext) -> dict[str, Any]:
    """The OpenAPI document, with the rating body (POST /ratings reads it itself, see routes/ratings.py) and a
    valid example rating for this catalogue, so /docs' "Try it out" and generated clients start from a rating
    the server accepts."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        instrument = ctx.instruments.get(ctx.instruments.default)
        assert instrument is not None
        example = {"service_id": ctx.catalog.services[0].id if ctx.catalog.services else "dang-ky-kinh-doanh",
                   "dossier_code": "H26.10-250601-0001", "instrument": instrument.id,
                   "answers": {q.id: instrument.levels[0].id for q in instrument.questions},
                   "comment": "Cán bộ hướng dẫn tận tình.", "channel": "web"}
        body = RatingCreate.model_json_schema(ref_template="#/components/schemas/{model}")
        schema["components"]["schemas"]["RatingCreate"] = {**body, "examples": [example]}
        app.openapi_schema = schema
    return app.openapi_schema


async def _invalid_rating(_request: Request, exc: RatingInvalid) -> JSONResponse:
    """422 in FastAPI's own validation-error shape, so clients handle one format."""
    return JSONResponse(status_code=422, content={"detail": [
        {"type": e.type, "loc": list(e.loc), "msg": e.message("en")} for e in exc.errors]})
