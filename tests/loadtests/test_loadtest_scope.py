"""The fence: catalogue endpoints and loadtest.allowed_hosts are in scope, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvcops.catalog import load_catalog
from loadtests.errors import LoadTestError
from loadtests.plan import build_targets
from loadtests.scope import Scope
from tests.loadtests.servers import write_catalog


def catalog(tmp_path: Path, allowed: list[str]) -> Scope:
    extra = [{"id": "khao-sat", "name": "Khảo sát", "agency": "so-tttt", "level": 2, "hosts": ["survey-1"]}]
    path = write_catalog(tmp_path / "c.yml", "http://127.0.51.1:8080", allowed, extra)
    text = path.read_text(encoding="utf-8") + (
        "hosts:\n  - {name: survey-1, address: 127.0.51.8, zone: mgmt, hostname: khao-sat.lab.dvc.internal}\n")
    path.write_text(text, encoding="utf-8")
    return Scope.from_catalog(load_catalog(path))


def test_catalogue_endpoint_origins_are_in_scope_and_other_ports_are_not(tmp_path: Path) -> None:
    scope = catalog(tmp_path, [])
    assert scope.allows("http://127.0.51.1:8080/")
    assert scope.allows("http://127.0.51.1:8080/dv/anything?q=1")
    assert not scope.allows("http://127.0.51.1:8081/")
    assert not scope.allows("https://127.0.51.1:8080/")
    assert not scope.allows("http://127.0.51.9:8080/")


def test_allowed_hosts_by_address_name_or_catalogue_host(tmp_path: Path) -> None:
    assert catalog(tmp_path, ["127.0.51.8"]).allows("http://127.0.51.8:8000/api/v1")
    by_host = catalog(tmp_path, ["survey-1"])
    assert by_host.allows("http://127.0.51.8:9999") and by_host.allows("https://khao-sat.lab.dvc.internal")
    assert not by_host.allows("http://127.0.51.7:8000")


def test_refusal_is_one_line_naming_the_target_and_the_rule(tmp_path: Path) -> None:
    scope = catalog(tmp_path, [])
    with pytest.raises(LoadTestError) as err:
        scope.check("http://127.0.51.9:8080/", "--host")
    [line] = err.value.lines
    assert line.startswith("--host http://127.0.51.9:8080/: outside the load-test scope")
    assert "loadtest.allowed_hosts" in line and "refused before any request" in line
    with pytest.raises(LoadTestError, match="is not an http.s. URL"):
        scope.check("ftp://127.0.51.1/", "--host")


def test_targets_come_from_the_catalogue_and_are_all_checked(tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "c.yml", "http://127.0.51.1:8080", ["127.0.51.8"])
    cat = load_catalog(path)
    scope = Scope.from_catalog(cat)
    t = build_targets(cat, scope, None, [], "http://127.0.51.8:8000")
    assert t.portal == "http://127.0.51.1:8080"
    assert [e.service_id for e in t.eservices] == ["dang-ky-kinh-doanh", "giay-phep-xay-dung"]
    assert t.eservices[0].url == "http://127.0.51.1:8080/dv/dang-ky-kinh-doanh"
    with pytest.raises(LoadTestError, match="--survey http://127.0.51.9:8000: outside"):
        build_targets(cat, scope, None, [], "http://127.0.51.9:8000")
    with pytest.raises(LoadTestError, match="--service ho-tich: not a service of"):
        build_targets(cat, scope, None, ["ho-tich"], None)


def test_only_the_targets_the_active_user_types_use_are_kept(tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "c.yml", "http://127.0.51.1:8080", ["127.0.51.8"])
    cat = load_catalog(path)
    t = build_targets(cat, Scope.from_catalog(cat), None, [], "http://127.0.51.8:8000")
    assert [w for w, _ in t.used_by(["portal"]).urls()] == ["portal"]
    assert [w for w, _ in t.used_by(["rate"]).urls()] == ["survey"]
    assert [w for w, _ in t.used_by(["status"]).urls()] == ["e-service dang-ky-kinh-doanh",
                                                            "e-service giay-phep-xay-dung"]
