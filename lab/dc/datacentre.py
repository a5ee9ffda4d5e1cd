"""`DataCentre`: the province's data centre as real Debian hosts on this machine (up, down, status, exec).

One host per catalogue host boots from the playbooks' role-seeded base under systemd-nspawn, each
in its own network namespace on one bridge; a controller namespace on the same bridge is where
every command that talks to the DC runs (Ansible, ssh, nmap, probes, Locust). The root namespace
never gets an address or route in the DC subnet. Everything `up` makes is written to a ledger as it
is made, and `down` removes exactly that, last first; it is safe to run twice.

Files, in `<state>/dc/<name>/`: ledger.json, dc.yml (the catalogue, trusting the DC's CA),
vars.yml (admins, firewall admin source, TLS certificate for `dvcops provision --vars`), ssh/
(admin key, known_hosts), tls/, hosts/<host>/{upper,work,merged,console.log}. Secrets live in
/run/dvcops-dc/<name>/secrets (RAM, 0600), never in the state folder or the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from dvcops.system import require_program
from lab.dc import cgroups, keys, netns, nspawn, trees
from lab.dc.errors import DCError
from lab.dc.hosts import DEFAULT_SUBNET, DCPlan, check_name, plan_dc
from lab.dc.ledger import Ledger

ADMIN = "quantri"
INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_HOST = 16
"""A booted Debian host uses several inotify instances; the default 128 runs out past about 20 hosts."""
RUN_ROOT = keys.SECRETS_ROOT
NSPAWN_RUN = Path("/run/systemd/nspawn")

Say = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


class DataCentre:
    def __init__(self, state: StateDir, name: str = "dc") -> None:
        self.name = check_name(name)
        self.state = state
        self.folder = state.root / "dc" / name
        self.ledger = Ledger(self.folder / "ledger.json")

    # -- where things are ------------------------------------------------------------------------------------
    @property
    def catalog_path(self) -> Path:
        return self.folder / "dc.yml"

    @property
    def vars_path(self) -> Path:
        return self.folder / "vars.yml"

    @property
    def known_hosts(self) -> Path:
        return self.folder / "ssh" / "known_hosts"

    @property
    def admin_key(self) -> Path:
        return self.folder / "ssh" / "admin"

    @property
    def secrets_dir(self) -> Path:
        return keys.secrets_dir(self.name)

    @property
    def ca_path(self) -> Path:
        return self.folder / "tls" / "ca.pem"

    @property
    def plan(self) -> DCPlan:
        if "plan" not in self.ledger.info and self.ledger.path.exists():  # brought up by another process since
            self.ledger = Ledger(self.ledger.path)
        info = self.ledger.info
        if "plan" not in info:
            raise DCError(f"DC {self.name!r} is not up (state {self.state.root}): start it with `dvcops dc up`")
        from lab.dc.hosts import DCHost
        p = info["plan"]
        return DCPlan(name=p["name"], subnet=p["subnet"], controller=p["controller"],
                      hosts=tuple(DCHost(**{**h, "roles": tuple(h["roles"])}) for h in p["hosts"]))

    @property
    def controller_ns(self) -> str:
        return netns.controller_ns(self.name)

    # -- up --------------------------------------------------------------------------------------------------
    def preflight(self, catalog_path: Path, subnet: str) -> DCPlan:
        """Everything checked before anything is made: root, programs, the catalogue, not already up."""
        if os.geteuid() != 0:
            raise DCError("dvcops dc needs root (network namespaces, overlay mounts, cgroups, systemd-nspawn): "
                          "run it as root or with sudo")
        for program in ("systemd-nspawn", "nsenter", "ip", "ssh-keygen", "ssh"):
            require_program(program)
        plan = plan_dc(load_catalog(catalog_path), catalog_path, self.name, subnet)
        if self.ledger.exists:
            raise DCError(f"DC {self.name!r} is already up (state {self.state.root}): `dvcops dc down` first, "
                          "or give another --name")
        owner = RUN_ROOT / self.name / "state"
        if owner.exists():
            raise DCError(f"a DC named {self.name!r} is already up on this machine (state "
                          f"{owner.read_text().strip()}): stop it or give another --name")
        taken = [n for n in [netns.bridge_ns(self.name), self.controller_ns,
                             *(netns.host_ns(self.name, h.name) for h in plan.hosts)] if netns.exists(n)]
        if taken:
            raise DCError(f"network namespace {taken[0]} already exists: another DC named {self.name!r} is up? "
                          f"(`ip netns list`)")
        return plan

    def up(self, catalog_path: Path, subnet: str = DEFAULT_SUBNET, boot_timeout: float | None = None,
           say: Say = _quiet) -> dict[str, Any]:
        """Boot the DC of `catalog_path`; on any failure, remove what was made and re-raise."""
        plan = self.preflight(catalog_path, subnet)
        started = time.monotonic()
        base = self._base_tree(say)
        try:
            self._make(plan, catalog_path, base, say)
            self._wait_booted(plan, boot_timeout or 60 + 4 * len(plan.hosts), say)
        except BaseException:
            say("up failed: removing what was made")
            self.down()
            raise
        self.ledger.set_info(up_seconds=round(time.monotonic() - started, 1))
        return self.status()

    def _base_tree(self, say: Say) -> Path:
        from playbooks.chroots import roles_base
        from playbooks.wheel import build_wheel

        wheel = build_wheel(self.state.folder("playbooks", "wheels"))
        say("base: the playbooks' role-seeded Debian 12 (built once, about 2-5 minutes, when absent)")
        return trees.base_tree(roles_base(self.state, wheel))

    def _make(self, plan: DCPlan, catalog_path: Path, base: Path, say: Say) -> None:
        led = self.ledger
        self.folder.mkdir(parents=True, exist_ok=True)
        led.set_info(plan={"name": plan.name, "subnet": plan.subnet, "controller": plan.controller,
                           "hosts": [h.__dict__ | {"roles": list(h.roles)} for h in plan.hosts]},
                     catalog=str(catalog_path.resolve()), base=str(base))
        led.add("dir", path=str(self.folder), keep_state=True)
        run_dir = RUN_ROOT / self.name
        if not NSPAWN_RUN.exists():
            led.add("dir", path=str(NSPAWN_RUN), only_if_empty=True)
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        led.add("dir", path=str(run_dir))
        (run_dir / "state").write_text(str(self.state.root) + "\n")
        self._raise_inotify(len(plan.hosts))

        # network: bridge namespace, controller, one namespace per host
        br, ctl = netns.bridge_ns(self.name), self.controller_ns
        for ns in (br, ctl):
            netns.add(ns)
            led.add("netns", name=ns)
        netns.add_bridge(br)
        netns.add_port(br, "c0", ctl, plan.controller, plan.prefixlen)
        led.add("veth", netns=br, name="c0")
        etc_netns = Path("/etc/netns") / ctl
        etc_netns.mkdir(parents=True, exist_ok=True)
        led.add("dir", path=str(etc_netns))
        hosts_lines = [f"{h.address}\t{h.name}" for h in plan.hosts]
        (etc_netns / "hosts").write_text("\n".join(["127.0.0.1\tlocalhost", *hosts_lines, ""]))
        (etc_netns / "resolv.conf").write_text("# the DC lab has no DNS server: names come from /etc/hosts\n")
        for h in plan.hosts:
            ns = netns.host_ns(self.name, h.name)
            netns.add(ns)
            led.add("netns", name=ns)
            netns.add_port(br, f"h{h.index}", ns, h.address, plan.prefixlen)
            led.add("veth", netns=br, name=f"h{h.index}")
        say(f"network: bridge in {br}, controller {plan.controller} in {ctl}, {len(plan.hosts)} host namespaces")

        # access: admin key, TLS for the web hosts, secrets
        key_path, pubkey = keys.admin_key(self.folder / "ssh", f"{ADMIN}@dvcops-{self.name}")
        web = [h for h in plan.hosts if "web" in h.roles]
        ca, chain, tls_key = keys.web_certificate(self.folder / "tls", [h.address for h in web],
                                                  [h.name for h in web])
        keys.make_secrets(self.name)

        # hosts: overlay, first-boot identity, cgroups (in parallel: ssh-keygen and chroot useradd take a moment)
        def prepare(h: Any) -> tuple[Any, Path, dict[str, str]]:
            hdir = self.folder / "hosts" / h.name
            merged = trees.mount_overlay(base, hdir)
            return h, merged, trees.prepare(merged, h.name, hosts_lines, ADMIN, pubkey)

        host_keys: dict[str, tuple[list[str], dict[str, str]]] = {}
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(prepare, h) for h in plan.hosts]
            for h in plan.hosts:  # record every mount, even if another host's preparation failed
                led.add("mount", path=str(self.folder / "hosts" / h.name / "merged"),
                        host_dir=str(self.folder / "hosts" / h.name))
            for fut in futures:
                h, _merged, hkeys = fut.result()
                host_keys[h.name] = ([h.name, h.address], hkeys)
        keys.write_known_hosts(self.known_hosts, host_keys)
        self._write_catalog(catalog_path, ca)
        self._write_vars(pubkey, plan, chain, tls_key)

        for h in plan.hosts:
            paths = cgroups.create(self.name, h.name)
            led.add("cgroups", host=h.name, paths=[str(p) for p in paths])
            merged = self.folder / "hosts" / h.name / "merged"
            pid = nspawn.start(merged, f"{self.name}-{h.name}", netns.host_ns(self.name, h.name), paths,
                               self.folder / "hosts" / h.name / "console.log")
            led.add("process", host=h.name, pid=pid, start_time=nspawn.start_time(pid))
        say(f"booting {len(plan.hosts)} hosts (systemd-nspawn): {', '.join(h.name for h in plan.hosts)}")
        del key_path

    def _raise_inotify(self, n_hosts: int) -> None:
        """Raise fs.inotify.max_user_instances while DCs are up; the machine's value is kept to restore."""
        orig = RUN_ROOT / "inotify.orig"
        current = int(INOTIFY.read_text())
        if not orig.exists():
            orig.write_text(f"{current}\n")
        base = int(orig.read_text())
        others = sum(int(p.read_text()) for p in RUN_ROOT.glob("*/hosts") if p.parent.name != self.name)
        need = base + INOTIFY_PER_HOST * (n_hosts + others)
        (RUN_ROOT / self.name / "hosts").write_text(f"{n_hosts}\n")
        if current < need:
            INOTIFY.write_text(f"{need}\n")
        self.ledger.add("sysctl", key="fs.inotify.max_user_instances", path=str(INOTIFY), orig=str(orig))

    def _write_catalog(self, source: Path, ca: Path) -> None:
        """dc.yml: the catalogue as given, trusting the DC's CA (so probes and drills verify TLS)."""
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data.setdefault("defaults", {})["ca_file"] = os.path.relpath(ca, self.folder)
        self.catalog_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        load_catalog(self.catalog_path)

    def _write_vars(self, pubkey: str, plan: DCPlan, chain: Path, tls_key: Path) -> None:
        """Role variables for `dvcops provision --vars`: the admin, the controller as SSH source, the web cert."""
        data: dict[str, Any] = {
            "baseline_admins": [{"name": ADMIN, "comment": "Quản trị viên (DC lab)", "ssh_keys": [pubkey]}],
            "firewall_admin_sources": [f"{plan.controller}/32"],
        }
        if chain != Path():
            data |= {"nginx_tls_certificate_src": str(chain), "nginx_tls_key_src": str(tls_key)}
        survey = [h.address for h in plan.hosts if "survey" in h.roles]
        if survey and any("db" in h.roles for h in plan.hosts):
            # the survey hosts, and the controller where the reviewing department's report reads the figures
            data["postgresql_survey_clients"] = [*survey, plan.controller]
        self.vars_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def _wait_booted(self, plan: DCPlan, timeout: float, say: Say) -> None:
        """Until every host's systemd has finished starting and sshd is active (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        pending = {h.name for h in plan.hosts}
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                proc = self._process(name)
                if proc is None or not nspawn.alive(proc["pid"], proc["start_time"]):
                    log = self.folder / "hosts" / name / "console.log"
                    tail = log.read_text(errors="replace").strip().splitlines()[-2:] if log.exists() else []
                    raise DCError(f"{name}: systemd-nspawn exited during boot: {' / '.join(tail) or 'no output'} "
                                  f"(see {log})")
                pid = self._leader(name)
                if pid is None or nspawn.system_state(pid) not in ("running", "degraded"):
                    continue
                if self._in_host(pid, ["systemctl", "is-active", "ssh"]).stdout.strip() == "active":
                    pending.discard(name)
            time.sleep(0.5)
        if pending:
            raise DCError(f"hosts not booted within {timeout:.0f} s: {', '.join(sorted(pending))} "
                          f"(see {self.folder / 'hosts'}/<host>/console.log)")
        say(f"{len(plan.hosts)} hosts booted, sshd active on each")

    # -- down ------------------------------------------------------------------------------------------------
    def down(self) -> bool:
        """Remove exactly what `up` made, last first. False when this DC was not up."""
        led = self.ledger
        if not led.exists:
            return False
        procs = led.of_kind("process")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda e: nspawn.stop(e["pid"], e["start_time"]), procs))
        for entry in reversed(led.entries):
            self._undo(entry)
        led.remove()
        try:
            RUN_ROOT.rmdir()  # the last DC down leaves no folder of ours in /run
        except OSError:
            pass
        return True

    def _undo(self, e: dict[str, Any]) -> None:
        kind = e["kind"]
        if kind == "process":
            nspawn.stop(e["pid"], e["start_time"], timeout=5)
        elif kind == "cgroups":
            paths = [Path(p) for p in e["paths"]]
            for _ in range(20):
                if not cgroups.kill_all(paths):
                    break
                time.sleep(0.1)
            cgroups.remove(paths, self.name)
        elif kind == "mount":
            trees.unmount(Path(e["path"]))
            if not trees.mounts_under(Path(e["host_dir"])):
                shutil.rmtree(e["host_dir"], ignore_errors=True)
        elif kind == "veth":
            netns.delete_link(e["netns"], e["name"])
        elif kind == "netns":
            netns.delete(e["name"])
        elif kind == "sysctl":
            self._restore_inotify(Path(e["orig"]))
        elif kind == "dir":
            path = Path(e["path"])
            if e.get("keep_state"):  # the DC's folder: keep nothing of the DC but its console logs' absence
                for sub in ("ssh", "tls", "hosts", "dc.yml", "vars.yml"):
                    p = path / sub
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            elif e.get("only_if_empty"):
                for d in sorted((d for d in path.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
                    try:
                        d.rmdir()
                    except OSError:
                        pass
                try:
                    path.rmdir()
                except OSError:
                    pass
            else:
                shutil.rmtree(path, ignore_errors=True)

    def _restore_inotify(self, orig: Path) -> None:
        (RUN_ROOT / self.name / "hosts").unlink(missing_ok=True)
        if not orig.exists():
            return
        others = sum(int(p.read_text()) for p in RUN_ROOT.glob("*/hosts"))
        if not others:  # the last DC down puts the machine's value back
            INOTIFY.write_text(orig.read_text())
            orig.unlink()
            return
        need = int(orig.read_text()) + INOTIFY_PER_HOST * others
        if int(INOTIFY.read_text()) > need:  # what the DCs still up need, no more
            INOTIFY.write_text(f"{need}\n")

    # -- inspect and act ---------------------------------------------------------------------------------------
    def _process(self, host: str) -> dict[str, Any] | None:
        return next((e for e in self.ledger.of_kind("process") if e["host"] == host), None)

    def _leader(self, host: str) -> int | None:
        entry = next((e for e in self.ledger.of_kind("cgroups") if e["host"] == host), None)
        if entry is None:
            return None
        systemd = next((Path(p) for p in entry["paths"] if "/systemd/" in p), Path(entry["paths"][0]))
        return nspawn.leader(systemd)

    def _in_host(self, pid: int, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(nspawn.enter(pid, cmd), capture_output=True, text=True, timeout=timeout)

    def on_host(self, host: str, cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `cmd` as root inside a host (the console, not SSH: for tests and injected changes)."""
        self.plan.host(host)
        pid = self._leader(host)
        if pid is None:
            raise DCError(f"{host}: not running")
        return self._in_host(pid, cmd, timeout)

    def exec_argv(self, cmd: list[str]) -> list[str]:
        """`cmd` run in the controller namespace (where every command that talks to the DC runs)."""
        if not netns.exists(self.controller_ns):
            raise DCError(f"DC {self.name!r} is not up: no namespace {self.controller_ns}")
        return ["ip", "netns", "exec", self.controller_ns, *cmd]

    def ssh_argv(self, host: str, cmd: list[str], user: str = ADMIN, key: Path | None = None) -> list[str]:
        """ssh from the controller into a host with the pinned host keys (no trust on first use)."""
        address = self.plan.host(host).address
        return self.exec_argv(["ssh", "-F", "/dev/null", "-i", str(key or self.admin_key), "-o", "IdentitiesOnly=yes",
                               "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                               f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=10",
                               f"{user}@{address}", "--", *cmd])

    def provision_args(self) -> list[str]:
        """The options `dvcops provision` needs to converge this DC over SSH as the admin."""
        return ["--catalog", str(self.catalog_path), "--secrets-dir", str(self.secrets_dir), "--vars",
                str(self.vars_path), "--ssh-user", ADMIN, "--ssh-key", str(self.admin_key), "--known-hosts",
                str(self.known_hosts), "--forks", str(min(len(self.plan.hosts), 20))]

    def status(self) -> dict[str, Any]:
        """Whether the DC is up and, per host: running, address, systemd state, memory."""
        if not self.ledger.exists:
            return {"name": self.name, "up": False, "hosts": []}
        plan = self.plan
        hosts = []
        for h in plan.hosts:
            proc = self._process(h.name)
            running = proc is not None and nspawn.alive(proc["pid"], proc["start_time"])
            pid = self._leader(h.name) if running else None
            mem = cgroups.memory_bytes(self.name, h.name)
            hosts.append({"name": h.name, "address": h.address, "roles": list(h.roles), "running": running,
                          "systemd": nspawn.system_state(pid) if pid else "stopped",
                          "memory_mib": round(mem / 2**20, 1) if mem else None})
        return {"name": self.name, "up": all(h["running"] for h in hosts), "subnet": plan.subnet,
                "controller": plan.controller, "controller_namespace": self.controller_ns,
                "catalog": str(self.catalog_path), "state": str(self.state.root),
                "up_seconds": self.ledger.info.get("up_seconds"), "hosts": hosts}


def teardown_census(subnet: str | None = None) -> dict[str, Any]:
    """What DC labs hold on this machine now: namespaces, veths, mounts, cgroups, nspawn processes
    (the teardown test compares it before `up` and after `down`)."""
    procs = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() == "systemd-nspawn" and nspawn.start_time(int(p.name)):
                    procs.append(int(p.name))  # an exited one (a zombie until its parent reaps it) holds nothing
            except (FileNotFoundError, ProcessLookupError):
                continue
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
              if line.split()[0] == "overlay" or "/dc/" in line.split()[1]]
    return {"netns": netns.names(), "veths_root": netns.veth_count(), "mounts": sorted(mounts),
            "cgroups": [str(d) for d in cgroups.all_dirs()], "nspawn": sorted(procs),
            "inotify": int(INOTIFY.read_text()), "run": sorted(str(p) for p in RUN_ROOT.rglob("*"))
            if RUN_ROOT.exists() else [], "root_routes": netns.root_routes_to(subnet) if subnet else [],
            "etc_netns": sorted(str(p) for p in Path("/etc/netns").glob("dvcops-*"))}


def dump(status: dict[str, Any]) -> str:
    return json.dumps(status, ensure_ascii=False, indent=2)
