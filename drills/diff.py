"""Changes between two scans of the same kind, with nmap ndiff's semantics.

Like ndiff: hosts added or removed, host state changed, ports opened or closed (or another state
change, e.g. open -> filtered), and for ports open in both scans a changed service (name, product,
version, extra info from -sV). Only ports scanned in both runs are compared, and only scans of
the same kind (scan type and -sV): a connect scan is not diffed against a SYN scan.
Exit-code convention as ndiff: 0 same, 1 different.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from drills.baseline import ScanResult

ChangeKind = Literal["host-added", "host-removed", "host-state", "opened", "closed", "state", "service"]


class Change(BaseModel):
    kind: ChangeKind
    address: str
    host: str
    port: int | None = None
    before: str = ""
    after: str = ""

    def line(self) -> str:
        """ndiff-like text: + opened, - closed, ~ changed."""
        who = f"{self.host} ({self.address})" if self.host and self.host != self.address else self.address
        if self.kind == "host-added":
            return f"+{who}: host now scanned"
        if self.kind == "host-removed":
            return f"-{who}: host no longer scanned"
        if self.kind == "host-state":
            return f"~{who}: host {self.before} -> {self.after}"
        mark = {"opened": "+", "closed": "-"}.get(self.kind, "~")
        return f"{mark}{who} {self.port}/tcp {self.kind}: {self.before} -> {self.after}"


class ScanDiff(BaseModel):
    previous_run: int | None
    kind: str
    changes: list[Change]

    @property
    def differs(self) -> bool:
        return bool(self.changes)

    @property
    def exit_code(self) -> int:
        return 1 if self.changes else 0


def _describe(state: str, label: str) -> str:
    return f"{state} {label}" if state == "open" else state


def diff_scans(old: ScanResult, new: ScanResult, names: dict[str, str] | None = None,
               previous_run: int | None = None) -> ScanDiff:
    """What changed from `old` to `new`, hosts and ports in order."""
    names = names or {}
    changes: list[Change] = []
    common_ports = sorted(set(old.scanned_ports) & set(new.scanned_ports))
    for addr in sorted(set(old.hosts) | set(new.hosts)):
        host = names.get(addr, addr)
        a, b = old.hosts.get(addr), new.hosts.get(addr)
        if a is None:
            changes.append(Change(kind="host-added", address=addr, host=host))
            continue
        if b is None:
            changes.append(Change(kind="host-removed", address=addr, host=host))
            continue
        if a.state != b.state:
            changes.append(Change(kind="host-state", address=addr, host=host, before=a.state, after=b.state))
        for port in common_ports:
            pa, pb = a.port(port), b.port(port)
            before, after = _describe(pa.state, pa.label()), _describe(pb.state, pb.label())
            if pa.state != pb.state:
                kind: ChangeKind = "opened" if pb.state == "open" else "closed" if pa.state == "open" else "state"
                changes.append(Change(kind=kind, address=addr, host=host, port=port, before=before, after=after))
            elif pa.state == "open" and pa.signature() != pb.signature():
                changes.append(Change(kind="service", address=addr, host=host, port=port, before=pa.label(),
                                      after=pb.label()))
    return ScanDiff(previous_run=previous_run, kind=new.meta.kind, changes=changes)
