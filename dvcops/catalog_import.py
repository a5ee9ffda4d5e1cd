"""An existing Prometheus + blackbox_exporter setup as a catalogue draft (`dvcops catalog import-blackbox`).

Reads the scrape jobs that use blackbox's multi-target pattern (`metrics_path: /probe`), their module
(`params.module`, or a relabelling that sets `__param_module`) and targets (`static_configs`, and
`file_sd_configs` files next to prometheus.yml), and the modules file. Every target becomes one
service with one endpoint, `draft: true`, owned by a placeholder agency: a person names the services
and gives each its agency before the catalogue is used. What a module does that a catalogue endpoint
cannot say is listed in the draft's header, not silently dropped. Only YAML is read and written.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dvcops.catalog import parse_catalog
from dvcops.errors import CatalogError
from dvcops.yamlsource import SourceMap, YamlProblem, read_yaml

PLACEHOLDER_AGENCY = "chua-phan-cong"
CONVERTED_HTTP = {"valid_status_codes", "preferred_ip_protocol", "ip_protocol_fallback", "method",
                  "fail_if_not_ssl", "follow_redirects"}
CONVERTED_TCP = {"tls", "preferred_ip_protocol", "ip_protocol_fallback"}


class BlackboxImportError(CatalogError):
    """The Prometheus or blackbox file cannot be read as such; one line per problem (exit 2)."""


@dataclass
class Draft:
    services: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read(path: Path) -> tuple[Any, SourceMap]:
    try:
        return read_yaml(path)
    except YamlProblem as p:
        raise BlackboxImportError(*p.lines) from None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60] or "dich-vu"


def _module_of(job: dict[str, Any]) -> str:
    for rc in job.get("relabel_configs") or []:
        if isinstance(rc, dict) and rc.get("target_label") == "__param_module" and rc.get("replacement"):
            return str(rc["replacement"])
    module = (job.get("params") or {}).get("module") or ["http_2xx"]
    return str(module[0] if isinstance(module, list) else module)


def _targets(job: dict[str, Any], base: Path, notes: list[str]) -> list[str]:
    out: list[str] = []
    for sc in job.get("static_configs") or []:
        out += [str(t) for t in (sc or {}).get("targets") or []]
    for fs in job.get("file_sd_configs") or []:
        for pattern in (fs or {}).get("files") or []:
            for f in sorted(base.glob(str(pattern))) if not Path(pattern).is_absolute() else \
                    sorted(Path("/").glob(str(pattern).lstrip("/"))):
                try:
                    text = f.read_text(encoding="utf-8")
                    groups = json.loads(text) if f.suffix == ".json" else yaml.safe_load(text)
                except (OSError, ValueError, yaml.YAMLError) as exc:
                    notes.append(f"{f}: not read ({exc.__class__.__name__}); add its targets by hand")
                    continue
                for g in groups or []:
                    out += [str(t) for t in (g or {}).get("targets") or []]
    return out


def _endpoint(target: str, module_name: str, module: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    prober = module.get("prober")
    where = f"target {target} (module {module_name})"
    if prober == "http":
        http = module.get("http") or {}
        url = target if "://" in target else f"http://{target}"
        ep: dict[str, Any] = {"url": url}
        codes = http.get("valid_status_codes") or []
        if codes:
            ep["conditions"] = [f"[STATUS] == any({', '.join(str(c) for c in codes)})"]
        if http.get("fail_if_not_ssl") and not url.startswith("https://"):
            notes.append(f"{where}: fail_if_not_ssl with an http:// URL; check the URL")
        left = sorted(set(http) - CONVERTED_HTTP)
        if left:
            notes.append(f"{where}: not converted, add conditions by hand: {', '.join(left)}")
        return ep
    if prober == "tcp":
        tcp = module.get("tcp") or {}
        left = sorted(set(tcp) - CONVERTED_TCP)
        if left:
            notes.append(f"{where}: not converted: {', '.join(left)}")
        return {"url": f"{'tls' if tcp.get('tls') else 'tcp'}://{target}"}
    if prober == "dns":
        dns = module.get("dns") or {}
        if not dns.get("query_name"):
            notes.append(f"{where}: a dns module without query_name; skipped")
            return None
        qtype = str(dns.get("query_type", "A")).upper()
        return {"url": f"dns://{dns['query_name']}?type={qtype}", "resolver": target}
    notes.append(f"{where}: prober {prober!r} has no catalogue equivalent; skipped")
    return None


def import_blackbox(prometheus: Path, blackbox: Path) -> Draft:
    prom, psmap = _read(prometheus)
    bb, bsmap = _read(blackbox)
    if not isinstance(bb, dict) or not isinstance(bb.get("modules"), dict):
        raise BlackboxImportError(f"{blackbox}:1: modules: expected a blackbox_exporter modules file")
    if not isinstance(prom, dict) or not isinstance(prom.get("scrape_configs"), list):
        raise BlackboxImportError(f"{prometheus}:1: scrape_configs: expected a Prometheus configuration")
    draft = Draft()
    seen: set[str] = set()
    jobs = 0
    for i, job in enumerate(prom["scrape_configs"]):
        if not isinstance(job, dict) or job.get("metrics_path") != "/probe":
            continue
        jobs += 1
        module_name = _module_of(job)
        module = bb["modules"].get(module_name)
        if not isinstance(module, dict):
            raise BlackboxImportError(psmap.error(("scrape_configs", i, "params"),
                                           f"module {module_name!r} is not in {blackbox}"))
        for target in _targets(job, prometheus.parent, draft.notes):
            ep = _endpoint(target, module_name, module, draft.notes)
            if ep is None:
                continue
            base = _slug(re.sub(r"^[a-z]+://", "", target))
            sid, n = base, 2
            while sid in seen:
                sid, n = f"{base}-{n}", n + 1
            seen.add(sid)
            draft.services.append({"id": sid, "name": target, "agency": PLACEHOLDER_AGENCY, "level": 2,
                                   "draft": True, "endpoints": [ep]})
    if not jobs:
        raise BlackboxImportError(f"{prometheus}:{psmap.line(('scrape_configs',))}: scrape_configs: no job uses "
                           "metrics_path: /probe (blackbox's multi-target pattern)")
    return draft


def draft_yaml(draft: Draft, province_code: str = "XX", province_name: str = "Tỉnh (cần điền)") -> str:
    """The draft as catalogue YAML (validated before it is returned), with what a person must do on top."""
    data = {
        "version": 1,
        "province": {"code": province_code, "name": province_name, "reviewer": "Sở Khoa học và Công nghệ"},
        "agencies": [{"id": PLACEHOLDER_AGENCY, "name": "Chưa phân công / unassigned (cần điền)", "kind": "province"}],
        "services": draft.services,
    }
    header = ["# Bản nháp danh mục từ blackbox_exporter (dvcops catalog import-blackbox).",
              "# Draft catalogue imported from blackbox_exporter. Before use, a person must:",
              "#  - give each service (draft: true) its real id, name, agency and level, then remove draft: true;",
              f"#  - replace the placeholder agency {PLACEHOLDER_AGENCY!r} with the real agencies."]
    header += [f"# NOTE: {n}" for n in draft.notes]
    text = "\n".join(header) + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    parse_catalog(text, "draft.yml")  # what we write must be a valid catalogue
    return text
