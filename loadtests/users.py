"""Locust users for the province's real traffic (imported only inside the Locust process).

Four FastHttpUser classes, one per thing citizens do:

- PortalVisitor (`portal`): opens the portal, searches procedures, opens a service page.
- DossierSubmitter (`submit`): submits a dossier (hồ sơ) to an e-service endpoint.
- StatusChecker (`status`): submits one dossier, then keeps checking its status.
- SurveyRater (`rate`): reads the survey's services and instruments, then rates services with
  valid answers and a unique dossier code each time (the survey answers 409 to a repeated code).

Request names are stable (`portal.home`, `portal.search`, `portal.service`, `dossier.submit`,
`dossier.status`, `survey.services`, `survey.instruments`, `survey.rate`) so thresholds can name
them. Users only request URLs built from the plan's targets, which the runner checked against the
scope, and never follow redirects (a redirect could lead outside the scope). Every request also
passes the gate of guard.py (scope, then one unit of this process's request budget), as the
operator's own users do.
"""

from __future__ import annotations

import itertools
import os
import random
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import gevent.ssl
from locust import FastHttpUser, between, constant, constant_throughput
from locust.exception import StopUser

from loadtests.plan import EService, Plan, Targets
from loadtests.profiles import REQUEST_NAMES, USER_CLASS_NAMES

HO_TEN = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Hoàng Minh Đức", "Vũ Thị Hà")
NOI_DUNG = ("Đề nghị cấp mới", "Đề nghị cấp đổi", "Đề nghị điều chỉnh thông tin", "Đề nghị cấp lại")
COMMENTS = ("Cán bộ hướng dẫn tận tình.", "Thủ tục nhanh gọn.", "Cần rút ngắn thời gian trả kết quả.", "")


_SEQ = itertools.count(1)


def dossier_code() -> str:
    """A dossier code no other user, process or run uses: LT-<pid>-<random>-<sequence>."""
    return f"LT-{os.getpid()}-{random.getrandbits(32):08X}-{next(_SEQ):06d}"


