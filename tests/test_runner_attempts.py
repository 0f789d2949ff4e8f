"""A notebook killed mid-run (a session's end, a crash) leaves status.json saying so, and the run that resumes it
keeps the killed attempt's time: the runner's heartbeat and ``interrupted`` list."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
import yaml

from petool_utils.paths import REPO_ROOT
from petool_utils.report.runner import Attempt, NotebookRun, heartbeat, run_profile


def test_heartbeat_writes_last_seen_while_the_block_runs_and_stops_after():
    entry = NotebookRun(notebook="09_dpo", status="running", started_utc="2026-12-03T06:25:00+00:00",
                        last_seen_utc="2026-12-03T06:25:00+00:00")
    writes: list[str | None] = []
    with heartbeat(entry, lambda: writes.append(entry.last_seen_utc), interval=0.05):
        time.sleep(0.4)
    n = len(writes)
    time.sleep(0.2)
    assert n >= 3 and len(writes) == n  # beats while running, none after
    assert writes[-1] > "2026-12-03T06:25:00+00:00"


def test_attempts_so_far_and_their_seconds():
    a = Attempt(started_utc="2026-12-03T06:25:00+00:00", last_seen_utc="2026-12-03T07:18:00+00:00")
    assert a.seconds == 3180.0 and Attempt(started_utc="2026-12-03T06:25:00+00:00").seconds == 0.0
    stale = NotebookRun(notebook="09_dpo", status="running", started_utc="2026-12-03T08:00:00+00:00",
                        last_seen_utc="2026-12-03T08:00:30+00:00", interrupted=[a])
    assert [x.seconds for x in stale.attempts_so_far()] == [3180.0, 30.0]
    # a finished entry (ok or failed) is not continued: a rerun starts afresh
    assert NotebookRun(notebook="09_dpo", status="ok", started_utc="x", interrupted=[a]).attempts_so_far() == []


def _profile(tmp_path, seconds: float):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("seconds = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import time\ntime.sleep(seconds)")]
    (tmp_path / "nbs").mkdir(exist_ok=True)
    nbformat.write(nb, tmp_path / "nbs" / "01_sleep.ipynb")
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"profile": "sleepy", "run_dir": str(tmp_path / "run"),
                                    "report_dir": str(tmp_path / "report"), "notebooks": ["01_sleep"],
                                    "params": {"01_sleep": {"seconds": seconds}}}))
    return path


def test_a_killed_run_is_kept_as_an_interrupted_attempt_of_the_run_that_resumes(tmp_path):
    """A real kill: the runner (and its kernel) in their own process group, killed once the heartbeat has written
    a second time; the rerun finishes the notebook and reports the killed attempt beside its own time."""
    path = _profile(tmp_path, 60)
    status_file = tmp_path / "run" / "notebooks" / "status.json"
    code = ("import petool_utils.report.runner as r; r.HEARTBEAT_S = 0.5; "
            f"r.run_profile({str(path)!r}, notebooks_dir=__import__('pathlib').Path({str(tmp_path / 'nbs')!r}), "
            "progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        entry = None
        while time.time() < deadline:
            if status_file.exists():
                entry = NotebookRun.model_validate(json.loads(status_file.read_text())["01_sleep"])
                if entry.status == "running" and entry.last_seen_utc and entry.last_seen_utc >= _plus(entry.started_utc, 2):
                    break
                assert entry.status == "running", entry
            time.sleep(0.2)
        else:
            pytest.fail(f"no heartbeat in status.json within 90 s: {entry}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed = NotebookRun.model_validate(json.loads(status_file.read_text())["01_sleep"])
    assert killed.status == "running" and killed.duration_s is None
    cut = Attempt(started_utc=killed.started_utc, last_seen_utc=killed.last_seen_utc).seconds
    assert cut >= 2

    path = _profile(tmp_path, 0)
    result = run_profile(path, notebooks_dir=tmp_path / "nbs", progress=False)
    done = NotebookRun.model_validate(json.loads(status_file.read_text())["01_sleep"])
    assert result.runs[0].status == done.status == "ok" and done.duration_s is not None
    assert [a.started_utc for a in done.interrupted] == [killed.started_utc] and done.interrupted_s == cut
    assert "interrupted run(s)" in (tmp_path / "report" / "index.html").read_text()
    # a later full rerun of a finished notebook carries nothing over
    run_profile(path, notebooks_dir=tmp_path / "nbs", progress=False)
    assert NotebookRun.model_validate(json.loads(status_file.read_text())["01_sleep"]).interrupted == []


def _plus(iso: str, seconds: int) -> str:
    import datetime as dt

    return (dt.datetime.fromisoformat(iso) + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")
