"""Metrics with blackbox_exporter's names and meaning, plus the counters a stateless exporter cannot keep.

Every series carries `service`, `agency`, `level`, `endpoint`, so the community's blackbox
dashboards and alerts work, and uptime rolls up per service and agency in PromQL:

- gauges of the latest attempt: `probe_success`, `probe_charged` (up or down, not maintenance or unknown:
  what the quorum rules count), `probe_duration_seconds`, `probe_http_status_code`,
  `probe_http_duration_seconds{phase}` (summed over redirects), `probe_http_redirects`,
  `probe_http_ssl`, `probe_http_version`, `probe_http_content_length`, `probe_failed_due_to_regex`,
  `probe_ssl_earliest_cert_expiry` (also when verification failed),
  `probe_ssl_last_chain_expiry_timestamp_seconds`, `probe_tls_version_info{version}`,
  `probe_dns_lookup_time_seconds`, `probe_dns_answer_rrs`, `probe_ip_protocol`;
- counters: `probe_attempts_total`, `probe_failures_total{reason}` (charged failures, reason in a
  fixed set), `probe_excluded_total{cause}` (maintenance, unknown); SLI = failures / (attempts - excluded);
- `dvcops_probe_canary_success` (only with a canary), which the ProbeCanaryDown alert reads;
- a histogram of successful attempts' latency, `probe_attempt_duration_seconds`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from probes.models import HTTP_PHASES, REASONS, ProbeResult
from probes.rollup import BUCKETS, Counts
from probes.targets import Target

EXCLUDED_CAUSES = ("maintenance", "unknown")


@dataclass
class _Series:
    """What is kept per target between scrapes."""

    target: Target
    labels: str = ""
    """`service="...",agency="...",level="...",endpoint="..."`, escaped once."""
    latest: ProbeResult | None = None
    attempts: int = 0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUDED_CAUSES, 0))
    latency: Counts = field(default_factory=Counts)


class ProbeMetrics:
    """The exporter's state: one series set per target. A catalogue reload keeps the counters of
    targets that stay (Prometheus would otherwise see a counter reset) and drops removed ones."""

    def __init__(self, targets: Sequence[Target] = ()) -> None:
        self.series: dict[str, _Series] = {}
        self.reload_successful = 1
        self.canary_success: bool | None = None
        """The connectivity canary's last verdict; None when the prober has no canary."""
        self.set_targets(targets)

    def set_targets(self, targets: Sequence[Target]) -> None:
        old = self.series
        self.series = {}
        for t in targets:
            kept = old.get(t.key) or _Series(t)
            kept.target = t
            kept.labels = ",".join(f'{name}="{_escape(value)}"' for name, value in t.labels().items())
            self.series[t.key] = kept

    def observe(self, result: ProbeResult, target: Target | None = None) -> None:
        key = target.key if target else f"{result.service} {result.endpoint}"
        s = self.series.get(key)
        if s is None:  # a result of a target removed by a reload while it ran
            return
        s.latest = result
        s.attempts += 1
        if result.state in EXCLUDED_CAUSES:
            s.excluded[result.state] += 1
        elif not result.success and result.failure_reason:
            s.failures[result.failure_reason] += 1
        elif result.success:
            s.latency.add_latency(result.duration_seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format (0.0.4). Written directly, with each target's labels escaped once:
        a generic client library spends most of a 1,000-endpoint cycle's CPU here."""
        out: list[str] = []
        series = list(self.series.values())
        latest = [(s, s.latest) for s in series if s.latest is not None]

        def family(name: str, kind: str, doc: str) -> None:
            out.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")

        def gauge(name: str, doc: str, values: Iterable[tuple[str, float | int | None]]) -> None:
            lines = [f"{name}{{{labels}}} {_num(v)}\n" for labels, v in values if v is not None]
            if lines:
                family(name, "gauge", doc)
                out.extend(lines)

        http = [(s, r) for s, r in latest if r.kind == "http"]
        certs = [(s, r.cert) for s, r in latest if r.cert is not None]
        gauge("probe_success", "Displays whether or not the probe was a success",
              ((s.labels, 1 if r.success else 0) for s, r in latest))
        gauge("probe_charged", "Whether the last attempt counts for the SLO (0: maintenance, or the canary failed)",
              ((s.labels, 1 if r.state in ("up", "down") else 0) for s, r in latest))
        gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds",
              ((s.labels, r.duration_seconds) for s, r in latest))
        gauge("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds",
              ((s.labels, r.phases.get("resolve", 0.0)) for s, r in latest))
        gauge("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6",
              ((s.labels, (6 if ":" in r.ip else 4) if r.ip else None) for s, r in latest))
        gauge("probe_http_status_code", "Response HTTP status code", ((s.labels, r.status_code or 0) for s, r in http))
        gauge("probe_http_duration_seconds", "Duration of http request by phase, summed over all redirects",
              ((f'{s.labels},phase="{phase}"', r.phases.get(phase, 0.0)) for s, r in http for phase in HTTP_PHASES))
        gauge("probe_http_redirects", "The number of redirects", ((s.labels, r.redirects) for s, r in http))
        gauge("probe_http_ssl", "Indicates if SSL was used for the final redirect",
              ((s.labels, 1 if r.ssl else 0) for s, r in http))
        gauge("probe_http_version", "Returns the version of HTTP of the probe response",
              ((s.labels, r.http_version or 0) for s, r in http))
        gauge("probe_http_content_length", "Length of http content response",
              ((s.labels, r.content_length if r.content_length is not None else -1) for s, r in http))
        gauge("probe_failed_due_to_regex", "Indicates if probe failed due to regex",
              ((s.labels, 1 if r.failure_reason == "body" else 0) for s, r in http))
        gauge("probe_dns_answer_rrs", "Returns number of entries in the answer resource record list",
              ((s.labels, len(r.dns_answers)) for s, r in latest if r.kind == "dns"))
        gauge("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime",
              ((s.labels, c.earliest_expiry.timestamp()) for s, c in certs))
        gauge("probe_ssl_last_chain_expiry_timestamp_seconds", "Returns last SSL chain expiry in timestamp",
              ((s.labels, c.chain_expiry.timestamp() if c.chain_expiry else None) for s, c in certs))
        gauge("probe_tls_version_info", "Returns the TLS version used or NaN when unknown",
              ((f'{s.labels},version="{_escape(c.tls_version)}"', 1) for s, c in certs if c.tls_version))

        family("probe_attempts_total", "counter", "Probe attempts made, one per check (no retries)")
        out.extend(f"probe_attempts_total{{{s.labels}}} {s.attempts}\n" for s in series)
        family("probe_failures_total", "counter", "Failed attempts charged to the service, by reason")
        out.extend(f'probe_failures_total{{{s.labels},reason="{reason}"}} {n}\n'
                   for s in series for reason, n in s.failures.items())
        family("probe_excluded_total", "counter",
               "Attempts not charged: maintenance window or unknown (the connectivity canary failed)")
        out.extend(f'probe_excluded_total{{{s.labels},cause="{cause}"}} {n}\n'
                   for s in series for cause, n in s.excluded.items())
        family("probe_attempt_duration_seconds", "histogram", "Duration of successful attempts")
        for s in series:
            cumulative = 0
            for le, n in zip(_LE, s.latency.buckets, strict=True):
                cumulative += n
                out.append(f'probe_attempt_duration_seconds_bucket{{{s.labels},le="{le}"}} {cumulative}\n')
            out.append(f"probe_attempt_duration_seconds_sum{{{s.labels}}} {_num(s.latency.lat_sum)}\n")
            out.append(f"probe_attempt_duration_seconds_count{{{s.labels}}} {cumulative}\n")
        family("dvcops_probe_config_last_reload_successful", "gauge", "1 if the last catalogue (re)load succeeded")
        out.append(f"dvcops_probe_config_last_reload_successful {_num(self.reload_successful)}\n")
        if self.canary_success is not None:
            family("dvcops_probe_canary_success", "gauge", "1 if the connectivity canary's last check succeeded")
            out.append(f"dvcops_probe_canary_success {_num(1 if self.canary_success else 0)}\n")
        family("dvcops_probe_targets", "gauge", "Endpoints being probed")
        out.append(f"dvcops_probe_targets {_num(len(self.series))}\n")
        return "".join(out).encode()


_LE = tuple("+Inf" if math.isinf(b) else repr(b) for b in BUCKETS)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float | int) -> str:
    """Values as Prometheus writes them: floats with a decimal point, +Inf, NaN."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)