class CitizenUser(FastHttpUser):
    """What every user here shares: the plan, TLS with the catalogue's CA, no redirects."""

    abstract = True
    host = ""
    """Every request uses an absolute URL from the plan; the base host is unused."""
    max_redirects = 0
    insecure = False
    connection_timeout = 10.0
    network_timeout = 30.0
    plan: ClassVar[Plan | None] = None
    user_type: ClassVar[str] = ""

    @classmethod
    def request_tasks(cls) -> dict[str, Callable[[Any], None]]:
        """Request name -> the task that sends it."""
        return {}

    def on_start(self) -> None:
        if type(self).plan is None:  # a worker whose plan was refused or never arrived: send nothing
            raise StopUser()

    @property
    def current_plan(self) -> Plan:
        plan = type(self).plan
        assert plan is not None, "on_start stops users without a plan"
        return plan

    @property
    def targets(self) -> Targets:
        return self.current_plan.targets

    def fetch(self, url: str, name: str) -> None:
        """GET expecting 200; a redirect is a failure, not followed (it could lead outside the scope)."""
        with self.client.get(url, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(_unexpected(resp, 200))

    def eservice(self) -> EService:
        es: EService = random.choice(self.targets.eservices)
        return es

    def submit_dossier(self, es: EService) -> str | None:
        """POST a dossier to the e-service; its code, or None when the submission failed."""
        body = {"ho_ten": random.choice(HO_TEN), "so_cccd": f"0{random.randint(10**10, 10**11 - 1)}",
                "noi_dung": random.choice(NOI_DUNG), "kenh": "truc-tuyen"}
        with self.client.post(f"{es.url}/ho-so", json=body, name="dossier.submit", catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(_unexpected(resp, 201))
                return None
            try:
                code = resp.json()["ma_ho_so"]
            except (ValueError, KeyError, TypeError):
                resp.failure("the answer has no ma_ho_so")
                return None
            return str(code)


class PortalVisitor(CitizenUser):
    """A citizen on the portal: the home page, a search for a procedure, a service page."""

    user_type = "portal"

    @classmethod
    def request_tasks(cls) -> dict[str, Callable[[Any], None]]:
        return {"portal.home": cls.home, "portal.search": cls.search, "portal.service": cls.service}

    def home(self) -> None:
        self.fetch(f"{self.targets.portal}/", "portal.home")

    def search(self) -> None:
        term = quote(random.choice(self.current_plan.search_terms))
        self.fetch(f"{self.targets.portal}/thu-tuc?q={term}", "portal.search")

    def service(self) -> None:
        self.fetch(f"{self.targets.portal}/dv/{random.choice(self.current_plan.service_ids)}", "portal.service")


class DossierSubmitter(CitizenUser):
    """A citizen or business submitting dossiers online (dịch vụ công mức độ 3-4, toàn trình)."""

    user_type = "submit"

    @classmethod
    def request_tasks(cls) -> dict[str, Callable[[Any], None]]:
        return {"dossier.submit": cls.submit}

    def submit(self) -> None:
        self.submit_dossier(self.eservice())


class StatusChecker(CitizenUser):
    """A citizen who submitted a dossier and comes back to check its status (tra cứu hồ sơ)."""

    user_type = "status"

    def on_start(self) -> None:
        super().on_start()
        self.dossiers: deque[tuple[EService, str]] = deque(maxlen=20)

    @classmethod
    def request_tasks(cls) -> dict[str, Callable[[Any], None]]:
        return {"dossier.status": cls.status}

    def status(self) -> None:
        if not self.dossiers:
            es = self.eservice()
            code = self.submit_dossier(es)
            if code is not None:
                self.dossiers.append((es, code))
            return
        es, code = random.choice(self.dossiers)
        with self.client.get(f"{es.url}/ho-so/{quote(code)}", name="dossier.status", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(_unexpected(resp, 200))


class SurveyRater(CitizenUser):
    """A citizen rating the handling of their dossier on the satisfaction survey (HTTP API only)."""

    user_type = "rate"

    def on_start(self) -> None:
        super().on_start()
        survey = self.targets.survey
        self.services: list[str] = []
        self.instruments: list[dict[str, Any]] = []
        with self.client.get(f"{survey}/api/v1/services", name="survey.services", catch_response=True) as resp:
            self.services = [str(s["id"]) for s in _items(resp, "services")
                             if isinstance(s, dict) and "id" in s and s.get("open", True)]
            if not self.services:
                resp.failure("no service open for ratings in the answer")
        with self.client.get(f"{survey}/api/v1/instruments", name="survey.instruments", catch_response=True) as resp:
            self.instruments = [i for i in _items(resp, "instruments") if _questions(i)]
            if not self.instruments:
                resp.failure("no instrument with questions in the answer")

    @classmethod
    def request_tasks(cls) -> dict[str, Callable[[Any], None]]:
        return {"survey.rate": cls.rate}

    def rate(self) -> None:
        if not self.services or not self.instruments:
            raise StopUser()
        instrument = random.choice(self.instruments)
        answers = {qid: random.choice(levels) for qid, levels in _questions(instrument).items()}
        body: dict[str, Any] = {"service_id": random.choice(self.services), "dossier_code": dossier_code(),
                                "instrument": instrument["id"], "answers": answers, "channel": "web"}
        comment = random.choice(COMMENTS)
        if comment:
            body["comment"] = comment
        with self.client.post(f"{self.targets.survey}/api/v1/ratings", json=body, name="survey.rate",
                              catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(_unexpected(resp, 201))


def _unexpected(resp: Any, expected: int) -> str:
    """Why an answer is a failure, short enough for Locust's failure table (no bodies: they may hold data)."""
    status = resp.status_code
    if not status:
        return str(getattr(resp, "error", None) or "no answer")
    if 300 <= status < 400:
        where = urlsplit(resp.headers.get("Location") or "?")
        return f"redirect {status} to {where.scheme}://{where.netloc} not followed: load the final URL instead"
    if 400 <= status < 500 and resp.text:
        return f"expected {expected}, got {status}: {resp.text.strip()[:120]}"
    return f"expected {expected}, got {status}"


def _items(resp: Any, key: str) -> list[Any]:
    """The list in a JSON answer: the answer itself, or under `key` or `items`."""
    try:
        data = resp.json()
    except (ValueError, TypeError):
        return []
    if isinstance(data, dict):
        data = data.get(key, data.get("items", []))
    return data if isinstance(data, list) else []


def _level_value(level: Any) -> Any:
    return level.get("value", level.get("id", level.get("level"))) if isinstance(level, dict) else level


def _questions(instrument: Any) -> dict[str, list[Any]]:
    """question id -> the levels it accepts, from an instrument as the survey API describes it."""
    if not isinstance(instrument, dict) or "id" not in instrument:
        return {}
    default_levels = [_level_value(lv) for lv in instrument.get("levels") or instrument.get("scale") or []]
    out: dict[str, list[Any]] = {}
    for q in instrument.get("questions") or []:
        if not isinstance(q, dict) or "id" not in q:
            continue
        levels = [_level_value(lv) for lv in q.get("levels") or []] or default_levels
        levels = [lv for lv in levels if lv is not None]
        if levels:
            out[str(q["id"])] = levels
    return out


USER_CLASSES: dict[str, type[CitizenUser]] = {
    "portal": PortalVisitor, "submit": DossierSubmitter, "status": StatusChecker, "rate": SurveyRater,
}
assert {k: c.__name__ for k, c in USER_CLASSES.items()} == USER_CLASS_NAMES


def _ssl_factory(ca_file: str | None) -> Callable[..., ssl.SSLContext]:
    """Verify HTTPS targets against the system CAs plus the catalogue's CA (FastHttpUser skips checks by default)."""

    def make(**_: Any) -> ssl.SSLContext:
        ctx: ssl.SSLContext = gevent.ssl.create_default_context()
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        return ctx

    return make


def configure(plan: Plan) -> None:
    """Apply the plan to the user classes: weights, task weights, think time, TLS trust."""
    profile = plan.profile
    if profile.arrival_rate:
        per_user = profile.arrival_rate / max(1, profile.peak_users)
        wait = constant_throughput(per_user)
    elif profile.think_time.max.total_seconds() > 0:
        wait = between(profile.think_time.min.total_seconds(), profile.think_time.max.total_seconds())
    else:
        wait = constant(0)
    for kind, cls in USER_CLASSES.items():
        cls.plan = plan
        cls.weight = profile.mix.get(kind, 0) if kind in plan.user_types else 0
        cls.wait_time = wait  # type: ignore[method-assign]  # locust's documented way to set think time
        cls.ssl_context_factory = staticmethod(_ssl_factory(plan.targets.ca_file))  # type: ignore[assignment]
        tasks = cls.request_tasks()
        weighted: list[Any] = [fn for name in REQUEST_NAMES[kind] for fn in [tasks[name]] * profile.task_weight(name)]
        cls.tasks = weighted or list(tasks.values())
