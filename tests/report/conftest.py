"""Known data for the report, written through each part's own public API."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drills.findings import FindingsStore, NewFinding
from drills.policy import Severity
from dvcops.catalog import Catalog, load_catalog
from dvcops.state import StateDir
from probes.history import EndpointRef, History
from survey import stats
from survey.instruments import load_instruments

HERE = Path(__file__).parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = HERE / "province.yml"

# June 2025 ratings: s1 on the 3-level scale, s2 on the 5-level scale; May 2025: s1 only.
JUNE_S1 = ["rat-hai-long"] * 6 + ["hai-long"] * 3 + ["khong-hai-long"]
JUNE_S2 = ["rat-hai-long"] * 2 + ["hai-long"] * 2 + ["binh-thuong"] * 2 + ["khong-hai-long", "rat-khong-hai-long"]
MAY_S1 = ["rat-hai-long"] * 4
COMMENT = "<script>alert('x')</script> Thủ tục nhanh & gọn"


def t(day: int, hour: int = 0, minute: int = 0, month: int = 6, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def build_state(root: Path, catalog: Catalog) -> StateDir:
    state = StateDir(root)
    # Probes: one minute apart over June; s1 has a 90-minute outage on 10/06 08:00-09:30 and weekly
    # maintenance (catalogue) on Sundays 01:00-03:00; s2 is always up; s3 has no history at all.
    with History.in_state(state) as h:
        h.backfill(EndpointRef(service="s1", agency="so-a", level="3", endpoint="https://s1.example/"),
                   t(1), t(1, month=7), outages=[(t(10, 8), t(10, 9, 30))],
                   maintenance=catalog.maintenance_for("s1"))
        h.backfill(EndpointRef(service="s2", agency="so-a", level="toan-trinh", endpoint="https://s2.example/"),
                   t(1), t(1, month=7))
    # Survey: ratings through the survey's own write API.
    db = stats.open_database(state=state)
    instruments = {i.id: i for i in load_instruments().instruments}
    n = 0

    def rate(service: str, instrument: str, level: str, day: date, comment: str | None = None) -> None:
        nonlocal n
        n += 1
        answers = {q.id: level for q in instruments[instrument].questions}
        stats.record_rating(db, catalog, {"service_id": service, "dossier_code": f"HS-{n:05d}",
                                          "instrument": instrument, "answers": answers, "comment": comment,
                                          "channel": "web"}, rated_on=day)

    for i, level in enumerate(JUNE_S1):
        rate("s1", "3-muc", level, date(2025, 6, 2 + i), COMMENT if i == 0 else None)
    for i, level in enumerate(JUNE_S2):
        rate("s2", "5-muc", level, date(2025, 6, 15 + i))
    for i, level in enumerate(MAY_S1):
        rate("s1", "3-muc", level, date(2025, 5, 10 + i))
    db.close()
    # Drills: a drill 13.5 months before the end of June 2025 on system A; a compliance check in March
    # 2025 on every host; one critical and one medium finding still open.
    store = FindingsStore(state)
    hosts = {h.name: h for h in catalog.hosts}
    store.record_activity("drill", at=t(15, month=5, year=2024), hosts=[hosts["web-1"], hosts["db-1"]])
    store.record_activity("check", at=t(1, month=3), hosts=catalog.hosts)
    run = store.start_run("drill", started=t(20), hosts=catalog.hosts, roe_name="test", approval_ref="QĐ 1/2025",
                          approver="Giám đốc")
    found = [
        NewFinding(host="db-1", address="10.99.0.2", system="he-thong-a", security_level=3, check="ports",
                   subject="5432/tcp", title="Cổng CSDL mở ra DMZ", severity=Severity.critical, evidence="open",
                   remediation="Đóng cổng"),
        NewFinding(host="web-1", address="10.99.0.1", system="he-thong-a", security_level=3, check="headers",
                   subject="CSP", title="Thiếu CSP", severity=Severity.medium, evidence="missing",
                   remediation="Thêm CSP"),
    ]
    store.record_findings(run, found, covered={("db-1", "ports"), ("web-1", "headers")}, at=t(20))
    store.close()
    return state


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> StateDir:
    return build_state(tmp_path_factory.mktemp("report-state"), catalog)
