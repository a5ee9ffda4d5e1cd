"""A plausible one-stop export for the demo: this month's dossiers for the catalogue's services (seeded)."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dossiers.columns import REQUIRED
from dvcops.catalog import Catalog

DEMO_DOSSIERS = 400


def write_demo_export(catalog: Catalog, path: Path, n: int = DEMO_DOSSIERS) -> Path:
    """`n` dossiers received since the start of this month, in the current code format (a tenth legacy),
    with ratings and complaints, as a CSV with Vietnamese headers and a BOM (as Excel saves it)."""
    tz = ZoneInfo(catalog.province.timezone)
    now = datetime.now(tz).replace(microsecond=0)
    start = now.replace(day=1, hour=0, minute=0, second=0)
    span = max(int((now - start).total_seconds()), 3600)
    rng = random.Random(766)
    headers = ["Mã hồ sơ", "Mã dịch vụ", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày trả kết quả", "Kênh nộp",
               "Mức độ trực tuyến", "Trạng thái", "Mức đánh giá", "Số phản ánh, kiến nghị"]
    assert len(headers) == len(REQUIRED) + 2
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(headers)
        for i in range(n):
            service = catalog.services[i % len(catalog.services)]
            received = start + timedelta(seconds=rng.randrange(span))
            due = received + timedelta(days=rng.choice([1, 3, 5, 15]))
            returned = received + timedelta(hours=rng.randint(2, 24 * 18))
            done = returned <= now and rng.random() < 0.9
            full = service.level == "toan-trinh"
            online = rng.random() < (0.8 if full else 0.5)
            code = (f"H{i % 90 + 10}.{i % 7:03d}.{i % 3:02d}-{received:%y%m%d}-DV{i:04d}" if i % 10
                    else f"{catalog.province.code}-{received:%Y}-{i:06d}")  # an older system's code
            out.writerow([code, service.id, received.isoformat(), due.isoformat(),
                          returned.isoformat() if done else "", "online" if online else rng.choice(["counter", "post"]),
                          "toan-trinh" if online and full else "mot-phan" if online else "none",
                          "returned" if done else "processing",
                          rng.choice(["rat-hai-long", "hai-long", "hai-long", "khong-hai-long"]) if done and
                          rng.random() < 0.3 else "", 1 if done and rng.random() < 0.02 else 0])
    return path
