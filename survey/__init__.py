"""Survey: citizens rate a handled dossier (hồ sơ); the DoIC gets the Decision 766 satisfaction indicators.

Laid out after fastapi/full-stack-fastapi-template's backend:

- `main.py` builds the FastAPI app; `api/routes/` holds one router per resource, `api/deps.py` the
  dependencies (context, admin credentials, rate limit).
- `core/` holds settings (`config.py`), the database (`db.py`), keyed hashes and CSRF tokens
  (`security.py`), the group-commit writer (`writer.py`), the rate limiter and the metrics.
- `models.py` (tables), `schemas.py` (API models), `instruments.py` + `instruments.yml` (the
  questionnaires as data).
- Writing a rating: `validation.py` (check it against the catalogue and its instrument, derive what
  is stored), `batch/` (store a batch in one transaction: `rows.py` the row by column name,
  `sqlite.py` and `postgresql.py` the SQL per database), `windows.py` (when a service's survey is open).
- Reading: `stats.py` (the read API the DoIC report calls directly against the database), `listing.py`
  (admins' paged list), `csv_export.py` (every rating as CSV for Excel).
"""
