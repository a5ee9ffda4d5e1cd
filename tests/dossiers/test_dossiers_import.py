"""Dossier import and indicators through the real CLI, on SQLite and PostgreSQL: a generated export whose
answers are computed by hand in conftest.expected, every kind of bad row, re-imports, NDJSON, as-of."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dossiers.db import open_database
from dossiers.indicators import compute
from dvcops.catalog import load_catalog
from dvcops.periods import Period
from tests.conftest import run_dvcops
from tests.dossiers.conftest import TZ, Record, expected, generate, write_csv, write_ndjson

JUNE = Period.parse("2025-06")


def dvcops(db_url: str, state: Path, *args: str) -> tuple[int, str, str]:
    res = run_dvcops("dossiers", *args, "--db", db_url, state=state)
    return res.returncode, res.stdout, res.stderr


def rows_in(db_url: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT code, status, returned_at, rating FROM dossiers ORDER BY code")))
    finally:
        engine.dispose()


def check_figures(figures: dict, records: list[Record]) -> None:
    want = expected(records, JUNE.start, JUNE.end)
    for counter, n in want["province"].items():
        assert figures["province"]["counts"][counter] == n, counter
    for agency in ("so-khdt", "so-xd"):
        for counter, n in want[agency].items():
            assert figures["agencies"][agency]["counts"][counter] == n, (agency, counter)
    p, ind = want["province"], figures["province"]["indicators"]
    assert ind["on_time_rate"]["value"] == pytest.approx(p["returned_on_time"] / p["returned"])
    assert ind["online_rate"]["value"] == pytest.approx(
        p["received_online_of_online_services"] / p["received_of_online_services"])
    assert ind["full_online_rate"]["value"] == pytest.approx(
        p["received_full_online_of_full_online_services"] / p["received_of_full_online_services"])
    satisfaction = (p["feedback_base"] - p["unhappy"]) / p["feedback_base"]
    assert ind["satisfaction_766"]["value"] == pytest.approx(satisfaction)
    assert ind["satisfaction_766"]["points"] == pytest.approx(round(6 * min(1, satisfaction / 0.9), 2))
    assert ind["full_online_rate"]["target"] == 0.7 and ind["online_rate"]["target"] == 0.5  # the catalogue's
    assert figures["definitions"]["satisfaction_766"]["verified"] is False
    assert "766" in figures["definitions"]["satisfaction_766"]["source"]


@pytest.mark.slow
def test_a_generated_export_gives_the_hand_computed_figures(db_url: str, catalog_path: Path, tmp_path: Path) -> None:
    records = generate()
    export = write_csv(tmp_path / "export.csv", records)  # Vietnamese headers, BOM, CRLF, two offsets
    code, out, err = dvcops(db_url, tmp_path, "import", str(export), "--catalog", str(catalog_path), "--json")
    assert code == 0, err
    result = json.loads(out)
    legacy = sum(r.code.startswith("000.") for r in records)
    assert (result["rows"], result["inserted"], result["updated"]) == (400, 400, 0)
    assert result["formats"] == {"legacy": legacy, "tt04-2025": 400 - legacy}
    code, out, err = dvcops(db_url, tmp_path, "stats", "--catalog", str(catalog_path), "--period", "2025-06", "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["as_of"].startswith("2025-07-01T00:00:00") and figures["policy_version"] == "2022-06"
    check_figures(figures, records)

    # Re-importing: rows updated, never duplicated; the changed dossiers change the figures.
    for r in records[:40]:
        if r.status == "processing":
            r.status, r.returned = "returned", r.received.replace(day=min(r.received.day, 28))
            r.returned = max(r.returned, r.received)
    write_csv(export, records, vietnamese=False, bom=False)
    code, out, err = dvcops(db_url, tmp_path, "import", str(export), "--catalog", str(catalog_path), "--json")
    assert code == 0, err
    assert (json.loads(out)["inserted"], json.loads(out)["updated"]) == (0, 400)
    assert len(rows_in(db_url)) == 400
    code, out, _ = dvcops(db_url, tmp_path, "stats", "--catalog", str(catalog_path), "--period", "2025-06", "--json")
    check_figures(json.loads(out), records)


def test_ndjson_gives_the_same_figures_as_csv(catalog_path: Path, tmp_path: Path) -> None:
    records = generate(seed=5)
    url = f"sqlite:///{tmp_path / 'nd.sqlite3'}"
    code, out, err = dvcops(url, tmp_path, "import", str(write_ndjson(tmp_path / "e.ndjson", records)),
                            "--catalog", str(catalog_path), "--json")
    assert code == 0, err
    code, out, _ = dvcops(url, tmp_path, "stats", "--catalog", str(catalog_path), "--period", "2025-06", "--json")
    check_figures(json.loads(out), records)


BAD = [  # (cells to change, the error line's tail)
    ({"dossier_code": ""}, "dossier_code: (empty): empty: expected a dossier code of 1 to 64 characters"),
    ({"dossier_code": "H56\x07BELL"}, "dossier_code: H56\\x07BELL: contains a control character"),
    ({"dossier_code": "X" * 65}, "dossier_code: " + "X" * 65 + ": 65 characters: expected a dossier code of 1 to 64"),
    ({"service_id": "khong-co"}, "service_id: khong-co: expected a service id of the catalogue"),
    ({"received_at": "2025-06-31T08:00:00+07:00"}, "received_at: 2025-06-31T08:00:00+07:00: expected an ISO 8601"),
    ({"received_at": "2025-06-03 08:00"}, "received_at: 2025-06-03 08:00: expected an ISO 8601 time with an offset"),
    ({"due_at": "2025-06-01T08:00:00+07:00"}, "due_at: 2025-06-01T08:00:00+07:00: expected a time at or after "
                                              "received_at (2025-06-03T08:00:00+07:00)"),
    ({"returned_at": "hôm qua"}, "returned_at: hôm qua: expected an ISO 8601 time with an offset"),
    ({"channel": "fax"}, "channel: fax: expected online, counter or post"),
    ({"online_level": "level-5"}, "online_level: level-5: expected toan-trinh, mot-phan or none"),
    ({"status": "lost"}, "status: lost: expected processing, returned, rejected or withdrawn"),
    ({"status": "processing"}, "returned_at: 2025-06-05T08:00:00+07:00: expected empty while the status is processing"),
    ({"returned_at": ""}, "returned_at: (empty): expected the time the dossier was closed (status returned)"),
    ({"complaints": "-1"}, "complaints: -1: expected a whole number of complaints, 0 or more"),
    ({"dossier_code": "H56.001.01-250603-DV0001"}, "dossier_code: H56.001.01-250603-DV0001: expected each dossier "
                                                   "once per file (also on line 2)"),
]


@pytest.mark.slow
def test_every_bad_row_is_reported_and_nothing_is_stored(db_url: str, catalog_path: Path, tmp_path: Path) -> None:
    good = {"dossier_code": "H56.001.01-250603-DV0001", "service_id": "dkkd",
            "received_at": "2025-06-03T08:00:00+07:00", "due_at": "2025-06-10T08:00:00+07:00",
            "returned_at": "2025-06-05T08:00:00+07:00", "channel": "online", "online_level": "toan-trinh",
            "status": "returned", "rating": "", "complaints": "0"}
    first = write_csv(tmp_path / "first.csv", generate(20))
    assert dvcops(db_url, tmp_path, "import", str(first), "--catalog", str(catalog_path))[0] == 0
    before = rows_in(db_url)
    lines = [",".join(good)]
    lines.append(",".join(good.values()))
    for i, (change, _) in enumerate(BAD):
        row = {**good, "dossier_code": f"H56.001.01-250603-DV{i + 2:04d}", **change}
        lines.append(",".join(f'"{v}"' if "," in v else v for v in row.values()))
    lines.append("only,three,fields")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = dvcops(db_url, tmp_path, "import", str(bad), "--catalog", str(catalog_path))
    assert code == 2 and "Traceback" not in err
    got = err.strip().splitlines()
    for i, (_, tail) in enumerate(BAD):
        assert any(line.startswith(f"{bad}:{i + 3}: ") and tail in line for line in got), (i, tail, got)
    assert f"{bad}:{len(BAD) + 3}: (row): 3 fields: expected 10, as in the header" in got
    assert got[-1] == f"{bad}: {len(BAD) + 1} problem(s) in {len(BAD) + 1} row(s): nothing from this file was stored"
    assert rows_in(db_url) == before  # not even the good row


def test_a_missing_column_and_a_missing_file_are_one_line_each(catalog_path: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    f = tmp_path / "m.csv"
    f.write_text("dossier_code,service_id,received_at\nA,dkkd,2025-06-01T08:00:00+07:00\n", encoding="utf-8")
    code, _, err = dvcops(url, tmp_path, "import", str(f), "--catalog", str(catalog_path))
    assert code == 2
    assert f"{f}:1: (header): due_at: missing: expected a column named due_at (or its Vietnamese name)" in err
    code, _, err = dvcops(url, tmp_path, "import", str(tmp_path / "nope.csv"), "--catalog", str(catalog_path))
    assert code == 2 and err.strip() == f"{tmp_path / 'nope.csv'}: no such file"


def test_figures_are_as_of_a_time(catalog_path: Path, tmp_path: Path) -> None:
    """Half-way through June, a dossier returned on 20 June is still open and nothing after the 15th counts."""
    records = generate(seed=7)
    catalog = load_catalog(catalog_path)
    mid = datetime(2025, 6, 15, tzinfo=TZ)
    with open_database(url=f"sqlite:///{tmp_path / 'a.sqlite3'}") as db:
        from dossiers.importer import import_file

        import_file(db, catalog, write_csv(tmp_path / "a.csv", records))
        early = compute(db, catalog, JUNE, as_of=mid)
    want = expected(records, JUNE.start, mid)["province"]
    assert early.as_of == mid
    assert {k: early.province.counts[k] for k in want} == want


def test_quoted_fields_over_several_lines_keep_the_line_numbers(catalog_path: Path, tmp_path: Path) -> None:
    """An extra column (ignored) whose quoted text runs over three lines, semicolons as Vietnamese Excel saves:
    the bad row after it is reported at its own line of the file."""
    f = tmp_path / "notes.csv"
    head = "dossier_code;service_id;received_at;due_at;returned_at;channel;online_level;status;Ghi chú\n"
    ok = "H56.001.01-250603-DV0001;dkkd;2025-06-03T08:00:00+07:00;2025-06-04T08:00:00+07:00;;online;toan-trinh;" \
         'processing;"dòng 1\ndòng 2; vẫn ghi chú\ndòng 3"\n'
    bad = "H56.001.01-250603-DV0002;dkkd;2025-06-03T08:00:00+07:00;2025-06-04T08:00:00+07:00;;fax;none;processing;x\n"
    f.write_text(head + ok + bad, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'n.sqlite3'}"
    code, _, err = dvcops(url, tmp_path, "import", str(f), "--catalog", str(catalog_path))
    assert code == 2 and err.splitlines()[0] == f"{f}:5: channel: fax: expected online, counter or post"
    f.write_text(head + ok, encoding="utf-8")
    code, out, err = dvcops(url, tmp_path, "import", str(f), "--catalog", str(catalog_path), "--json")
    assert code == 0 and json.loads(out)["rows"] == 1, err


def test_export_feeds_survey_invitations(catalog_path: Path, tmp_path: Path) -> None:
    """The documented pipeline: dossiers returned in June out as CSV, then one rating link each."""
    records = generate(seed=11)
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert dvcops(url, tmp_path, "import", str(write_csv(tmp_path / "x.csv", records)), "--catalog",
                  str(catalog_path))[0] == 0
    out = tmp_path / "returned.csv"
    code, _, err = dvcops(url, tmp_path, "export", "--catalog", str(catalog_path), "--period", "2025-06",
                          "-o", str(out))
    assert code == 0, err
    want = {r.code for r in records if r.status == "returned" and r.returned is not None
            and JUNE.start <= r.returned < JUNE.end}
    exported = [line.split(",")[0] for line in out.read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert sorted(exported) == sorted(want) and len(want) > 20
    sms = tmp_path / "sms.csv"
    res = run_dvcops("survey", "invite", "--catalog", str(catalog_path), "--from-dossiers", str(out), "--period",
                     "2025-06", "--base-url", "https://danhgia.example.gov.vn", "-o", str(sms), state=tmp_path,
                     env={"DVCOPS_SURVEY_HMAC_KEY": "h" * 40})
    assert res.returncode == 0, res.stderr
    links = sms.read_text(encoding="utf-8").splitlines()[1:]
    assert len(links) == len(want) and all("https://danhgia.example.gov.vn/danh-gia/" in line for line in links)
