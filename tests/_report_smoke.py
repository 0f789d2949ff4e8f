"""One papermill run of notebooks 07 and 10 on the smoke profile, shared by the runner, browser and
no-secrets tests (papermill start-up is the expensive part; the three files check different things).

The run happens with a fake ``OPENAI_API_KEY`` in the environment, so every artifact it leaves can be
searched for it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from petool_utils.benchmark.data import load_entries
from petool_utils.io import atomic_write_json
from petool_utils.params import Profile, load_profile
from petool_utils.report.runner import RunResult, run_profile

FAKE_KEY = "sk-test-PETOOL-0123456789abcdefFAKE"
N_CONSTRUCTED = 6


@contextmanager
def fake_secret_env(**extra: str) -> Iterator[None]:
    """A fake key in the environment the kernels inherit; everything restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(extra)
    os.environ["OPENAI_API_KEY"] = FAKE_KEY
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class SmokeRun:
    profile: Profile
    result: RunResult
    tmp: Path


_CACHE: dict[Path, SmokeRun] = {}


# The smoke profile's models minus the ranker (its start-up alone is tens of seconds on 2 cores; its own
# tests cover it), plus a spec that cannot run, to see it reported instead of crashing the notebook.
TEST_MODELS = ["offline:random", "offline:history", "offline:nosuch"]


def smoke_profile(tmp: Path, data: Path) -> Profile:
    prof = load_profile("smoke")
    # offline:nosuch fails; listed and gone on from (the default fails the notebook after writing everything,
    # test_runner_papermill's test_a_failed_model_fails_notebook_07_after_its_tables)
    params = {**prof.params, "07_evaluation": {**prof.params["07_evaluation"], "models": TEST_MODELS,
                                               "fail_on_model_errors": False}}
    return prof.model_copy(update={"run_dir": tmp / "run", "report_dir": tmp / "reports", "data": str(data),
                                   "params": params})


def released_label(data: str | Path) -> str:
    """How the report names the benchmark passed as ``data`` (the dev slice in CI, else a constructed split
    standing in for the release in a fresh clone): ``petool_utils.evaluation.grid.find_benchmarks``' rule."""
    return "released PEToolBench dev slice" if "dev" in Path(data).name else "released PEToolBench"


def smoke_run(tmp_path_factory, data: Path) -> SmokeRun:
    """Run 07 and 10 once per test session and benchmark ``data`` (the ``bench_large_path`` fixture: the dev
    slice, else a constructed split of >= 20 entries, so the smoke limit of 20 bites either way); a split of a
    few entries sits in run_dir so both benchmark kinds are evaluated."""
    if data not in _CACHE:
        tmp = tmp_path_factory.mktemp("smoke")
        prof = smoke_profile(tmp, data)
        # A stand-in for notebook 05's output: entries of `data` in the release layout.
        entries = load_entries(data, limit=100)[-N_CONSTRUCTED:]
        atomic_write_json(prof.run_dir / "benchmark" / "test.json", [e.release_record() for e in entries])
        with fake_secret_env():
            result = run_profile(prof, only="07,10", progress=False)
        _CACHE[data] = SmokeRun(prof, result, tmp)
    return _CACHE[data]


def chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


__all__ = ["FAKE_KEY", "TEST_MODELS", "SmokeRun", "chromium", "released_label", "smoke_run", "fake_secret_env"]
