"""The dvcops wheel the survey and prober roles install into the target's venv, built from this checkout.

Built from a copy of the sources (so nothing is written into the shared working tree) and cached
by a digest of those sources: re-runs reuse the same file, so the role's copy reports no change.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playbooks import PLAYBOOK_DIR
from playbooks.errors import ProvisionError

REPO = PLAYBOOK_DIR.parent
FILES = ("pyproject.toml", "README.md")
PACKAGES = ("dvcops", "probes", "survey", "drills", "loadtests", "playbooks")
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ansible", ".pytest_cache")
_BUILD = "import setuptools.build_meta as b, sys; print(b.build_wheel(sys.argv[1]))"


def _sources(root: Path) -> list[Path]:
    files = [root / f for f in FILES]
    for pkg in PACKAGES:
        if (root / pkg).is_dir():
            files += sorted(p for p in (root / pkg).rglob("*")
                            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return files


def source_digest(root: Path = REPO) -> str:
    h = hashlib.sha256()
    for f in _sources(root):
        h.update(str(f.relative_to(root)).encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def build_wheel(cache_dir: Path, root: Path = REPO) -> Path:
    """The wheel for the current sources: from `cache_dir/<digest>/` or built there (~5 s)."""
    if not (root / "pyproject.toml").is_file():
        raise ProvisionError(f"{root}: no pyproject.toml to build the dvcops wheel from: pass --wheel FILE")
    folder = cache_dir / source_digest(root)
    found = sorted(folder.glob("dvcops-*.whl"))
    if found:
        return found[-1]
    with tempfile.TemporaryDirectory(prefix="dvcops-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for f in FILES:
            shutil.copy2(root / f, src / f)
        for pkg in PACKAGES:
            if (root / pkg).is_dir():
                shutil.copytree(root / pkg, src / pkg, ignore=_SKIP)
        out = Path(tmp) / "dist"
        proc = subprocess.run([sys.executable, "-c", _BUILD, str(out)], cwd=src, capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ProvisionError(f"building the dvcops wheel failed: {tail[0]}")
        name = proc.stdout.strip().splitlines()[-1]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out / name, folder / name)
    return folder / name
