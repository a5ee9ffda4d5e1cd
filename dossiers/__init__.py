"""Dossiers (hồ sơ): the one-stop system's export in, the province's service indicators out.

The national portal computes Decision 766/QĐ-TTg's index from the dossiers provincial one-stop systems
synchronise to it; this part computes the same figures from the province's own export, so the reviewing
department can reconcile before it reports.

- `columns.py`, `reader.py`: the export's columns (English and Vietnamese names) and how CSV/NDJSON is read.
- `codes.py`: which codes are refused, and which are in the current regulation's format or legacy ones.
- `checks.py`: the rules every row must follow, every problem reported at once.
- `importer.py`: check every row, then store the file all or nothing (re-imports update); on SQLite in
  parts checked in parallel (`parts.py` cuts the file, `parallel.py` runs the parts, `writers.py` stores).
- `db.py`, `models.py`, `alembic/`: SQLite in the state dir or PostgreSQL, as the survey does.
- `policy.yml`, `policy.py`: formulas, targets, point scales and legal sources, versioned.
- `counters.py`, `indicators.py`: THE read API (`indicators.compute(db, catalog, period, as_of=...)`).
- `export.py`: dossiers out as CSV (e.g. for `dvcops survey invite --from-dossiers`).
"""
