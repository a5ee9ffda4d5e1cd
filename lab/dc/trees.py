"""The hosts' root file systems: the playbooks' role-seeded base, unpacked once, one overlayfs per host.

The base (`playbooks.chroots.roles_base`) is Debian 12 with every role's packages installed; it is
unpacked once into the machine cache and never written to. Each host gets an overlay on top of it
and, before it boots, what a cloud image's first boot would give it: its own hostname, machine id
and SSH host keys, the admin account with the DC's admin key (sudo without password, as
cloud-init's default user), and no policy-rc.d (a booted host is a real host, daemons may start).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from lab.dc.errors import DCError

UNPACKED_MARK = ".dvcops-unpacked"


def base_tree(tarball: Path) -> Path:
    """`<cache>/tree-<tarball stem>/`: the tarball unpacked once (read-only lower layer of every overlay)."""
    from playbooks.chroots import _locked, unpack

    tree = tarball.with_name("tree-" + tarball.name.removesuffix(".tar.zst"))
    if (tree / UNPACKED_MARK).exists():
        return tree
    with _locked(tarball.parent):
        if not (tree / UNPACKED_MARK).exists():
            shutil.rmtree(tree, ignore_errors=True)
            unpack(tarball, tree)
            (tree / UNPACKED_MARK).write_text(tarball.name + "\n")
    return tree


def mount_overlay(lower: Path, folder: Path) -> Path:
    """`folder/merged`: an overlay of `lower` with this host's writes in `folder/upper`."""
    upper, work, merged = folder / "upper", folder / "work", folder / "merged"
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    _run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}",
          str(merged)], f"mounting the overlay of {folder.name}")
    return merged


def unmount(merged: Path) -> None:
    if os.path.ismount(merged):
        proc = subprocess.run(["umount", str(merged)], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:  # something still holds it: detach it now, the kernel frees it when released
            subprocess.run(["umount", "-l", str(merged)], capture_output=True, timeout=60)


def mounts_under(folder: Path) -> list[str]:
    """Mount points at or below `folder` (for teardown checks)."""
    prefix = str(folder.resolve())
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            out.append(point)
    return out


def prepare(root: Path, host: str, hosts_lines: list[str], admin: str, admin_key: str) -> dict[str, str]:
    """First-boot identity of one host; returns its SSH host public keys (type -> key) for known_hosts."""
    etc = root / "etc"
    (etc / "hostname").write_text(host + "\n")
    (etc / "hosts").write_text("\n".join(["127.0.0.1\tlocalhost", f"127.0.1.1\t{host}", *hosts_lines,
                                          "::1\tlocalhost ip6-localhost ip6-loopback", ""]))
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
    # the DC has no package mirror: the base's package lists count as fresh (apt's cache_valid_time)
    stamp = root / "var/lib/apt/periodic/update-success-stamp"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    for old in (etc / "ssh").glob("ssh_host_*"):
        old.unlink()
    _run(["ssh-keygen", "-A", "-f", str(root)], f"{host}: making SSH host keys")
    keys = {}
    for pub in sorted((etc / "ssh").glob("ssh_host_*_key.pub")):
        kind, key = pub.read_text().split()[:2]
        keys[kind] = key
    _add_admin(root, host, admin, admin_key)
    return keys


def _add_admin(root: Path, host: str, admin: str, admin_key: str) -> None:
    _run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", "--comment",
          "DC lab admin (first boot)", admin], f"{host}: adding the admin {admin}")
    home = root / "home" / admin
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(admin_key.strip() + "\n")
    (ssh / "authorized_keys").chmod(0o600)
    ids = (root / "etc/passwd").read_text().splitlines()
    uid, gid = next((int(f[2]), int(f[3])) for f in (line.split(":") for line in ids) if f[0] == admin)
    for p in (ssh, ssh / "authorized_keys"):
        os.chown(p, uid, gid)
    sudoers = root / "etc/sudoers.d/90-dvcops-dc-lab"
    sudoers.write_text(f"# first-boot admin, as cloud-init's default user\n{admin} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise DCError(f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-300:]}")
