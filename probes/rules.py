"""Prometheus rules from the catalogue: SLI recording rules, multi-window multi-burn-rate alerts per
service SLO (the Google SRE workbook / Sloth thresholds), and certificate-expiry alerts.

- SLI: `probe:sli_error:ratio_rate<w>` = charged failures / charged attempts over window w, by
  service, agency and level (maintenance and unknown attempts are not charged).
- page:   error ratio over 1h and 5m both > 14.4 x budget, or over 6h and 30m both > 6 x budget;
- ticket: over 1d and 2h both > 3 x budget, or over 3d and 6h both > 1 x budget; budget = 1 - SLO.
- certificates: < 14 days ticket, < 3 days page (expired ones included): the one certificate family.
- every expression is scoped to the prober's scrape job (`job`), so other exporters' series never match;
- `for:` is half the shortest window of the alert's pairs (page 2m30s, ticket 1h), so a blip the short
  window already absorbs does not notify; `scale` divides every window and `for:` (tests only).
- endpoint down (ticket), the connectivity canary down and a catalogue host down (page, for the operator)
  come from `availability_rules` and `infrastructure_rules`; Alertmanager's inhibitions use them.
"""

from __future__ import annotations

from typing import Any

import yaml

from dvcops.catalog import Catalog
from dvcops.durations import format_duration, parse_duration

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
BY = "service, agency, level"
PAGE = ((14.4, "1h", "5m"), (6.0, "6h", "30m"))
TICKET = ((3.0, "1d", "2h"), (1.0, "3d", "6h"))
CERT_WARNING_DAYS, CERT_CRITICAL_DAYS = 14, 3
DEFAULT_JOB = "dvcops_prober"
"""The prober's scrape job in the playbook's Prometheus; `--job` when yours differs."""
NODE_JOB = "node"
FOR = {"page": "2m30s", "ticket": "1h"}
"""Half the shortest window of each alert's pairs (5m and 2h)."""
REASONS_VI = {"dns": "lỗi phân giải tên miền", "connect": "không kết nối được", "tls": "lỗi TLS/chứng chỉ",
              "timeout": "quá thời gian chờ", "status": "mã trạng thái HTTP không đạt",
              "body": "nội dung trả về không đạt", "condition": "không đạt điều kiện kiểm tra"}
QUORUM_WARMUP = "1m"
"""A location counts in the quorum once its series are at least this old."""
QUORUM_FOR = "2m"
"""How long a quorum outage or a one-location reachability problem lasts before its alert fires."""


def scaled(duration: str, scale: float = 1) -> str:
    """A PromQL duration divided by `scale` (1: unchanged); at least 1s."""
    if scale == 1:
        return duration
    return format_duration(max(parse_duration(duration) / scale, parse_duration("1s")))


def sli_expr(window: str, job: str = DEFAULT_JOB, scale: float = 1) -> str:
    rng, sel = scaled(window, scale), f'{{job="{job}"}}'
    return (f"sum by ({BY}) (rate(probe_failures_total{sel}[{rng}]))\n/\n"
            f"(sum by ({BY}) (rate(probe_attempts_total{sel}[{rng}]))\n"
            f" - sum by ({BY}) (rate(probe_excluded_total{sel}[{rng}])))")


def reason_template(selector: str, window: str, args: str = "") -> str:
    """A Prometheus template naming the commonest failure reason over `window`, in Vietnamese and its code.

    `selector` may hold `%s` verbs filled from `args` (template expressions, e.g. `$labels.endpoint`)."""
    query = f"topk(1, sum by (reason) (increase(probe_failures_total{{{selector}}}[{window}])) > 0)"
    names = "".join(f'{{{{ else if eq .Labels.reason "{r}" }}}}{vi}' for r, vi in REASONS_VI.items())
    source = f'printf "{query}" {args} | query' if args else f'query "{query}"'
    return (f'{{{{ with {source} }}}}{{{{ range . }}}}{{{{ if false }}}}{names}{{{{ end }}}}'
            '{{ " (" }}{{ .Labels.reason }}{{ ")" }}{{ end }}{{ else }}không rõ (unknown){{ end }}')


def _threshold(factor: float, slo: float) -> str:
    return f"{factor * (1 - slo):.6g}"


def burn_expr(service: str, slo: float, pairs: tuple[tuple[float, str, str], ...]) -> str:
    """(long > k x budget and short > k x budget) or ... for one service."""
    sel = f'{{service="{service}"}}'
    parts = [f"(probe:sli_error:ratio_rate{long}{sel} > {_threshold(k, slo)}\n"
             f" and probe:sli_error:ratio_rate{short}{sel} > {_threshold(k, slo)})" for k, long, short in pairs]
    return "\nor\n".join(parts)


