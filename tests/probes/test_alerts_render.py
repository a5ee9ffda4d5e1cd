"""`dvcops alerts render` on the Hà Giang example: amtool check-config and promtool check rules pass, and
amtool's own route tester sends each alert where the catalogue says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from dvcops.system import require_program
from tests.conftest import ROOT, run_dvcops


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alerting")
    done = run_dvcops("alerts", "render", "--catalog", str(ROOT / "examples" / "ha-giang.yml"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_rendered_configuration_passes_amtool_and_promtool(rendered: Path) -> None:
    am = subprocess.run([str(require_program("amtool")), "check-config", str(rendered / "alertmanager.yml")],
                        capture_output=True, text=True, timeout=60)
    assert am.returncode == 0 and "1 templates" in am.stdout, am.stdout + am.stderr
    rules = subprocess.run([str(require_program("promtool")), "check", "rules", str(rendered / "dvcops.rules.yml")],
                           capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0 and "SUCCESS" in rules.stdout, rules.stdout + rules.stderr


@pytest.mark.parametrize("labels, receivers", [
    ("agency=so-khdt service=dang-ky-kinh-doanh severity=page", "so-khdt-page"),
    ("agency=so-khdt service=dang-ky-kinh-doanh severity=ticket", "so-khdt-ticket-gio-hanh-chinh"),
    ("agency=so-xd service=cap-phep-xay-dung severity=page", "khong-gui"),  # no contacts: nobody else is told
    ("alertname=ProbeHostDown host=portal-1 severity=page", "van-hanh-so-tttt-page"),
    ("agency=so-tttt severity=ticket", "so-tttt-ticket"),
])
def test_routes_follow_the_catalogue(rendered: Path, labels: str, receivers: str) -> None:
    done = subprocess.run([str(require_program("amtool")), "config", "routes", "test",
                           f"--config.file={rendered / 'alertmanager.yml'}", *labels.split()],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == receivers, done.stdout + done.stderr


def test_working_hours_and_inhibitions(rendered: Path) -> None:
    am = yaml.safe_load((rendered / "alertmanager.yml").read_text(encoding="utf-8"))
    assert am["time_intervals"] == [{"name": "gio-hanh-chinh", "time_intervals": [{
        "weekdays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "times": [{"start_time": "07:30", "end_time": "17:00"}], "location": "Asia/Ho_Chi_Minh"}]}]
    sources = [tuple(r["source_matchers"]) for r in am["inhibit_rules"]]
    assert ('alertname="ProbeCanaryDown"',) in sources
    assert any('host="portal-1"' in s for s in sources)
    email = next(r for r in am["receivers"] if r["name"] == "so-khdt-page")["email_configs"][0]
    assert email["to"] == "motcua@skhdt.hagiang.example" and email["send_resolved"] is True
