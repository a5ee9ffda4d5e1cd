"""Load tests: Locust users for the province's services, k6-style thresholds, verdicts, distributed runs.

Map of the package (only users.py and locustfile.py import Locust, and only inside the Locust process):

- profiles.py + profiles/*.yml    how many users, for how long, doing what (smoke, normal, peak, soak, spike)
- thresholds.py + thresholds/*.yml  k6 threshold syntax (`p(95)<800`, `rate<0.01`, `rps>50`): parse and judge
- scope.py      the fence: targets must be catalogue endpoints or `loadtest.allowed_hosts`
- plan.py       what the Locust processes need to know (targets, profile, thresholds), checked beforehand
- users.py      the FastHttpUser classes (portal, dossier submission, status check, survey rating)
- locustfile.py the Locust side: load shape, request cap, abortOnFail, the `quitting` hook that writes the verdict
- runner.py     runs Locust as a subprocess (one process, --processes, --master/--worker), bounded in time
- verdict.py    verdict.json: each threshold with its observed value, totals, achieved RPS

Python API: `loadtests.runner.run(RunOptions(...)) -> RunResult`; read a verdict with `Verdict.read(run_dir)`.
"""

from loadtests.errors import LoadTestError

__all__ = ["LoadTestError"]
