"""Drill scenario actions on the DC's real hosts: what the loopback lab's control API does, done for real.

A scenario's `open-port HOST PORT` inserts an nftables rule that accepts PORT in the host's
`inet dvcops` input chain (the firewall the playbooks wrote), so a listener the firewall hid becomes
reachable; `close-port` deletes exactly the rules it inserted (they carry a comment). The drill
runner calls `action()` as it calls the lab's (drills.runner.LabLike); it never imports the lab.
"""

from __future__ import annotations

import json
from typing import Any

from lab.dc.datacentre import DataCentre
from lab.dc.errors import DCError

COMMENT = "dvcops-drill-inject"


class DCControl:
    def __init__(self, dc: DataCentre) -> None:
        self.dc = dc

    def action(self, name: str, **params: Any) -> dict[str, Any]:
        host, port = str(params.get("host")), params.get("port")
        if name not in ("open-port", "close-port"):
            raise DCError(f"lab action {name}: the DC lab does open-port and close-port (on the host's firewall)")
        if not isinstance(port, int):
            raise DCError(f"lab action {name}: needs a port")
        if name == "open-port":
            self._nft(host, ["insert", "rule", "inet", "dvcops", "input", "tcp", "dport", str(port), "accept",
                             "comment", f'"{COMMENT}"'])
        else:
            for handle in self._handles(host, port):
                self._nft(host, ["delete", "rule", "inet", "dvcops", "input", "handle", str(handle)])
        return {"action": name, "host": host, "port": port, "open": bool(self._handles(host, port))}

    def _handles(self, host: str, port: int) -> list[int]:
        """Handles of the rules this module inserted for `port` on `host`."""
        out = self._nft(host, ["-j", "-a", "list", "chain", "inet", "dvcops", "input"])
        handles = []
        for item in json.loads(out)["nftables"]:
            rule = item.get("rule")
            if rule and rule.get("comment") == COMMENT and f'"right": {port}' in json.dumps(rule["expr"]):
                handles.append(int(rule["handle"]))
        return handles

    def _nft(self, host: str, args: list[str]) -> str:
        proc = self.dc.on_host(host, ["nft", *args])
        if proc.returncode != 0:
            raise DCError(f"{host}: nft {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout
