"""Loading and validating a 5,000-service catalogue (goal: <= 1 s)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from dvcops.catalog import load_catalog


def big_catalog(n_services: int = 5000, n_agencies: int = 50, n_hosts: int = 200) -> dict:
    agencies = [{"id": f"agency-{a}", "name": f"Sở số {a}", "kind": "department"} for a in range(n_agencies)]
    hosts = [{"name": f"host-{h}", "address": f"10.30.{h // 250}.{h % 250 + 1}", "zone": "app",
              "roles": ["web"], "security_level": 3} for h in range(n_hosts)]
    services = [{
        "id": f"dich-vu-{i}", "name": f"Thủ tục hành chính số {i}", "agency": f"agency-{i % n_agencies}",
        "level": ["3", "4", "toan-trinh", "mot-phan"][i % 4], "online_since": 2015 + i % 10,
        "hosts": [f"host-{i % n_hosts}"],
        "endpoints": [{"url": f"https://dichvucong.example/tt/{i}",
                       "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 2000"]}],
    } for i in range(n_services)]
    return {"version": 1, "province": {"code": "BM", "name": "Tỉnh Benchmark", "reviewer": "Sở KH&CN"},
            "agencies": agencies, "services": services, "hosts": hosts, "roles": {"web": {"ports": [80, 443]}}}


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yml"
        path.write_text(yaml.safe_dump(big_catalog(), allow_unicode=True), encoding="utf-8")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            cat = load_catalog(path)
            times.append(time.perf_counter() - t0)
        assert len(cat.services) == 5000
    best, worst = min(times), max(times)
    return [{"benchmark": "catalog", "figure": "load + validate 5,000 services (best of 3)",
             "value": f"{best:.3f} s (worst {worst:.3f} s)", "goal": "<= 1 s", "met": worst <= 1.0}]
