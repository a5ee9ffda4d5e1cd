"""`ADDRESS[:PORT]` is read the same way by the catalogue, the probes and the drills."""

from __future__ import annotations

import pytest

from dvcops.addresses import parse_address_port


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.10.53", ("127.0.10.53", 53)),
    ("127.0.10.53:5353", ("127.0.10.53", 5353)),
    ("::1", ("::1", 53)),
    ("[::1]", ("::1", 53)),
    ("[::1]:5353", ("::1", 5353)),
    ("::1:53", ("::1:53", 53)),  # an IPv6 address (its last group is 53): a port needs brackets
])
def test_addresses_and_ports(text: str, expected: tuple[str, int]) -> None:
    assert parse_address_port(text, 53) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("dns.example", "expected ADDRESS[:PORT]"),
    ("dns.example:53", "expected ADDRESS[:PORT]"),
    ("[127.0.0.1]:53", "expected ADDRESS[:PORT]"),
    ("[::1]53", "expected ADDRESS[:PORT]"),
    (":53", "expected ADDRESS[:PORT]"),
    ("127.0.0.1:0", "port '0': expected 1-65535"),
    ("127.0.0.1:65536", "port '65536': expected 1-65535"),
    ("127.0.0.1:", "port '': expected 1-65535"),
])
def test_what_is_refused_says_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_address_port(text, 53)


def test_a_required_port() -> None:
    assert parse_address_port("127.0.0.1:9115") == ("127.0.0.1", 9115)
    with pytest.raises(ValueError, match="expected ADDRESS:PORT"):
        parse_address_port("127.0.0.1")
    with pytest.raises(ValueError, match="expected ADDRESS:PORT"):
        parse_address_port("localhost")


@pytest.mark.parametrize("text", ["127.0.10.53", "127.0.10.53:5353", "::1", "[::1]:5353", "::1:53", "dns.example",
                                  "dns.example:53", "127.0.0.1:0", "[::1]53"])
def test_catalogue_probes_and_drills_agree_on_a_resolver(text: str) -> None:
    """The catalogue's endpoints, the prober's settings and a drill's RoE all take the same resolvers."""
    from drills.errors import DrillError
    from drills.resolver import parse_resolver
    from dvcops.catalog import Endpoint
    from probes.settings import ProbeSettings

    try:
        expected: tuple[str, int] | None = parse_address_port(text, 53)
    except ValueError:
        expected = None
    outcomes = []
    for accept in (lambda: Endpoint(url="dns://127.0.10.53/lab.example", resolver=text),
                   lambda: ProbeSettings(resolver=text), lambda: parse_resolver(text)):
        try:
            accept()
            outcomes.append(True)
        except (ValueError, DrillError):  # pydantic's ValidationError is a ValueError
            outcomes.append(False)
    assert outcomes == [expected is not None] * 3
    if expected is not None:
        assert parse_resolver(text) == expected
