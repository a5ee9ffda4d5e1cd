"""Probes: an asyncio availability prober for the catalogue's endpoints.

Map of the package:

- `checks/` — one attempt against one endpoint: `http.py`, `tcp.py` (TCP and TLS), `dns.py`, `tls.py`
  (certificate facts), `resolve.py` (names, via a named resolver or the system's).
- `targets.py` — the catalogue's endpoints as probe targets (labels, timeouts, conditions).
- `verdict.py` — turns what a check observed into success and one failure reason.
- `engine.py` — runs checks: one cycle (`once`) or forever with per-endpoint intervals (`serve`).
- `metrics.py` — blackbox_exporter-compatible metrics plus counters; `exporter.py` serves them.
- `history.py` — THE read API other parts use: uptime, downtime, incidents, p95, certificates per
  endpoint, service, agency or province over a period; `store.py` is its SQLite schema,
  `promsource.py` reads the same answers from a Prometheus server.
- `rules.py` — Prometheus recording rules and burn-rate alerts; `dashboards/` — a Grafana dashboard.
"""
