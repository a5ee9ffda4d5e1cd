"""dvcops.yamlsource.load_model: the one YAML -> pydantic loader, raising the caller's error class."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from dvcops.errors import DvcopsError
from dvcops.yamlsource import load_model, parse_model


class PartError(DvcopsError):
    pass


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    days: int = 5


def test_valid_file_is_nfc_normalised(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Sở Khoa học")
    path = tmp_path / "thing.yml"
    path.write_text(f"name: {decomposed}\n", encoding="utf-8")
    assert load_model(path, Thing, PartError).name == unicodedata.normalize("NFC", "Sở Khoa học")


def test_problems_are_lines_of_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(PartError) as exc:
        parse_model("name: a\ndays: many\ncolour: red\n", "t.yml", Thing, PartError)
    assert exc.value.lines == ["t.yml:2: days: 'many': Input should be a valid integer, unable to parse string as "
                               "an integer", "t.yml:3: colour: unknown key 'colour'"]
    with pytest.raises(PartError) as exc:
        parse_model("- a\n", "t.yml", Thing, PartError, "thing")
    assert exc.value.lines == ["t.yml:1: (top): expected a mapping: this is not a thing file"]
    with pytest.raises(PartError) as exc:
        load_model(tmp_path / "absent.yml", Thing, PartError)
    assert exc.value.lines == [f"{tmp_path / 'absent.yml'}: no such file"]
    with pytest.raises(PartError) as exc:
        parse_model("name: a\nname: b\n", "t.yml", Thing, PartError)
    assert exc.value.lines == ["t.yml:2: name: duplicate key 'name'"]
