"""Nothing lost, nothing hangs (issue 9): one run per folder, checked flags, files as readable as any other."""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest
from _bench_copies import at_least, write_release
from openai_server import Faults, LoopbackServer
from typer.testing import CliRunner

from petool_utils.cli import app
from petool_utils.evaluation.engine import RunLockedError, evaluate
from petool_utils.models.spec import model_slug
from petool_utils.evaluation.store import RunLock
from petool_utils.models.openai_backend import RetryPolicy

runner = CliRunner()
FAKE_KEY = "sk-test-XXXXXXXXXXXXXXXXXXXXXXXX"


def test_a_second_run_into_the_same_folder_is_refused_with_the_holders_pid(tmp_path):
    folder = tmp_path / "offline-random"
    with RunLock(folder):
        with pytest.raises(RunLockedError, match=rf"PID {os.getpid()}"):
            RunLock(folder).acquire()
    RunLock(folder).acquire().release()  # released: free again


def test_two_concurrent_evals_of_one_model_lose_nothing(bench_entries, tmp_path, monkeypatch):
    """The first run holds the folder for its whole length; the second is refused and writes nothing."""
    with LoopbackServer(Faults(latency=0.05)) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        entries = at_least(bench_entries, 40)
        result: dict = {}

        def first() -> None:
            result["paths"] = evaluate("openai:m", entries, ["preferred"], tmp_path, concurrency=2, progress=False,
                                       predictor_kwargs={"retry": RetryPolicy(max_retries=1, base_delay=0.01)})

        t = threading.Thread(target=first)
        t.start()
        path = tmp_path / model_slug("openai:m") / "preferred.jsonl"
        deadline = time.time() + 20
        while not (path.exists() and path.read_text()) and time.time() < deadline:
            time.sleep(0.02)
        with pytest.raises(RunLockedError, match="PID"):
            evaluate("openai:m", entries, ["preferred"], tmp_path, progress=False)
        t.join(timeout=60)
    lines = [json.loads(x) for x in result["paths"]["preferred"].read_text().splitlines()]
    assert sorted(r["entry_id"] for r in lines) == sorted(e.entry_id for e in entries)
    assert all(r["error"] is None for r in lines)


@pytest.mark.parametrize("flag,value", [("--limit", "0"), ("--limit", "-1"), ("--timeout", "0"),
                                        ("--timeout", "-1"), ("--concurrency", "0"), ("--max-retries", "-1")])
def test_out_of_range_flags_are_refused(bench_path, tmp_path, flag, value):
    res = runner.invoke(app, ["eval", "--model", "offline:random", "--data", str(bench_path), "--out", str(tmp_path),
                              flag, value, "--no-progress"])
    assert res.exit_code == 2 and flag in res.output
    assert not any(tmp_path.rglob("*.jsonl"))


def test_limit_is_applied_and_recorded_the_same_for_every_layout(bench_entries, tmp_path):
    entries = at_least(bench_entries, 30)
    combined = write_release(entries, tmp_path / "combined" / "user_entries_test.json")
    per = tmp_path / "per_setting"
    per.mkdir()
    for s, c in (("preferred", "p"), ("ratings", "r"), ("chronological", "c")):
        rows = [{**e.release_record(), "instruction": getattr(e, f"instruction_{s}")} for e in entries]
        (per / f"user_entries_test_{c}.json").write_text(json.dumps(rows))
    for name, data in (("combined", combined), ("per-setting", per)):
        out = tmp_path / name
        res = runner.invoke(app, ["eval", "--model", "offline:random", "--data", str(data), "--out", str(out),
                                  "--limit", "20", "--settings", "preferred", "--no-progress"])
        assert res.exit_code == 0, res.output
        run = out / "offline-random"
        assert len((run / "preferred.jsonl").read_text().splitlines()) == 20
        assert json.loads((run / "manifest.json").read_text())["options"]["limit"] == 20


def test_artifacts_follow_the_umask(bench_path, tmp_path):
    old = os.umask(0o022)
    try:
        res = runner.invoke(app, ["eval", "--model", "offline:random", "--data", str(bench_path), "--out", str(tmp_path),
                                  "--limit", "3", "--settings", "none", "--no-progress"])
        assert res.exit_code == 0, res.output
        res = runner.invoke(app, ["prompts", "--data", str(bench_path), "--out", str(tmp_path / "req.jsonl"),
                                  "--limit", "2"])
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    for p in (tmp_path / "offline-random" / "manifest.json", tmp_path / "offline-random" / "none.jsonl",
              tmp_path / "req.jsonl"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
