"""Drills: the annual scope-guarded security exercise and compliance check.

A map of the package, in the order a run uses it:

- `roe.py`        rules of engagement (allow/deny rules, ports, time window, approval, rate limits)
- `resolver.py`   DNS look-ups through a configurable resolver; every answer is checked against the RoE
- `plan.py`       which hosts, ports, endpoints and checks a run will touch (touches nothing itself)
- `baseline.py`   the nmap port scan (python-nmap), raw XML kept, nmap errors surfaced, role baseline
- `diff.py`       ndiff-style changes between two scans of the same kind
- `checks/`       TLS, HTTP security headers, exposure (admin paths, listings, versions), front-page content
- `findings.py`   the store's read and write API: findings, waivers, last drill/check per host and system
- `compliance.py` THE read API the DoIC report uses: security obligations as of a date (`security_as_of`)
- `scenarios.py`  exercise scenarios (YAML in `scenarios/`) and their automated lab injects
- `timeline.py`   inject, detection and response times, time-to-detect/-respond and the score
- `runner.py`     one run end to end; `report.py` the after-action report (HTML and JSON)
- `policy.py`     severity rules, port classes, compliance intervals per security level, legal references and
                  the incident deadline as versioned data (`policy.yml`): the drills own the compliance rule
- `messages.py`   finding titles, remediation and report labels in Vietnamese and English (dvcops.i18n)
- `db.py`         the SQLite file in the state dir: schema and its migrations (dvcops.migrations)
"""
