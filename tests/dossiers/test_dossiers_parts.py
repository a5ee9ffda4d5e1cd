"""An export checked in parts, in parallel: every part ends at the end of a row, the parts store exactly what one
part stores, a code in two parts is a duplicate, problems come in line order, and a part process that dies
stores nothing. Parts are normally 4 MiB at least; these tests lower that so a small file has several."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import dossiers.parallel
import dossiers.parts
import dossiers.reader
import dossiers.writers
from dossiers.db import open_database
from dossiers.errors import DossierError
from dossiers.importer import import_file
from dossiers.reader import Export
from dvcops.catalog import load_catalog
from tests.dossiers.conftest import HEADERS_EN, generate, write_catalog, write_csv, write_ndjson


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dossiers.parts, "MIN_PART_BYTES", 1)


def _table(db_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT code, code_format, service_id, agency_id, received_at, due_at, returned_at, "
                          "channel, online_level, status, rating, complaints FROM dossiers ORDER BY code").fetchall()


def _rows(export: Export) -> list[tuple[int, list[str | None]]]:
    return [(line, list(values)) for batch in export.batches([]) for line, values in batch.rows()]


def test_parts_end_at_row_ends_even_inside_quoted_fields(small_parts: None, tmp_path: Path) -> None:
    """Notes in quotes run over several lines (and hold escaped quotes): read part by part, the rows and their line
    numbers are those of the whole file read at once."""
    f = tmp_path / "notes.csv"
    records = generate(60)
    with f.open("w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow([*HEADERS_EN, "note"])
        for i, r in enumerate(records):
            w.writerow([*r.cells(), f'dòng 1\n"trích"\ndòng {i}' if i % 3 else ""])
    whole = Export(f)
    want = _rows(whole)
    whole.close()
    assert want[-1][0] == 2 + 59 + 2 * 39  # the last row starts on the line an editor shows: 39 notes before it
    for count in (2, 3, 7, 50):
        export = Export(f)
        parts = export.parts(count)
        export.close()
        assert len(parts) == count
        got = []
        for part in parts:
            export = Export(f)
            export.restrict(part)
            got += _rows(export)
            export.close()
        assert got == want, count


def test_parts_store_exactly_what_one_part_stores(small_parts: None, tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    records = generate(300)
    stored = []
    for name, export, parts in [("one", write_csv(tmp_path / "a.csv", records), 1),
                                ("four", write_csv(tmp_path / "a.csv", records), 4),
                                ("ndjson", write_ndjson(tmp_path / "a.ndjson", records), 3)]:
        with open_database(url=f"sqlite:///{tmp_path / name}.sqlite3") as db:
            result = import_file(db, catalog, export, parts=parts)
        assert (result.rows, result.inserted) == (300, 300)
        stored.append(_table(tmp_path / f"{name}.sqlite3"))
        assert not list(tmp_path.glob(".dossiers-import-*"))  # the scratch files are gone
    assert len(stored[0]) == 300 and stored[1] == stored[0] and stored[2] == stored[0]


def _refused(tmp_path: Path, records: list[Any], parts: int) -> tuple[Path, list[str]]:
    """Import 5 dossiers (one part), then `records` in `parts` parts, which must fail: the file and the error
    lines, once checked that the store is as it was and no scratch is left."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    f = write_csv(tmp_path / "d.csv", records)
    with open_database(url=f"sqlite:///{tmp_path / 'd.sqlite3'}") as db:
        import_file(db, catalog, write_csv(tmp_path / "first.csv", generate(5, seed=3)), parts=1)
        before = _table(tmp_path / "d.sqlite3")
        with pytest.raises(DossierError) as caught:
            import_file(db, catalog, f, parts=parts)
    assert _table(tmp_path / "d.sqlite3") == before
    with sqlite3.connect(tmp_path / "d.sqlite3") as check:
        assert check.execute("SELECT count(*) FROM dossier_imports").fetchone() == (1,)
    assert not list(tmp_path.glob(".dossiers-import-*"))
    return f, caught.value.lines


def test_a_code_in_two_parts_is_a_duplicate_and_problems_come_in_line_order(small_parts: None,
                                                                           tmp_path: Path) -> None:
    records = generate(40)
    records[35].code = records[2].code  # line 37 repeats line 4's code, three parts later
    records[20].channel = "fax"  # line 22, a middle part
    records[38].code = records[36].code.lower()  # line 40 repeats line 38, in the same part
    f, lines = _refused(tmp_path, records, parts=4)
    assert lines[0] == f"{f}:22: channel: fax: expected online, counter or post"
    assert lines[1] == (f"{f}:37: dossier_code: {records[2].code}: expected each dossier once per file "
                        "(also on line 4)")
    assert lines[2] == (f"{f}:40: dossier_code: {records[36].code.lower()}: expected each dossier once per file "
                        "(also on line 38)")
    assert lines[3] == f"{f}: 3 problem(s) in 40 row(s): nothing from this file was stored"


