"""RoE: validation errors name file, line and field; the last matching rule wins; names never widen scope."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from drillkit import write_catalog, write_roe

from drills.errors import DrillError, ScopeRefused
from drills.resolver import Resolver
from drills.roe import Scope, load_roe
from dvcops.catalog import load_catalog


def test_rules_last_match_wins_and_deny_by_default(tmp_path: Path) -> None:
    roe = load_roe(write_roe(tmp_path / "roe.yml", rules=[
        {"allow": "127.0.61.0/24"}, {"deny": "127.0.61.128/25"}, {"allow": "127.0.61.130"}, {"deny": "web"}]))
    cat = load_catalog(write_catalog(tmp_path / "cat.yml", [
        {"name": "web", "address": "127.0.61.10", "zone": "dmz", "roles": [], "hostname": "web.drill.test"}], {}))
    scope = Scope(roe, cat)
    assert scope.decide("127.0.61.5").reason == "allowed by rule 1 (allow 127.0.61.0/24)"
    assert scope.decide("127.0.61.129").reason == "denied by rule 2 (deny 127.0.61.128/25)"
    assert scope.decide("127.0.61.130").reason == "allowed by rule 3 (allow 127.0.61.130)"
    # a rule naming a catalogue host applies to its catalogue address, however the address is reached
    assert scope.decide("127.0.61.10").reason == "denied by rule 4 (deny web)"
    assert scope.decide("127.0.62.1").reason == "no rule allows it (denied by default)"
    assert not scope.decide("not-an-address").allowed


def test_a_dns_name_can_deny_but_never_allow(tmp_path: Path) -> None:
    roe = load_roe(write_roe(tmp_path / "roe.yml", rules=[
        {"allow": "127.0.61.0/25"}, {"allow": "evil.drill.test"}, {"deny": "blocked.drill.test"}]))
    scope = Scope(roe)
    assert not scope.decide("127.0.61.200", via=["evil.drill.test"]).allowed  # allow-by-name brings nothing in
    assert scope.decide("127.0.61.20", via=["evil.drill.test"]).allowed  # its address is allowed on its own
    assert scope.decide("127.0.61.20", via=["blocked.drill.test"]).reason == \
        "denied by rule 3 (deny blocked.drill.test)"
    with pytest.raises(ScopeRefused, match=r"^refused: 127.0.61.20:20999: port 20999 is not in the RoE ports"):
        scope.guard("127.0.61.20", 20999)


def test_ports_are_merged_ranges_and_nmap_syntax(tmp_path: Path) -> None:
    roe = load_roe(write_roe(tmp_path / "roe.yml", ports=[443, "8000-8010", 8005, 22, "8011-8020", 80]))
    assert roe.portspec == "22,80,443,8000-8020"
    assert roe.port_count == 24 and roe.allows_port(8015) and not roe.allows_port(8021)


def test_every_problem_is_one_line_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "version: 1\n"
        "name: ''\n"
        "approval: {reference: 'QĐ 1'}\n"
        "window: {start: '2026-11-20T08:00:00', end: '2026-11-21T08:00:00+07:00'}\n"
        "rules:\n"
        "  - {allow: 10.0.0.0/8, deny: 10.1.0.0/16}\n"
        "ports: [22, '9000-8000']\n"
        "checks: [ports, nmap-scripts]\n"
        "resolver: 'dns.example'\n"
        "surprise: 1\n", encoding="utf-8")
    with pytest.raises(DrillError) as exc:
        load_roe(path)
    assert exc.value.lines == [
        f"{path}:2: name: '': expected non-empty text",
        f"{path}:3: approval.approver: required field is missing",
        f"{path}:4: window: '2026-11-20T08:00:00': give a time zone offset, e.g. 2026-11-20T08:00:00+07:00",
        f"{path}:6: rules[0]: a rule is `allow: <cidr or host>` or `deny: <cidr or host>`",
        f"{path}:7: ports: '9000-8000': ports are 1-65535 and a range goes from low to high",
        f"{path}:8: checks: 'nmap-scripts' is not a check: expected some of ports, tls, headers, exposure, content",
        f"{path}:9: resolver: resolver 'dns.example': expected ADDRESS[:PORT] (IPv4, or IPv6 in brackets with a port: "
        "[::1]:53), e.g. 127.0.60.53:5353",
        f"{path}:10: surprise: unknown key 'surprise'",
    ]


def test_window_refusal_says_which_side(tmp_path: Path) -> None:
    roe = load_roe(write_roe(tmp_path / "roe.yml", window={"start": "2026-11-20T08:00:00+07:00",
                                                           "end": "2026-11-27T17:00:00+07:00"}))
    roe.check_window(datetime(2026, 11, 21, 3, 0, tzinfo=UTC))  # 10:00 local: inside
    with pytest.raises(ScopeRefused, match="is not authorised yet"):
        roe.check_window(datetime(2026, 11, 20, 0, 59, tzinfo=UTC))  # 07:59 local
    with pytest.raises(ScopeRefused, match="authorisation has expired"):
        roe.check_window(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # 17:00 local: the end is exclusive


def test_fixed_names_answer_before_dns_and_are_scope_checked(tmp_path: Path) -> None:
    roe = load_roe(write_roe(tmp_path / "roe.yml", names={"cong.drill.test": ["127.0.61.10", "127.0.61.11"]}))
    resolver = Resolver(None, roe.names)
    assert resolver.resolve("CONG.drill.test.") == ["127.0.61.10", "127.0.61.11"]
    assert resolver.resolve("127.0.61.7") == ["127.0.61.7"]
    with pytest.raises(DrillError, match="names.x: 'nope': expected an IP address"):
        load_roe(write_roe(tmp_path / "bad.yml", names={"x": "nope"}))


def test_resolver_through_our_dns_server(test_dns: str) -> None:
    r = Resolver(test_dns)
    assert r.resolve("outside.drill.test") == ["127.0.61.200"]
    with pytest.raises(DrillError, match=r"^target 'nope.drill.test': no such name \(NXDOMAIN from 127.0.61.53"):
        r.resolve("nope.drill.test")


def test_example_rules_of_engagement_plan_without_asking_any_server() -> None:
    from drills.plan import make_plan

    root = Path(__file__).resolve().parents[2]
    lab = load_roe(root / "examples" / "roe-lab.yml")
    assert lab.resolver == "127.0.10.53:5353" and lab.portspec == "8000,8080,8443,15432,16379-16380"
    roe = load_roe(root / "examples" / "roe-ha-giang.yml")
    plan = make_plan(load_catalog(root / "examples" / "ha-giang.yml"), roe, now=datetime.now(UTC))
    assert not plan.window_open  # a past window: the example can be planned, never run
    assert [h.name for h in plan.hosts] == ["portal-1", "portal-2", "dvc-app-1", "dvc-app-2"]
    assert {s.what: s.why for s in plan.skipped}["host dvc-app-3 (10.20.2.23)"] == "denied by rule 3 (deny dvc-app-3)"
    assert [e.origin for e in plan.endpoints] == ["https://hagiang.example:443", "https://dichvucong.hagiang.example:443"]
