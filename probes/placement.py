"""Which prober probes what: its location (`--location NAME`) and its shard (`--shard I/N`).

Locations: a service that lists `locations:` in the catalogue is probed only from those; other
services are probed from every location. Each series carries `location="NAME"`.

Shards: the catalogue's endpoints and journeys are split over N probers so that

- the split is the one Prometheus' own `hashmod` relabelling computes: an endpoint's *slot* is
  `hashmod` of its `service;endpoint;journey` labels (md5, last 8 bytes big-endian, modulo SLOTS),
  so a scrape config can check every series against the shard that should own it (probes/promconfig.py);
- slots are given to shards by rendezvous (highest random weight) hashing, so going from N to N+1
  shards moves about 1/(N+1) of the endpoints instead of nearly all of them (plain modulo would).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from dvcops.catalog import Catalog, check_location_name
from probes.errors import ProbeError
from probes.targets import Target, targets_from

if TYPE_CHECKING:
    from probes.settings import ProbeSettings

SLOTS = 1024
"""hashmod modulus: fine enough that shards get even shares, small enough for a readable keep regex."""
_SHARD = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based."""
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str | None) -> Shard | None:
    """`--shard 2/4` -> Shard(2, 4); None for no sharding; ProbeError naming the expected form otherwise."""
    if text is None:
        return None
    m = _SHARD.match(text.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= 256:
        raise ProbeError(f"--shard {text!r}: expected I/N with 1 <= I <= N <= 256, e.g. --shard 1/4")
    return Shard(int(m.group(1)), int(m.group(2)))


def check_location(name: str | None, catalog: Catalog | None = None) -> str | None:
    """`--location NAME`: a valid label value, and one of the catalogue's locations if it declares any."""
    if name is None:
        return None
    try:
        check_location_name(name)
    except ValueError as exc:
        raise ProbeError(f"--location {exc}") from None
    declared = catalog.location_names() if catalog else []
    if declared and name not in declared:
        raise ProbeError(f"--location {name!r} is not one of the catalogue's locations ({', '.join(declared)})")
    return name


def hashmod(value: str, modulus: int = SLOTS) -> int:
    """Prometheus' relabel `hashmod`: md5 of the value, its last 8 bytes as a big-endian integer, modulo."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


def slot_of(service: str, endpoint: str = "", journey: str = "") -> int:
    """The slot of a series: hashmod of its labels service, endpoint, journey joined by ';' (relabel's default
    separator; a label a series lacks is empty)."""
    return hashmod(f"{service};{endpoint};{journey}")


@lru_cache(maxsize=64)
def slot_owners(count: int) -> tuple[int, ...]:
    """For each slot, the 1-based shard that owns it among `count` shards: the highest weight wins."""
    owners = []
    for slot in range(SLOTS):
        weights = [hashlib.blake2b(f"{slot}/{i}".encode(), digest_size=8).digest() for i in range(1, count + 1)]
        owners.append(1 + max(range(count), key=weights.__getitem__))
    return tuple(owners)


def shard_slots(shard: Shard) -> list[int]:
    """The slots a shard owns (what its scrape job's keep regex lists)."""
    return [s for s, owner in enumerate(slot_owners(shard.count)) if owner == shard.index]


def owns(shard: Shard | None, service: str, endpoint: str = "", journey: str = "") -> bool:
    return shard is None or slot_owners(shard.count)[slot_of(service, endpoint, journey)] == shard.index


def placed_targets(catalog: Catalog, settings: ProbeSettings) -> list[Target]:
    """The endpoints this prober probes: those of its location, and of those its shard's."""
    location = check_location(settings.location, catalog)
    shard = parse_shard(settings.shard)
    return [t for t in targets_from(catalog, location) if owns(shard, t.service, t.endpoint)]
