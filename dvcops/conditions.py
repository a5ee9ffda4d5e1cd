"""Gatus-style endpoint conditions, e.g. `[STATUS] == 200`, `[RESPONSE_TIME] < 2000`,
`[BODY] == pat(*Dịch vụ công*)`, `[CERTIFICATE_EXPIRATION] > 720h`, `[STATUS] == any(200, 301)`.

Parsed when the catalogue is validated (a bad condition is a catalogue error with its line) and
evaluated by the prober against one probe's observations.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from dvcops.durations import parse_duration

PLACEHOLDERS = {
    "STATUS": "HTTP status code",
    "RESPONSE_TIME": "total response time in milliseconds",
    "BODY": "response body (or a JSON path into it: [BODY].data.id)",
    "HEADER": "a response header by lower-case name: [HEADER].content-type",
    "CONNECTED": "true when a connection was established",
    "CERTIFICATE_EXPIRATION": "time left before the earliest certificate expires (e.g. 720h)",
    "IP": "the address that answered",
    "DNS_RCODE": "DNS response code (NOERROR, NXDOMAIN, ...)",
}
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_COND = re.compile(r"^\s*(?P<left>.+?)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<right>.+?)\s*$")
_LEFT = re.compile(r"^(?:(?P<fn>len|has)\()?\[(?P<ph>[A-Z_]+)\](?P<path>(?:\.[\w-]+|\[\d+\])*)(?(fn)\))$")
_FUNC = re.compile(r"^(?P<fn>any|pat)\((?P<args>.*)\)$")


class ConditionSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    text: str
    placeholder: str
    path: str
    function: str | None  # len | has | None
    op: str
    right_kind: str  # value | any | pat
    right: tuple[Any, ...]

    def evaluate(self, observed: dict[str, Any]) -> bool:
        """True when the condition holds for the observations (missing value -> False)."""
        value = observed.get(self.placeholder)
        if self.path:
            value = _json_path(value, self.path)
        if self.function == "len":
            value = len(value) if value is not None else None
        elif self.function == "has":
            value = value is not None
        if value is None and self.function != "has":
            return False
        if self.right_kind == "pat":
            ok = fnmatch.fnmatchcase(str(value), str(self.right[0]))
            return ok if self.op == "==" else not ok
        if self.right_kind == "any":
            ok = any(_eq(value, r) for r in self.right)
            return ok if self.op == "==" else not ok
        right = self.right[0]
        if self.op == "==":
            return _eq(value, right)
        if self.op == "!=":
            return not _eq(value, right)
        try:
            lv, rv = float(value), float(right)  # type: ignore[arg-type]  # None handled above
        except (TypeError, ValueError):
            return False
        return {"<": lv < rv, "<=": lv <= rv, ">": lv > rv, ">=": lv >= rv}[self.op]

    def __str__(self) -> str:
        return self.text


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _json_path(value: Any, path: str) -> Any:
    if isinstance(value, bytes | str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    for part in re.findall(r"\.([\w-]+)|\[(\d+)\]", path):
        key, idx = part
        try:
            value = value[key] if key else value[int(idx)]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _literal(text: str, placeholder: str, condition: str) -> Any:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        pass
    if placeholder == "CERTIFICATE_EXPIRATION":
        try:
            return parse_duration(t).total_seconds()
        except ValueError:
            raise ConditionSyntaxError(
                f"condition {condition!r}: {t!r} is not a duration (expected e.g. 720h or 30d)"
            ) from None
    return t


def parse_condition(text: str) -> Condition:
    """Parse one condition; raise ConditionSyntaxError saying what is expected."""
    m = _COND.match(text)
    if not m:
        raise ConditionSyntaxError(
            f"condition {text!r} does not parse: expected '[PLACEHOLDER] OP VALUE' with OP one of {' '.join(OPERATORS)}"
        )
    left = _LEFT.match(m.group("left"))
    if not left or left.group("ph") not in PLACEHOLDERS:
        raise ConditionSyntaxError(
            f"condition {text!r}: left side must be one of {', '.join('[' + p + ']' for p in PLACEHOLDERS)}"
        )
    ph, op, right_text = left.group("ph"), m.group("op"), m.group("right")
    fm = _FUNC.match(right_text)
    if fm:
        if op not in ("==", "!="):
            raise ConditionSyntaxError(f"condition {text!r}: {fm.group('fn')}() works only with == or !=")
        args = [a for a in (s.strip() for s in fm.group("args").split(",")) if a]
        if not args:
            raise ConditionSyntaxError(f"condition {text!r}: {fm.group('fn')}() needs at least one value")
        if fm.group("fn") == "pat":
            return Condition(text, ph, left.group("path"), left.group("fn"), op, "pat", (fm.group("args").strip(),))
        return Condition(text, ph, left.group("path"), left.group("fn"), op, "any",
                         tuple(_literal(a, ph, text) for a in args))
    return Condition(text, ph, left.group("path"), left.group("fn"), op, "value", (_literal(right_text, ph, text),))
