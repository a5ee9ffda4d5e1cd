"""/docs (Swagger UI) and /redoc with their JavaScript and CSS served by this server, not a CDN: on a
data-centre network without Internet access FastAPI's defaults render a blank page.

The assets are the ones the `fastapi-offline` package ships (Swagger UI's bundle and CSS, ReDoc's standalone
bundle), served from its installed folder under /docs-assets: a pip upgrade updates them, nothing is copied
into this repository.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-assets"
CSP = {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
       "'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'"}
"""The pages may load nothing from elsewhere: ReDoc's "API docs by Redocly" logo, the one thing it fetches from
a CDN, is then not even requested (the image hides itself when it cannot load)."""
router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    """Mount this at ASSETS_URL."""
    return StaticFiles(directory=ASSETS)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return _local(get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} — API",
                               swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                               oauth2_redirect_url="/docs/oauth2-redirect",
                               swagger_ui_parameters={"validatorUrl": None}))  # its badge calls validator.swagger.io


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return _local(get_redoc_html(openapi_url="/openapi.json", title=f"{request.app.title} — API",
                                 redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                                 redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False))


def _local(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(CSP)
    return page
