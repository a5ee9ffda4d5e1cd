"""The public status page: `dvcops status-page --catalog F --out DIR [--source prometheus --url URL]`.

Static files a web server serves as they are (the nginx role's `nginx_status_page_root`):
`index.html` in Vietnamese, `en.html` in English, `style.css` (a stylesheet file rather than inline
styles, so the role's `Content-Security-Policy: default-src 'self'` holds), and `status.json`. No
script, font, image or any other request leaves the page.

For each public service (catalogue `public: true`, the default): its state now, 90 days of daily
bars (uptime against its SLO), open and recent incidents (from the history, with the notes a person
adds by `--note` or in the notes file) and the next planned maintenance windows (catalogue).

It lives in probes/ because everything on it comes from the probes' history and the catalogue.
Each file is written to a temporary name in DIR and renamed over the old one, so a reader never sees
a half-written page; the pages link only to files that exist before they are replaced.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dvcops.catalog import Catalog, Service
from dvcops.formatting import fmt_date, fmt_datetime, fmt_percent
from dvcops.i18n import Messages
from dvcops.periods import Period
from dvcops.yamlsource import YamlProblem, read_yaml, validation_problems
from probes.errors import ProbeError
from probes.history import History, Incident

DAYS = 90
RECENT_DAYS = 14
"""Incidents (and notes) closed within this many days are still listed."""
NOW_WINDOW = timedelta(minutes=10)
"""The state now is read over the last ten minutes."""
MAINTENANCE_AHEAD = timedelta(days=30)
NOTES_FILE = ("probes", "status-notes.yml")

StateNow = Literal["up", "degraded", "down", "maintenance", "unknown"]


# ---------------------------------------------------------------------------- notes a person writes


class StatusNote(BaseModel):
    """A short text about an incident or a notice, shown on the page (Vietnamese first)."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    text: str = Field(min_length=1, max_length=1000)
    text_en: str | None = Field(default=None, max_length=1000)
    service: str | None = None
    """A service id, or none for a notice about every service."""
    resolved: bool = False

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError(f"{v.isoformat()!r}: give a time zone offset, e.g. 2025-06-01T08:00:00+07:00")
        return v


class NotesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: list[StatusNote] = Field(default_factory=list)


def load_notes(path: Path, catalog: Catalog) -> list[StatusNote]:
    """The notes file (missing: no notes); every problem as `file:line: path: message`."""
    if not path.exists():
        return []
    try:
        data, smap = read_yaml(path)
    except YamlProblem as p:
        raise ProbeError(*p.lines) from None
    if data is None:
        return []
    try:
        notes = NotesFile.model_validate(data).notes
    except ValidationError as exc:
        raise ProbeError(*[line for _, line in validation_problems(exc, smap)]) from None
    known = {s.id for s in catalog.services}
    bad = [smap.error(("notes", i, "service"), f"{n.service!r} is not a service of the catalogue")
           for i, n in enumerate(notes) if n.service is not None and n.service not in known]
    if bad:
        raise ProbeError(*bad)
    return notes


def add_note(path: Path, catalog: Catalog, note: StatusNote) -> None:
    """Append a note, keeping the ones already there (the file is replaced atomically)."""
    if note.service is not None and note.service not in {s.id for s in catalog.services}:
        raise ProbeError(f"--service {note.service!r} is not a service of the catalogue")
    notes = load_notes(path, catalog) + [note]
    data = {"notes": [n.model_dump(mode="json", exclude_none=True) for n in notes]}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, "# Status page notes (dvcops status-page --note …)\n"
                  + yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


# ---------------------------------------------------------------------------- what the page shows


@dataclass
class Day:
    day: datetime
    uptime: float | None
    below_slo: bool


