"""Run site.yml through ansible-runner and say, per host, what it changed.

Known ansible-runner pitfalls handled here: absolute paths everywhere (relative ones make it ignore
project_dir), a fresh private data dir per run, `suppress_env_files` (else extra vars land in env/),
ansible.cfg passed through ANSIBLE_CONFIG (it is not read from the private data dir), the event
handler returns True (else events and stats are not written), the environment written to the
artifacts' `command` file is an allow-list, so no secret from the operator's shell lands there, and
ANSIBLE_HOST_KEY_CHECKING is forced on: ansible-runner sets it to False, and then Ansible's ssh (and
Mitogen's) put `StrictHostKeyChecking=no` before the inventory's `=yes`, and ssh keeps the first value.

SSH runs go through Mitogen (`mitogen_linear`) unless told not to: one SSH connection and one Python
per host for the whole run instead of an ssh, sudo and Python start per task and host, which is most
of the time of a re-run that changes nothing (measured in bench/bench_dc.py).
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_mitogen
from ansible_runner import Runner, RunnerConfig
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dvcops.state import StateDir
from playbooks import ANSIBLE_CFG, PLAYBOOK_DIR
from playbooks.errors import ProvisionError
from playbooks.inventory import write_inventory
from playbooks.secrets import ENV_PREFIX, secrets_file

ENV_ALLOWED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "USER", "LOGNAME", "TMPDIR", "SSH_AUTH_SOCK",
               "VIRTUAL_ENV", "PYTHONPATH")
"""The only variables of the operator's environment passed on (plus ANSIBLE_*): ansible-runner writes them to disk."""

EventHandler = Callable[[dict[str, Any]], None]

MITOGEN_STRATEGIES = Path(ansible_mitogen.__file__).resolve().parent / "plugins" / "strategy"


class HostRecap(BaseModel):
    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    changed_tasks: list[str] = Field(default_factory=list)
    failed_tasks: list[str] = Field(default_factory=list)


class RunResult(BaseModel):
    status: str
    rc: int
    check: bool
    seconds: float
    private_data_dir: Path
    hosts: list[HostRecap]

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0 and not any(h.failed or h.unreachable for h in self.hosts)

    @property
    def artifacts(self) -> Path:
        return self.private_data_dir / "artifacts"

    def host(self, name: str) -> HostRecap:
        return next(h for h in self.hosts if h.host == name)


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if (k in ENV_ALLOWED or k.startswith("ANSIBLE_")) and not k.startswith(ENV_PREFIX)}
    # ansible-playbook is installed next to this Python, whether or not the venv is activated
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    return {**env, **extra}


_MITOGEN_ENV = {"ANSIBLE_STRATEGY_PLUGINS": str(MITOGEN_STRATEGIES), "ANSIBLE_STRATEGY": "mitogen_linear"}


def new_run_dir(state: StateDir) -> Path:
    """A fresh private data dir per run: state/playbooks/runs/<UTC time>-<random>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = state.folder("playbooks", "runs") / f"{stamp}-{pysecrets.token_hex(3)}"
    path.mkdir()
    return path


@dataclass(frozen=True)
class RunOptions:
    """How one run of site.yml goes: what it may touch, dry run or not, how long it may take."""

    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    """Reach Ansible through a 0600 file, never as extra vars (ansible-runner writes those to disk)."""
    extravars: dict[str, Any] = field(default_factory=dict)
    vars_files: tuple[Path, ...] = ()
    """YAML files of role variables (e.g. baseline_admins), passed as `-e @file`."""
    limit: str | None = None
    tags: str | None = None
    check: bool = False
    diff: bool = False
    forks: int = 5
    timeout: int = 3600
    playbook: Path | None = None
    """site.yml unless given."""
    mitogen: bool = False
    """Run the play through Mitogen's linear strategy (SSH connections; chroots gain nothing from it)."""


