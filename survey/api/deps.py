"""Dependencies the routes share: the survey context, the writer, admin credentials, the rate limit."""

from __future__ import annotations

from base64 import b64decode
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from survey.core.context import SurveyContext
from survey.core.ratelimit import RateLimiter
from survey.core.security import credentials_match
from survey.core.writer import BatchWriter

REALM = "dvcops survey"


class Utf8Basic(HTTPBasic):
    """HTTP Basic whose credentials may be any UTF-8 text (RFC 7617, charset="UTF-8"), so a Vietnamese
    password works; FastAPI's own only accepts ASCII. Malformed credentials count as none."""

    async def __call__(self, request: HTTPConnection) -> HTTPBasicCredentials | None:  # type: ignore[override]
        scheme, param = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = b64decode(param, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return HTTPBasicCredentials(username=user, password=password) if sep else None


_basic = Utf8Basic(auto_error=False, realm=REALM)


def context_of(request: Request) -> SurveyContext:
    ctx: SurveyContext = request.app.state.survey
    return ctx


async def get_context(request: Request) -> SurveyContext:
    """(Dependencies are `async def` when they do no I/O: FastAPI runs plain `def` ones in a thread pool.)"""
    return context_of(request)


def writer_of(request: Request) -> BatchWriter:
    writer: BatchWriter = request.app.state.writer
    return writer


ContextDep = Annotated[SurveyContext, Depends(get_context)]


def client_address(request: Request) -> str:
    """The client's IP address, used for rate limiting only and never stored."""
    return request.client.host if request.client else "unknown"


def retry_after(request: Request) -> int | None:
    """Take one submission token for this client; the seconds to wait if there is none."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter.hit(client_address(request))


def enforce_rate_limit(request: Request) -> None:
    """429 with Retry-After when this client has no submission token left."""
    wait = retry_after(request)
    if wait is not None:
        raise HTTPException(429, f"too many ratings from this address: retry in {wait} s",
                            headers={"Retry-After": str(wait)})


async def require_admin(request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]) -> str:
    """HTTP Basic against DVCOPS_SURVEY_ADMIN_USER/PASSWORD; without those settings nobody is admin.
    A failed attempt costs a rate-limit token, so passwords cannot be guessed at speed."""
    settings = context_of(request).settings
    challenge = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
    if credentials is None:
        raise HTTPException(401, "admin credentials required", headers=challenge)
    if not settings.admin_enabled:
        raise HTTPException(401, "admin access is not configured on this server", headers=challenge)
    assert settings.admin_user is not None and settings.admin_password is not None
    if not credentials_match(settings.admin_user, settings.admin_password.get_secret_value(),
                             credentials.username, credentials.password):
        wait = retry_after(request)
        if wait is not None:
            raise HTTPException(429, f"too many attempts: retry in {wait} s", headers={"Retry-After": str(wait)})
        raise HTTPException(401, "wrong admin credentials", headers=challenge)
    return credentials.username


AdminDep = Annotated[str, Depends(require_admin)]
