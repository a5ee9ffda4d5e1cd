"""Secrets for a run: read from files or the environment, never from the repository, never logged.

Each secret is a file `<secrets-dir>/<name>` (mode 0600, like Docker or systemd credentials) or an
environment variable `DVCOPS_SECRET_<NAME>`. They reach Ansible through a 0600 file in a private
temporary folder outside the run's artifacts, removed when the run ends; the playbook loads it with
`no_log`. ansible-runner records the command line and environment in its artifacts, so secrets are
never passed as extra vars or environment variables (runner.py also strips `DVCOPS_SECRET_*`).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dvcops.catalog import Catalog
from playbooks import PLAYBOOK_DIR
from playbooks.errors import ProvisionError

ENV_PREFIX = "DVCOPS_SECRET_"

SECRETS: dict[str, tuple[str, frozenset[str]]] = {
    "db_password": ("password of the survey database user", frozenset({"db", "survey"})),
    "survey_admin_password": ("survey admin password", frozenset({"survey"})),
    "survey_hmac_key": ("key that hashes dossier codes in the survey", frozenset({"survey"})),
}
"""name -> (what it is, catalogue roles whose hosts need it)."""

MIN_LENGTH: dict[str, int] = {
    "db_password": 12,
    "survey_admin_password": 12,  # the survey refuses shorter admin passwords
    "survey_hmac_key": 32,  # the survey refuses shorter keys: its unit would loop in `activating`
}
"""One minimum per secret, the one its consumer enforces, checked before a run (not after the service fails);
the on-call secrets (SMTP password, webhook URLs) have DEFAULT_MIN_LENGTH."""
DEFAULT_MIN_LENGTH = 12


ONCALL_ROLE = "monitoring"
"""Hosts of this catalogue role run Alertmanager: they need the on-call secrets the catalogue names."""


def needed(catalog: Catalog) -> list[str]:
    """The secrets the catalogue's hosts need (a province without a survey host needs none of its; the SMTP
    password and secret webhook URLs only when the catalogue's on-call part names them)."""
    roles = {r for h in catalog.hosts for r in h.roles}
    names = [name for name, (_, users) in SECRETS.items() if users & roles]
    if ONCALL_ROLE in roles:
        names += list(catalog.oncall_secrets())
    return names


def describe(name: str) -> str:
    if name in SECRETS:
        return SECRETS[name][0]
    if name.startswith("alertmanager_webhook_"):
        return "URL of an on-call webhook (webhook_secrets in the catalogue)"
    return "password of the on-call SMTP relay user" if name == "alertmanager_smtp_password" else name


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _inside_repo(path: Path) -> bool:
    repo = PLAYBOOK_DIR.parent
    return (repo / ".git").exists() and path.resolve().is_relative_to(repo)


def _from_file(path: Path) -> str:
    if _inside_repo(path):
        raise ProvisionError(f"{path}: secrets must not live in the repository; keep them elsewhere (/etc/dvcops)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ProvisionError(f"{path}: secret file is readable by others (mode {mode:04o}): run chmod 600 {path}")
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def load(names: list[str], secrets_dir: Path | None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Each named secret from `secrets_dir/<name>` or `DVCOPS_SECRET_<NAME>`; every problem reported at once."""
    env = os.environ if environ is None else environ
    if secrets_dir is not None and not secrets_dir.is_dir():
        raise ProvisionError(f"--secrets-dir {secrets_dir}: not a directory")
    if secrets_dir is not None and _inside_repo(secrets_dir):
        raise ProvisionError(f"--secrets-dir {secrets_dir}: secrets must not live in the repository; keep them "
                             "elsewhere (/etc/dvcops)")
    values: dict[str, str] = {}
    problems: list[str] = []
    for name in names:
        what = describe(name)
        file = secrets_dir / name if secrets_dir is not None else None
        try:
            if file is not None and file.is_file():
                value = _from_file(file)
            elif env.get(env_name(name)):
                value = env[env_name(name)]
            else:
                where = f"{file} or " if file is not None else "--secrets-dir DIR with a file "
                problems.append(f"secret {name!r} ({what}) is missing: put it in {where}{name!r} (mode 0600), "
                                f"or set {env_name(name)}")
                continue
        except ProvisionError as exc:
            problems.extend(exc.lines)
            continue
        minimum = MIN_LENGTH.get(name, DEFAULT_MIN_LENGTH)
        if len(value) < minimum or "\n" in value:
            problems.append(f"secret {name!r} ({what}): expected one line of at least {minimum} characters "
                            f"(got {len(value)})" if "\n" not in value else
                            f"secret {name!r} ({what}): expected one line, got several")
            continue
        values[name] = value
    if problems:
        raise ProvisionError(*problems)
    return values


@contextmanager
def secrets_file(values: dict[str, str]) -> Iterator[Path]:
    """A 0600 JSON file `{"dvcops_secrets": {...}}` in a private folder (RAM-backed /dev/shm when there is one),
    removed on exit whatever happens."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="dvcops-secrets-", dir=base))
    try:
        path = folder / "secrets.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"dvcops_secrets": values}, f)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
