"""Public discovery: which services can be rated and what the instruments ask, so any client (a kiosk,
a mobile app, a load test) can build valid ratings over HTTP."""

from __future__ import annotations

from fastapi import APIRouter, Request

from survey.api.deps import ContextDep
from survey.core.config import API_V1
from survey.schemas import InstrumentOut, LevelOut, QuestionOut, ServiceOut, TextOut
from survey.windows import get_windows, window_is_open

router = APIRouter(prefix=API_V1, tags=["discovery"])


@router.get("/services", response_model=list[ServiceOut])
def list_services(ctx: ContextDep, request: Request) -> list[ServiceOut]:
    """Services from the catalogue, whether their survey is open today, and the citizen form's URL."""
    windows = {w.service_id: w for w in get_windows(ctx.engine)}
    agencies = {a.id: a.name for a in ctx.catalog.agencies}
    today = ctx.today()
    base = str(request.base_url).rstrip("/")
    return [ServiceOut(id=s.id, name=s.name, agency=s.agency, agency_name=agencies.get(s.agency, s.agency),
                       open=window_is_open(windows.get(s.id), today), window=windows.get(s.id),
                       form_url=f"{base}/danh-gia/{s.id}") for s in ctx.catalog.services]


@router.get("/instruments", response_model=list[InstrumentOut])
async def list_instruments(ctx: ContextDep) -> list[InstrumentOut]:
    """The instruments: questions with their ids and SIPAS factor, levels best first with score and 766 flag."""
    ins = ctx.instruments
    return [InstrumentOut(
        id=i.id, name=TextOut(vi=i.name.vi, en=i.name.en), default=i.id == ins.default,
        levels=[LevelOut(id=lv.id, label=TextOut(vi=lv.vi, en=lv.en), score=lv.score, khong_hai_long=lv.khong_hai_long)
                for lv in i.levels],
        questions=[QuestionOut(id=q.id, factor=q.factor, text=TextOut(vi=q.vi, en=q.en),
                               factor_name=TextOut(vi=ins.factors[q.factor].vi, en=ins.factors[q.factor].en))
                   for q in i.questions],
    ) for i in ins.instruments]
