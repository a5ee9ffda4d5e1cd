"""Survey: citizens rate a handled dossier (hồ sơ); the DoIC gets the Decision 766 satisfaction indicators.

Laid out after fastapi/full-stack-fastapi-template's backend:

- `main.py` builds the FastAPI app; `api/routes/` holds one router per resource, `api/deps.py` the
  dependencies (context, admin credentials, rate limit).
- `core/` holds settings (`config.py`), the database (`db.py`), keyed hashes and CSRF tokens
  (`security.py`), the group-commit writer (`writer.py`), the rate limiter and the metrics.
- `models.py` (tables), `schemas.py` (API models), `crud.py` (validate and write ratings),
  `instruments.py` + `instruments.yml` (the questionnaires as data), `stats.py` (the read API the
  DoIC report calls directly against the database).
"""
