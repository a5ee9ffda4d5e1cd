"""The JSON API under /api/v1: one router per resource (each carries the /api/v1 prefix itself)."""

from __future__ import annotations

from fastapi import APIRouter

from survey.api.routes import catalog, ratings, stats, windows

api_routers: list[APIRouter] = [ratings.router, stats.router, catalog.router, windows.router]
"""Included by the app one by one: FastAPI re-checks nested routers on every request, so the tree stays flat."""
