"""The JSON API under /api/v1: one router per resource (each carries the /api/v1 prefix)."""

from __future__ import annotations

from fastapi import APIRouter

from survey.api.routes import catalog, ratings, stats, windows

api_router = APIRouter()
api_router.include_router(ratings.router)
api_router.include_router(stats.router)
api_router.include_router(catalog.router)
api_router.include_router(windows.router)
