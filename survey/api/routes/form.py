"""The citizen form: `/` (choose the service) and `/danh-gia/{service_id}?ma_ho_so=CODE` (the link on a
dossier receipt or QR code). Server-rendered, no JavaScript, Vietnamese first (`?lang=en`).

Accessibility follows the GOV.UK error pattern: each question is a fieldset with a legend, every
input has a label, errors sit next to their field (aria-describedby, aria-invalid) and in a summary
at the top that links to them; the browser's own validation is off so errors always come from here.
CSRF: a signed double-submit token (cookie + hidden field). Pages carry no-referrer and no-store:
their URL and content hold the dossier code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from dvcops.i18n import lang_of
from survey import invitations, windows
from survey.api.deps import context_of, retry_after, writer_of
from survey.core.context import SurveyContext
from survey.core.security import csrf_ok, new_csrf_token
from survey.core.writer import WriterUnavailable
from survey.errors import FieldError, RatingInvalid
from survey.i18n import TEXTS, message
from survey.instruments import Instrument
from survey.invitation_checks import invitation_refusal, link_refusal
from survey.schemas import RatingCreate, clean_text
from survey.validation import check_answers, prepare

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parents[2] / "templates"), autoescape=True))
CSRF_COOKIE = "survey_csrf"
FORM_CHANNELS = ("web", "kiosk", "mobile")
RECEIPT = re.compile(r"^[0-9A-F]{4}(-[0-9A-F]{4}){4}$")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _render(request: Request, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
    other = "vi" if lang == "en" else "en"
    response = templates.TemplateResponse(request, name, {
        "lang": lang, "t": TEXTS.in_lang(lang), "other_lang_url": str(request.url.include_query_params(lang=other)),
        **context}, status_code=status, headers=HEADERS)
    return response


def _form(request: Request, ctx: SurveyContext, lang: str, *, service_id: str | None, fixed: bool,
          instrument: Instrument, values: dict[str, Any], errors: dict[str, str], channel: str,
          status: int = 200, extra_headers: dict[str, str] | None = None) -> HTMLResponse:
    cookie = request.cookies.get(CSRF_COOKIE)
    token = cookie if cookie and csrf_ok(ctx.key, cookie, cookie) else new_csrf_token(ctx.key)
    agencies = {a.id: a.name for a in ctx.catalog.agencies}
    services = [(s, agencies.get(s.agency, s.agency)) for s in ctx.catalog.services]
    service = next((s for s, _ in services if s.id == service_id), None)
    action = f"/danh-gia/{service.id}" if fixed and service else "/"
    response = _render(request, "form.html", lang, status=status, services=services, service=service, fixed=fixed,
                       instrument=instrument, values=values, errors=errors, csrf=token, action=action,
                       channel=channel, factor_names=ctx.instruments.factors, agencies=agencies,
                       error_list=[(f, m) for f, m in errors.items()])
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    for k, v in (extra_headers or {}).items():
        response.headers[k] = v
    return response


def _instrument(ctx: SurveyContext, instrument_id: str | None) -> Instrument:
    return ctx.instruments.get(instrument_id or "") or ctx.instruments.get(ctx.instruments.default)  # type: ignore[return-value]


def _channel(value: str | None) -> str:
    return value if value in FORM_CHANNELS else "web"


@router.get("/", response_class=HTMLResponse)
def index(request: Request, lang: str | None = None, bo_cau_hoi: str | None = None, kenh: str | None = None,
          ma_ho_so: str | None = None) -> HTMLResponse:
    ctx = context_of(request)
    return _form(request, ctx, lang_of(lang), service_id=None, fixed=False, instrument=_instrument(ctx, bo_cau_hoi),
                 values={"ma_ho_so": clean_text(ma_ho_so or "")[:64]}, errors={}, channel=_channel(kenh))


@router.get("/danh-gia/{service_id}", response_class=HTMLResponse)
def service_form(request: Request, service_id: str, ma_ho_so: str | None = None, lang: str | None = None,
                 bo_cau_hoi: str | None = None, kenh: str | None = None, moi: str | None = None) -> HTMLResponse:
    ctx = context_of(request)
    language = lang_of(lang)
    if service_id not in {s.id for s in ctx.catalog.services}:
        return _render(request, "message.html", language, 404, title=TEXTS("not_found", language), body="")
    refused = link_refusal(ctx, moi, ma_ho_so, service_id)
    if refused is not None:
        return _render(request, "message.html", language, 403, title=TEXTS("title", language),
                       body=invitations.message(refused, language))
    window = windows.get_window(ctx.engine, service_id)
    if not windows.window_is_open(window, ctx.today()):
        assert window is not None
        body = message("survey_closed", language, value=service_id, day=ctx.today().isoformat(),
                       window=f"{window.opens_on}..{window.closes_on or ''}")
        return _render(request, "message.html", language, title=TEXTS("closed_title", language), body=body)
    return _form(request, ctx, language, service_id=service_id, fixed=True, instrument=_instrument(ctx, bo_cau_hoi),
                 values={"ma_ho_so": clean_text(ma_ho_so or "")[:64], "moi": clean_text(moi or "")[:64]}, errors={},
                 channel=_channel(kenh))


@router.post("/", response_class=HTMLResponse)
async def submit_index(request: Request) -> Response:
    return await _submit(request, fixed_service=None)


@router.post("/danh-gia/{service_id}", response_class=HTMLResponse)
async def submit_service(request: Request, service_id: str) -> Response:
    return await _submit(request, fixed_service=service_id)


def _field_of(loc: tuple[str | int, ...]) -> str:
    """Where an error is shown: the form field for a RatingCreate location."""
    parts = [p for p in loc if p != "body"]
    if not parts:
        return "form"
    if parts[0] == "answers" and len(parts) > 1:
        return f"q-{parts[1]}"
    return {"service_id": "service_id", "dossier_code": "ma_ho_so", "comment": "y_kien"}.get(str(parts[0]), "form")


def _pydantic_errors(exc: ValidationError, lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        field = _field_of(tuple(err["loc"]))
        empty = err["type"] in ("string_too_short", "missing") or not err.get("input")
        if field == "ma_ho_so":
            kind = "required" if empty else "dossier_code"
        elif field == "y_kien":
            kind = "comment_too_long"
        elif empty:
            kind = "required"
        else:
            kind = "invalid"
        out.setdefault(field, message(kind, lang))
    return out


async def _submit(request: Request, fixed_service: str | None) -> Response:
    ctx = context_of(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    lang = lang_of(fields.get("lang"))
    instrument = _instrument(ctx, fields.get("instrument"))
    channel = _channel(fields.get("kenh"))
    service_id = fixed_service or clean_text(fields.get("service_id", ""))
    answers = {q.id: fields[f"q-{q.id}"] for q in instrument.questions if fields.get(f"q-{q.id}")}
    values = {"ma_ho_so": clean_text(fields.get("ma_ho_so", ""))[:64], "y_kien": fields.get("y_kien", ""),
              "service_id": service_id, "moi": clean_text(fields.get("moi", ""))[:64],
              **{f"q-{k}": v for k, v in answers.items()}}

    def again(errors: dict[str, str], status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
        return _form(request, ctx, lang, service_id=service_id, fixed=fixed_service is not None,
                     instrument=instrument, values=values, errors=errors, channel=channel, status=status,
                     extra_headers=headers)

    if not csrf_ok(ctx.key, request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
        return again({"form": message("csrf", lang)}, 403)
    wait = retry_after(request)
    if wait is not None:
        return again({"form": TEXTS("too_many", lang, seconds=wait)}, 429, {"Retry-After": str(wait)})

    errors: dict[str, str] = {}
    for e in check_answers(instrument, answers)[0]:
        errors.setdefault(_field_of(e.loc), e.message(lang))
    try:
        rating = RatingCreate(service_id=service_id, dossier_code=fields.get("ma_ho_so", ""),
                              instrument=instrument.id, answers=answers, comment=fields.get("y_kien"),
                              channel=channel, invitation=values["moi"] or None)  # type: ignore[arg-type]
    except ValidationError as exc:
        return again({**_pydantic_errors(exc, lang), **errors}, 422)
    refused = invitation_refusal(ctx, rating, None)
    if refused is not None:
        return again({"form": invitations.message(refused, lang)}, 403)
    try:
        item = prepare(rating, ctx.services, ctx.instruments, ctx.key, ctx.today())
    except RatingInvalid as exc:
        return again({**{_field_of(e.loc): e.message(lang) for e in reversed(exc.errors)}, **errors}, 422)
    if errors:
        return again(errors, 422)
    try:
        outcome = await writer_of(request).submit(item)
    except WriterUnavailable:
        return again({"form": message("unavailable", lang)}, 503, {"Retry-After": "5"})
    if outcome.status == "duplicate":
        return again({"ma_ho_so": message("duplicate", lang)}, 409)
    if outcome.status == "closed":
        closed = FieldError(("body", "service_id"), "survey_closed",
                            {"value": item.service_id, "day": item.rated_on.isoformat(), "window": outcome.window})
        return again({"service_id": closed.message(lang)}, 422)
    return RedirectResponse(f"/cam-on?ma={item.receipt_id}&lang={lang}", status_code=303, headers=HEADERS)


@router.get("/cam-on", response_class=HTMLResponse)
def thanks(request: Request, ma: str | None = None, lang: str | None = None) -> HTMLResponse:
    language = lang_of(lang)
    receipt = ma if ma and RECEIPT.match(ma) else None
    return _render(request, "thanks.html", language, receipt=receipt)
