"""The lab's control API as a contract in the state directory, so parts can act on a running lab.

Drill scenarios inject events (open a port, swap a certificate) into the target range. The lab that
`dvcops lab up` starts writes `<state>/lab/control.json` (its control URL) and `control.token`; a
part reads those two files instead of importing the lab, which keeps parts independent of it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from dvcops.errors import DvcopsError
from dvcops.state import StateDir

CONTROL_FILE = "control.json"
TOKEN_FILE = "control.token"


class LabControlError(DvcopsError):
    """The lab is not running or refused an action."""


class LabControl:
    """Send scenario actions (open-port, close-port, cert, deface, restore) to the lab of one state dir."""

    def __init__(self, state: StateDir) -> None:
        self.folder = state.folder("lab")

    def running(self) -> bool:
        """A lab has announced its control API here (it removes the file when it stops)."""
        return (self.folder / CONTROL_FILE).exists()

    def url(self) -> str:
        try:
            url: str = json.loads((self.folder / CONTROL_FILE).read_text())["url"]
        except (FileNotFoundError, KeyError, ValueError):
            raise LabControlError("the lab is not running: start it with `dvcops lab up`") from None
        return url

    def action(self, name: str, **params: Any) -> dict[str, Any]:
        url = self.url()
        token = (self.folder / TOKEN_FILE).read_text().strip()
        try:
            resp = httpx.post(f"{url}/actions/{name}", json=params, headers={"Authorization": f"Bearer {token}"},
                              timeout=10)
        except httpx.HTTPError as exc:
            raise LabControlError(f"lab action {name}: the lab at {url} does not answer ({exc})") from None
        if resp.status_code != 200:
            raise LabControlError(f"lab action {name}: {resp.status_code} {resp.text.strip()}")
        result: dict[str, Any] = resp.json()
        return result
