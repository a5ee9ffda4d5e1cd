"""YAML loading that remembers where each value came from, so errors can say `file:line: path`.

The one way to read a YAML input (catalogue, RoE, scenario, policy, profile, thresholds,
instruments): `load_model(path, Model, PartError)` reads, NFC-normalises and validates a file into a
pydantic model and raises the part's error with one `file:line: path: message` line per problem
(exit 2 through the CLI). `read_source` gives the plain data and its SourceMap for inputs that need
more than a model.

PyYAML's composer gives every node its line; we build plain Python data and a map from the value's
path (e.g. ("services", 3, "agency")) to its line. Duplicate mapping keys are errors, not silently
overwritten as PyYAML would do.
"""

from __future__ import annotations

import gc
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

try:  # libyaml is about 10x faster on large catalogues
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - wheels ship libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from yaml.constructor import SafeConstructor

from dvcops.errors import DvcopsError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def format_path(loc: Iterable[str | int]) -> str:
    """("services", 3, "agency") -> services[3].agency"""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top)"


class SourceMap:
    """Lines of a loaded YAML document, addressed by value path."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[Loc, int] = {}

    def line(self, loc: Iterable[str | int]) -> int:
        """The line of the deepest existing prefix of loc (a missing field points at its parent)."""
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def error(self, loc: Iterable[str | int], message: str) -> str:
        loc = tuple(loc)
        return f"{self.filename}:{self.line(loc)}: {format_path(loc)}: {message}"


class YamlProblem(Exception):
    """The text is not YAML, or has duplicate keys; `lines` are ready-made one-line errors."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsing a large catalogue allocates ~10^5 acyclic objects
    and the collector's repeated passes over them cost two thirds of the load time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_yaml(text: str, filename: str) -> tuple[Any, SourceMap]:
    """Parse YAML text into plain data plus a SourceMap; raise YamlProblem on syntax or duplicates."""
    with gc_paused():
        return _load_yaml(text, filename)


def _load_yaml(text: str, filename: str) -> tuple[Any, SourceMap]:
    smap = SourceMap(filename)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlProblem([f"{filename}:{line}: not valid YAML: {problem}"]) from None
    if node is None:
        return None, smap
    constructor = SafeConstructor()
    problems: list[str] = []

    def build(n: yaml.Node, loc: Loc) -> Any:
        smap.lines[loc] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            constructor.flatten_mapping(n)
            for knode, vnode in n.value:
                key = constructor.construct_object(knode, deep=True)
                if isinstance(key, list | dict):
                    problems.append(f"{filename}:{knode.start_mark.line + 1}: {format_path(loc)}: keys must be scalars")
                    continue
                if key in out:
                    problems.append(
                        f"{filename}:{knode.start_mark.line + 1}: {format_path((*loc, key))}: duplicate key {key!r}"
                    )
                    continue
                out[key] = build(vnode, (*loc, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, (*loc, i)) for i, v in enumerate(n.value)]
        try:
            return constructor.construct_object(n, deep=True)
        except yaml.YAMLError as exc:
            problems.append(f"{filename}:{n.start_mark.line + 1}: {format_path(loc)}: {exc}")
            return None

    data = build(node, ())
    if problems:
        raise YamlProblem(problems)
    return data, smap


def read_yaml(path: Path) -> tuple[Any, SourceMap]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlProblem([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise YamlProblem([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise YamlProblem([f"{path}: cannot read: {exc.strerror}"]) from None
    return load_yaml(text, str(path))


def nfc(value: Any) -> Any:
    """NFC-normalise every string (keys too): Vietnamese typed on different keyboards compares equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value


def validation_problems(exc: ValidationError, smap: SourceMap, prefix: Loc = ()) -> list[tuple[int, str]]:
    """One `file:line: path: message` per pydantic error, with its line, pointing at the offending value
    (`prefix` when the validated data sits below the document's top)."""
    out = []
    for err in exc.errors(include_url=False):
        # pydantic adds validator tags to loc (e.g. 'function-before[...]'): they are not YAML paths
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]")))
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "literal_error":
            msg = f"{err['input']!r} is not allowed: expected {err['msg'].removeprefix('Input should be ')}"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if kind != "value_error" and not msg.startswith(repr(err.get("input"))):
                msg = f"{err.get('input')!r}: {msg}"
        out.append((smap.line(loc), smap.error(loc, msg)))
    return sorted(out, key=lambda p: p[0])


def read_source(path: Path, error: type[DvcopsError]) -> tuple[Any, SourceMap]:
    """Plain data and its SourceMap; `error` (the part's DvcopsError) if the file is missing or not YAML."""
    try:
        return read_yaml(Path(path))
    except YamlProblem as p:
        raise error(*p.lines) from None


def parse_source(text: str, filename: str, error: type[DvcopsError]) -> tuple[Any, SourceMap]:
    """As read_source, for YAML text that did not come from a file (tests, an HTTP upload)."""
    try:
        return load_yaml(text, filename)
    except YamlProblem as p:
        raise error(*p.lines) from None


def validate_model(model: type[M], data: Any, smap: SourceMap, error: type[DvcopsError], what: str = "") -> M:
    """`data` (NFC-normalised) as `model`; every problem one `file:line: path: message` line of `error`."""
    if not isinstance(data, dict):
        hint = f": this is not a {what} file" if what else ""
        raise error(f"{smap.filename}:1: (top): expected a mapping{hint}")
    try:
        return model.model_validate(nfc(data))
    except ValidationError as exc:
        raise error(*[line for _, line in validation_problems(exc, smap)]) from None


def load_model(path: Path | str, model: type[M], error: type[DvcopsError], what: str = "") -> M:
    """Read the YAML file at `path` into `model`, raising the part's `error` with one line per problem."""
    data, smap = read_source(Path(path), error)
    return validate_model(model, data, smap, error, what)


def parse_model(text: str, filename: str, model: type[M], error: type[DvcopsError], what: str = "") -> M:
    data, smap = parse_source(text, filename, error)
    return validate_model(model, data, smap, error, what)
