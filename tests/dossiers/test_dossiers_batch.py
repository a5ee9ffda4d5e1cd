"""The batch check: a batch is taken whole (checks.Checker._plain) only when every row is plainly fine.
Each rule broken by one row alone, in a batch of otherwise plain rows, still gives its problem line; a plain
batch never goes row by row; a code of an earlier batch is a duplicate."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dossiers.checks import Checker, Seen
from dossiers.codes import Classifier
from dossiers.columns import NUMBERS
from dossiers.policy import policy_for
from dossiers.reader import Batch
from dvcops.catalog import load_catalog
from tests.dossiers.conftest import write_catalog
from tests.dossiers.test_dossiers_import import BAD

GOOD = {"dossier_code": "H56.001.01-250603-DV0001", "service_id": "dkkd", "received_at": "2025-06-03T08:00:00+07:00",
        "due_at": "2025-06-10T08:00:00+07:00", "returned_at": "2025-06-05T08:00:00+07:00", "channel": "online",
        "online_level": "toan-trinh", "status": "returned", "rating": "", "complaints": "0"}
MORE = [
    ({"returned_at": "2025-06-02T08:00:00+07:00"}, "returned_at: 2025-06-02T08:00:00+07:00: expected a time at or "
                                                   "after received_at (2025-06-03T08:00:00+07:00)"),
    ({"received_at": "2025-06-03T08:00:00+00:00", "due_at": "2025-06-03T09:00:00+07:00"},  # later as text only
     "due_at: 2025-06-03T09:00:00+07:00: expected a time at or after received_at (2025-06-03T08:00:00+00:00)"),
    ({"rating": "HAI LONG!"}, "rating: HAI LONG!: expected a rating level id"),
    ({"complaints": "١"}, "complaints: ١: expected a whole number of complaints, 0 or more"),
    ({"complaints": "123456789"}, "complaints: 123456789: expected a whole number of complaints, 0 or more"),
    ({"status": "rejected", "returned_at": ""}, "returned_at: (empty): expected the time the dossier was closed "
                                                "(status rejected)"),
]


@pytest.fixture
def checker(tmp_path: Path) -> Checker:
    catalog = load_catalog(write_catalog(tmp_path / "catalog.yml"))
    return Checker("f.csv", catalog, Classifier(policy_for(date(2026, 6, 1))), [])


def plain_rows(n: int, first_line: int = 2, start: int = 1) -> list[tuple[int, list[str | None]]]:
    return [(first_line + i, list({**GOOD, "dossier_code": f"H56.001.01-250603-DV{start + i:04d}",
                                   "complaints": str(i % 3)}.values())) for i in range(n)]


@pytest.mark.parametrize(("change", "tail"), BAD + MORE, ids=[t.split(":")[0] + str(i) for i, (_, t) in
                                                               enumerate(BAD + MORE)])
def test_one_bad_row_in_a_plain_batch_is_found(checker: Checker, change: dict[str, Any], tail: str) -> None:
    rows = plain_rows(20)
    bad = {**GOOD, "dossier_code": "H56.001.01-250603-DV0999", **change}
    rows.insert(10, (99, list(bad.values())))
    good = checker.batch(Batch.of_rows(rows))
    assert len(checker.problems) == 1 and checker.problems[0].startswith("f.csv:99: "), checker.problems
    assert tail in checker.problems[0]
    assert len(good) == 12 * 20  # the plain rows are kept


def test_a_plain_batch_is_taken_whole_with_the_values_a_row_by_row_check_gives(checker: Checker,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rows = plain_rows(30)
    rows[5][1][8] = "hai-long"  # a rating
    rows[6][1][4:8] = ["", "counter", "none", "processing"]  # still open
    by_rows = checker._rows(rows)  # noqa: SLF001
    checker.seen = Seen()
    monkeypatch.setattr(Checker, "_rows", lambda *_: pytest.fail("a plain batch went row by row"))
    whole = checker.batch(Batch.of_rows(rows))
    assert whole == by_rows and not checker.problems
    assert whole[12 * 6:12 * 7] == ["H56.001.01-250603-DV0007", "tt04-2025", "dkkd", "so-khdt",
                                    "2025-06-03T08:00:00+07:00", "2025-06-10T08:00:00+07:00", "",
                                    NUMBERS["channel"]["counter"], NUMBERS["online_level"]["none"],
                                    NUMBERS["status"]["processing"], "", 0]
    assert checker.formats == {"tt04-2025": 30}


def test_times_in_another_shape_and_codes_in_another_normal_form_are_stored_as_a_row_by_row_check_stores_them(
        checker: Checker) -> None:
    """Every time of the batch in the basic ISO form, one text shape ([4::3]) and one offset: only the shape check
    sees it; then a code in decomposed Unicode (NFD). Both are normalised, the time to UTC text, the code to NFC."""
    rows = plain_rows(10)
    for _, values in rows:
        values[2:5] = ["20250603T080000.000+07:00", "20250603T080000.050+07:00", "20250603T080000.090+07:00"]
    out = checker.batch(Batch.of_rows(rows))
    assert out[4:7] == ["2025-06-03T01:00:00+00:00"] * 3 and not checker.problems
    rows = plain_rows(10, first_line=20, start=20)
    rows[3][1][0] = unicodedata.normalize("NFD", "hồ-sơ-đất-1")
    out = checker.batch(Batch.of_rows(rows))
    assert out[12 * 3] == unicodedata.normalize("NFC", "HỒ-SƠ-ĐẤT-1") and not checker.problems


def test_a_code_of_an_earlier_batch_is_a_duplicate(checker: Checker) -> None:
    checker.batch(Batch.of_rows(plain_rows(10)))
    later = plain_rows(5, first_line=12, start=8)  # DV0008 to DV0012: three already seen
    good = checker.batch(Batch.of_rows(later))
    assert [p.split(": ")[0] for p in checker.problems] == ["f.csv:12", "f.csv:13", "f.csv:14"]
    assert "expected each dossier once per file (also on line 9)" in checker.problems[0]
    assert len(good) == 12 * 2
