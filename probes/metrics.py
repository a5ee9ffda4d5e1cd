"""Metrics with blackbox_exporter's names and meaning, plus the counters a stateless exporter cannot keep.

Every series carries `service`, `agency`, `level`, `endpoint`, so the community's blackbox
dashboards and alerts work, and uptime rolls up per service and agency in PromQL:

- gauges of the latest attempt: `probe_success`, `probe_duration_seconds`, `probe_http_status_code`,
  `probe_http_duration_seconds{phase}` (summed over redirects), `probe_http_redirects`,
  `probe_http_ssl`, `probe_http_version`, `probe_http_content_length`, `probe_failed_due_to_regex`,
  `probe_ssl_earliest_cert_expiry` (also when verification failed),
  `probe_ssl_last_chain_expiry_timestamp_seconds`, `probe_tls_version_info{version}`,
  `probe_dns_lookup_time_seconds`, `probe_dns_answer_rrs`, `probe_ip_protocol`;
- counters: `probe_attempts_total`, `probe_failures_total{reason}` (charged failures, reason in a
  fixed set), `probe_excluded_total{cause}` (maintenance, unknown); SLI = failures / (attempts - excluded);
- a histogram of successful attempts' latency, `probe_attempt_duration_seconds`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from probes.models import HTTP_PHASES, REASONS, ProbeResult
from probes.rollup import BUCKETS, Counts
from probes.targets import LABELS, Target

EXCLUDED_CAUSES = ("maintenance", "unknown")


@dataclass
class _Series:
    """What is kept per target between scrapes."""

    target: Target
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
        self.set_targets(targets)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)  # type: ignore[arg-type]  # prometheus_client duck-types collectors

    def set_targets(self, targets: Sequence[Target]) -> None:
        old = self.series
        self.series = {}
        for t in targets:
            kept = old.get(t.key)
            if kept is not None:
                kept.target = t
            self.series[t.key] = kept or _Series(t)

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

    def collect(self) -> Iterator[Metric]:
        labels = list(LABELS)

        def gauge(name: str, doc: str, extra: Sequence[str] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=[*labels, *extra])

        g = {
            "success": gauge("probe_success", "Displays whether or not the probe was a success"),
            "duration": gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds"),
            "dns": gauge("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds"),
            "ipproto": gauge("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6"),
            "status": gauge("probe_http_status_code", "Response HTTP status code"),
            "phase": gauge("probe_http_duration_seconds", "Duration of http request by phase, summed over all "
                           "redirects", ["phase"]),
            "redirects": gauge("probe_http_redirects", "The number of redirects"),
            "ssl": gauge("probe_http_ssl", "Indicates if SSL was used for the final redirect"),
            "version": gauge("probe_http_version", "Returns the version of HTTP of the probe response"),
            "length": gauge("probe_http_content_length", "Length of http content response"),
            "regex": gauge("probe_failed_due_to_regex", "Indicates if probe failed due to regex"),
            "cert": gauge("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime"),
            "chain": gauge("probe_ssl_last_chain_expiry_timestamp_seconds",
                           "Returns last SSL chain expiry in timestamp"),
            "tls": gauge("probe_tls_version_info", "Returns the TLS version used or NaN when unknown", ["version"]),
            "rrs": gauge("probe_dns_answer_rrs", "Returns number of entries in the answer resource record list"),
        }
        attempts = CounterMetricFamily("probe_attempts", "Probe attempts made, one per check (no retries)",
                                       labels=labels)
        failures = CounterMetricFamily("probe_failures", "Failed attempts charged to the service, by reason",
                                       labels=[*labels, "reason"])
        excluded = CounterMetricFamily("probe_excluded", "Attempts not charged: maintenance window or unknown "
                                       "(the connectivity canary failed)", labels=[*labels, "cause"])
        hist = HistogramMetricFamily("probe_attempt_duration_seconds", "Duration of successful attempts",
                                     labels=labels)
        for s in self.series.values():
            lv = [s.target.service, s.target.agency, s.target.level, s.target.endpoint]
            attempts.add_metric(lv, s.attempts)
            for reason, n in s.failures.items():
                failures.add_metric([*lv, reason], n)
            for cause, n in s.excluded.items():
                excluded.add_metric([*lv, cause], n)
            cumulative, buckets = 0, []
            for bound, n in zip(BUCKETS, s.latency.buckets, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            hist.add_metric(lv, buckets, s.latency.lat_sum)
            r = s.latest
            if r is None:
                continue
            g["success"].add_metric(lv, 1 if r.success else 0)
            g["duration"].add_metric(lv, r.duration_seconds)
            g["dns"].add_metric(lv, r.phases.get("resolve", 0.0))
            if r.ip:
                g["ipproto"].add_metric(lv, 6 if ":" in r.ip else 4)
            if r.kind == "http":
                g["status"].add_metric(lv, r.status_code or 0)
                for phase in HTTP_PHASES:
                    g["phase"].add_metric([*lv, phase], r.phases.get(phase, 0.0))
                g["redirects"].add_metric(lv, r.redirects)
                g["ssl"].add_metric(lv, 1 if r.ssl else 0)
                g["version"].add_metric(lv, r.http_version or 0)
                g["length"].add_metric(lv, r.content_length if r.content_length is not None else -1)
                g["regex"].add_metric(lv, 1 if r.failure_reason == "body" else 0)
            if r.kind == "dns":
                g["rrs"].add_metric(lv, len(r.dns_answers))
            if r.cert is not None:
                g["cert"].add_metric(lv, r.cert.earliest_expiry.timestamp())
                if r.cert.chain_expiry is not None:
                    g["chain"].add_metric(lv, r.cert.chain_expiry.timestamp())
                if r.cert.tls_version:
                    g["tls"].add_metric([*lv, r.cert.tls_version], 1)
        yield from g.values()
        yield from (attempts, failures, excluded, hist)
        yield GaugeMetricFamily("dvcops_probe_config_last_reload_successful",
                                "1 if the last catalogue (re)load succeeded", value=self.reload_successful)
        yield GaugeMetricFamily("dvcops_probe_targets", "Endpoints being probed", value=len(self.series))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
