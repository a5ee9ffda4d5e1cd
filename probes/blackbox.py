"""A drop-in for blackbox_exporter's multi-target pattern: `GET /probe?target=…&module=…`.

Prometheus setups that relabel `__address__` into `__param_target` and point `__address__` at the
exporter keep working when that address is `dvcops probe serve`: the same module names (read from a
blackbox-style modules file, `--blackbox-config`), the same target forms and the same metric names
without labels (Prometheus adds `instance` from the relabelling). One attempt, no retries, as blackbox.

Supported module kinds and options (anything else makes that module unusable, said once at start and
in the 400 answer to a probe that names it):

- `http`: `valid_status_codes` (default 2xx), `valid_http_versions`, `fail_if_ssl`, `fail_if_not_ssl`,
  `fail_if_body_matches_regexp`, `fail_if_body_not_matches_regexp`, `tls_config.ca_file`; the target is
  a URL (`http://` is added when it has no scheme); redirects are followed.
- `tcp`: the target is host:port; `tls: true` makes it a verified TLS handshake (our tls:// check).
- `dns`: the target is the resolver (host[:port]); `query_name`, `query_type` (default ANY as blackbox),
  `valid_rcodes` (default NOERROR).
- accepted and not needed: `preferred_ip_protocol` and `ip_protocol_fallback` (IPv4 is tried first),
  `tls_config.server_name` is refused (we check the name in the URL).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dvcops.durations import parse_duration
from dvcops.yamlsource import YamlProblem, read_yaml, validation_problems
from probes.checks import CheckEnv, Observed, run_check
from probes.errors import ProbeError
from probes.metrics import _num
from probes.models import HTTP_PHASES
from probes.targets import Target

log = logging.getLogger("dvcops.probes")
DEFAULT_TIMEOUT = 9.5
"""blackbox: Prometheus' default scrape timeout (10 s) minus its 0.5 s offset."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _seconds(v: Any) -> float:
    return parse_duration(v).total_seconds() if not isinstance(v, timedelta) else v.total_seconds()


class TlsConfig(_Model):
    ca_file: str | None = None
    insecure_skip_verify: Literal[False] = False


class HttpModule(_Model):
    valid_status_codes: list[int] = Field(default_factory=list)
    valid_http_versions: list[str] = Field(default_factory=list)
    fail_if_ssl: bool = False
    fail_if_not_ssl: bool = False
    fail_if_body_matches_regexp: list[str] = Field(default_factory=list)
    fail_if_body_not_matches_regexp: list[str] = Field(default_factory=list)
    method: Literal["GET"] = "GET"
    follow_redirects: Literal[True] = True
    preferred_ip_protocol: str | None = None
    ip_protocol_fallback: bool | None = None
    tls_config: TlsConfig = TlsConfig()


class TcpModule(_Model):
    tls: bool = False
    tls_config: TlsConfig = TlsConfig()
    preferred_ip_protocol: str | None = None
    ip_protocol_fallback: bool | None = None


class DnsModule(_Model):
    query_name: str
    query_type: str = "ANY"
    valid_rcodes: list[str] = Field(default_factory=lambda: ["NOERROR"])
    transport_protocol: Literal["udp"] = "udp"
    preferred_ip_protocol: str | None = None
    ip_protocol_fallback: bool | None = None


class Module(_Model):
    prober: Literal["http", "tcp", "dns"]
    timeout: Annotated[float, BeforeValidator(_seconds)] | None = None
    http: HttpModule = HttpModule()
    tcp: TcpModule = TcpModule()
    dns: DnsModule | None = None


DEFAULT_MODULES = {
    "http_2xx": Module(prober="http"),
    "tcp_connect": Module(prober="tcp"),
    "tls_connect": Module(prober="tcp", tcp=TcpModule(tls=True)),
}
"""When no modules file is given: blackbox's usual names."""


class Modules:
    """The usable modules, and why the others are not."""

    def __init__(self, usable: dict[str, Module], unusable: dict[str, str], source: str = "built-in") -> None:
        self.usable = usable
        self.unusable = unusable
        self.source = source

    @classmethod
    def load(cls, path: Path | None) -> Modules:
        if path is None:
            return cls(dict(DEFAULT_MODULES), {})
        try:
            data, smap = read_yaml(path)
        except YamlProblem as p:
            raise ProbeError(*p.lines) from None
        if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
            raise ProbeError(f"{path}:1: modules: expected a blackbox_exporter modules file (modules: {{name: ...}})")
        usable: dict[str, Module] = {}
        unusable: dict[str, str] = {}
        for name, spec in data["modules"].items():
            try:
                module = Module.model_validate(spec)
            except ValidationError as exc:
                problems = validation_problems(exc, smap, ("modules", name))
                unusable[str(name)] = problems[0][1] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
                continue
            if module.prober == "dns" and module.dns is None:
                unusable[str(name)] = smap.error(("modules", name), "a dns module needs dns.query_name")
                continue
            usable[str(name)] = module
        for name, why in unusable.items():
            log.warning("blackbox module %s is not supported by dvcops and answers 400: %s", name, why)
        return cls(usable, unusable, str(path))


