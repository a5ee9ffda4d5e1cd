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


def rules(catalog: Catalog) -> dict[str, Any]:
    """The rule file as data (groups of recording rules and alerts)."""
    sli = [{"record": f"probe:sli_error:ratio_rate{w}", "expr": sli_expr(w)} for w in WINDOWS]
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
    ]}


class _Dumper(yaml.SafeDumper):
    """Multi-line PromQL as `|` blocks, so the file reads like hand-written rules."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def rules_yaml(catalog: Catalog) -> str:
    header = (f"# Prometheus rules for {catalog.province.name}, written by `dvcops probe rules`.\n"
              "# Check with: promtool check rules <this file>\n")
    return header + yaml.dump(rules(catalog), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
