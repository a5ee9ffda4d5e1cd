"""The catalogue's contacts as Alertmanager's configuration: receivers, the routing tree, inhibitions.

Routing, first match wins at each level:

1. a service with contacts of its own: its alerts go to them (`service="…"`);
2. otherwise the owning agency's contacts (`agency="…"`); an agency's alerts never reach another agency;
3. alerts no agency owns (canary, host down, the toolkit's own targets) go to the operator agency
   (`oncall.operator`), and anything left to a receiver that sends nothing.

Under a scope, each severity (page, ticket) goes to the contacts that take it: contacts with
`hours: always` at any time, contacts with `hours: working` only inside `oncall.working_hours`
(Alertmanager's `active_time_intervals`, in the province's time zone). Alerts are grouped per
agency and service, so one outage is one notification, and `send_resolved` says when it is over.

Inhibitions: the connectivity canary failing holds back every endpoint alert; a catalogue host down
holds back the alerts of the services on it; a page holds back the tickets of the same service.
"""

from __future__ import annotations

from typing import Any

from dvcops.catalog import SEVERITIES, Catalog, Contact, webhook_secret_name
from probes.alerts.timings import Timings

NULL_RECEIVER = "khong-gui"
"""Alerts nobody owns end here: a receiver without channels (Alertmanager's way to drop)."""
WORKING_HOURS = "gio-hanh-chinh"
TEMPLATE_FILE = "dvcops.tmpl"
SECRET_WEBHOOK_URL = "https://dvcops-secret.invalid/{secret}"
"""Placeholder for a webhook whose URL is a secret; the alertmanager role puts the secret's value there."""
DAY_NAMES = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
             "sat": "saturday", "sun": "sunday"}
ENDPOINT_ALERTS = "ProbeEndpointDown|ProbeErrorBudgetBurn.*|ProbeCertificate.*"


def _receiver(name: str, contacts: list[Contact], severity: str) -> dict[str, Any]:
    emails = sorted({e for c in contacts for e in c.email})
    hooks = [*dict.fromkeys(u for c in contacts for u in c.webhooks)]
    hooks += [SECRET_WEBHOOK_URL.format(secret=webhook_secret_name(s))
              for s in dict.fromkeys(s for c in contacts for s in c.webhook_secrets)]
    receiver: dict[str, Any] = {"name": name}
    if emails:
        receiver["email_configs"] = [{
            "to": ", ".join(emails), "send_resolved": True,
            "headers": {"Subject": '{{ template "dvcops.subject" . }}'},
            "html": '{{ template "dvcops.html" . }}', "text": '{{ template "dvcops.text" . }}',
        }]
    if hooks:
        receiver["webhook_configs"] = [{"url": u, "send_resolved": True} for u in hooks]
    return receiver


class _Tree:
    """Receivers and routes as they are built, so each receiver is declared once."""

    def __init__(self, timings: Timings) -> None:
        self.timings = timings
        self.receivers: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]

    def scope(self, name: str, matchers: list[str], contacts: list[Contact]) -> dict[str, Any] | None:
        """A route for one scope (a service, an agency, the operator): one child per severity and hours."""
        children = []
        for severity in SEVERITIES:
            repeat = self.timings.repeat_page if severity == "page" else self.timings.repeat_ticket
            for hours in ("always", "working"):
                who = [c for c in contacts if severity in c.severities and c.hours == hours]
                if not who:
                    continue
                receiver = f"{name}-{severity}" + ("" if hours == "always" else f"-{WORKING_HOURS}")
                self.receivers.append(_receiver(receiver, who, severity))
                child: dict[str, Any] = {"matchers": [f'severity="{severity}"'], "receiver": receiver,
                                         "repeat_interval": repeat, "continue": True}
                if hours == "working":
                    child["active_time_intervals"] = [WORKING_HOURS]
                children.append(child)
        if not children:
            return None
        return {"matchers": matchers, "receiver": NULL_RECEIVER, "routes": children}


def routes(catalog: Catalog, timings: Timings) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The routing tree and the receivers it names."""
    tree = _Tree(timings)
    children: list[dict[str, Any]] = []
    for s in catalog.services:
        if route := tree.scope(f"dv-{s.id}", [f'service="{s.id}"'], catalog.contacts_of(service_id=s.id)):
            children.append(route)
    for a in catalog.agencies:
        if route := tree.scope(a.id, [f'agency="{a.id}"'], catalog.contacts_of(agency_id=a.id)):
            children.append(route)
    operator = catalog.oncall.operator
    if operator and (route := tree.scope(f"van-hanh-{operator}", ['agency=""'],
                                         catalog.contacts_of(agency_id=operator))):
        children.append(route)
    root = {"receiver": NULL_RECEIVER, "group_by": ["agency", "service"], "group_wait": timings.group_wait,
            "group_interval": timings.group_interval, "repeat_interval": timings.repeat_page, "routes": children}
    return root, tree.receivers


def inhibitions(catalog: Catalog) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {"source_matchers": ['alertname="ProbeCanaryDown"'], "target_matchers": [f'alertname=~"{ENDPOINT_ALERTS}"']},
        {"source_matchers": ['severity="page"', 'service=~".+"'], "target_matchers": ['severity="ticket"'],
         "equal": ["service"]},
    ]
    for h in catalog.hosts:
        services = [s.id for s in catalog.services if h.name in s.hosts]
        if services:
            rules.append({"source_matchers": ['alertname="ProbeHostDown"', f'host="{h.name}"'],
                          "target_matchers": [f'service=~"{"|".join(services)}"']})
    return rules


def working_hours(catalog: Catalog) -> dict[str, Any]:
    wh = catalog.oncall.working_hours
    return {"name": WORKING_HOURS, "time_intervals": [{
        "weekdays": [DAY_NAMES[d] for d in wh.days],
        "times": [{"start_time": wh.start, "end_time": wh.end}],
        "location": catalog.province.timezone,
    }]}


def alertmanager_config(catalog: Catalog, timings: Timings | None = None,
                        smtp_password_file: str | None = None) -> dict[str, Any]:
    """alertmanager.yml as data. The SMTP password is never in it: `smtp_password_file` names the file
    Alertmanager reads it from (written by the alertmanager role from the secret)."""
    timings = timings or Timings()
    root, receivers = routes(catalog, timings)
    glob: dict[str, Any] = {"resolve_timeout": "5m"}
    relay = catalog.oncall.email
    if relay is not None:
        glob.update({"smtp_smarthost": relay.relay, "smtp_from": relay.sender, "smtp_require_tls": relay.require_tls,
                     "smtp_hello": "dvcops"})
        if relay.username:
            glob["smtp_auth_username"] = relay.username
            glob["smtp_auth_password_file"] = smtp_password_file or "/etc/prometheus/alertmanager-smtp-password"
    return {
        "global": glob,
        "templates": [TEMPLATE_FILE],
        "time_intervals": [working_hours(catalog)],
        "route": root,
        "receivers": receivers,
        "inhibit_rules": inhibitions(catalog),
    }