def rules(catalog: Catalog, job: str = DEFAULT_JOB, scale: float = 1, node_job: str = NODE_JOB,
          quorum_for: str = QUORUM_FOR, warmup: str = QUORUM_WARMUP) -> dict[str, Any]:
    """The rule file as data (groups of recording rules and alerts), scoped to the prober's `job`.

    With locations in the catalogue, the SLI is the quorum's view, not any one prober's, and the quorum and
    reachability groups are added; without them one prober's view is the SLI and nothing is paged twice."""
    sli = [{"record": f"probe:sli_error:ratio_rate{w}", "expr": sli_expr(w, job, scale)} for w in WINDOWS]
    if catalog.locations:
        sli = quorum_sli(scale)
    slo_rules: list[dict[str, Any]] = []
    for s in catalog.services:
        if not s.endpoints:
            continue
        slo = catalog.slo_of(s)
        labels = {"service": s.id, "agency": s.agency}
        names = {"service_name": s.name, "agency_name": catalog.agency(s.agency).name}
        slo_rules.append({"record": "probe:slo_objective:ratio", "expr": f"vector({slo})", "labels": labels})
        slo_rules.append({"record": "probe:service_info", "expr": "vector(1)", "labels": {**labels, **names}})
        why = reason_template(f"job='{job}',service='{s.id}'", scaled("1h", scale))
        for name, severity, pairs, speed in (("ProbeErrorBudgetBurnFast", "page", PAGE, "nhanh"),
                                             ("ProbeErrorBudgetBurnSlow", "ticket", TICKET, "chậm")):
            slo_rules.append({
                "alert": name, "expr": burn_expr(s.id, slo, pairs), "for": scaled(FOR[severity], scale),
                "labels": {**labels, **names, "severity": severity, "slo": str(slo)},
                "annotations": {
                    "summary": f"{s.name} ({names['agency_name']}): ngân sách lỗi đang cạn {speed} "
                               f"(SLO {slo:.3%}), nguyên nhân: {why}",
                    "summary_en": f"{s.name}: error budget burning {'fast' if severity == 'page' else 'slowly'} "
                                  f"(SLO {slo:.3%})",
                    "reason": why,
                    "description": f"Xem / see probe:sli_error:ratio_rate1h{{service=\"{s.id}\"}} và / and "
                                   "probe_failures_total by reason.",
                },
            })
    return {"groups": [
        {"name": "dvcops-probes-sli", "rules": sli},
        {"name": "dvcops-probes-slo", "rules": slo_rules},
        {"name": "dvcops-probes-certificates", "rules": certificate_rules(job, scale)},
        {"name": "dvcops-probes-availability",
         "rules": availability_rules(job, scale, locations=bool(catalog.locations))},
        {"name": "dvcops-infrastructure", "rules": infrastructure_rules(catalog, job, scale, node_job)},
        *(quorum_groups(catalog, scaled(quorum_for, scale), scaled(warmup, scale), job) if catalog.locations else []),
    ]}


def certificate_rules(job: str = DEFAULT_JOB, scale: float = 1) -> list[dict[str, Any]]:
    """The one certificate family: < 14 days a ticket, < 3 days (or expired) a page."""
    sel = f'{{job="{job}"}}'
    where = "{{ $labels.endpoint }} ({{ $labels.service }})"
    return [
        {"alert": "ProbeCertificateExpiresSoon",
         "expr": f"probe_ssl_earliest_cert_expiry{sel} - time() < {CERT_WARNING_DAYS} * 86400",
         "for": scaled("1h", scale), "labels": {"severity": "ticket"},
         "annotations": {"summary": f"Chứng chỉ của {where} hết hạn trong {{{{ $value | humanizeDuration }}}}",
                         "summary_en": f"Certificate of {where} expires in {{{{ $value | humanizeDuration }}}}"}},
        {"alert": "ProbeCertificateExpiresCritical",
         "expr": f"probe_ssl_earliest_cert_expiry{sel} - time() < {CERT_CRITICAL_DAYS} * 86400",
         "for": scaled("10m", scale), "labels": {"severity": "page"},
         "annotations": {"summary": f"Chứng chỉ của {where} sắp hết hạn hoặc đã hết hạn",
                         "summary_en": f"Certificate of {where} expires within {CERT_CRITICAL_DAYS} days or "
                                       "has expired"}},
    ]


