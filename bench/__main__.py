"""Run the benchmarks: `python -m bench [name ...]` (names: the bench_<name>.py modules).

Each module's `run()` returns rows {"benchmark", "figure", "value", "goal", "met"}; they are printed
as a Markdown table (pasted into README) and written to bench/results/<name>.json with the date.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    all_rows = []
    for name in names:
        mod = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        rows = mod.run()
        took = time.monotonic() - t0
        meta = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.machine(),
                "python": platform.python_version(), "seconds": round(took, 1)}
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2,
                                                                  ensure_ascii=False))
        all_rows += rows
    print("\n| benchmark | figure | value | goal | met |\n|---|---|---|---|---|")
    for r in all_rows:
        print(f"| {r['benchmark']} | {r['figure']} | {r['value']} | {r.get('goal', '')} | "
              f"{'yes' if r.get('met') else ('no' if r.get('met') is False else '')} |")
    return 0 if all(r.get("met") is not False for r in all_rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