def test_a_part_process_that_dies_stores_nothing_and_says_so(small_parts: None, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The forked process checking the second part is killed: one line naming it, the store as it was."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    f = write_csv(tmp_path / "k.csv", generate(30), bom=False)
    real = dossiers.parallel._check_part

    def dies_on_the_second_part(path: Path, part: dossiers.parts.Part, *args: object) -> object:
        if part.first_line > 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, part, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(dossiers.parallel, "_check_part", dies_on_the_second_part)
    with open_database(url=f"sqlite:///{tmp_path / 'k.sqlite3'}") as db:
        import_file(db, catalog, write_csv(tmp_path / "first.csv", generate(5, seed=3)), parts=1)
        before = _table(tmp_path / "k.sqlite3")
        with pytest.raises(DossierError) as caught:
            import_file(db, catalog, f, parts=2)
    parts = Export(f).parts(2)
    assert caught.value.lines == [f"{f}: the process checking rows from line {parts[1].first_line} ended (exit code "
                                  "-9); nothing from this file was stored"]
    assert _table(tmp_path / "k.sqlite3") == before and len(before) == 5
    assert not list(tmp_path.glob(".dossiers-import-*"))


@pytest.mark.parametrize("shape", ["reordered", "crlf", "blank-line", "lone-cr", "short-row", "semicolon",
                                   "no-newline"])
def test_chunks_split_whole_read_as_line_by_line(shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-chunk split (reader._plain_columns) gives exactly the rows and problems of the line-by-line
    reading, whatever the file looks like: columns in another order with one more, CRLF or lone CR line ends, a
    blank line, a short row, semicolons, no final line break."""
    records = generate(50)
    header = ["note", *reversed(HEADERS_EN)] if shape == "reordered" else HEADERS_EN
    rows = [[f"n{i}", *reversed(r.cells())] if shape == "reordered" else r.cells() for i, r in enumerate(records)]
    sep = ";" if shape == "semicolon" else ","
    end = {"crlf": "\r\n", "lone-cr": "\r"}.get(shape, "\n")
    lines = [sep.join(header), *(sep.join(r) for r in rows)]
    if shape == "blank-line":
        lines.insert(20, "")
    if shape == "short-row":
        lines.insert(30, "a,b,c")
    f = tmp_path / "e.csv"
    f.write_text(end.join(lines) + ("" if shape == "no-newline" else end), encoding="utf-8")

    def read() -> tuple[list[tuple[int, list[str | None]]], list[str]]:
        problems: list[str] = []
        export = Export(f)
        got = [(line, list(values)) for batch in export.batches(problems) for line, values in batch.rows()]
        export.close()
        return got, problems

    split = dossiers.reader._plain_columns
    taken: list[bool] = []

    def spy(*args: Any) -> Any:
        taken.append(split(*args) is not None)
        return split(*args)

    monkeypatch.setattr(dossiers.reader, "_plain_columns", spy)
    whole = read()
    assert taken == [shape in ("reordered", "crlf", "semicolon", "no-newline")]  # one chunk: whole, or line by line
    monkeypatch.setattr(dossiers.reader, "_plain_columns", lambda *_: None)
    assert whole == read()
    assert len(whole[0]) == 50 and whole[0][-1][0] == 51 + (shape in ("blank-line", "short-row"))


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.slow
def test_sigterm_mid_import_kills_the_parts_and_stores_nothing(tmp_path: Path) -> None:
    """A service manager stopping `dossiers import` (SIGTERM) while the parts are checked: exit 143, the part
    processes gone, no scratch folder, nothing stored."""
    catalog = write_catalog(tmp_path / "catalog.yml")
    f = tmp_path / "big.csv"
    with f.open("w", encoding="utf-8") as out:
        out.write(",".join(HEADERS_EN) + "\n")
        for i in range(400_000):
            out.write(f"H56.{i % 1000:03d}.{i % 97:02d}-250603-DV{i % 10000:04d}{i // 10000:02d},dkkd,"
                      "2025-06-03T08:00:00+07:00,2025-06-10T08:00:00+07:00,2025-06-05T08:00:00+07:00,online,toan-trinh,"
                      "returned,,0\n")
    state = tmp_path / "state"
    first = subprocess.run([sys.executable, "-m", "dvcops", "dossiers", "import", str(write_csv(tmp_path / "first.csv",
                            generate(5))), "--catalog", str(catalog), "--state", str(state)], capture_output=True)
    assert first.returncode == 0, first.stderr
    proc = subprocess.Popen([sys.executable, "-m", "dvcops", "dossiers", "import", str(f), "--catalog", str(catalog),
                             "--state", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = state / "dossiers"
    deadline = time.monotonic() + 30
    while not list(folder.glob(".dossiers-import-*/1.sqlite3")) and time.monotonic() < deadline:
        time.sleep(0.02)
    parts = _children(proc.pid)
    assert len(parts) == 2 and proc.poll() is None, "the import ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert not list(folder.glob(".dossiers-import-*"))
    for pid in parts:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with sqlite3.connect(folder / "dossiers.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM dossiers").fetchone() == (5,)
        assert db.execute("SELECT count(*) FROM dossier_imports").fetchone() == (1,)


def test_a_scratch_folder_of_a_killed_import_is_removed_by_the_next(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])  # a process that has ended: its pid is free
    gone.wait()
    stale = tmp_path / f".dossiers-import-{gone.pid}-abc"
    (stale / "0.sqlite3").parent.mkdir()
    (stale / "0.sqlite3").write_bytes(b"x" * 1000)
    live = tmp_path / f".dossiers-import-{os.getpid()}-def"  # an import running in this very process
    live.mkdir()
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    with open_database(url=f"sqlite:///{tmp_path / 's.sqlite3'}") as db:
        import_file(db, catalog, write_csv(tmp_path / "s.csv", generate(5)))
    assert not stale.exists() and live.exists()


def test_a_code_in_two_parts_alone_is_found_while_the_rows_are_stored_and_rolls_them_back(
        small_parts: None, tmp_path: Path) -> None:
    """With no other problem, codes in two parts are looked for while the later ranges are appended: the import's
    transaction is rolled back."""
    records = generate(40)
    records[35].code = records[2].code
    f, lines = _refused(tmp_path, records, parts=4)
    assert lines == [f"{f}:37: dossier_code: {records[2].code}: expected each dossier once per file (also on line 4)",
                     f"{f}: 1 problem(s) in 40 row(s): nothing from this file was stored"]


@pytest.mark.parametrize("dies", ["sort_range", "store_ranges"])
def test_a_process_that_dies_while_sorting_or_storing_stores_nothing(dies: str, small_parts: None, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """After the checks: the process sorting a later range, or the one holding the import's transaction, is
    killed. One line names it; the store is as it was."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    f = write_csv(tmp_path / "k.csv", generate(40))
    with open_database(url=f"sqlite:///{tmp_path / 'k.sqlite3'}") as db:
        import_file(db, catalog, write_csv(tmp_path / "first.csv", generate(5, seed=3)))
        before = _table(tmp_path / "k.sqlite3")
        monkeypatch.setattr(dossiers.parallel, dies, lambda *_: os.kill(os.getpid(), signal.SIGKILL))
        with pytest.raises(DossierError) as caught:
            import_file(db, catalog, f, parts=2)
    line = 2 if dies == "store_ranges" else Export(f).parts(2)[1].first_line
    assert caught.value.lines == [f"{f}: the process checking rows from line {line} ended (exit code -9); nothing "
                                  "from this file was stored"]
    assert _table(tmp_path / "k.sqlite3") == before
    assert not list(tmp_path.glob(".dossiers-import-*"))


def _journal_note(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A file where the storing process notes whether it took a rollback journal (it is forked: a file, not a
    variable of this process)."""
    note = tmp_path / "journal-note"
    original = dossiers.writers._rollback_journal_if_empty  # noqa: SLF001

    def noted(db: sqlite3.Connection) -> bool:
        took = original(db)
        note.write_text(str(took))
        return took

    monkeypatch.setattr(dossiers.writers, "_rollback_journal_if_empty", noted)
    return note


def _journal_mode(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        db.close()


def test_only_the_first_import_into_an_empty_store_takes_a_rollback_journal_and_wal_comes_back(
        small_parts: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first import writes its rows once (rollback journal) and leaves the store in WAL; a later import, and a
    first one while another connection is open (SQLite would refuse the change), stay in WAL."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    note = _journal_note(monkeypatch, tmp_path)
    path = tmp_path / "j.sqlite3"
    with open_database(url=f"sqlite:///{path}") as db:
        import_file(db, catalog, write_csv(tmp_path / "a.csv", generate(40)), parts=2)
        assert note.read_text() == "True"
        assert _journal_mode(path) == "wal" and len(_table(path)) == 40
        assert not Path(f"{path}-journal").exists()
        import_file(db, catalog, write_csv(tmp_path / "b.csv", generate(30, seed=5)), parts=2)
        assert note.read_text() == "False"
    busy = tmp_path / "busy.sqlite3"
    with open_database(url=f"sqlite:///{busy}") as db:
        reader = sqlite3.connect(busy)
        try:
            assert reader.execute("SELECT count(*) FROM dossiers").fetchone() == (0,)
            import_file(db, catalog, write_csv(tmp_path / "c.csv", generate(40)), parts=2)
            assert note.read_text() == "False"
            assert reader.execute("SELECT count(*) FROM dossiers").fetchone() == (40,)
        finally:
            reader.close()
    assert _journal_mode(busy) == "wal"


def test_a_first_import_killed_inside_its_transaction_leaves_the_store_empty_and_in_wal(
        small_parts: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed with every row written under the rollback journal (a cache of 8 pages, so most went to the file
    already): the next connection rolls them back; opening the store makes it WAL again."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    note = _journal_note(monkeypatch, tmp_path)
    monkeypatch.setattr(dossiers.writers, "SQLITE_PRAGMAS", (*dossiers.writers.SQLITE_PRAGMAS, "cache_size=8"))
    monkeypatch.setattr(dossiers.writers, "_record_counts", lambda *_: os.kill(os.getpid(), signal.SIGKILL))
    path = tmp_path / "k.sqlite3"
    with open_database(url=f"sqlite:///{path}") as db:
        empty = path.stat().st_size
        with pytest.raises(DossierError) as caught:
            import_file(db, catalog, write_csv(tmp_path / "k.csv", generate(2000)), parts=2)
    assert "ended (exit code -9); nothing from this file was stored" in caught.value.lines[0]
    assert note.read_text() == "True" and Path(f"{path}-journal").exists() and path.stat().st_size > empty
    assert _table(path) == []  # the hot journal rolled back
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM dossier_imports").fetchone() == (0,)
    with open_database(url=f"sqlite:///{path}"):
        pass
    assert _journal_mode(path) == "wal" and not list(tmp_path.glob(".dossiers-import-*"))


def test_a_database_error_while_storing_is_one_line_and_stores_nothing(small_parts: None, tmp_path: Path) -> None:
    """The database refuses the rows (here a trigger of our own): one line naming the database and SQLite's
    message, nothing stored, not even the import's log line."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    path = tmp_path / "t.sqlite3"
    with open_database(url=f"sqlite:///{path}") as db:
        import_file(db, catalog, write_csv(tmp_path / "first.csv", generate(5, seed=3)))
        before = _table(path)
        with sqlite3.connect(path) as raw:
            raw.execute("CREATE TRIGGER refuse BEFORE INSERT ON dossiers WHEN NEW.service_id = 'xay-dung' "
                        "BEGIN SELECT RAISE(ABORT, 'xay-dung is closed'); END")
        with pytest.raises(DossierError) as caught:
            import_file(db, catalog, write_csv(tmp_path / "t.csv", generate(40)), parts=2)
    assert caught.value.lines == [f"dossiers database {path}: xay-dung is closed; nothing from this file was stored"]
    assert _table(path) == before
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM dossier_imports").fetchone() == (1,)
    assert not list(tmp_path.glob(".dossiers-import-*"))


def test_a_code_with_a_line_break_is_refused_and_still_found_twice(small_parts: None, tmp_path: Path) -> None:
    """A quoted code holding a line break, twice in the file, in two parts: both refused (control character) and
    the second also a duplicate; the parts' codes then cross the pipe as a list, not one string."""
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    records = generate(40)
    records[3].code = records[30].code = "HS\n1"
    f = write_csv(tmp_path / "n.csv", records)
    with open_database(url=f"sqlite:///{tmp_path / 'n.sqlite3'}") as db, pytest.raises(DossierError) as caught:
        import_file(db, catalog, f, parts=3)
    assert [line.split(": ", 2)[:2] for line in caught.value.lines[:-1]] == [
        [f"{f}:5", "dossier_code"], [f"{f}:33", "dossier_code"], [f"{f}:33", "dossier_code"]]
    assert "also on line 5" in caught.value.lines[2] and "control character" in caught.value.lines[1]


def test_a_scratch_error_while_sorting_is_one_line_and_stores_nothing(small_parts: None, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(dossiers.parallel, "sort_range", full_disk)
    f, lines = _refused(tmp_path, generate(40), parts=2)
    assert len(lines) == 1 and lines[0].startswith(f"scratch folder {tmp_path}/.dossiers-import-")
    assert lines[0].endswith(": database or disk is full; nothing from this file was stored")
