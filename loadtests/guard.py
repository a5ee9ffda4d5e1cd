"""The gate every HTTP request passes inside the Locust process: the scope, then the request budget.

Nothing is trusted to the users' code (built-in users and the operator's own locustfiles alike):
the gate sits in Locust's two HTTP clients where each request, and each redirect hop, is about to
leave, before a connection is taken from a pool or opened:

- `requests.Session.send` — HttpUser's HttpSession is a requests.Session, and requests calls
  `send` again for every redirect it follows (plain `requests` calls in a task pass here too);
- `_urlopen` of geventhttpclient's UserAgent and of Locust's LocustUserAgent — FastHttpUser's
  client calls it once per hop, inside its redirect loop.

A URL outside the scope raises `OutOfScope`, a connection error the clients already turn into a
failed request: Locust counts it as a failure whose error reads `out-of-scope: <origin> ...`, and
the master ends the run with exit 2 (locustfile.py). Until a scope is set everything is refused.
Every request then takes one unit of this process's request budget; when it is spent the user
stops (StopUser), so the cap holds whatever the users' code does.

Imported only inside the Locust process (it imports Locust's clients).
"""

from __future__ import annotations

from typing import Any

import requests
from geventhttpclient.useragent import UserAgent
from locust.contrib.fasthttp import LocustUserAgent
from locust.exception import StopUser

from loadtests.errors import LoadTestError
from loadtests.scope import Scope

OUT_OF_SCOPE = "out-of-scope"
"""How a refused request's error starts in Locust's failures (and how the master recognises it)."""


class OutOfScope(ConnectionError):
    """A request to an origin outside the scope, refused before any connection (geventhttpclient's side:
    FastHttpSession reports a ConnectionError as a failed request and does not retry it).
    Its repr is the failure reason Locust shows."""

    def __repr__(self) -> str:
        return str(self.args[0])


class OutOfScopeRequest(requests.exceptions.ConnectionError):
    """The same refusal on requests' side (HttpSession reports a requests ConnectionError as a failure).
    A separate class: FastHttpSession would take the `response` attribute requests' errors carry for one."""

    def __repr__(self) -> str:
        return str(self.args[0])


class Budget:
    """This process's share of the run's request cap; every request takes one unit first."""

    def __init__(self) -> None:
        self.remaining = 0
        self.spent = False

    def set(self, units: int) -> None:
        self.remaining = units
        self.spent = units <= 0

    def take(self) -> None:
        if self.remaining <= 0:
            self.spent = True
            raise StopUser()
        self.remaining -= 1


class Gate:
    """The scope (None: refuse everything) and the budget; decisions are cached per origin."""

    def __init__(self) -> None:
        self.scope: Scope | None = None
        self.budget = Budget()
        self._decided: dict[tuple[str, str], bool] = {}

    def set_scope(self, scope: Scope) -> None:
        self.scope = scope
        self._decided = {}

    def admit(self, scheme: str, netloc: str, refusal: type[Exception] = OutOfScope) -> None:
        """Raise `refusal` unless scheme://netloc is in scope; then take one unit of the budget."""
        key = (scheme, netloc)
        allowed = self._decided.get(key)
        if allowed is None:
            allowed = self._decided[key] = self._allows(f"{scheme}://{netloc}/")
        if not allowed:
            where = self.scope.catalog if self.scope else "the catalogue (no scope was loaded)"
            raise refusal(f"{OUT_OF_SCOPE}: {scheme}://{netloc.rpartition('@')[2]} is not an endpoint of {where} "
                             "nor in its loadtest.allowed_hosts; refused before any connection")
        self.budget.take()

    def _allows(self, url: str) -> bool:
        if self.scope is None:
            return False
        try:
            return self.scope.allows(url)
        except LoadTestError:  # not an http(s) URL
            return False


GATE = Gate()
BUDGET = GATE.budget
_installed = False


def install() -> None:
    """Put the gate into requests and geventhttpclient (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    session_send = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = requests.utils.urlparse(request.url or "")
        GATE.admit(parts.scheme, parts.netloc, OutOfScopeRequest)
        return session_send(self, request, **kwargs)

    requests.Session.send = send  # type: ignore[method-assign]
    for agent in (UserAgent, LocustUserAgent):
        agent._urlopen = _gated(agent._urlopen)  # type: ignore[method-assign]


def _gated(urlopen: Any) -> Any:
    def _urlopen(self: UserAgent, request: Any) -> Any:
        url = request.url_split
        GATE.admit(url.scheme, url.netloc)
        return urlopen(self, request)

    return _urlopen
