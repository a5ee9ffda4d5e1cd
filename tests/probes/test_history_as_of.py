"""probes.history read as of a date: certificates seen by then, incidents still open at the period's end."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from probes.history import EndpointRef, History, Sample
from probes.models import CertInfo, ProbeResult

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EP = EndpointRef(service="dvc", agency="so-a", level="3", endpoint="https://dvc.example/")


def result(at: datetime, expiry: datetime) -> ProbeResult:
    cert = CertInfo(leaf_expiry=expiry, earliest_expiry=expiry, subject="CN=dvc.example", verified=True)
    return ProbeResult(service=EP.service, agency=EP.agency, level=EP.level, endpoint=EP.endpoint, kind="http",
                       at=at, success=True, state="up", duration_seconds=0.05, cert=cert, status_code=200)


def test_certificates_as_of_the_end_of_a_period(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    june_cert, renewed = datetime(2025, 7, 15, tzinfo=TZ), datetime(2026, 7, 15, tzinfo=TZ)
    with History(path, "Asia/Ho_Chi_Minh") as h:
        h.record([result(datetime(2025, 6, 20, tzinfo=TZ), june_cert)])
    # a store of the previous release had no cert_history: it starts from the endpoint's latest certificate
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE cert_history")
    conn.execute("PRAGMA user_version = 1")  # the first release's schema (probes.store.SCHEMA): migrated on open
    conn.commit()
    conn.close()
    with History(path, "Asia/Ho_Chi_Minh") as h:
        h.record([result(datetime(2025, 7, 10, tzinfo=TZ), renewed)])
        end_june = datetime(2025, 7, 1, tzinfo=TZ)
        (cert,) = h.report("2025-06", cert_days=30, as_of=end_june).certificates
        assert cert.expires_at == june_cert and cert.days_left == 14.0
        assert h.report("2025-07", cert_days=30, as_of=datetime(2025, 8, 1, tzinfo=TZ)).certificates == []
        # without as_of: the latest certificate, counted from now (the renewed one, a year away at most)
        assert h.report("2025-06", cert_days=400, now=datetime(2025, 7, 11, tzinfo=TZ)).certificates[0].expires_at \
            == renewed


def test_an_incident_open_at_the_end_of_the_period_reads_the_same_once_it_ends(tmp_path: Path) -> None:
    """Clipped to the period's end while it lasts and after it ended: a closed month's figures do not move."""
    path = tmp_path / "history.sqlite"
    start = datetime(2025, 6, 30, 23, 0, tzinfo=TZ)
    end_june = datetime(2025, 7, 1, tzinfo=TZ)
    down = [Sample(at=start + timedelta(minutes=i), state="down", reason="connect") for i in range(0, 90, 1)]
    with History(path, "Asia/Ho_Chi_Minh") as h:
        h.write(EP, down[:61])                                       # the prober wrote up to 00:00 on 01/07
        first = h.report("2025-06", as_of=end_june).incidents
        h.write(EP, [*down[61:], Sample(at=start + timedelta(minutes=90), state="up", latency_seconds=0.1)])
        again = h.report("2025-06", as_of=end_june).incidents
    assert [(i.ongoing, i.end, i.duration_minutes) for i in first] == [(False, end_june, 60.0)]
    assert again == first
    with History(path, "Asia/Ho_Chi_Minh") as h:  # while the period runs, an open incident is ongoing
        h.write(EP, [Sample(at=start + timedelta(minutes=95), state="down", reason="connect")])
        ended, now = h.report("2025-07", as_of=datetime(2025, 7, 1, 2, 0, tzinfo=TZ)).incidents
    assert (ended.ongoing, ended.duration_minutes) == (False, 30.0)
    assert (now.ongoing, now.end) == (True, None)