@dataclass
class ServiceStatus:
    id: str
    name: str
    agency: str
    slo: float
    state: StateNow
    days: list[Day] = field(default_factory=list)

    @property
    def uptime(self) -> float | None:
        return self.uptime_over(len(self.days))

    def uptime_over(self, days: int) -> float | None:
        """Mean of the last `days` daily uptimes that have data."""
        known = [d.uptime for d in self.days[-days:] if d.uptime is not None]
        return sum(known) / len(known) if known else None


@dataclass
class Window:
    start: datetime
    end: datetime
    services: list[str]
    reason: str | None


@dataclass
class StatusData:
    province: str
    generated: datetime
    source: str
    services: list[ServiceStatus]
    incidents: list[Incident]
    notes: list[StatusNote]
    maintenance: list[Window]


def public_services(catalog: Catalog) -> list[Service]:
    return [s for s in catalog.services if s.public and (s.endpoints or s.journeys)]


def _state_now(history: History, catalog: Catalog, service: Service, now: datetime) -> StateNow:
    tz = catalog.province.timezone
    if any(True for m in catalog.maintenance_for(service.id) for _ in m.windows(now, now + timedelta(seconds=1))):
        return "maintenance"
    rep = history.report(Period.between(now - NOW_WINDOW, now + timedelta(seconds=1), tz), catalog, now=now)
    row = next((r for r in rep.services if r.id == service.id), None)
    if any(i.ongoing and i.service == service.id for i in rep.incidents):
        return "down"
    if row is None or not row.attempts:
        return "maintenance" if row is not None and row.maintenance else "unknown"
    return "up" if row.uptime == 1 else "degraded"


def collect(history: History, catalog: Catalog, now: datetime, notes: list[StatusNote],
            days: int = DAYS) -> StatusData:
    """Everything the page shows, as of `now`."""
    tz = ZoneInfo(catalog.province.timezone)
    now = now.astimezone(tz)
    services = public_services(catalog)
    ids = {s.id for s in services}
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows: dict[str, list[Day]] = {s.id: [] for s in services}
    for n in range(days - 1, -1, -1):
        start = today - timedelta(days=n)  # aware arithmetic keeps wall time: local midnights
        end = start + timedelta(days=1)
        rep = history.report(Period.between(start, min(end, now + timedelta(seconds=1)), str(tz)), catalog, now=now)
        by_id = {r.id: r for r in rep.services}
        for s in services:
            r = by_id.get(s.id)
            uptime = r.uptime if r is not None else None
            rows[s.id].append(Day(start, uptime, uptime is not None and uptime < catalog.slo_of(s)))
    recent = history.report(Period.between(today - timedelta(days=RECENT_DAYS), now + timedelta(seconds=1), str(tz)),
                            catalog, now=now)
    mine = [i for i in recent.incidents if i.service in ids]
    incidents = [i for i in mine if i.ongoing] + sorted((i for i in mine if not i.ongoing), key=lambda i: i.start,
                                                        reverse=True)
    windows = []
    for m in catalog.maintenance:
        covered = [s.id for s in services if m.covers(s.id)]
        if covered:
            windows += [Window(a.astimezone(tz), b.astimezone(tz), covered if m.services else [], m.reason)
                        for a, b in m.windows(now, now + MAINTENANCE_AHEAD)]
    windows.sort(key=lambda w: w.start)
    shown_notes = [n for n in notes if not n.resolved or n.at >= now - timedelta(days=RECENT_DAYS)]
    return StatusData(
        province=catalog.province.name, generated=now, source=history.source.name,
        services=[ServiceStatus(s.id, s.name, catalog.agency(s.agency).name if s.agency else "", catalog.slo_of(s),
                                _state_now(history, catalog, s, now), rows[s.id]) for s in services],
        incidents=incidents, notes=sorted(shown_notes, key=lambda n: n.at, reverse=True), maintenance=windows[:10])


# ---------------------------------------------------------------------------- rendering

