"""The plan of one run: what the Locust processes need to know, checked before any of them starts.

The runner builds it in the dvcops process (catalogue, profile, thresholds, targets, every target
checked against the scope) and writes `plan.json` into the run directory; the locustfile reads it
(and a master forwards it to workers on other machines, who check it against their own scope).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dvcops.catalog import Catalog
from loadtests.errors import LoadTestError
from loadtests.profiles import REQUEST_NAMES, USER_TYPES, Profile
from loadtests.scope import DEFAULT_PORTS, Scope, origin_url
from loadtests.thresholds import Threshold

ONLINE_LEVELS = ("3", "4", "toan-trinh", "mot-phan")
"""Services citizens submit dossiers to online (decree 43/2011 levels 3-4, decree 42/2022)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EService(_Model):
    service_id: str
    url: str
    """The e-service endpoint: dossiers go to POST {url}/ho-so, status is GET {url}/ho-so/{code}."""


class Targets(_Model):
    portal: str | None = None
    """Origin of the portal citizens browse (/, /thu-tuc?q=, /dv/{service})."""
    eservices: list[EService] = Field(default_factory=list)
    survey: str | None = None
    """Base URL of the survey API (/api/v1/...)."""
    ca_file: str | None = None
    """CA bundle trusted for HTTPS targets besides the system's (the catalogue's defaults.ca_file)."""

    def used_by(self, user_types: list[str]) -> Targets:
        """Only the targets these user types talk to (the others are neither checked for reachability nor loaded)."""
        return self.model_copy(update={
            "portal": self.portal if "portal" in user_types else None,
            "eservices": self.eservices if {"submit", "status"} & set(user_types) else [],
            "survey": self.survey if "rate" in user_types else None})

    def urls(self) -> list[tuple[str, str]]:
        """(what, url) for every target, for scope checks and reachability."""
        out = [("portal", self.portal)] if self.portal else []
        out += [(f"e-service {e.service_id}", e.url) for e in self.eservices]
        out += [("survey", self.survey)] if self.survey else []
        return [(what, url) for what, url in out if url]


class Plan(_Model):
    run_id: str
    run_dir: str
    catalog: str
    profile: Profile
    thresholds_file: str
    thresholds: list[dict[str, Any]]
    targets: Targets
    user_types: list[str]
    """User types that run (weight > 0 and a target to talk to)."""
    processes: int = 1
    """Load-generating processes; each gets an equal share of the request cap."""
    search_terms: list[str] = Field(default_factory=list)
    service_ids: list[str] = Field(default_factory=list)
    scope: dict[str, Any] = Field(default_factory=dict)
    """The catalogue's scope (Scope.to_data()): the gate in the Locust process refuses every other origin."""
    locustfiles: list[str] = Field(default_factory=list)
    """The operator's own locustfiles (-f); empty: the built-in users run."""
    default_host: str | None = None
    """With -f: the host of User classes that set none (the catalogue's first http endpoint)."""

    @property
    def request_cap(self) -> int:
        return self.profile.request_cap

    @property
    def process_budget(self) -> int:
        return math.ceil(self.request_cap / max(1, self.processes))

    def threshold_list(self) -> list[Threshold]:
        return [Threshold.from_data(t) for t in self.thresholds]

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path | str) -> Plan:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


def first_http_endpoint(catalog: Catalog) -> str | None:
    for _, e in catalog.endpoints():
        if e.scheme in DEFAULT_PORTS:
            return e.url
    return None


def build_targets(catalog: Catalog, scope: Scope, host: str | None, services: list[str],
                  survey: str | None) -> Targets:
    """Choose the targets from the catalogue and options; refuse any outside the scope."""
    portal_url = host or first_http_endpoint(catalog)
    portal = origin_url(scope.check(portal_url, "--host" if host else "portal")) if portal_url else None
    known = {s.id: s for s in catalog.services}
    for sid in services:
        if sid not in known:
            raise LoadTestError(f"--service {sid}: not a service of {scope.catalog}: expected one of "
                                f"{', '.join(sorted(known))}")
    chosen = [known[s] for s in services] if services else [s for s in catalog.services if s.level in ONLINE_LEVELS]
    eservices = []
    for svc in chosen:
        url = next((e.url for e in svc.endpoints if e.scheme in DEFAULT_PORTS), None)
        if url is None:
            if services:
                raise LoadTestError(f"--service {svc.id}: it has no http(s) endpoint in {scope.catalog}")
            continue
        eservices.append(EService(service_id=svc.id, url=scope.check(url, f"e-service {svc.id}")))
    survey_url = scope.check(survey, "--survey") if survey else None
    ca = catalog.ca_path()
    return Targets(portal=portal, eservices=eservices, survey=survey_url, ca_file=str(ca) if ca else None)


def active_user_types(profile: Profile, targets: Targets) -> list[str]:
    """User types with weight, tasks and a target; an empty list is an input error."""
    needs = {"portal": targets.portal, "submit": targets.eservices, "status": targets.eservices,
             "rate": targets.survey}
    out = [t for t in USER_TYPES if profile.mix.get(t, 0) > 0 and needs[t]
           and any(profile.task_weight(n) > 0 for n in REQUEST_NAMES[t])]
    if not out:
        raise LoadTestError(f"profile {profile.name}: no user type has both weight and a target "
                            "(give --host, --service or --survey)")
    return out


def search_terms(catalog: Catalog) -> list[str]:
    """What citizens type in the portal's search box: the first words of each service's name."""
    terms = {" ".join(s.name.lower().split()[:2]) for s in catalog.services}
    return sorted(terms) or ["dịch vụ"]
