"""Probes: an asyncio availability prober for the catalogue's endpoints.

Map of the package, in the order a result travels:

- `targets.py` — the catalogue's endpoints as probe targets (labels, timeout, interval, conditions).
- `checks/` — one attempt against one endpoint: `http.py`, `tcp.py` (TCP and TLS), `dns.py`,
  `tls.py` (certificate facts), `resolve.py` (names), `env.py` (what checks share).
- `verdict.py` — what a check observed -> success and one failure reason (conditions decide).
- `models.py` — `ProbeResult`, the shape the CLI, exporter and history share.
- `engine.py` — runs checks: one cycle (`once`) or a schedule (`serve`), the canary, maintenance.
- `metrics.py` — blackbox_exporter-compatible metrics plus counters; `exporter.py` serves them.
- `history.py` — THE read API other parts use: uptime, downtime, incidents, p95 and certificates
  per endpoint, service, agency or province over a period, and the ways to write history;
  `store.py` is its SQLite file, `rollup.py` the counts it keeps, `backfill.py` known series,
  `promsource.py` the same answers from a Prometheus server.
- `rules.py` — Prometheus recording rules and burn-rate alerts; `dashboards/` — a Grafana dashboard.
- `alerts/` — on-call: Alertmanager routing from the catalogue's contacts, maintenance silences.
- `blackbox.py` — `/probe?target=&module=`, the drop-in for blackbox_exporter's multi-target pattern.
- `logs.py` — text or JSON log lines, and each endpoint's up/down transitions with the reason.
- `settings.py` — DVCOPS_PROBE_* settings; `errors.py` — ProbeError (bad input, exit 2).
"""