TEXT = Messages({
    "title": ("Tình trạng dịch vụ công trực tuyến",
              "Online public services status"),
    "updated": ("Cập nhật lúc",
                "Updated"),
    "all_ok": ("Tất cả dịch vụ đang hoạt động bình thường",
               "All services are operating normally"),
    "some_down": ("Một số dịch vụ đang gặp sự cố",
                  "Some services are down"),
    "some_degraded": ("Một số dịch vụ hoạt động không ổn định",
                      "Some services are unstable"),
    "services": ("Dịch vụ",
                 "Services"),
    "days": ("90 ngày qua",
             "Last 90 days"),
    "days30": ("30 ngày qua",
               "Last 30 days"),
    "uptime": ("Tỉ lệ hoạt động",
               "Uptime"),
    "target": ("mục tiêu",
               "target"),
    "incidents": ("Sự cố đang xảy ra và gần đây",
                  "Current and recent incidents"),
    "no_incidents": ("Không có sự cố trong 14 ngày qua.",
                     "No incidents in the last 14 days."),
    "maintenance": ("Bảo trì theo kế hoạch",
                    "Planned maintenance"),
    "no_maintenance": ("Không có lịch bảo trì trong 30 ngày tới.",
                       "No maintenance planned in the next 30 days."),
    "ongoing": ("đang xảy ra",
                "ongoing"),
    "resolved": ("đã khắc phục",
                 "resolved"),
    "since": ("từ",
              "since"),
    "until": ("đến",
              "until"),
    "all": ("Tất cả dịch vụ",
            "All services"),
    "notice": ("Thông báo",
               "Notice"),
    "other": ("English",
              "Tiếng Việt"),
    "other_href": ("en.html",
                   "index.html"),
    "no_data": ("không có số liệu",
                "no data"),
    "below": ("dưới mục tiêu",
              "below target"),
    "days_below": ("ngày dưới mục tiêu",
                   "days below target"),
    "minutes": ("phút",
                "minutes"),
    "skip": ("Chuyển đến danh sách dịch vụ",
             "Skip to the services"),
    "lang": ("vi",
             "en"),
    "footer": ("Trang được tạo tự động từ kết quả giám sát; số liệu theo giờ Việt Nam.",
               "Generated from the monitoring results; times in Vietnam time (UTC+7)."),
})
"""The page's words, Vietnamese first (dvcops.i18n, like every part's texts)."""

STATES = Messages({
    "up": ("Hoạt động", "Operational"),
    "degraded": ("Không ổn định", "Unstable"),
    "down": ("Gián đoạn", "Down"),
    "maintenance": ("Bảo trì", "Maintenance"),
    "unknown": ("Chưa rõ", "Unknown"),
})


ICONS = {"up": "✓", "degraded": "!", "down": "✕", "maintenance": "⏸", "unknown": "?"}

CSS = """:root{--ok:#1b7f3b;--warn:#9a5b00;--bad:#b3261e;--maint:#1f5fa8;--none:#8a8f98;--fg:#1d2330;--bg:#fff;
--mut:#596070}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);
background:#f4f6f9}
a{color:#0b4ea2}.skip{position:absolute;left:-999px}
.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px}
header,main,footer{max-width:960px;margin:0 auto;padding:16px}
header h1{font-size:1.5rem;margin:.2em 0}
.meta{color:var(--mut);font-size:.9rem;display:flex;flex-wrap:wrap;gap:.5em 1.5em;
justify-content:space-between}
.banner{border-radius:8px;padding:12px 16px;color:#fff;font-weight:600;margin:12px 0}
.banner.up{background:var(--ok)}.banner.degraded{background:var(--warn)}.banner.down{background:var(--bad)}
section{background:var(--bg);border-radius:8px;padding:8px 16px 16px;margin:16px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1.15rem;margin:.8em 0 .4em}ul.svc{list-style:none;margin:0;padding:0}
ul.svc>li{border-top:1px solid #e3e6eb;padding:12px 0}ul.svc>li:first-child{border-top:0}
.row{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 12px;align-items:baseline}
.name{font-weight:600}.agency{color:var(--mut);font-size:.9rem}
.state{font-weight:600;white-space:nowrap}.state.up{color:var(--ok)}.state.degraded{color:var(--warn)}
.state.down{color:var(--bad)}.state.maintenance{color:var(--maint)}.state.unknown{color:var(--mut)}
ol.bars{display:flex;gap:1px;list-style:none;padding:0;margin:8px 0 2px;height:34px}
ol.bars li{flex:1;border-radius:2px;background:var(--none)}ol.bars li.ok{background:var(--ok)}
ol.bars li.warn{background:#e0a100}ol.bars li.bad{background:var(--bad)}
.scale{display:flex;justify-content:space-between;color:var(--mut);font-size:.8rem}
.inc{border-left:4px solid var(--bad);padding:4px 12px;margin:8px 0}.inc.done{border-color:var(--ok)}
.inc.note{border-color:var(--maint)}.when{color:var(--mut);font-size:.9rem}
footer{color:var(--mut);font-size:.85rem}.narrow{display:none}
@media (max-width:600px){ol.bars li:nth-child(-n+60){display:none}ol.bars{height:30px}
header h1{font-size:1.25rem}
.narrow{display:inline}.wide{display:none}}
"""


