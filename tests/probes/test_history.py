"""Uptime maths against figures computed by hand, through the public history API."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dvcops.catalog import parse_catalog
from dvcops.periods import Period
from probes.errors import ProbeError
from probes.history import EndpointRef, History, Sample

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MINUTE = timedelta(minutes=1)
DKKD = EndpointRef(service="dang-ky-kinh-doanh", agency="so-khdt", endpoint="https://dvc.example/dkkd", level="3")
CATALOG = parse_catalog("""
version: 1
province: {code: HG, name: "Tỉnh Hà Giang", reviewer: "Sở Khoa học và Công nghệ"}
agencies:
  - {id: so-khdt, name: "Sở Kế hoạch và Đầu tư", kind: department}
  - {id: so-xd, name: "Sở Xây dựng", kind: department}
services:
  - id: dang-ky-kinh-doanh
    name: "Đăng ký kinh doanh"
    agency: so-khdt
    level: 3
    slo: 0.999
    endpoints: [{url: "https://dvc.example/dkkd"}, {url: "https://dvc.example/dkkd/tra-cuu"}]
  - id: giay-phep-xay-dung
    name: "Cấp giấy phép xây dựng"
    agency: so-xd
    level: 4
    slo: 0.99
    endpoints: [{url: "https://dvc.example/gpxd"}]
maintenance:
  - {services: [dang-ky-kinh-doanh], start: "2025-06-08T01:00:00+07:00", duration: 2h, reason: "Nâng cấp"}
""")


def t(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "history.sqlite")


def _june(history: History) -> None:
    """June 2025 (30 days = 43,200 minutes) probed every minute; one 90-minute outage on the 12th
    (10:00-11:30) and the catalogue's 2-hour maintenance window on the 8th (01:00-03:00)."""
    history.backfill(DKKD, t(1, 0), t(1, 0, month=7), every=MINUTE, outages=[(t(12, 10), t(12, 11, 30))],
                     maintenance=CATALOG.maintenance_for("dang-ky-kinh-doanh"), latency_seconds=0.2)


def test_a_month_with_one_outage_and_one_maintenance_window(history: History) -> None:
    _june(history)
    row = history.uptime("2025-06", endpoint=DKKD.endpoint)
    # 43,200 attempts; 120 in maintenance leave the denominator; 90 failed.
    assert (row.attempts, row.maintenance, row.successes) == (43_080, 120, 42_990)
    assert row.uptime == pytest.approx(42_990 / 43_080)  # 99.7911 %
    assert row.downtime_minutes == 90.0 and row.incidents == 1
    assert row.p95_latency_seconds == pytest.approx(0.2)
    incidents = history.incidents("2025-06", service="dang-ky-kinh-doanh")
    assert [(i.start, i.end, i.duration_minutes, i.ongoing) for i in incidents] == [
        (t(12, 10), t(12, 11, 30), 90.0, False)]


def test_the_service_against_its_slo_with_the_catalogue(history: History) -> None:
    _june(history)
    svc = history.uptime("2025-06", service="dang-ky-kinh-doanh", catalog=CATALOG)
    assert svc.name == "Đăng ký kinh doanh" and svc.slo == 0.999
    assert svc.meets_slo is False  # 99.79 % < 99.9 %
    # July has no history: no attempts, no verdict.
    july = history.uptime("2025-07", service="dang-ky-kinh-doanh", catalog=CATALOG)
    assert (july.attempts, july.uptime, july.meets_slo) == (0, None, None)


def test_writing_attempt_by_attempt_gives_the_same_answers(tmp_path: Path) -> None:
    quick, slow = History(tmp_path / "a.sqlite"), History(tmp_path / "b.sqlite")
    _june(quick)
    outage = (t(12, 10), t(12, 11, 30))
    samples = []
    at = t(1, 0)
    while at < t(1, 0, month=7):
        down = outage[0] <= at < outage[1]
        samples.append(Sample(at=at, state="down" if down else "up", latency_seconds=None if down else 0.2,
                              reason="connect" if down else None))
        at += MINUTE
    slow.write(DKKD, samples, maintenance=CATALOG.maintenance_for("dang-ky-kinh-doanh"))
    a, b = quick.report("2025-06", CATALOG), slow.report("2025-06", CATALOG)
    assert a.incidents == b.incidents
    for x, y in zip(a.endpoints, b.endpoints, strict=True):
        assert x.model_dump(exclude={"mean_latency_seconds"}) == y.model_dump(exclude={"mean_latency_seconds"})


