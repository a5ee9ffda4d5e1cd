"""What lets the controller trust the DC and the DC trust the controller, made fresh at each `up`.

- the admin's SSH key (ed25519, generated; the private half never leaves the DC's folder, mode 0600);
- `known_hosts` pinning each host's own host keys, read from the trees before they boot, so Ansible
  and ssh run with StrictHostKeyChecking=yes and nothing is trusted on first use;
- a DC CA and one certificate for the web hosts' addresses, so probes, load tests and drills verify TLS;
- the secrets `dvcops provision` needs (random, 0600 files in a RAM folder outside the repository).
"""

from __future__ import annotations

import os
import secrets as pysecrets
import subprocess
from pathlib import Path

from lab.certs import ensure_ca, issue_leaf
from lab.dc.errors import DCError
from playbooks.secrets import SECRETS

SECRETS_ROOT = Path("/run/dvcops-dc")
SECRET_LENGTH = 40
"""Random secrets of 40 URL-safe characters: above every secret's minimum (the survey's HMAC key needs 32)."""


def admin_key(folder: Path, comment: str) -> tuple[Path, str]:
    """A new ed25519 key pair `folder/admin{,.pub}`; returns (private key path, public key line)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = folder / "admin"
    for f in (private, private.with_suffix(".pub")):
        f.unlink(missing_ok=True)
    proc = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(private)],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise DCError(f"ssh-keygen failed: {proc.stderr.strip()}")
    return private, private.with_suffix(".pub").read_text().strip()


def write_known_hosts(path: Path, host_keys: dict[str, tuple[list[str], dict[str, str]]]) -> Path:
    """One line per host and key type: `name,address type key` (names and addresses both pinned)."""
    lines = [f"{','.join(names)} {kind} {key}" for names, keys in host_keys.values()
             for kind, key in sorted(keys.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def web_certificate(folder: Path, addresses: list[str], names: list[str]) -> tuple[Path, Path, Path]:
    """The DC CA and one certificate for every web host's address and name: (ca, chain, key)."""
    if not addresses:
        ca, _ = ensure_ca(folder)
        return ca, Path(), Path()
    chain, key = issue_leaf(folder, "web", addresses[0], names, extra_addresses=addresses[1:])
    return folder / "ca.pem", chain, key


def secrets_dir(dc: str) -> Path:
    return SECRETS_ROOT / dc / "secrets"


def make_secrets(dc: str) -> Path:
    """Random secrets for `dvcops provision --secrets-dir` (0700 folder, 0600 files, RAM-backed /run)."""
    folder = secrets_dir(dc)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder.parent, 0o700)
    for name in SECRETS:
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pysecrets.token_urlsafe(SECRET_LENGTH)[:SECRET_LENGTH] + "\n")
    return folder
