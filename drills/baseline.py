"""The network baseline: nmap through python-nmap, the raw XML kept, nmap's errors surfaced.

python-nmap runs `nmap -oX - <hosts> -p <ports> <arguments>`. It raises only when the output is
not XML; any other stderr line ends up in `['nmap']['scaninfo']['error']` while the result looks
normal (e.g. a local firewall making every port look "filtered"). We refuse such a result.

Every scan records the nmap version, scan type, privilege and command line, and keeps the XML in
the run's folder. Hosts are always given as addresses with `-n` (nmap asks no DNS server) and
`-Pn` (no discovery probes to ports outside the RoE list).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import nmap
from pydantic import BaseModel

from drills.db import utcnow
from drills.errors import DrillError
from drills.findings import NewFinding
from drills.messages import texts
from drills.policy import Policy
from drills.roe import RoE, Scope
from dvcops.system import require_program

_BENIGN = re.compile(r"^(warning|rttvar has grown|increasing send delay|decreasing|note:|stats:)", re.IGNORECASE)


def nmap_arguments(roe: RoE, scan_type: str) -> list[str]:
    """The nmap options a run uses (hosts and -p are added by python-nmap)."""
    s = roe.scan
    args = ["-n", "-Pn", "-sS" if scan_type == "syn" else "-sT"]
    if s.service_detection:
        args.append("-sV")
        if s.version_intensity is not None:
            args += ["--version-intensity", str(s.version_intensity)]
    args += ["--max-rate", str(roe.rate.packets_per_second), "--max-retries", str(s.max_retries),
             "--host-timeout", f"{int(s.host_timeout.total_seconds())}s", "--reason"]
    return args


def nmap_command(addresses: list[str], ports: str, arguments: list[str]) -> list[str]:
    """The exact argv python-nmap runs (for the plan, the record and the benchmark)."""
    return ["nmap", "-oX", "-", *addresses, "-p", ports, *arguments]


class PortResult(BaseModel):
    port: int
    state: str
    reason: str = ""
    service: str = ""
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    banner: str = ""
    """What nmap received from a service it could not name (from the service fingerprint)."""

    def label(self) -> str:
        parts = [self.service or "unknown", self.product, self.version, f"({self.extrainfo})" if self.extrainfo else ""]
        return " ".join(p for p in parts if p)

    def signature(self) -> tuple[str, str, str, str]:
        return (self.service, self.product, self.version, self.extrainfo)


class HostResult(BaseModel):
    address: str
    state: str
    ports: dict[int, PortResult]
    """Ports nmap listed one by one."""
    default_state: str = "closed"
    """State of scanned ports nmap folded into <extraports>."""

    def port(self, port: int) -> PortResult:
        return self.ports.get(port) or PortResult(port=port, state=self.default_state, reason="extraports")


class ScanMeta(BaseModel):
    nmap_version: str
    scan_type: str
    privileged: bool
    service_detection: bool
    command_line: str
    ports: str
    started: datetime
    elapsed: float
    xml_path: str
    warnings: list[str]

    @property
    def kind(self) -> str:
        """Runs are diffed only against runs of the same kind (same scan type, same -sV)."""
        return self.scan_type + ("+sV" if self.service_detection else "")


class ScanResult(BaseModel):
    meta: ScanMeta
    hosts: dict[str, HostResult]
    scanned_ports: list[int]


def expand_ports(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


_FP_DATA = re.compile(r'r\([A-Za-z]+,[0-9A-F]+,"(.*?)"\)', re.S)


def _banner(servicefp: str) -> str:
    """The first response nmap recorded in a service fingerprint, unescaped and trimmed."""
    m = _FP_DATA.search(servicefp.replace("%r(", "r(").replace("\nSF:", ""))
    if not m:
        return ""
    raw = re.sub(r"\\x([0-9a-fA-F]{2})", lambda x: chr(int(x.group(1), 16)), m.group(1))
    raw = raw.replace("\\r", "\r").replace("\\n", "\n").replace("\\0", "\0").replace("\\", "")
    return "".join(c if c.isprintable() else " " for c in raw).strip()[:120]


def parse_xml(xml_text: str, *, privileged: bool, started: datetime, xml_path: str,
              warnings: list[str] | None = None) -> ScanResult:
    """Read nmap XML (this run's or a stored one) into a ScanResult."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise DrillError(f"nmap XML {xml_path}: cannot be read ({exc})") from None
    info = root.find("scaninfo")
    scan_type = info.get("type", "") if info is not None else ""
    services = info.get("services", "") if info is not None else ""
    hosts: dict[str, HostResult] = {}
    for h in root.findall("host"):
        addr_el = h.find("address[@addrtype='ipv4']")
        if addr_el is None:
            addr_el = h.find("address")
        if addr_el is None:
            continue
        status = h.find("status")
        ports: dict[int, PortResult] = {}
        default_state = "closed"
        for extra in h.findall("ports/extraports"):
            default_state = extra.get("state", default_state)
        for p in h.findall("ports/port"):
            st, sv = p.find("state"), p.find("service")
            ports[int(p.get("portid", "0"))] = PortResult(
                port=int(p.get("portid", "0")), state=st.get("state", "") if st is not None else "",
                reason=st.get("reason", "") if st is not None else "",
                service=sv.get("name", "") if sv is not None else "", product=sv.get("product", "") if sv is not None
                else "", version=sv.get("version", "") if sv is not None else "",
                extrainfo=sv.get("extrainfo", "") if sv is not None else "",
                banner=_banner(sv.get("servicefp", "")) if sv is not None else "")
        addr = addr_el.get("addr", "")
        hosts[addr] = HostResult(address=addr, state=status.get("state", "") if status is not None else "",
                                 ports=ports, default_state=default_state)
    finished = root.find("runstats/finished")
    meta = ScanMeta(
        nmap_version=root.get("version", ""), scan_type=scan_type, privileged=privileged,
        service_detection=" -sV" in f" {root.get('args', '')}", command_line=root.get("args", ""), ports=services,
        started=started, elapsed=float(finished.get("elapsed", "0")) if finished is not None else 0.0,
        xml_path=xml_path, warnings=warnings or [])
    return ScanResult(meta=meta, hosts=hosts, scanned_ports=expand_ports(services))


def load_scan(xml_path: Path | str, started: datetime, privileged: bool = True) -> ScanResult:
    return parse_xml(Path(xml_path).read_text(encoding="utf-8"), privileged=privileged, started=started,
                     xml_path=str(xml_path))


def _stderr_lines(result: dict) -> tuple[list[str], list[str]]:
    """(errors, warnings) from what python-nmap kept of nmap's stderr, one line each, in order."""
    info = result.get("nmap", {}).get("scaninfo", {})
    errors: list[str] = []
    warnings: list[str] = [w.strip() for w in info.get("warning", []) if w.strip()]
    for chunk in info.get("error", []):  # python-nmap stores the whole stderr once per error line
        for line in chunk.splitlines():
            line = line.strip()
            if not line:
                continue
            (warnings if _BENIGN.match(line) else errors).append(line)
    return list(dict.fromkeys(errors)), list(dict.fromkeys(warnings))


def run_scan(addresses: list[str], roe: RoE, scope: Scope, arguments: list[str], xml_path: Path,
             privileged: bool) -> ScanResult:
    """Scan the addresses on the RoE ports; every address is checked against the scope first."""
    for a in addresses:
        scope.guard(a)  # belt and braces: the plan already checked them
    if not addresses:
        raise DrillError("nothing to scan")
    nmap_path = require_program("nmap")
    scanner = nmap.PortScanner(nmap_search_path=(str(nmap_path),))
    started = utcnow()
    t0 = time.monotonic()
    try:
        result = scanner.scan(hosts=" ".join(addresses), ports=roe.portspec, arguments=" ".join(arguments),
                              timeout=int(roe.scan.timeout.total_seconds()))
    except nmap.PortScannerTimeout:
        raise DrillError(f"nmap did not finish within {roe.scan.timeout} and was stopped (RoE scan.timeout)") from None
    except nmap.PortScannerError as exc:
        lines = [x.strip() for x in str(exc).splitlines() if x.strip() and x.strip() != "QUITTING!"]
        raise DrillError(f"nmap failed: {lines[0] if lines else exc}") from None
    raw = scanner.get_nmap_last_output()
    xml_text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    xml_path.write_text(xml_text, encoding="utf-8")
    errors, warnings = _stderr_lines(result)
    root_finished = ET.fromstring(xml_text).find("runstats/finished")
    if root_finished is not None and root_finished.get("exit") == "error":
        errors.append(root_finished.get("errormsg", "nmap exited with an error"))
    if errors:
        shown = errors[:4] + ([f"... and {len(errors) - 4} more lines"] if len(errors) > 4 else [])
        raise DrillError(f"nmap reported errors, so its results cannot be trusted (raw XML: {xml_path}):",
                         *(f"  nmap: {e}" for e in shown))
    scan = parse_xml(xml_text, privileged=privileged, started=started, xml_path=str(xml_path), warnings=warnings)
    scan.meta.elapsed = round(time.monotonic() - t0, 3)
    return scan


def port_findings(scan: ScanResult, hosts: list, policy: Policy) -> list[NewFinding]:
    """Compare each host's ports with its role baseline: unexpected open ports, approved ones not answering.

    `hosts` are plan.PlannedHost (name, address, zone, security_level, system, roles, allowed_ports).
    """
    out: list[NewFinding] = []
    scanned = set(scan.scanned_ports)
    for h in hosts:
        result = scan.hosts.get(h.address)
        if result is None:
            continue
        allowed = set(h.allowed_ports)
        base = {"host": h.name, "address": h.address, "system": h.system, "zone": h.zone,
                "security_level": h.security_level, "check": "ports"}
        for port in sorted(result.ports):
            p = result.ports[port]
            if p.state != "open" or port in allowed:
                continue
            cls = policy.port_class(port, p.service, p.banner)
            severity = policy.unexpected_port_severity(cls, h.zone, h.security_level)
            seen = p.label() + (f', banner "{p.banner}"' if p.banner else "")
            out.append(NewFinding(
                **base, subject=f"{port}/tcp", severity=severity, **texts("port-unexpected", port=port,
                                                                            service=p.label()),
                evidence=(f"nmap {scan.meta.scan_type} scan: {port}/tcp open ({p.reason}); service: {seen}; "
                          f"roles {', '.join(h.roles) or '-'} allow {sorted(allowed) or 'no ports'}; "
                          f"class {cls}, zone {h.zone}, security level {h.security_level or '-'}")))
        for port in sorted(allowed & scanned):
            p = result.port(port)
            if p.state == "open":
                continue
            out.append(NewFinding(
                **base, subject=f"{port}/tcp (approved)",
                severity=policy.for_level(policy.approved_not_answering, h.security_level),
                **texts("port-not-answering", port=port, state=p.state),
                evidence=f"nmap {scan.meta.scan_type} scan: {port}/tcp {p.state} ({p.reason}); approved by roles "
                         f"{', '.join(h.roles)}"))
    return out
