"""Drills: the annual scope-guarded security exercise and compliance check.

A map of the package, in the order a run uses it:

- `roe.py`        rules of engagement (allow/deny rules, ports, time window, approval, rate limits)
- `resolver.py`   DNS look-ups through a configurable resolver; every answer is checked against the RoE
- `plan.py`       which hosts, ports, endpoints and checks a run will touch (touches nothing itself)
- `baseline.py`   the nmap port scan (python-nmap), raw XML kept, nmap errors surfaced, role baseline
- `diff.py`       ndiff-style changes between two scans of the same kind
- `checks/`       TLS, HTTP security headers, exposure (admin paths, listings, versions), front-page content
- `findings.py`   THE read API other parts use: findings, waivers, last drill/check per host and system
- `scenarios.py`  exercise scenarios (YAML in `scenarios/`) and their automated lab injects
- `timeline.py`   inject, detection and response times, time-to-detect/-respond and the score
- `runner.py`     one run end to end; `report.py` the after-action report (HTML and JSON)
- `policy.py`     severity rules, port classes and legal references as versioned data (`policy.yml`)
- `messages.py`   finding titles and remediation in Vietnamese and English
- `db.py`         the SQLite file in the state dir; `yamlfile.py` YAML -> pydantic with file:line errors
"""
