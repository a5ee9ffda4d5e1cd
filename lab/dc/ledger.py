"""What `dc up` made, written down as it is made, so `dc down` removes exactly that (even after a failed up).

Each entry is appended and the file rewritten before the next thing is made: a crash mid-way
leaves a ledger that still names everything that exists. `down` undoes the entries last first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KINDS = ("sysctl", "dir", "netns", "veth", "mount", "cgroups", "process", "file")


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {}
        if path.exists():
            data = json.loads(path.read_text())
            self.entries, self.info = data["entries"], data.get("info", {})

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        assert kind in KINDS, kind
        entry = {"kind": kind, **fields}
        self.entries.append(entry)
        self.save()
        return entry

    def set_info(self, **fields: Any) -> None:
        self.info.update(fields)
        self.save()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["kind"] == kind]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"info": self.info, "entries": self.entries}, indent=1, ensure_ascii=False))
        tmp.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
