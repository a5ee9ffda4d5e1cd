"""An import on SQLite in parts, checked in parallel: one forked process per part (checks are Python, so threads
would take turns on the GIL).

The file is cut into parts at row ends (parts.py), one per CPU. Each part's process checks its rows and stages
the good ones in a scratch file next to the database. Once every part is checked, the services are cut into as
many ranges of about as many rows, and the same processes sort them into the database in one transaction, range
after range (writers.store_ranges, writers.sort_range): no merge. A code found in two parts (looked for while the
later ranges are appended) rolls the transaction back.
SIGTERM ends an import like Ctrl-C; the scratch folder of a killed import is removed by the next one.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dossiers.checks import Checker, check_rows, in_line_order, once_per_file, problem_line, raise_problems, summary
from dossiers.codes import LEGACY, Classifier
from dossiers.db import migrate
from dossiers.errors import DossierError
from dossiers.parts import Part
from dossiers.policy import PolicyVersion
from dossiers.reader import Export
from dossiers.writers import PartStore, Range, sort_range, store_ranges
from dvcops.catalog import Catalog

MAX_PARTS = 4


@dataclass
class _PartResult:
    """What checking one part found (sent back from its process)."""

    rows: int = 0
    problems: list[str] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)
    per_service: Counter[str] = field(default_factory=Counter)
    code_text: str = ""
    """The part's codes, one per line, for the duplicates across parts (only when there are several): one string
    crosses the pipe ten times faster than a list of them."""
    code_list: list[str] | None = None
    """The codes as a list instead, when one holds a line break (a refused code: the file fails anyway)."""
    lines: array[int] = field(default_factory=lambda: array("q"))
    """Each code's line."""
    failure: list[str] | None = None
    """The file could not be read, or the scratch file not written: the lines to show."""

    def codes(self) -> list[str]:
        return self.code_list if self.code_list is not None else self.code_text.split("\n")


def _check_part(path: Path, part: Part, several: bool, catalog: Catalog, policy: PolicyVersion,
                scratch: Path) -> _PartResult:
    """One part, in a process of its own: check it and, while no row is bad, stage it in `scratch`."""
    result = _PartResult()
    try:
        export = Export(path)
        try:
            export.restrict(part)
            check = Checker(export.name, catalog, Classifier(policy), result.problems)
            store = PartStore(scratch)
            try:
                result.rows = check_rows(export, check, store)
                if not result.problems:
                    store.staged()
            finally:
                store.close()
        finally:
            export.close()
    except DossierError as exc:
        result.failure = list(exc.lines)
    except sqlite3.Error as exc:
        result.failure = [f"{scratch}: {exc}"]
    else:
        result.formats, result.per_service = check.formats, check.per_service
        if several:
            codes, result.lines = check.seen.codes, check.seen.lines
            result.code_text = "\n".join(codes)
            if result.code_text.count("\n") != len(codes) - 1:
                result.code_text, result.code_list = "", codes
    return result


def _part_process(pipe: Connection, k: int, path: Path, parts: list[Part], catalog: Catalog,
                  policy: PolicyVersion, folder: Path) -> None:
    """A part's process: check the part (`_check_part`), send what it found, then do what the importing process says:
    sort a range of services from every part's staging into its own scratch file (`sort`), or, the first part's
    process, store (`store`: the import's transaction, see writers.store_ranges), or nothing (`stop`)."""
    gc.disable()  # a million rows make a million short-lived tuples, none in a cycle: the collector only costs time
    stagings = [folder / f"{j}.sqlite3" for j in range(len(parts))]
    result = _check_part(path, parts[k], len(parts) > 1, catalog, policy, stagings[k])
    command: tuple[Any, ...] = ("stop",)
    try:
        pipe.send(result)
        command = pipe.recv()
        if command[0] == "sort":
            sort_range(folder / f"{k}-part.sqlite3", stagings, command[1])
            pipe.send(("sorted",))
        elif command[0] == "store":
            stored = store_ranges(command[1], stagings, command[2], [folder / f"{j}-part.sqlite3"
                                                                     for j in range(1, len(parts))],
                                  lambda step: pipe.recv()[0] == step, *command[3:])
            pipe.send(("stored", stored))
    except (EOFError, OSError):  # the importing process is gone: nothing is stored
        return
    except sqlite3.Error as exc:
        where = f"dossiers database {command[1]}" if command[0] == "store" else f"scratch folder {folder}"
        with contextlib.suppress(OSError):
            pipe.send(("error", f"{where}: {exc}"))