def test_periods_quarter_half_year_and_range(history: History) -> None:
    _june(history)
    for label in ("2025-Q2", "2025-H1", "2025"):
        assert history.uptime(label, endpoint=DKKD.endpoint).attempts == 43_080
    assert history.uptime("2025-Q3", endpoint=DKKD.endpoint).attempts == 0
    # 12 June 08:00 to 12:00 (local): 240 attempts, the 90 failures among them; an explicit range
    rng = Period.between("2025-06-12T08:00", "2025-06-12T12:00")
    row = history.uptime(rng, endpoint=DKKD.endpoint)
    assert (row.attempts, row.successes, row.downtime_minutes) == (240, 150, 90.0)


def test_an_incident_is_clipped_to_the_period(history: History) -> None:
    """An outage from 31 May 23:00 to 1 June 01:00 counts 60 minutes in each month."""
    history.backfill(DKKD, t(31, 0, month=5), t(3, 0), outages=[(t(31, 23, month=5), t(1, 1))])
    june = history.incidents("2025-06", endpoint=DKKD.endpoint)
    may = history.incidents("2025-05", endpoint=DKKD.endpoint)
    assert [(i.start, i.duration_minutes) for i in june] == [(t(1, 0), 60.0)]
    assert [(i.start, i.end, i.duration_minutes) for i in may] == [(t(31, 23, month=5), t(1, 0), 60.0)]
    assert history.uptime("2025-06", endpoint=DKKD.endpoint).downtime_minutes == 60.0


def test_maintenance_ends_an_incident_and_unknown_is_not_charged(history: History) -> None:
    history.backfill(DKKD, t(1, 0), t(2, 0), outages=[(t(1, 10), t(1, 14))],
                     maintenance=[(t(1, 11), t(1, 12))], unknown=[(t(1, 20), t(1, 21))])
    row = history.uptime("2025-06", endpoint=DKKD.endpoint)
    # 1,440 attempts: 60 maintenance, 60 unknown not charged; failures 10:00-11:00 and 12:00-14:00.
    assert (row.attempts, row.maintenance, row.unknown, row.successes) == (1320, 60, 60, 1320 - 180)
    incidents = history.incidents("2025-06", endpoint=DKKD.endpoint)
    assert [(i.start, i.end) for i in incidents] == [(t(1, 10), t(1, 11)), (t(1, 12), t(1, 14))]
    assert row.downtime_minutes == 180.0


def test_service_incidents_merge_endpoints_and_agencies_add_up(history: History) -> None:
    lookup = EndpointRef(service="dang-ky-kinh-doanh", agency="so-khdt", endpoint="https://dvc.example/dkkd/tra-cuu")
    gpxd = EndpointRef(service="giay-phep-xay-dung", agency="so-xd", endpoint="https://dvc.example/gpxd")
    history.backfill(DKKD, t(1, 0), t(2, 0), outages=[(t(1, 10), t(1, 11))])
    history.backfill(lookup, t(1, 0), t(2, 0), outages=[(t(1, 10, 30), t(1, 12))])
    history.backfill(gpxd, t(1, 0), t(2, 0), outages=[(t(1, 8), t(1, 8, 30))])
    rep = history.report("2025-06", CATALOG)
    svc = {r.id: r for r in rep.services}
    # the two endpoints' outages overlap: one service incident 10:00-12:00
    assert [(i.service, i.start, i.end, sorted(i.endpoints)) for i in rep.incidents] == [
        ("giay-phep-xay-dung", t(1, 8), t(1, 8, 30), [gpxd.endpoint]),
        ("dang-ky-kinh-doanh", t(1, 10), t(1, 12), sorted([DKKD.endpoint, lookup.endpoint]))]
    assert svc["dang-ky-kinh-doanh"].downtime_minutes == 120.0
    assert svc["dang-ky-kinh-doanh"].uptime == pytest.approx((2880 - 60 - 90) / 2880)
    assert svc["giay-phep-xay-dung"].uptime == pytest.approx((1440 - 30) / 1440)
    assert svc["giay-phep-xay-dung"].meets_slo is False  # 97.9 % < 99 %
    assert rep.province.downtime_minutes == 150.0 and rep.province.incidents == 2
    assert rep.province.uptime == pytest.approx((4320 - 180) / 4320)
    assert [(a.id, a.name, a.services) for a in rep.agencies] == [
        ("so-khdt", "Sở Kế hoạch và Đầu tư", 1), ("so-xd", "Sở Xây dựng", 1)]


