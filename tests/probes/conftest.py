"""Fixtures for the probe tests: the lab on 127.0.30.x, extra servers on 127.0.31.x, a one-shot prober."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvcops.conditions import parse_condition
from lab import Lab
from probes.engine import Prober
from probes.models import ProbeResult
from probes.settings import ProbeSettings
from probes.targets import Target
from tests.conftest import start_lab
from tests.probes.servers import ProbeTestServers, running

LAB_PREFIX = "127.0.30"


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeTestServers]:
    yield from running(tmp_path_factory.mktemp("probe-pki"))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, LAB_PREFIX)


def target(url: str, conditions: list[str] | tuple[str, ...] = (), timeout: float = 3.0, ca_file: Path | None = None,
           resolver: str | None = None, expect: tuple[str, ...] = (), service: str = "test-service") -> Target:
    return Target(service=service, agency="test-agency", level="3", endpoint=url, url=url, timeout=timeout,
                  conditions=tuple(parse_condition(c) for c in conditions), resolver=resolver, expect=expect,
                  ca_file=str(ca_file) if ca_file else None)


def probe(t: Target, **settings: object) -> ProbeResult:
    """One attempt through the real engine."""
    return asyncio.run(Prober([t], ProbeSettings(**settings)).cycle())[0]  # type: ignore[arg-type]