def availability_rules(job: str = DEFAULT_JOB, scale: float = 1, locations: bool = False) -> list[dict[str, Any]]:
    """An endpoint failing every attempt for 5 minutes (a ticket: the burn-rate alerts page), with its reason;
    the prober's own connectivity canary failing (a page for the operator; it inhibits every endpoint alert).
    With several locations one prober's canary is no page: ProbeLocationCanaryDown (a warning) says it, and
    the quorum leaves that location out."""
    why = reason_template(f"job='{job}',endpoint='%s'", scaled("5m", scale), "$labels.endpoint")
    out: list[dict[str, Any]] = [
        {"alert": "ProbeEndpointDown",
         "expr": f'(probe_success{{job="{job}"}} == 0)\n* on (service) group_left (service_name, agency_name) '
                 "probe:service_info",
         "for": scaled("5m", scale), "labels": {"severity": "ticket"},
         "annotations": {
             "summary": "{{ $labels.service_name }} ({{ $labels.agency_name }}): {{ $labels.endpoint }} "
                        f"không hoạt động, nguyên nhân: {why}",
             "summary_en": "{{ $labels.service_name }}: {{ $labels.endpoint }} is down",
             "reason": why}},
    ]
    if not locations:
        out.append(
            {"alert": "ProbeCanaryDown", "expr": f'dvcops_probe_canary_success{{job="{job}"}} == 0',
             "for": scaled("1m", scale), "labels": {"severity": "page", "scope": "prober"},
             "annotations": {"summary": "Máy thăm dò {{ $labels.instance }} mất kết nối (canary lỗi): các cảnh báo "
                                        "dịch vụ tạm không gửi",
                             "summary_en": "Prober {{ $labels.instance }} lost connectivity (canary failing): "
                                           "service alerts are held back"}})
    return out


def infrastructure_rules(catalog: Catalog, job: str = DEFAULT_JOB, scale: float = 1,
                         node_job: str = NODE_JOB) -> list[dict[str, Any]]:
    """A catalogue host whose node_exporter stops answering (a page for the operator; it inhibits its services)."""
    out: list[dict[str, Any]] = []
    for h in catalog.hosts:
        addr = h.address if ":" not in h.address else f"[{h.address}]"
        out.append({
            "alert": "ProbeHostDown", "expr": f'up{{job="{node_job}", instance="{addr}:9100"}} == 0',
            "for": scaled("2m", scale), "labels": {"severity": "page", "host": h.name},
            "annotations": {"summary": f"Máy chủ {h.name} ({h.address}) không phản hồi",
                            "summary_en": f"Host {h.name} ({h.address}) is not answering"}})
    return out


# ---------------------------------------------------------------------------- locations and quorum (issue 19)

SL = "service, agency, level, location"


def quorum_groups(catalog: Catalog, alert_for: str = QUORUM_FOR, warmup: str = QUORUM_WARMUP,
                  job: str = DEFAULT_JOB) -> list[dict[str, Any]]:
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
    sel = f'{{job="{job}"}}'
    explicit = {s.id: s.quorum for s in catalog.services if s.quorum is not None and (s.endpoints)}
    default_sel = f'{{service!~"{"|".join(sorted(explicit))}"}}' if explicit else ""
    quorum = [{"record": "probe:quorum:count", "expr": f"floor(probe:locations_reporting:count{default_sel} / 2) + 1"}]
    quorum += [{"record": "probe:quorum:count",
                "expr": f'clamp_max(probe:locations_reporting:count{{service="{sid}"}}, {q})'}
               for sid, q in sorted(explicit.items())]
    records = [
        {"record": "probe:location_reporting:bool",
         "expr": f"max by ({SL}) (probe_charged{sel}) == 1\n"
                 f" and on ({SL}) max by ({SL}) (probe_charged{sel} offset {warmup})"},
        {"record": "probe:location_down:bool",
         "expr": f"max by ({SL}) ((1 - probe_success{sel}) * probe_charged{sel})\n"
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
        {"alert": "ProbeLocationCanaryDown", "expr": f"dvcops_probe_canary_success{sel} == 0", "for": alert_for,
         "labels": {"severity": "warning"},
         "annotations": {
             "summary": "Điểm đo {{ $labels.location }} mất kết nối: kết quả của nó không được tính",
             "summary_en": "Location {{ $labels.location }} lost connectivity: its results are not counted"}},
    ]
    return [{"name": "dvcops-probes-quorum", "rules": records},
            {"name": "dvcops-probes-reachability", "rules": alerts}]


def quorum_sli(scale: float = 1) -> list[dict[str, Any]]:
    """With locations, the SLI is the share of time a quorum saw the service down (not any one prober's view)."""
    return [{"record": f"probe:sli_error:ratio_rate{w}",
             "expr": f"1 - avg_over_time(probe:service_up:quorum[{scaled(w, scale)}])"} for w in WINDOWS]


class _Dumper(yaml.SafeDumper):
    """Multi-line PromQL as `|` blocks, so the file reads like hand-written rules."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def rules_yaml(catalog: Catalog, job: str = DEFAULT_JOB, scale: float = 1, node_job: str = NODE_JOB,
               quorum_for: str = QUORUM_FOR, warmup: str = QUORUM_WARMUP) -> str:
    header = (f"# Prometheus rules for {catalog.province.name}, written by `dvcops probe rules`.\n"
              "# Check with: promtool check rules <this file>\n")
    data = rules(catalog, job, scale, node_job, quorum_for, warmup)
    return header + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