def test_attempts_through_the_prober_record_path(history: History) -> None:
    from probes.models import CertInfo, ProbeResult

    expiry = datetime.now(ZoneInfo("UTC")) + timedelta(days=5)
    cert = CertInfo(leaf_expiry=expiry, earliest_expiry=expiry, subject="CN=dvc.example", verified=True)
    base = dict(service=DKKD.service, agency=DKKD.agency, level="3", endpoint=DKKD.endpoint, kind="http")
    now = datetime.now(TZ).replace(second=0, microsecond=0)
    results = [ProbeResult(**base, at=now, success=True, state="up", duration_seconds=0.05, cert=cert),
               ProbeResult(**base, at=now + MINUTE, success=False, state="down", failure_reason="status",
                           duration_seconds=0.05, status_code=503, cert=cert),
               ProbeResult(**base, at=now + 2 * MINUTE, success=True, state="up", duration_seconds=0.07, cert=cert)]
    history.record(results)  # type: ignore[arg-type]
    today = Period.between(now - timedelta(hours=1), now + timedelta(hours=1))
    row = history.uptime(today, endpoint=DKKD.endpoint)
    assert (row.attempts, row.successes, row.downtime_minutes) == (3, 2, 1.0)
    assert [(i.reason, i.duration_minutes) for i in history.incidents(today)] == [("status", 1.0)]
    certs = history.certificates(within_days=7)
    assert [(c.endpoint, round(c.days_left)) for c in certs] == [(DKKD.endpoint, 5)]
    assert history.certificates(within_days=3) == []
    assert [r["state"] for r in history.raw(now - MINUTE, now + 5 * MINUTE)] == ["up", "down", "up"]


def test_retention_keeps_daily_rollups_after_hourly_and_raw_are_pruned(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite", raw_days=1, hourly_days=31)
    _june(history)
    assert history.store is not None
    history.store.prune(now=t(1, 0, month=12).timestamp(), force=True)
    row = history.uptime("2025-06", endpoint=DKKD.endpoint)  # whole days come from the daily roll-up
    assert (row.attempts, row.successes) == (43_080, 42_990)
    partial = history.uptime(Period.between("2025-06-12T08:00", "2025-06-12T12:00"), endpoint=DKKD.endpoint)
    assert partial.attempts == 0  # hours older than hourly_days are gone


def test_bad_input_is_a_probe_error(history: History) -> None:
    with pytest.raises(ProbeError, match="give a time zone"):
        history.backfill(DKKD, datetime(2025, 6, 1), t(2, 0))
    _june(history)
    with pytest.raises(ProbeError, match="no probe history for 'khong-co'"):
        history.uptime("2025-06", service="khong-co")


def test_any_range_reads_the_same_as_counting_minutes(history: History) -> None:
    """Ranges over months, days and hours (read from monthly, daily and hourly roll-ups) agree with
    counting the minutes by hand."""
    import random

    outages = [(t(28, 22, month=5), t(1, 3)), (t(14, 9, 17), t(14, 9, 58)), (t(30, 23), t(1, 0, month=7))]
    history.backfill(DKKD, t(1, 0, month=5), t(1, 0, month=8), outages=outages)
    rng = random.Random(7)
    first, hours = t(1, 0, month=5), 92 * 24
    for _ in range(25):
        a, b = sorted(rng.sample(range(hours + 1), 2))
        start, end = first + timedelta(hours=a), first + timedelta(hours=b)
        failed = sum(max(0.0, (min(end, oe) - max(start, os)).total_seconds() / 60) for os, oe in outages)
        row = history.uptime(Period.between(start, end), endpoint=DKKD.endpoint)
        assert (row.attempts, row.attempts - row.successes) == ((b - a) * 60, failed), (start, end)
        assert row.downtime_minutes == failed


def test_a_range_is_cut_into_months_days_hours_and_minutes(history: History) -> None:
    assert history.store is not None
    pieces = history.store.pieces(t(30, 22, 30, month=4).timestamp(), t(2, 1, 15, month=7).timestamp())
    named = [(table, datetime.fromtimestamp(a, TZ), datetime.fromtimestamp(b, TZ)) for table, a, b in pieces if a < b]
    assert sorted(named) == sorted([
        ("raw", t(30, 22, 30, month=4), t(30, 23, month=4)), ("raw", t(2, 1, month=7), t(2, 1, 15, month=7)),
        ("hourly", t(30, 23, month=4), t(1, 0, month=5)), ("hourly", t(2, 0, month=7), t(2, 1, month=7)),
        ("daily", t(1, 0, month=7), t(2, 0, month=7)), ("monthly", t(1, 0, month=5), t(1, 0, month=7))])
