"""`dvcops alerts render`: the folder Alertmanager and Prometheus load — alertmanager.yml, the notification
template and the rule file — all from one catalogue, so routing, rules and the SLO agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from dvcops.catalog import Catalog
from probes.alerts.routing import TEMPLATE_FILE, alertmanager_config
from probes.alerts.timings import Timings
from probes.errors import ProbeError
from probes.rules import DEFAULT_JOB, NODE_JOB, rules_yaml

TEMPLATE = Path(__file__).with_name("templates") / TEMPLATE_FILE
RULES_FILE = "dvcops.rules.yml"
CONFIG_FILE = "alertmanager.yml"


@dataclass(frozen=True)
class Rendered:
    config: Path
    template: Path
    rules: Path


def alertmanager_yaml(catalog: Catalog, timings: Timings | None = None, smtp_password_file: str | None = None) -> str:
    header = (f"# Alertmanager for {catalog.province.name}, written by `dvcops alerts render` from the catalogue.\n"
              "# Check with: amtool check-config <this file>\n")
    data = alertmanager_config(catalog, timings, smtp_password_file)
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def render(catalog: Catalog, out: Path, job: str = DEFAULT_JOB, node_job: str = NODE_JOB, scale: float = 1,
           smtp_password_file: str | None = None) -> Rendered:
    """Write the three files into `out` (created if missing); `scale` > 1 shortens every timing (tests)."""
    if scale < 1:
        raise ProbeError(f"--time-scale {scale:g}: expected 1 (production) or more (tests: shorter timings)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProbeError(f"--out {out}: cannot create the folder ({exc.strerror})") from None
    timings = Timings().scaled(scale)
    done = Rendered(out / CONFIG_FILE, out / TEMPLATE_FILE, out / RULES_FILE)
    done.config.write_text(alertmanager_yaml(catalog, timings, smtp_password_file), encoding="utf-8")
    done.template.write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    done.rules.write_text(rules_yaml(catalog, job=job, scale=scale, node_job=node_job), encoding="utf-8")
    return done
