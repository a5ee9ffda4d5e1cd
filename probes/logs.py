"""The prober's log: one line per event, as text or JSON (`--log-format json`, for a log shipper), and the
up/down transitions of every endpoint with the failure reason."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from probes.errors import ProbeError
from probes.models import ProbeResult
from probes.targets import Target

log = logging.getLogger("dvcops.probes")
FIELDS = ("event", "service", "agency", "endpoint", "from_state", "to_state", "reason", "error")
"""Extra fields a record may carry; the JSON format writes them as keys."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                                   "level": record.levelname.lower(), "logger": record.name,
                                   "message": record.getMessage()}
        data.update({f: getattr(record, f) for f in FIELDS if getattr(record, f, None) is not None})
        return json.dumps(data, ensure_ascii=False)


def setup_logging(fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise ProbeError(f"--log-format {fmt!r}: expected text or json")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s dvcops-probe %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


class Transitions:
    """Remembers each endpoint's last charged state (up or down) and logs when it changes. The first result
    is logged only when it is down (an endpoint already broken when the prober starts); maintenance and
    unknown results neither log nor change the remembered state."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}

    def observe(self, target: Target, result: ProbeResult) -> None:
        if result.state not in ("up", "down"):
            return
        before = self.last.get(target.key)
        self.last[target.key] = result.state
        if before == result.state or (before is None and result.state == "up"):
            return
        why = f" ({result.failure_reason}: {result.error})" if result.state == "down" else ""
        log.warning("%s %s: %s → %s%s", result.service, result.endpoint, before or "start", result.state, why,
                    extra={"event": "state_change", "service": result.service, "agency": result.agency,
                           "endpoint": result.endpoint, "from_state": before or "start", "to_state": result.state,
                           "reason": result.failure_reason, "error": result.error})

    def forget_except(self, keys: set[str]) -> None:
        """After a catalogue reload: drop endpoints that left."""
        self.last = {k: v for k, v in self.last.items() if k in keys}