def run_site(inventory: dict[str, Any], state: StateDir, options: RunOptions | None = None,
             on_event: EventHandler | None = None) -> RunResult:
    """Apply site.yml (or `options.playbook`) to the inventory; the result holds the per-host recap."""
    opts = options or RunOptions()
    run_dir = new_run_dir(state)
    inv_path = write_inventory(inventory, run_dir / "inventory" / "hosts.yml")
    started = time.monotonic()
    per_host: dict[str, HostRecap] = {h: HostRecap(host=h) for h in inventory["all"]["hosts"]}

    def handle(event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        host = data.get("host")
        if host in per_host:
            task = data.get("task") or event.get("event")
            role = data.get("role")
            label = f"{role} : {task}" if role else str(task)
            res = data.get("res") or {}
            if event.get("event") == "runner_on_ok" and res.get("changed"):
                per_host[host].changed_tasks.append(label)
            elif event.get("event") in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                per_host[host].failed_tasks.append(label)
        if on_event is not None:
            on_event(event)
        return True  # anything else and ansible-runner drops the event: no stats, no artifacts

    args = [*(["--check"] if opts.check else []), *(["--diff"] if opts.diff else [])]
    for f in opts.vars_files:
        args += ["-e", "@" + str(f.resolve())]
    cmdline = shlex.join(args)
    playbook = opts.playbook or PLAYBOOK_DIR / "site.yml"
    with secrets_file(opts.secrets) as secrets_path:
        config = RunnerConfig(
            private_data_dir=str(run_dir),
            project_dir=str(playbook.parent),
            playbook=playbook.name,
            inventory=str(inv_path),
            extravars={**opts.extravars, "dvcops_secrets_file": str(secrets_path)},
            limit=opts.limit,
            tags=opts.tags,
            cmdline=cmdline or None,
            forks=opts.forks,
            timeout=opts.timeout,
            ident="run",
            quiet=True,
            suppress_env_files=True,
        )
        config.prepare()
        config.env = _environment({k: v for k, v in config.env.items() if k.startswith(("ANSIBLE_", "AWX_"))}
                                  | {"ANSIBLE_CONFIG": str(ANSIBLE_CFG), "ANSIBLE_HOST_KEY_CHECKING": "True"}
                                  | (_MITOGEN_ENV if opts.mitogen else {}))
        runner = Runner(config=config, event_handler=handle)
        runner.run()
    stats = runner.stats or {}
    for key, attr in (("ok", "ok"), ("changed", "changed"), ("failures", "failed"), ("dark", "unreachable"),
                       ("skipped", "skipped"), ("rescued", "rescued"), ("ignored", "ignored")):
        for host, n in (stats.get(key) or {}).items():
            if host in per_host:
                setattr(per_host[host], attr, n)
    processed = set(stats.get("processed") or {})
    result = RunResult(status=str(runner.status), rc=int(runner.rc if runner.rc is not None else -1), check=opts.check,
                       seconds=round(time.monotonic() - started, 2), private_data_dir=run_dir,
                       hosts=[h for name, h in per_host.items() if name in processed])
    if not stats and runner.status == "failed":
        stdout = (result.artifacts / "run" / "stdout")
        tail = stdout.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:] if stdout.exists() else []
        raise ProvisionError(f"ansible-playbook failed before any host ran (rc {result.rc}): "
                             + (" / ".join(tail) or f"see {stdout}"))
    (run_dir / "recap.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


class RichProgress:
    """Progress from ansible-runner events: the current play and task, and how many hosts are done with it."""

    def __init__(self, console: Console, n_hosts: int) -> None:
        self.console = console
        self.n_hosts = max(n_hosts, 1)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("hosts"), TimeElapsedColumn(), console=console, transient=True)
        self.task_id = self.progress.add_task("starting", total=self.n_hosts)
        self.tasks_seen = 0
        self.done: set[str] = set()

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.progress.console.print(f"[bold]PLAY[/] {data.get('play')}")
        elif kind == "playbook_on_task_start":
            self.tasks_seen += 1
            self.done = set()
            name = data.get("task") or "task"
            self.progress.update(self.task_id, description=f"[{self.tasks_seen}] {name[:60]}", completed=0)
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
            self.done.add(str(data.get("host")))
            self.progress.update(self.task_id, completed=min(len(self.done), self.n_hosts))
            if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                msg = str((data.get("res") or {}).get("msg", ""))[:200]
                self.progress.console.print(f"[red]{kind.removeprefix('runner_on_')}[/] {data.get('host')}: "
                                            f"{data.get('task')}: {msg}")


def recap_table(result: RunResult) -> Table:
    title = f"{'check mode — ' if result.check else ''}{result.status}, {result.seconds:.0f} s"
    table = Table(title=title, title_justify="left")
    for col in ("host", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(col, justify="left" if col == "host" else "right")
    for h in result.hosts:
        table.add_row(h.host, str(h.ok), f"[yellow]{h.changed}[/]" if h.changed else "0",
                      f"[red]{h.failed}[/]" if h.failed else "0",
                      f"[red]{h.unreachable}[/]" if h.unreachable else "0", str(h.skipped))
    return table


def recap_json(result: RunResult) -> str:
    data = json.loads(result.model_dump_json())
    data["ok"] = result.ok
    return json.dumps(data, ensure_ascii=False, indent=2)
