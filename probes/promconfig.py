"""`dvcops probe config prometheus`: the Prometheus configuration for probers at several locations and shards.

Two shapes, from the same command:

- **Scrape** (`--locations dc=127.0.110.1:9115,ttpv=… [--shards N]`): a Prometheus at a location (or
  one that reaches every prober) scrapes each prober directly. With N shards, location L's shard I
  (1-based) listens on L's port + I - 1 and gets a job of its own whose `metric_relabel_configs`
  compute Prometheus' `hashmod` of each series' `service;endpoint;journey` labels and keep only the
  slots that shard owns (probes/placement.py computes the same slots): a prober started with a wrong
  `--shard`, or still on the old N while shards are added, cannot make an endpoint count twice.
  Every job's series carry `job="dvcops_prober"` (the rules' default job), their `location` and their `shard`.
- **Federation** (`--federate dc=http://10.1.0.5:9090,…`): a central Prometheus pulls every
  `job="dvcops_prober"` series from each location's Prometheus (`/federate`, `honor_labels`) and
  evaluates the quorum rules over all locations (`--rules`), so uptime, alerts and the status page
  read one place.

Why federation rather than remote write: Debian's `prometheus` serves `/federate` out of the box,
the location servers keep working (and alerting on their own view) when the central one is cut off,
and the central server needs nothing but another Prometheus. Remote write to a long-term store
(VictoriaMetrics) is the choice past one central server's retention; it takes a `remote_write:`
block in the location servers and is not rendered here.
"""

from __future__ import annotations

from typing import Any

import yaml

from dvcops.addresses import parse_address_port
from dvcops.catalog import Catalog, check_location_name
from dvcops.durations import parse_duration
from probes.errors import ProbeError
from probes.placement import SLOTS, Shard, shard_slots
from probes.rules import DEFAULT_JOB

JOB = DEFAULT_JOB
FEDERATE_JOB = "dvcops-federate"


def parse_pairs(text: str, option: str, what: str) -> list[tuple[str, str]]:
    """`dc=127.0.110.1:9115,ttpv=…` -> [(dc, 127.0.110.1:9115), …]; ProbeError naming the option otherwise."""
    out: list[tuple[str, str]] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        if not sep or not value:
            example = "127.0.110.1:9115" if what == "ADDRESS:PORT" else "http://127.0.110.21:9090"
            raise ProbeError(f"{option} {part!r}: expected NAME={what}, e.g. dc={example}")
        try:
            check_location_name(name)
        except ValueError as exc:
            raise ProbeError(f"{option}: {exc}") from None
        if name in [n for n, _ in out]:
            raise ProbeError(f"{option}: location {name!r} is given twice")
        out.append((name, value))
    if not out:
        raise ProbeError(f"{option}: give at least one NAME={what}")
    return out


def _check_locations(catalog: Catalog, names: list[str], option: str) -> None:
    declared = catalog.location_names()
    unknown = [n for n in names if declared and n not in declared]
    if unknown:
        raise ProbeError(f"{option}: {', '.join(map(repr, unknown))} not among the catalogue's locations "
                         f"({', '.join(declared)})")


def keep_shard(shard: Shard) -> list[dict[str, Any]]:
    """metric_relabel_configs keeping the series of the endpoints and journeys this shard owns, and the
    prober's own series (no service label)."""
    return [
        {"source_labels": ["service", "endpoint", "journey"], "separator": ";", "modulus": SLOTS,
         "target_label": "__tmp_dvcops_slot", "action": "hashmod"},
        {"source_labels": ["service"], "regex": "", "target_label": "__tmp_dvcops_slot", "replacement": "prober",
         "action": "replace"},
        {"source_labels": ["__tmp_dvcops_slot"], "regex": "prober|" + "|".join(map(str, shard_slots(shard))),
         "action": "keep"},
    ]


