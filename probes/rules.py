"""Prometheus rules from the catalogue: SLI recording rules, multi-window multi-burn-rate alerts per
service SLO (the Google SRE workbook / Sloth thresholds), and certificate-expiry alerts.

- SLI: `probe:sli_error:ratio_rate<w>` = charged failures / charged attempts over window w, by
  service, agency and level (maintenance and unknown attempts are not charged).
- page:   error ratio over 1h and 5m both > 14.4 x budget, or over 6h and 30m both > 6 x budget;
- ticket: over 1d and 2h both > 3 x budget, or over 3d and 6h both > 1 x budget; budget = 1 - SLO.
- certificates: < 14 days warning, < 3 days critical (expired ones included).
"""

from __future__ import annotations

from typing import Any

import yaml

from dvcops.catalog import Catalog

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
BY = "service, agency, level"
PAGE = ((14.4, "1h", "5m"), (6.0, "6h", "30m"))
TICKET = ((3.0, "1d", "2h"), (1.0, "3d", "6h"))
CERT_WARNING_DAYS, CERT_CRITICAL_DAYS = 14, 3
QUORUM_WARMUP = "1m"
"""A location counts in the quorum once its series are at least this old."""
QUORUM_FOR = "2m"
"""How long a quorum outage or a one-location reachability problem lasts before its alert fires."""


def sli_expr(window: str) -> str:
    return (f"sum by ({BY}) (rate(probe_failures_total[{window}]))\n/\n"
            f"(sum by ({BY}) (rate(probe_attempts_total[{window}]))\n"
            f" - sum by ({BY}) (rate(probe_excluded_total[{window}])))")


def _threshold(factor: float, slo: float) -> str:
    return f"{factor * (1 - slo):.6g}"


def burn_expr(service: str, slo: float, pairs: tuple[tuple[float, str, str], ...]) -> str:
    """(long > k x budget and short > k x budget) or ... for one service."""
    sel = f'{{service="{service}"}}'
    parts = [f"(probe:sli_error:ratio_rate{long}{sel} > {_threshold(k, slo)}\n"
             f" and probe:sli_error:ratio_rate{short}{sel} > {_threshold(k, slo)})" for k, long, short in pairs]
    return "\nor\n".join(parts)


def rules(catalog: Catalog, quorum_for: str = QUORUM_FOR, warmup: str = QUORUM_WARMUP) -> dict[str, Any]:
    """The rule file as data (groups of recording rules and alerts)."""
    sli = [{"record": f"probe:sli_error:ratio_rate{w}", "expr": sli_expr(w)} for w in WINDOWS]
    if catalog.locations:
        sli = quorum_sli()
    slo_rules: list[dict[str, Any]] = []
    for s in catalog.services:
        if not s.endpoints:
            continue
        slo = catalog.slo_of(s)
        labels = {"service": s.id, "agency": s.agency}
        slo_rules.append({"record": "probe:slo_objective:ratio", "expr": f"vector({slo})", "labels": labels})
        for name, severity, pairs, speed in (("ProbeErrorBudgetBurnFast", "page", PAGE, "nhanh"),
                                             ("ProbeErrorBudgetBurnSlow", "ticket", TICKET, "chậm")):
            slo_rules.append({
                "alert": name, "expr": burn_expr(s.id, slo, pairs),
                "labels": {**labels, "severity": severity, "slo": str(slo)},
                "annotations": {
                    "summary": f"{s.name}: ngân sách lỗi đang cạn {speed} (SLO {slo:.3%})",
                    "summary_en": f"{s.name}: error budget burning {'fast' if severity == 'page' else 'slowly'} "
                                  f"(SLO {slo:.3%})",
                    "description": f"Xem / see probe:sli_error:ratio_rate1h{{service=\"{s.id}\"}} và / and "
                                   "probe_failures_total by reason.",
                },
            })
    certs = [
        {"alert": "ProbeCertificateExpiresSoon",
         "expr": f"probe_ssl_earliest_cert_expiry - time() < {CERT_WARNING_DAYS} * 86400",
         "labels": {"severity": "warning"},
         "annotations": {"summary": "Chứng chỉ của {{ $labels.endpoint }} hết hạn trong "
                                    "{{ $value | humanizeDuration }}",
                         "summary_en": "Certificate of {{ $labels.endpoint }} expires in "
                                       "{{ $value | humanizeDuration }}"}},
        {"alert": "ProbeCertificateExpiresCritical",
         "expr": f"probe_ssl_earliest_cert_expiry - time() < {CERT_CRITICAL_DAYS} * 86400",
         "labels": {"severity": "critical"},
         "annotations": {"summary": "Chứng chỉ của {{ $labels.endpoint }} sắp hết hạn hoặc đã hết hạn",
                         "summary_en": "Certificate of {{ $labels.endpoint }} expires within 3 days or has "
                                       "expired"}},
    ]
    return {"groups": [
        {"name": "dvcops-probes-sli", "rules": sli},
        {"name": "dvcops-probes-slo", "rules": slo_rules},
        {"name": "dvcops-probes-certificates", "rules": certs},
        *quorum_groups(catalog, quorum_for, warmup),
    ]}