def target_for(module: Module, target: str, timeout: float) -> Target:
    """The blackbox target as one of our probe targets (an http(s)://, tcp://, tls:// or dns:// URL)."""
    ca = None
    if module.prober == "http":
        url = target if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", target) else f"http://{target}"
        if not url.startswith(("http://", "https://")):
            raise ProbeError(f"target {target!r}: expected an http(s) URL for an http module")
        ca = module.http.tls_config.ca_file
        keep = bool(module.http.fail_if_body_matches_regexp or module.http.fail_if_body_not_matches_regexp)
        return Target(service="", agency="", level="", endpoint=url, url=url, timeout=timeout, ca_file=ca,
                      keep_body=keep)
    if module.prober == "tcp":
        if not re.match(r"^(\[[0-9a-fA-F:]+\]|[^:/\[\]]+):\d{1,5}$", target):
            raise ProbeError(f"target {target!r}: expected host:port for a tcp module")
        scheme = "tls" if module.tcp.tls else "tcp"
        url = f"{scheme}://{target}"
        return Target(service="", agency="", level="", endpoint=url, url=url, timeout=timeout,
                      ca_file=module.tcp.tls_config.ca_file)
    assert module.dns is not None
    url = f"dns://{module.dns.query_name}?type={module.dns.query_type.upper()}"
    return Target(service="", agency="", level="", endpoint=url, url=url, timeout=timeout, resolver=target)


def success(module: Module, obs: Observed) -> bool:
    """blackbox's verdict for what one attempt observed."""
    if module.prober == "dns":
        assert module.dns is not None
        return obs.reason is None and obs.dns_rcode in module.dns.valid_rcodes
    if obs.reason is not None:
        return False
    if module.prober == "tcp":
        return obs.connected
    m = module.http
    code = obs.status_code or 0
    if not (code in m.valid_status_codes if m.valid_status_codes else 200 <= code < 300):
        return False
    if m.valid_http_versions and f"HTTP/{obs.http_version:g}" not in m.valid_http_versions:
        return False
    if (m.fail_if_ssl and obs.ssl) or (m.fail_if_not_ssl and not obs.ssl):
        return False
    body = obs.body or ""
    if any(re.search(rx, body) for rx in m.fail_if_body_matches_regexp):
        return False
    return all(re.search(rx, body) for rx in m.fail_if_body_not_matches_regexp)


def exposition(module: Module, obs: Observed, ok: bool) -> bytes:
    """blackbox's metrics for one probe, unlabelled (Prometheus adds instance and job)."""
    out: list[str] = []
    declared: set[str] = set()

    def gauge(name: str, value: float | int | None, doc: str, labels: str = "") -> None:
        if value is None:
            return
        if name not in declared:
            declared.add(name)
            out.append(f"# HELP {name} {doc}\n# TYPE {name} gauge\n")
        out.append(f"{name}{{{labels}}} {_num(value)}\n" if labels else f"{name} {_num(value)}\n")

    gauge("probe_dns_lookup_time_seconds", obs.phases.get("resolve", 0.0),
          "Returns the time taken for probe dns lookup in seconds")
    if obs.ip:
        gauge("probe_ip_protocol", 6 if ":" in obs.ip else 4, "Specifies whether probe ip protocol is IP4 or IP6")
    if module.prober == "http":
        for phase in HTTP_PHASES:
            gauge("probe_http_duration_seconds", obs.phases.get(phase, 0.0),
                  "Duration of http request by phase, summed over all redirects", f'phase="{phase}"')
        gauge("probe_http_status_code", obs.status_code or 0, "Response HTTP status code")
        gauge("probe_http_redirects", obs.redirects, "The number of redirects")
        gauge("probe_http_ssl", 1 if obs.ssl else 0, "Indicates if SSL was used for the final redirect")
        gauge("probe_http_version", obs.http_version or 0, "Returns the version of HTTP of the probe response")
        gauge("probe_http_content_length", obs.content_length if obs.content_length is not None else -1,
              "Length of http content response")
    if module.prober == "dns":
        gauge("probe_dns_answer_rrs", len(obs.dns_answers), "Returns number of entries in the answer resource "
              "record list")
    if obs.cert is not None:
        gauge("probe_ssl_earliest_cert_expiry", obs.cert.earliest_expiry.timestamp(),
              "Returns last SSL chain expiry in unixtime")
        if obs.cert.chain_expiry:
            gauge("probe_ssl_last_chain_expiry_timestamp_seconds", obs.cert.chain_expiry.timestamp(),
                  "Returns last SSL chain expiry in timestamp")
        if obs.cert.tls_version:
            gauge("probe_tls_version_info", 1, "Returns the TLS version used", f'version="{obs.cert.tls_version}"')
    gauge("probe_duration_seconds", obs.duration, "Returns how long the probe took to complete in seconds")
    gauge("probe_success", 1 if ok else 0, "Displays whether or not the probe was a success")
    return "".join(out).encode()


def timeout_for(module: Module, scrape_timeout_header: str | None) -> float:
    """blackbox: the scrape timeout Prometheus sends minus 0.5 s, capped by the module's own timeout."""
    timeout = DEFAULT_TIMEOUT
    if scrape_timeout_header:
        try:
            timeout = max(float(scrape_timeout_header) - 0.5, 0.1)
        except ValueError:
            pass
    return min(timeout, module.timeout) if module.timeout else timeout


async def probe(modules: Modules, env: CheckEnv, target: str | None, module_name: str | None,
                scrape_timeout: str | None = None) -> tuple[int, bytes]:
    """(HTTP status, body) for one /probe request, as blackbox answers it."""
    if not target:
        return 400, b"Target parameter is missing\n"
    name = module_name or "http_2xx"
    if name in modules.unusable:
        return 400, f"Module {name!r} is not supported by dvcops: {modules.unusable[name]}\n".encode()
    module = modules.usable.get(name)
    if module is None:
        return 400, f"Unknown module {name!r}\n".encode()
    try:
        t = target_for(module, target, timeout_for(module, scrape_timeout))
    except ProbeError as exc:
        return 400, f"{exc.lines[0]}\n".encode()
    obs = await run_check(t, env)
    return 200, exposition(module, obs, success(module, obs))
