"""On-call: who is told when the probes' alerts fire, and quiet during maintenance.

- `routing.py` — the catalogue's contacts as Alertmanager receivers and routes (by agency or service,
  then severity and working hours), grouping per service, inhibitions; `alertmanager.yml` as data.
- `templates/dvcops.tmpl` — the notification text (Vietnamese first, English second).
- `render.py` — writes alertmanager.yml, the template and the rule file (probes.rules) into a folder.
- `silences.py` — the catalogue's maintenance windows as Alertmanager silences, created and refreshed
  without duplicates through Alertmanager's API.
- `cli.py` — `dvcops alerts render|silences`.
"""