# ---------------------------------------------------------------------------- locations and quorum (issue 19)

SL = "service, agency, level, location"


def quorum_groups(catalog: Catalog, alert_for: str = QUORUM_FOR, warmup: str = QUORUM_WARMUP) -> list[dict[str, Any]]:
    """Recording rules that turn each location's view into one verdict per service, and the alerts on it.

    Per service and location: `probe:location_reporting:bool` (some endpoint's last attempt was charged:
    the location's canary answered and no maintenance; and the location was already there `warmup` ago,
    so when Prometheus restarts, the first location scraped cannot be a quorum of one for a moment
    and page), `probe:location_down:bool` (1 if a charged
    endpoint failed). Per service: how many locations report and see it down, the quorum (the
    catalogue's `quorum`, else a majority of those reporting) and `probe:service_up:quorum`, the
    series the SLO, uptime and status page read. A location whose canary fails reports nothing, so it
    can neither cause nor hide an outage.
    """
    explicit = {s.id: s.quorum for s in catalog.services if s.quorum is not None and (s.endpoints)}
    default_sel = f'{{service!~"{"|".join(sorted(explicit))}"}}' if explicit else ""
    quorum = [{"record": "probe:quorum:count", "expr": f"floor(probe:locations_reporting:count{default_sel} / 2) + 1"}]
    quorum += [{"record": "probe:quorum:count",
                "expr": f'clamp_max(probe:locations_reporting:count{{service="{sid}"}}, {q})'}
               for sid, q in sorted(explicit.items())]
    records = [
        {"record": "probe:location_reporting:bool",
         "expr": f"max by ({SL}) (probe_charged) == 1\n and on ({SL}) max by ({SL}) (probe_charged offset {warmup})"},
        {"record": "probe:location_down:bool",
         "expr": f"max by ({SL}) ((1 - probe_success) * probe_charged)\n"
                 f" and on ({SL}) probe:location_reporting:bool"},
        {"record": "probe:locations_reporting:count", "expr": f"count by ({BY}) (probe:location_reporting:bool)"},
        {"record": "probe:locations_down:count", "expr": f"sum by ({BY}) (probe:location_down:bool)"},
        *quorum,
        {"record": "probe:service_up:quorum",
         "expr": "probe:locations_down:count < bool on (service, agency, level) probe:quorum:count"},
    ]
    alerts = [
        {"alert": "ProbeServiceDownQuorum", "expr": "probe:service_up:quorum == 0", "for": alert_for,
         "labels": {"severity": "page"},
         "annotations": {
             "summary": "{{ $labels.service }}: không truy cập được từ đa số điểm đo (mất dịch vụ)",
             "summary_en": "{{ $labels.service }}: down as seen from a quorum of locations (outage)"}},
        {"alert": "ProbeServiceUnreachableFrom",
         "expr": "probe:location_down:bool == 1\nunless on (service, agency, level) probe:service_up:quorum == 0",
         "for": alert_for, "labels": {"severity": "warning"},
         "annotations": {
             "summary": "{{ $labels.service }}: không truy cập được từ điểm đo {{ $labels.location }} "
                        "(các điểm đo khác vẫn thấy hoạt động)",
             "summary_en": "{{ $labels.service }}: unreachable from {{ $labels.location }} only "
                           "(a reachability problem, not an outage)"}},
        {"alert": "ProbeLocationCanaryDown", "expr": "dvcops_probe_canary_success == 0", "for": alert_for,
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "Điểm đo {{ $labels.location }} mất kết nối: kết quả của nó không được tính",
             "summary_en": "Location {{ $labels.location }} lost connectivity: its results are not counted"}},
    ]
    return [{"name": "dvcops-probes-quorum", "rules": records},
            {"name": "dvcops-probes-reachability", "rules": alerts}]


def quorum_sli() -> list[dict[str, Any]]:
    """With locations, the SLI is the share of time a quorum saw the service down (not any one prober's view)."""
    return [{"record": f"probe:sli_error:ratio_rate{w}", "expr": f"1 - avg_over_time(probe:service_up:quorum[{w}])"}
            for w in WINDOWS]


class _Dumper(yaml.SafeDumper):
    """Multi-line PromQL as `|` blocks, so the file reads like hand-written rules."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def rules_yaml(catalog: Catalog, quorum_for: str = QUORUM_FOR, warmup: str = QUORUM_WARMUP) -> str:
    header = (f"# Prometheus rules for {catalog.province.name}, written by `dvcops probe rules`.\n"
              "# Check with: promtool check rules <this file>\n")
    return header + yaml.dump(rules(catalog, quorum_for, warmup), Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                              width=1000)
