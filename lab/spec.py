"""What the lab consists of, and the catalogue (`lab.yml`) that describes it with real ports.

Every lab host has its own loopback address `<prefix>.<n>` so parts see distinct hosts; tests use
their own prefix (e.g. 127.0.20) so they never collide with a demo lab on 127.0.10.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dvcops.errors import DvcopsError

DOMAIN = "lab.dvc.internal"
OUTSIDE_NAME = f"ngoai-pham-vi.{DOMAIN}"
"""A lab DNS name that resolves to an address outside the lab (127.0.99.1), for scope tests."""
OUTSIDE_ADDRESS = "127.0.99.1"


class LabError(DvcopsError):
    """The lab cannot start or act as asked."""


@dataclass(frozen=True)
class LabHost:
    name: str
    octet: int
    roles: tuple[str, ...]
    zone: str
    security_level: int
    behaviour: str  # portal | eservice | slow | flap | down | db | none
    https: bool = False
    cert: str = "valid"
    extra_ports: tuple[int, ...] = ()
    """Ports opened beyond the role's (the lab's deliberate drift for drills)."""


HOSTS: tuple[LabHost, ...] = (
    LabHost("lab-portal", 1, ("web",), "dmz", 3, "portal", https=True),
    LabHost("lab-dvc-1", 2, ("web",), "dmz", 3, "eservice", https=True),
    LabHost("lab-dvc-2", 3, ("web",), "dmz", 3, "eservice", https=True, cert="expiring"),
    LabHost("lab-slow", 4, ("web",), "app", 2, "slow"),
    LabHost("lab-flap", 5, ("web",), "app", 2, "flap"),
    LabHost("lab-down", 6, ("web",), "app", 2, "down"),
    LabHost("lab-db", 7, ("db",), "data", 3, "db", extra_ports=(16379,)),
    LabHost("lab-survey", 8, ("survey",), "mgmt", 2, "none"),
)


@dataclass
class LabSpec:
    prefix: str = "127.0.10"
    http_port: int = 8080
    https_port: int = 8443
    db_port: int = 15432
    survey_port: int = 8000
    dns_port: int = 5353
    control_port: int = 9099
    slow_seconds: float = 1.5
    flap_period: float = 30.0
    """The flapping host answers 503 during the last third of every period."""
    hosts: tuple[LabHost, ...] = field(default=HOSTS)

    def __post_init__(self) -> None:
        addr = ipaddress.ip_address(f"{self.prefix}.1")
        if not addr.is_loopback:
            raise LabError(f"lab prefix {self.prefix!r}: the lab only binds loopback addresses (127.x.y)")

    def address(self, host: LabHost | str) -> str:
        octet = host.octet if isinstance(host, LabHost) else self.host(host).octet
        return f"{self.prefix}.{octet}"

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def dns_address(self) -> str:
        return f"{self.prefix}.53"

    @property
    def control_address(self) -> str:
        return f"{self.prefix}.254"

    def dns_names(self, host: LabHost) -> list[str]:
        short = host.name.removeprefix("lab-")
        return [f"{short}.{DOMAIN}"]

    def dns_records(self) -> dict[str, str]:
        recs = {n: self.address(h) for h in self.hosts for n in self.dns_names(h)}
        recs[OUTSIDE_NAME] = OUTSIDE_ADDRESS
        return recs

    def ports_of(self, host: LabHost) -> list[int]:
        """Ports the lab actually opens on this host (the down host opens none)."""
        if host.behaviour in ("down", "none"):
            return []
        if host.behaviour == "db":
            return [self.db_port, *host.extra_ports]
        return [self.http_port, *([self.https_port] if host.https else []), *host.extra_ports]

    def url(self, host: str, path: str = "/", https: bool = False) -> str:
        scheme, port = ("https", self.https_port) if https else ("http", self.http_port)
        return f"{scheme}://{self.address(host)}:{port}{path}"

    def journey(self, host: str, service: str) -> dict[str, Any]:
        """An e-service journey: open the form, submit a dossier (writes: allowed in the lab only), check its status."""
        base = self.url(host, f"/dv/{service}", https=True)
        return {"name": "nop-ho-so", "title": "Nộp và tra cứu hồ sơ", "interval": "1m", "timeout": "10s",
                "writes": True, "allow_writes_in": ["lab"], "steps": [
                    {"name": "mo-bieu-mau", "url": base, "expect": {"status": 200, "body": "Nộp hồ sơ"}},
                    {"name": "nop-ho-so", "method": "POST", "url": f"{base}/ho-so",
                     "json": {"ho_ten": "Kiểm thử dvcops", "kenh": "giam-sat"},
                     "expect": {"status": 201, "headers": {"content-type": "application/json*"}},
                     "capture": {"ma_ho_so": {"json": "ma_ho_so"}}},
                    {"name": "tra-cuu", "url": f"{base}/ho-so/{{ma_ho_so}}",
                     "expect": {"status": 200, "body": "da-tiep-nhan"}},
                ]}

    def catalog(self, ca_file: str) -> dict[str, Any]:
        """The lab catalogue as data; written to lab.yml by the lab server once it listens."""
        year = date.today().year
        u = self.url
        svc = [
            {"id": "cong-thong-tin", "name": "Cổng Dịch vụ công tỉnh (lab)", "agency": "so-tttt", "level": "2",
             "online_since": 2013, "slo": 0.999, "hosts": ["lab-portal"], "endpoints": [
                 {"url": u("lab-portal", "/"), "conditions": ["[STATUS] == 200", "[BODY] == pat(*Dịch vụ công*)"]},
                 {"url": u("lab-portal", "/", https=True),
                  "conditions": ["[STATUS] == 200", "[CERTIFICATE_EXPIRATION] > 720h"]},
                 {"url": f"dns://portal.{DOMAIN}", "resolver": f"{self.dns_address}:{self.dns_port}",
                  "expect": [self.address("lab-portal")]},
             ]},
            {"id": "dang-ky-kinh-doanh", "name": "Đăng ký kinh doanh", "agency": "so-khdt", "level": "toan-trinh",
             "online_since": 2014, "slo": 0.999, "hosts": ["lab-dvc-1"], "endpoints": [
                 {"url": u("lab-dvc-1", "/dv/dang-ky-kinh-doanh", https=True),
                  "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 2000"]},
                 {"url": u("lab-dvc-1", "/dv/dang-ky-kinh-doanh"), "name": "http-redirect"},
             ], "journeys": [self.journey("lab-dvc-1", "dang-ky-kinh-doanh")]},
            {"id": "giay-phep-xay-dung", "name": "Cấp giấy phép xây dựng", "agency": "so-xd", "level": "4",
             "online_since": 2014, "hosts": ["lab-dvc-2"], "endpoints": [
                 {"url": u("lab-dvc-2", "/dv/giay-phep-xay-dung", https=True),
                  "conditions": ["[STATUS] == 200", "[CERTIFICATE_EXPIRATION] > 240h"]},
             ]},
            {"id": "tra-cuu-ho-so", "name": "Tra cứu hồ sơ", "agency": "so-tttt", "level": "2",
             "hosts": ["lab-slow"], "endpoints": [
                 {"url": u("lab-slow", "/dv/tra-cuu-ho-so"),
                  "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 1000"]},
             ]},
            {"id": "giay-phep-lai-xe", "name": "Cấp, đổi giấy phép lái xe", "agency": "so-gtvt", "level": "toan-trinh",
             "hosts": ["lab-flap"], "endpoints": [{"url": u("lab-flap", "/dv/giay-phep-lai-xe")}]},
            {"id": "tam-tru-tam-vang", "name": "Đăng ký tạm trú, tạm vắng", "agency": "cong-an", "level": "4",
             "hosts": ["lab-down"], "endpoints": [{"url": u("lab-down", "/dv/tam-tru-tam-vang")}]},
            {"id": "co-so-du-lieu", "name": "Cơ sở dữ liệu dịch vụ công", "agency": "so-tttt", "level": "1",
             "public": False, "hosts": ["lab-db"], "endpoints": [
                 {"url": f"tcp://{self.address('lab-db')}:{self.db_port}", "conditions": ["[CONNECTED] == true"]}]},
        ]
        return {
            "version": 1,
            "province": {"code": "LAB", "name": "Tỉnh Phòng Thí Nghiệm (lab)",
                         "reviewer": "Sở Thông tin và Truyền thông"},
            "defaults": {"slo": 0.995, "interval": "15s", "timeout": "5s", "ca_file": ca_file},
            "agencies": [
                {"id": "so-tttt", "name": "Sở Thông tin và Truyền thông", "kind": "department"},
                {"id": "so-khdt", "name": "Sở Kế hoạch và Đầu tư", "kind": "department"},
                {"id": "so-xd", "name": "Sở Xây dựng", "kind": "department"},
                {"id": "so-gtvt", "name": "Sở Giao thông vận tải", "kind": "department"},
                {"id": "cong-an", "name": "Công an tỉnh", "kind": "department"},
            ],
            "services": svc,
            "hosts": [
                {"name": h.name, "address": self.address(h), "zone": h.zone, "roles": list(h.roles),
                 "security_level": h.security_level, "hostname": self.dns_names(h)[0], "system": h.name}
                for h in self.hosts
            ],
            "roles": {
                "web": {"ports": [self.http_port, self.https_port], "description": "Lab web servers"},
                "db": {"ports": [self.db_port], "description": "Lab database"},
                "survey": {"ports": [self.survey_port], "description": "dvcops survey service"},
            },
            "maintenance": [],
            # targets for the current year, so a report on the lab's own period has something to compare with
            "targets": {"roadmap": {year: {"level3": 1, "level4": 3}}, "online_rate": {year: 0.70}},
            "loadtest": {"allowed_hosts": [self.address("lab-survey")]},
        }
