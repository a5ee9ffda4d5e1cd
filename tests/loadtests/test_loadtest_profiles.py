"""Profiles: the five shipped ones load, every run is bounded, mistakes name the file and line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadtests.errors import LoadTestError
from loadtests.profiles import MAX_USERS, load_profile, parse_profile, shipped


def test_the_five_shipped_profiles_load_and_are_bounded() -> None:
    assert shipped() == ["normal", "peak", "smoke", "soak", "spike"]
    for name in shipped():
        p = load_profile(name)
        assert timedelta(0) < p.total_duration <= timedelta(hours=12)
        assert 0 < p.peak_users <= MAX_USERS
        assert p.request_cap > 0
    smoke = load_profile("smoke")
    assert smoke.total_duration == timedelta(seconds=20) and smoke.request_cap == 5000
    peak = load_profile("peak")
    assert len(peak.plan_stages) == 4 and peak.peak_users == 300 and peak.arrival_rate == 150
    assert [s.users for s in load_profile("spike").plan_stages] == [20, 400, 20, 20]


def test_a_simple_profile_is_one_stage_with_a_default_request_ceiling() -> None:
    p = parse_profile("users: 10\nduration: 30s\n", "quick.yml")
    assert p.name == "quick"
    [stage] = p.plan_stages
    assert (stage.users, stage.spawn_rate, stage.duration) == (10, 10.0, timedelta(seconds=30))
    assert p.request_cap == 30 * 5000
    assert p.task_weight("portal.search") == 1


@pytest.mark.parametrize("text, expected", [
    ("users: 100000\nduration: 1m\n", "p.yml:1: users: 100000: Input should be less than or equal to 5000"),
    ("users: 5\nduration: 13h\n", "the run lasts 13h: the limit is 12h"),
    ("users: 5\n", "give users and duration"),
    ("users: 5\nduration: 1m\nstages: [{duration: 1m, users: 3}]\n", "not both"),
    ("users: 5\nduration: soon\n", "p.yml:2: duration: 'soon' is not a duration"),
    ("users: 5\nduration: 1m\nmix: {portal: 1, robots: 3}\n", "p.yml:3: mix: unknown user type 'robots'"),
    ("users: 5\nduration: 1m\ntasks: {portal.surf: 3}\n", "unknown request name 'portal.surf'"),
    ("users: 5\nduration: 1m\nthink_time: {min: 3s, max: 1s}\n", "max 1s is less than min 3s"),
    ("users: 5\nduration: 1m\nmax_requests: 0\n", "p.yml:3: max_requests"),
    ("users: 5\nduration: 1m\nramp: fast\n", "p.yml:3: ramp: unknown key 'ramp'"),
])
def test_profile_mistakes_are_one_line_input_errors(text: str, expected: str) -> None:
    with pytest.raises(LoadTestError) as err:
        parse_profile(text, "p.yml")
    assert any(expected in line for line in err.value.lines), err.value.lines
    assert all(line.startswith("p.yml:") for line in err.value.lines)


def test_an_unknown_profile_name_lists_the_shipped_ones() -> None:
    with pytest.raises(LoadTestError, match="expected one of normal, peak, smoke, soak, spike"):
        load_profile("heavy")