class _PartProcesses:
    """The part processes of one import (forked: checks are Python, so threads would take turns on the GIL), and
    the conversation with them. On the way out they are waited for, or killed if the import did not finish."""

    def __init__(self, path: Path, parts: list[Part], catalog: Catalog, policy: PolicyVersion,
                 folder: Path) -> None:
        self.path, self.parts = path, parts
        context = multiprocessing.get_context("fork")
        self.running: list[tuple[Connection, multiprocessing.process.BaseProcess]] = []
        self.done = False
        for k in range(len(parts)):
            ours, theirs = context.Pipe()
            process = context.Process(target=_part_process, name=f"dossiers-part-{k}", daemon=True,
                                      args=(theirs, k, path, parts, catalog, policy, folder))
            self.running.append((ours, process))
            process.start()
            theirs.close()

    def __enter__(self) -> _PartProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        for ours, process in self.running:
            if not self.done:
                process.kill()
            process.join(timeout=60)
            ours.close()

    def _receive(self, k: int) -> Any:
        """Part k's next message; None if its process ended."""
        ours, process = self.running[k]
        try:
            return ours.recv()
        except (EOFError, OSError):  # OSError: a process killed with a message of ours unread resets the socket
            process.join(timeout=10)
            return None

    def _ended(self, k: int) -> list[str]:
        return [f"{self.path}: the process checking rows from line {self.parts[k].first_line} ended (exit code "
                f"{self.running[k][1].exitcode}); nothing from this file was stored"]

    def checked(self) -> list[_PartResult]:
        return [self._receive(k) or _PartResult(failure=self._ended(k)) for k in range(len(self.running))]

    def stop(self) -> None:
        """Nothing to store: the processes end."""
        for k in range(len(self.running)):
            self._send(k, ("stop",))
        self.done = True

    def store(self, ranges: list[Range], database: Path, last_check: Callable[[], list[str]],
              *log: Any) -> tuple[int, int]:
        """Ranges of services sorted into the database (the first by the first process, inside the import's
        transaction; each later one by its own process, then appended); (import id, dossiers inserted).
        `last_check` runs here while the later ranges are appended, when a core is free: if it finds problems, the
        transaction is rolled back."""
        for k, services in enumerate(ranges[1:], start=1):
            self._send(k, ("sort", services))
        self._send(0, ("store", str(database), ranges[0], *log))
        failure = None
        for k in range(1, len(ranges)):
            answer = self._receive(k)
            if answer is None or answer[0] != "sorted":
                failure = failure or self._failure(k, answer)
        if failure is None:
            self._send(0, ("append",))
            failure = last_check() or None
        self._send(0, ("stop",) if failure else ("commit",))  # the answer to "append" if a sort failed
        answer = self._receive(0)
        self.done = True
        if failure:
            raise DossierError(*failure)
        if answer is None or answer[0] != "stored":
            raise DossierError(*self._failure(0, answer))
        return answer[1]  # type: ignore[no-any-return]

    def _send(self, k: int, message: tuple[Any, ...]) -> None:
        """A process that has ended (its error, or its end, is what `_receive` gets next) cannot be told."""
        with contextlib.suppress(OSError):
            self.running[k][0].send(message)

    def _failure(self, k: int, answer: tuple[Any, ...] | None) -> list[str]:
        if answer is None:
            return self._ended(k)
        return [f"{answer[1]}; nothing from this file was stored"]


