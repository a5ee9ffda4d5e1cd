"""Dossier test fixtures: a small catalogue, a generated export with its answers computed here in plain Python,
SQLite and a real PostgreSQL. Loopback prefix 127.0.100 (PostgreSQL 127.0.100.1; survey servers of the
invitation and /docs tests: 127.0.100.10-.29, see tests/survey)."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from dvcops.timezone import DEFAULT_TZ
from tests.pg import PostgresServer

PG_HOST = "127.0.100.1"
TZ = ZoneInfo(DEFAULT_TZ)
SERVICES = {  # id -> (agency, catalogue level)
    "dkkd": ("so-khdt", "toan-trinh"), "dau-tu": ("so-khdt", "mot-phan"),
    "xay-dung": ("so-xd", "toan-trinh"), "giay-to": ("so-xd", "2"),
}
UNHAPPY = ("khong-hai-long", "rat-khong-hai-long")
HEADERS_EN = ["dossier_code", "service_id", "received_at", "due_at", "returned_at", "channel", "online_level",
              "status", "rating", "complaints"]
HEADERS_VI = ["Mã hồ sơ", "Mã dịch vụ", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày trả kết quả", "Kênh nộp",
              "Mức độ trực tuyến", "Trạng thái", "Mức đánh giá", "Số phản ánh, kiến nghị"]


def write_catalog(path: Path) -> Path:
    data = {"version": 1, "province": {"code": "TD", "name": "Tỉnh Thử", "reviewer": "Sở Khoa học và Công nghệ"},
            "agencies": [{"id": "so-khdt", "name": "Sở Kế hoạch và Đầu tư", "kind": "department"},
                         {"id": "so-xd", "name": "Sở Xây dựng", "kind": "department"}],
            "services": [{"id": s, "name": s.upper(), "agency": a, "level": lv} for s, (a, lv) in SERVICES.items()],
            "targets": {"online_rate": {2025: 0.5}, "full_online_rate": {2025: 0.7}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Record:
    code: str
    service: str
    received: datetime
    due: datetime
    returned: datetime | None
    channel: str
    level: str
    status: str
    rating: str
    complaints: int

    def cells(self) -> list[str]:
        return [self.code, self.service, self.received.isoformat(), self.due.isoformat(),
                self.returned.isoformat() if self.returned else "", self.channel, self.level, self.status,
                self.rating, str(self.complaints)]


def generate(n: int = 400, seed: int = 18) -> list[Record]:
    """Dossiers around June 2025: received from April to July, some returned after June, some still open,
    rejected and withdrawn ones, current and legacy codes, ratings and complaints; times in +07:00 and UTC."""
    rng = random.Random(seed)
    start = datetime(2025, 4, 1, tzinfo=TZ)
    out = []
    for i in range(n):
        service = rng.choice(list(SERVICES))
        received = start + timedelta(minutes=rng.randrange(120 * 1440))
        due = received + timedelta(days=rng.choice([0, 1, 5, 10, 20]))
        status = rng.choices(["returned", "processing", "rejected", "withdrawn"], [70, 20, 5, 5])[0]
        returned = None if status == "processing" else received + timedelta(hours=rng.randint(0, 30 * 24))
        if i % 17 == 0 and returned is not None:
            returned = due  # exactly at the due time: on time
        channel = rng.choice(["online", "online", "counter", "post"])
        level = rng.choice(["toan-trinh", "mot-phan"]) if channel == "online" else "none"
        code = (f"H56.{i % 1000:03d}.{i % 100:02d}-{received:%y%m%d}-DV{i:04d}" if i % 5
                else f"000.00.31.H56-{received:%y%m%d}-{i:04d}")  # the older (QĐ 20/2020) shape: legacy now
        if i % 11 == 0:
            received = received.astimezone(ZoneInfo("UTC"))  # another offset, same instant
        rating = rng.choice(["", "", "rat-hai-long", "hai-long", "khong-hai-long"]) if returned else ""
        out.append(Record(code, service, received, due, returned, channel, level, status, rating,
                          1 if returned and rng.random() < 0.05 else 0))
    return out


def write_csv(path: Path, records: list[Record], vietnamese: bool = True, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(HEADERS_VI if vietnamese else HEADERS_EN)
        for r in records:
            w.writerow(r.cells())
    return path


def write_ndjson(path: Path, records: list[Record]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            obj = dict(zip(HEADERS_EN, r.cells(), strict=True))
            obj["complaints"] = r.complaints  # a number in JSON
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path


def expected(records: list[Record], start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """The counters per 'province' and per agency, by hand: plain comparisons of aware datetimes."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        agency, level = SERVICES[r.service]
        received = start <= r.received < end
        returned = r.status == "returned" and r.returned is not None and start <= r.returned < end
        still_open = r.received < end and ((r.status == "processing") or (r.returned is not None and r.returned >= end))
        feedback = returned  # the file carries rating and complaints columns
        unhappy = feedback and (r.rating in UNHAPPY or r.complaints > 0)
        facts = {
            "received": received, "received_online": received and r.channel == "online",
            "received_of_online_services": received and level in ("toan-trinh", "mot-phan", "3", "4"),
            "received_online_of_online_services": received and r.channel == "online" and level != "2",
            "received_of_full_online_services": received and level == "toan-trinh",
            "received_full_online_of_full_online_services": received and level == "toan-trinh"
            and r.level == "toan-trinh",
            "legacy_codes": received and r.code.startswith("000."),
            "returned": returned, "returned_on_time": returned and r.returned <= r.due,  # type: ignore[operator]
            "open": still_open, "overdue_open": still_open and r.due < end,
            "feedback_base": feedback, "unhappy": unhappy,
        }
        for key in ("province", agency):
            bucket = out.setdefault(key, {})
            for name, fact in facts.items():
                bucket[name] = bucket.get(name, 0) + bool(fact)
    return out


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    with PostgresServer(PG_HOST) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: a SQLite file, or a new database in the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dossiers.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("pg")
    return server.create_database(f"dossiers_{abs(hash(tmp_path)) % 10**8}")


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "catalog.yml")