def scrape_jobs(catalog: Catalog, locations: list[tuple[str, str]], shards: int = 1,
                interval: str = "15s") -> list[dict[str, Any]]:
    """One job per prober (location x shard): static target, labels, and the shard's keep rule."""
    _check_locations(catalog, [n for n, _ in locations], "--locations")
    jobs = []
    for name, address in locations:
        try:
            host, port = parse_address_port(address)
        except ValueError as exc:
            raise ProbeError(f"--locations {name}={address}: {exc}") from None
        if port + shards - 1 > 65535:
            raise ProbeError(f"--locations {name}={address}: {shards} shards need ports {port}..{port + shards - 1}")
        for index in range(1, shards + 1):
            shard = Shard(index, shards)
            target = f"[{host}]:{port + index - 1}" if ":" in host else f"{host}:{port + index - 1}"
            job: dict[str, Any] = {
                "job_name": f"{JOB}-{name}" + (f"-shard{index}" if shards > 1 else ""),
                "scrape_interval": interval, "scrape_timeout": _timeout(interval), "honor_labels": True,
                "static_configs": [{"targets": [target],
                                    "labels": {"location": name, **({"shard": str(shard)} if shards > 1 else {})}}],
                "relabel_configs": [{"target_label": "job", "replacement": JOB}],
            }
            if shards > 1:
                job["metric_relabel_configs"] = keep_shard(shard)
            jobs.append(job)
    return jobs


def federation_jobs(catalog: Catalog, servers: list[tuple[str, str]], interval: str = "15s") -> list[dict[str, Any]]:
    """One federation job per location Prometheus (named freely: one server may serve several locations):
    every probe series, with the labels it already has."""
    jobs = []
    for name, url in servers:
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0]
        if scheme not in ("http", "https") or not host:
            raise ProbeError(f"--federate {name}={url}: expected the location Prometheus' URL, e.g. "
                             "http://127.0.110.21:9090")
        jobs.append({
            "job_name": f"{FEDERATE_JOB}-{name}", "scrape_interval": interval, "scrape_timeout": _timeout(interval),
            "honor_labels": True, "metrics_path": "/federate", "scheme": scheme,
            "params": {"match[]": [f'{{job="{JOB}"}}']},
            "static_configs": [{"targets": [host], "labels": {"federated_from": name}}],
        })
    return jobs


def _timeout(interval: str) -> str:
    seconds = parse_duration(interval).total_seconds()
    return f"{max(1, min(int(seconds * 0.8), 60))}s" if seconds >= 1.25 else interval


def prometheus_config(catalog: Catalog, locations: list[tuple[str, str]] | None = None, shards: int = 1,
                      federate: list[tuple[str, str]] | None = None, rules: list[str] | None = None,
                      interval: str = "15s") -> dict[str, Any]:
    if not locations and not federate:
        raise ProbeError("say what to render: --locations NAME=ADDRESS:PORT,… (probers to scrape) and/or "
                         "--federate NAME=URL,… (location Prometheus servers to federate)")
    if not 1 <= shards <= 256:
        raise ProbeError(f"--shards {shards}: expected 1 to 256")
    try:
        if parse_duration(interval).total_seconds() <= 0:
            raise ValueError
    except ValueError:
        raise ProbeError(f"--scrape-interval {interval!r}: expected a duration such as 15s or 1m") from None
    jobs = scrape_jobs(catalog, locations, shards, interval) if locations else []
    jobs += federation_jobs(catalog, federate, interval) if federate else []
    config: dict[str, Any] = {"global": {"scrape_interval": interval, "evaluation_interval": interval}}
    if rules:
        config["rule_files"] = rules
    config["scrape_configs"] = jobs
    return config


def prometheus_yaml(catalog: Catalog, **kw: Any) -> str:
    header = (f"# Prometheus configuration for the probes of {catalog.province.name}, written by "
              "`dvcops probe config prometheus`.\n# Check with: promtool check config <this file>\n")
    return header + yaml.safe_dump(prometheus_config(catalog, **kw), allow_unicode=True, sort_keys=False, width=1000)
