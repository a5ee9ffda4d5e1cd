"""The command line as a shell and a script see it: completion in a real bash, --json, no wrapped rows in pipes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_dvcops

EXAMPLE = ROOT / "examples" / "ha-giang.yml"


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """A HOME of our own and a `dvcops` on PATH that runs this checkout (as the console script would)."""
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    bin_dir.mkdir()
    script = bin_dir / "dvcops"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dvcops "$@"\n')
    script.chmod(0o755)
    return {**os.environ, "HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


def bash(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash_exe = shutil.which("bash")
    assert bash_exe is not None
    return subprocess.run([bash_exe, "--norc", "--noprofile", "-c", command], capture_output=True, text=True,
                          env=env, timeout=60, cwd=ROOT)


def complete(words: str, env: dict[str, str]) -> list[str]:
    """What bash offers at the end of `words`, through the installed completion function (as <TAB> does)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    res = bash(f'source "$HOME/.bashrc"; COMP_WORDS=({words}); COMP_CWORD={cword}; '
               '_dvcops_completion dvcops; printf "%s\\n" "${COMPREPLY[@]}"', env)
    assert res.returncode == 0, res.stderr
    return [x for x in res.stdout.splitlines() if x]


def test_install_completion_in_bash_completes_commands_and_options(shell_env: dict[str, str]) -> None:
    installed = bash("dvcops --install-completion", shell_env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "bash completion installed" in installed.stdout
    assert ".bash_completions/dvcops.sh" in (Path(shell_env["HOME"]) / ".bashrc").read_text()
    assert complete("dvcops dr", shell_env) == ["drill"]
    assert complete("dvcops lo", shell_env) == ["loadtest"]
    assert complete("dvcops loadtest run --loc", shell_env) == ["--locustfile"]
    assert "--json" in complete("dvcops drill log --", shell_env)
    assert set(complete("dvcops lab ", shell_env)) >= {"up", "down", "status", "action"}


def test_zsh_completion_answers_through_the_lazy_group(shell_env: dict[str, str]) -> None:
    script = subprocess.run([sys.executable, "-m", "dvcops"], capture_output=True, text=True, timeout=60,
                            env={**shell_env, "_DVCOPS_COMPLETE": "source_zsh"}, cwd=ROOT)
    assert script.returncode == 0 and "compdef _dvcops_completion dvcops" in script.stdout
    answer = subprocess.run([sys.executable, "-m", "dvcops"], capture_output=True, text=True, timeout=60,
                            env={**shell_env, "_DVCOPS_COMPLETE": "complete_zsh",
                                 "_TYPER_COMPLETE_ARGS": "dvcops catalog ch"}, cwd=ROOT)
    assert answer.returncode == 0 and '"check"' in answer.stdout and '"show"' not in answer.stdout


def test_catalog_check_json() -> None:
    res = run_dvcops("catalog", "check", str(EXAMPLE), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["file"] == str(EXAMPLE) and data["services"] > 0 and data["hosts"] > 0


def test_piped_tables_never_wrap() -> None:
    res = run_dvcops("loadtest", "profiles", env={"COLUMNS": "60"})
    assert res.returncode == 0, res.stderr
    rows = [x for x in res.stdout.splitlines() if x.startswith("│")]
    assert len(rows) == 5  # one line per profile: no row broken over several lines
    assert any("Ngày bình thường — an ordinary working day: 50 users for 10 min" in x for x in rows)
    assert max(len(x) for x in rows) > 80