def _bar_class(d: Day) -> str:
    if d.uptime is None:
        return "none"
    return "bad" if d.uptime < 0.95 else ("warn" if d.below_slo else "ok")


def render_html(data: StatusData, lang: str) -> str:
    t: dict[str, Any] = {**TEXT.in_lang(lang), "states": STATES.in_lang(lang)}
    e = html.escape
    states = [s.state for s in data.services]
    banner = "down" if "down" in states else ("degraded" if "degraded" in states else "up")
    banner_text = {"down": t["some_down"], "degraded": t["some_degraded"], "up": t["all_ok"]}[banner]
    names = {s.id: s.name for s in data.services}
    out = [f'<!doctype html><html lang="{t["lang"]}"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<title>{e(t["title"])} — {e(data.province)}</title><link rel="stylesheet" href="style.css">'
           f'<link rel="alternate" hreflang="{"en" if lang == "vi" else "vi"}" href="{t["other_href"]}"></head><body>',
           f'<a class="skip" href="#dich-vu">{e(t["skip"])}</a>',
           f'<header><div class="meta"><span>{e(data.province)}</span>'
           f'<a href="{t["other_href"]}" hreflang="{"en" if lang == "vi" else "vi"}">{e(t["other"])}</a></div>'
           f'<h1>{e(t["title"])}</h1><p class="meta">{e(t["updated"])} '
           f'<time datetime="{data.generated.isoformat(timespec="seconds")}">{e(fmt_datetime(data.generated, lang))}'
           f'</time></p><p class="banner {banner}" role="status">{e(banner_text)}</p></header><main>',
           f'<section aria-labelledby="dich-vu"><h2 id="dich-vu">{e(t["services"])}</h2><ul class="svc">']
    for s in data.services:
        below = sum(1 for d in s.days if d.below_slo)
        summary = (f'{t["days"]}: {t["uptime"]} {fmt_percent(s.uptime, 2, lang)} ({t["target"]} '
                   f'{fmt_percent(s.slo, 1, lang)}), {below} {t["days_below"]}')
        out.append(f'<li><div class="row"><div><div class="name">{e(s.name)}</div>'
                   f'<div class="agency">{e(s.agency)}</div></div>'
                   f'<div class="state {s.state}">{ICONS[s.state]} {e(t["states"][s.state])}</div></div>'
                   f'<ol class="bars" role="img" aria-label="{e(summary)}">')
        for d in s.days:
            value = t["no_data"] if d.uptime is None else fmt_percent(d.uptime, 2, lang)
            out.append(f'<li class="{_bar_class(d)}" title="{e(fmt_date(d.day, lang))}: {e(value)}"></li>')
        out.append(f'</ol><div class="scale" aria-hidden="true"><span class="wide">{e(t["days"])}</span>'
                   f'<span class="narrow">{e(t["days30"])}</span><span class="wide">{e(fmt_percent(s.uptime, 2, lang))}'
                   f'</span><span class="narrow">{e(fmt_percent(s.uptime_over(30), 2, lang))}</span></div></li>')
    out.append(f'</ul></section><section aria-labelledby="su-co"><h2 id="su-co">{e(t["incidents"])}</h2>')
    if not data.incidents and not data.notes:
        out.append(f'<p>{e(t["no_incidents"])}</p>')
    for n in data.notes:
        text = n.text_en if lang == "en" and n.text_en else n.text
        who = names.get(n.service or "", t["all"]) if n.service else t["all"]
        out.append(f'<article class="inc note{" done" if n.resolved else ""}"><h3>{e(t["notice"])}: {e(who)}</h3>'
                   f'<p>{e(text)}</p><p class="when"><time datetime="{n.at.isoformat()}">'
                   f'{e(fmt_datetime(n.at, lang))}</time>{" — " + e(t["resolved"]) if n.resolved else ""}</p>'
                   "</article>")
    for i in data.incidents:
        state = t["ongoing"] if i.ongoing else f'{t["resolved"]}, {round(i.duration_minutes)} {t["minutes"]}'
        end = "" if i.end is None else f' {e(t["until"])} <time datetime="{i.end.isoformat()}">' \
                                       f'{e(fmt_datetime(i.end, lang))}</time>'
        out.append(f'<article class="inc{"" if i.ongoing else " done"}"><h3>{e(names.get(i.service, i.service))}</h3>'
                   f'<p class="when">{e(t["since"])} <time datetime="{i.start.isoformat()}">'
                   f'{e(fmt_datetime(i.start, lang))}</time>{end} ({e(state)})</p></article>')
    out.append(f'</section><section aria-labelledby="bao-tri"><h2 id="bao-tri">{e(t["maintenance"])}</h2>')
    if not data.maintenance:
        out.append(f'<p>{e(t["no_maintenance"])}</p>')
    else:
        out.append("<ul>")
        for w in data.maintenance:
            who = ", ".join(names.get(sid, sid) for sid in w.services) or t["all"]
            out.append(f'<li><time datetime="{w.start.isoformat()}">{e(fmt_datetime(w.start, lang))}</time> → '
                       f'<time datetime="{w.end.isoformat()}">{e(fmt_datetime(w.end, lang))}</time>: {e(who)}'
                       f'{" — " + e(w.reason) if w.reason else ""}</li>')
        out.append("</ul>")
    out.append(f'</section></main><footer><p>{e(t["footer"])}</p></footer></body></html>\n')
    return "".join(out)


def status_json(data: StatusData) -> str:
    return json.dumps({
        "province": data.province, "generated": data.generated.isoformat(), "source": data.source,
        "services": [{"id": s.id, "name": s.name, "state": s.state, "slo": s.slo, "uptime_90d": s.uptime,
                      "days": [{"day": d.day.date().isoformat(), "uptime": d.uptime} for d in s.days]}
                     for s in data.services],
        "incidents": [i.model_dump(mode="json") for i in data.incidents],
        "notes": [n.model_dump(mode="json") for n in data.notes],
        "maintenance": [{"start": w.start.isoformat(), "end": w.end.isoformat(), "services": w.services,
                         "reason": w.reason} for w in data.maintenance],
    }, ensure_ascii=False, indent=1)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_site(data: StatusData, out: Path) -> list[Path]:
    """Write the files, each atomically; the stylesheet first, so a new page never lacks its styles."""
    out.mkdir(parents=True, exist_ok=True)
    files = [("style.css", CSS), ("status.json", status_json(data)), ("en.html", render_html(data, "en")),
             ("index.html", render_html(data, "vi"))]
    for name, text in files:
        _write_atomic(out / name, text)
    return [out / name for name, _ in files]