def _ranges(per_service: Counter[str], count: int) -> list[Range]:
    """`count` ranges of services, in the table's order (SQLite compares text as UTF-8 bytes), with about as many
    rows each; the last ones empty if there are fewer services than ranges."""
    total = sum(per_service.values())
    bounds: list[str] = []
    running = 0
    for service in sorted(per_service, key=str.encode):
        if len(bounds) < count - 1 and running >= total * (len(bounds) + 1) / count and running:
            bounds.append(service)
        running += per_service[service]
    edges: list[str | None] = [None, *bounds, None]
    ranges = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    return ranges + [("", "")] * (count - len(ranges))  # nothing is at or after "" and before it


def _duplicates_across(name: str, results: list[_PartResult]) -> list[str]:
    """A code in two parts: a problem on its later line, as within a part. Sets find them (in C); the lines are
    looked up only when there are some."""
    if len(results) < 2:
        return []
    problems = []
    seen: set[str] = set()
    codes = [result.codes() for result in results]
    for k, result in enumerate(results):
        again = seen.intersection(codes[k])
        if again:
            first: dict[str, int] = {}
            for j, earlier in enumerate(results[:k]):
                for code, line in zip(codes[j], earlier.lines, strict=True):
                    if code in again:
                        first.setdefault(code, line)
            problems += [problem_line(name, line, "dossier_code", code, once_per_file(first[code]))
                         for code, line in zip(codes[k], result.lines, strict=True) if code in again]
        if k < len(results) - 1:
            seen.update(codes[k])
    return problems


def import_in_parts(engine: Engine, catalog: Catalog, export: Export, policy: PolicyVersion,
                   parts: int | None) -> tuple[int, Counter[str], tuple[int, int]]:
    """Rows, rows per code format, (import id, dossiers inserted)."""
    try:
        cuts = export.parts(parts or min(MAX_PARTS, len(os.sched_getaffinity(0))))
    finally:
        export.close()
    database = Path(str(engine.url.database))
    engine.dispose()  # no open connection may cross the fork
    with _sigterm_as_exit(), _scratch(database.parent) as tmp, \
            _PartProcesses(export.path, cuts, catalog, policy, tmp) as processes:
        migrate(engine)  # while the parts are checked
        engine.dispose()  # none of our connections left open: the first import may change the journal mode
        results = processes.checked()
        failures = [r.failure for r in results if r.failure]
        problems = [p for r in results for p in r.problems]
        rows = sum(r.rows for r in results)
        if failures or problems:
            processes.stop()
            if failures:
                raise DossierError(*failures[0])
            raise_problems(export.name, in_line_order(export.name, problems + _duplicates_across(export.name,
                                                                                                 results)), rows)

        def duplicates() -> list[str]:
            """Codes in two parts, looked for while the later ranges are appended (rolled back if any)."""
            found = in_line_order(export.name, _duplicates_across(export.name, results))
            return [*found, summary(export.name, len(found), rows)] if found else []

        formats: Counter[str] = sum((r.formats for r in results), Counter())
        ranges = _ranges(sum((r.per_service for r in results), Counter()), len(cuts))
        stored = processes.store(ranges, database, duplicates, export.name, rows, rows - formats[LEGACY],
                                 formats[LEGACY], policy.version)
    return rows, formats, stored


SCRATCH = ".dossiers-import-"
"""The scratch folder of an import, next to the database: SCRATCH + the importing process id + a random tail."""


@contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    """A scratch folder for this import, removed afterwards; those of imports whose process is gone (killed) too."""
    for old in folder.glob(f"{SCRATCH}*-*"):
        pid = old.name[len(SCRATCH):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH}{os.getpid()}-", dir=folder) as tmp:
        yield Path(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (a service stopped, a timeout) ends the import like Ctrl-C does: the part processes are killed and
    the scratch folder removed on the way out. Only the main thread can take signals; elsewhere, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
