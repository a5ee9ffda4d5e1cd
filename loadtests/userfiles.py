"""The operator's own locustfiles (`dvcops loadtest run -f FILE|DIR`), found and checked in the dvcops process,
imported in the Locust process.

`expand` (dvcops process, no Locust import) turns `-f` arguments into files the way Locust does (a
directory means every `*.py` under it not starting with `_`) and compiles each one, so a syntax
error is a one-line input error before anything starts. `load` (Locust process) imports them under
their own module names and returns their User classes, which locustfile.py hands to Locust instead
of the built-in users. A file that fails to import, or files that define no User class, end the
Locust process with exit 2 and one line `file:line: message` (`fail`), which the runner shows as
the error. A class whose own `host` is outside the scope is refused the same way, before any user
starts; classes without a host get the run's host (`--host`, else the catalogue's first endpoint).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from loadtests.errors import LoadTestError
from loadtests.scope import Scope

ENV = "DVCOPS_LOADTEST_LOCUSTFILES"
"""Carries UserCode (JSON) from the runner to the Locust process (a remote worker has no plan at import)."""
ERROR_MARK = "dvcops-locustfile-error: "
"""Prefix of the one line the Locust process prints before exiting 2 on a bad locustfile."""


class UserCode(BaseModel):
    """What the Locust process needs to run the operator's locustfiles."""

    files: list[str]
    host: str | None = None
    """--host: every class's host (already checked against the scope)."""
    default_host: str | None = None
    """The host of classes that set none (the catalogue's first http endpoint)."""

    @classmethod
    def from_env(cls) -> UserCode | None:
        text = os.environ.get(ENV)
        return cls.model_validate_json(text) if text else None


def expand(paths: list[Path]) -> list[Path]:
    """Files to import, as Locust reads -f (files, or directories of .py files); syntax checked."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.py") if not p.name.startswith("_"))
            if not found:
                raise LoadTestError(f"-f {path}: the directory holds no .py locustfile")
            files += found
        elif path.suffix != ".py" or not path.is_file():
            raise LoadTestError(f"-f {path}: no such locustfile: expected a .py file or a directory of them")
        else:
            files.append(path)
    out = list(dict.fromkeys(p.resolve() for p in files))
    for path in out:
        check_syntax(path)
    return out


def check_syntax(path: Path) -> None:
    try:
        source = path.read_bytes()
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise LoadTestError(f"{path}:{exc.lineno or 1}: syntax error: {exc.msg}") from None
    except (OSError, ValueError) as exc:
        raise LoadTestError(f"{path}: cannot read this locustfile: {exc}") from None


def load(files: list[str], scope: Scope | None, host: str | None, default_host: str | None) -> dict[str, type[Any]]:
    """Import the files; their User classes by name. LoadTestError (one line) for any problem.

    `host` (the operator's --host, already checked) replaces every class's host, as Locust's -H does;
    otherwise a class keeps its own host (checked against the scope) or gets `default_host`."""
    from locust.util.load_locustfile import is_user_class

    classes: dict[str, type[Any]] = {}
    for file in files:
        module = _import(Path(file))
        for name, value in vars(module).items():
            if not is_user_class(value):
                continue
            other = classes.get(name)
            if other is not None and other is not value:
                raise LoadTestError(f"{file}:{_line(value)}: User class {name} is also defined in "
                                    f"{inspect.getsourcefile(other)}: give them different names")
            classes[name] = value
    if not classes:
        shown = ", ".join(files)
        raise LoadTestError(f"{shown}: no User class: expected a class deriving from HttpUser, FastHttpUser or "
                            "User with tasks (not abstract)")
    for name, cls in classes.items():
        if host:
            cls.host = host
        else:
            _set_host(name, cls, scope, default_host)
    return classes


def _import(path: Path) -> Any:
    name = f"dvcops_locustfile_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadTestError(f"{path}: cannot import this locustfile")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))  # as Locust does: the file may import its neighbours
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise LoadTestError(f"{exc.filename or path}:{exc.lineno or 1}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - any error in the operator's module is theirs to fix
        frame = _last_frame_in(path, exc)
        message = " ".join(str(exc).split()) or "(no message)"
        raise LoadTestError(f"{path}:{frame}: {type(exc).__name__}: {message}") from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def _last_frame_in(path: Path, exc: BaseException) -> int:
    """The line in `path` from which the error came (the deepest frame in that file)."""
    line = 1
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve() and frame.lineno:
            line = frame.lineno
    return line


def _line(cls: type[Any]) -> int:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 1


def _set_host(name: str, cls: type[Any], scope: Scope | None, default_host: str | None) -> None:
    """A class's own host must be in scope; a class without one gets the run's host."""
    host = getattr(cls, "host", None)
    if not host:
        if default_host is None:
            raise LoadTestError(f"{inspect.getsourcefile(cls)}:{_line(cls)}: User class {name} has no host: "
                                "give --host (a URL in the catalogue's scope)")
        cls.host = default_host
        return
    try:
        allowed = scope is not None and scope.allows(str(host))
    except LoadTestError:
        allowed = False
    if not allowed:
        raise LoadTestError(f"{inspect.getsourcefile(cls)}:{_line(cls)}: User class {name}: host {host} is outside "
                            "the load-test scope (not a catalogue endpoint nor in loadtest.allowed_hosts); "
                            "refused before any request")


def fail(exc: LoadTestError) -> None:
    """End the Locust process: one line for the runner, exit 2 (nothing was sent)."""
    print(ERROR_MARK + exc.lines[0], file=sys.stderr, flush=True)
    raise SystemExit(2)
