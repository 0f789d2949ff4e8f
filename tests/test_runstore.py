"""The run store: resumable, crash-safe prediction lines and a manifest without secrets."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from _bench_copies import at_least, file_with_at_least
from hypothesis import given, settings, strategies as st
from openai_server import Faults, LoopbackServer, expected_answer, request_key

from petool_utils.evaluation.engine import evaluate
from petool_utils.models.spec import model_slug
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.prompts import entry_messages
from petool_utils.evaluation.manifest import write_manifest
from petool_utils.evaluation.reader import load_predictions
from petool_utils.evaluation.store import PredictionStore
from petool_utils.secrets import redact_obj

FAKE_KEY = "sk-test-XXXXXXXXXXXXXXXXXXXXXXXX"


def test_lines_resume_and_torn_tail(tmp_path):
    path = tmp_path / "preferred.jsonl"
    with PredictionStore(path) as st:
        st.append(1, "preferred", "a", 0.5)
        st.append("x-2", "preferred", "b", 0.25, history_dropped=3)
    # A killed writer leaves half a line without its newline.
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"entry_id": 3, "setting": "pref')
    st = PredictionStore(path)
    assert st.repaired_bytes == len('{"entry_id": 3, "setting": "pref')
    assert st.finished_ids == {"1", "x-2"} and st.is_finished(1) and not st.is_finished(3)
    st.append(3, "preferred", "c", 0.1)
    st.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["entry_id"] for x in lines] == [1, "x-2", 3]
    assert json.loads(lines[1]) == {"entry_id": "x-2", "setting": "preferred", "response": "b", "latency_s": 0.25,
                                    "error": None, "history_dropped": 3}


def test_failed_and_superseded_lines_are_compacted_on_open(tmp_path):
    path = tmp_path / "ratings.jsonl"
    rows = [
        {"entry_id": 1, "setting": "ratings", "response": "ok1", "latency_s": 0.1, "error": None},
        {"entry_id": 2, "setting": "ratings", "response": None, "latency_s": 0.1, "error": "RateLimitError"},
        {"entry_id": 3, "setting": "ratings", "response": None, "latency_s": 0.1, "error": "timeout"},
        {"entry_id": 3, "setting": "ratings", "response": "ok3", "latency_s": 0.1, "error": None},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_predictions(path)["3"]["response"] == "ok3"  # last line wins for readers too
    st = PredictionStore(path)
    assert st.finished_ids == {"1", "3"} and st.retrying == ["2"]
    # one line per entry: the failure of 2 stays on record (it is retried, and replaced, by the next run)
    assert [json.loads(x)["entry_id"] for x in path.read_text().splitlines()] == [1, 2, 3]
    st.append(2, "ratings", "ok2", 0.1)
    st.append(2, "ratings", None, 0.1, error="later failure")  # a success is never undone by a later error
    assert st.finished_ids == {"1", "2", "3"} and st.records()["2"]["response"] == "ok2"
    st.close()
    assert PredictionStore(path).records()["2"]["response"] == "ok2"


def test_manifest_has_provenance_and_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    data = tmp_path / "bench.json"
    data.write_text("[]")
    opts = {"api_key": FAKE_KEY, "headers": {"Authorization": f"Bearer {FAKE_KEY}"}, "note": f"key {FAKE_KEY}",
            "gen_opts": {"max_tokens": 256, "temperature": 0.1}, "hf_token": "hf_abcdefghijkl"}
    write_manifest(tmp_path, model_spec="openai:m", predictor_name="openai:m", options=opts, settings=["none"],
                   data_path=data, counts={"none": {"lines": 0}})
    path = write_manifest(tmp_path, model_spec="openai:m", predictor_name="openai:m", options=opts,
                          settings=["none"], data_path=data)
    text = path.read_text()
    assert FAKE_KEY not in text and "hf_abcdefghijkl" not in text
    m = json.loads(text)
    assert m["options"]["gen_opts"] == {"max_tokens": 256, "temperature": 0.1}
    assert m["options"]["note"] == "key [redacted:$OPENAI_API_KEY]" and "headers" in m["options"] and m["options"]["headers"] == {}
    assert m["data"]["sha256"] == hashlib.sha256(b"[]").hexdigest()
    assert m["petool_version"] and "git_commit" in m and len(m["runs"]) == 2
    assert m["created_at"] == m["runs"][0]["started_at"]
    assert redact_obj({"Authorization": "x", "max_tokens": 1}, {}) == {"max_tokens": 1}


@pytest.mark.parametrize(("name", "standin", "own"), [
    ("offline-random", True, False), ("offline-popularity-crossfit-2", True, False), ("tiny-llama-standin", True, False),
    ("offline-ranker", False, True), ("offline-ranker-crossfit-2", False, True), ("offline-ranker-prior-x-1a2b3c4d", False, True),
    ("openai-gpt-4o-mini", False, False),
])
def test_the_manifest_labels_baselines_as_stand_ins_and_the_ranker_as_our_method(tmp_path, name, standin, own):
    m = json.loads(write_manifest(tmp_path, model_spec=name, predictor_name=name, options={}, settings=["none"]).read_text())
    assert m["standin"] is standin
    assert m.get("method") == ("petool's own method (offline, no LLM)" if own else None)


def test_sigkill_mid_run_resumes_without_duplicates_or_broken_lines(bench_entries, bench_path, tmp_path, monkeypatch):
    entries = at_least(bench_entries, 60)
    data = file_with_at_least(bench_path, bench_entries, 60, tmp_path / "data")
    chosen = ["preferred", "none"]
    out = tmp_path / "preds"
    spec = "openai:loopback-model"
    run_dir = out / model_slug(spec)
    with LoopbackServer(Faults(latency=0.05, rate_500=0.1, seed=3)) as srv:
        env = {**os.environ, "OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": FAKE_KEY,
               "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "petool_utils.cli", "eval", "--model", spec, "--data", str(data),
               "--settings", ",".join(chosen), "--out", str(out), "--limit", "60", "--concurrency", "4",
               "--no-progress"]
        proc = subprocess.Popen(cmd, env=env, cwd=str(REPO_ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def n_lines() -> int:
            return sum(p.read_bytes().count(b"\n") for p in run_dir.glob("*.jsonl")) if run_dir.exists() else 0

        deadline = time.time() + 60
        while n_lines() < 20 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stderr.close()
        written = n_lines()
        assert 20 <= written < 120
        sent_before = srv.stats.total
        per_key_before = dict(srv.stats.per_key)
        for p in run_dir.glob("*.jsonl"):  # after kill -9: whole lines, at most an unterminated tail
            data = p.read_bytes()
            for line in data[: data.rfind(b"\n") + 1].splitlines():
                json.loads(line)
        done_before = {(r["setting"], r["entry_id"]) for p in run_dir.glob("*.jsonl")
                       for r in PredictionStore(p).records().values()}
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)

        paths = evaluate(spec, entries, chosen, out, progress=False, cache_path=out / ".cache" / "responses.sqlite")
        new_requests = srv.stats.total - sent_before
        by_id = {e.entry_id: e for e in entries}
        for s, eid in done_before:  # a finished line is never asked again
            key = request_key(entry_messages(by_id[eid], s))
            assert srv.stats.per_key[key] == per_key_before[key]
    # Only the unfinished entries were asked again (with their retries); finished ones were skipped.
    assert 0 < new_requests <= (120 - written) * 3
    for s, path in paths.items():
        raw = path.read_bytes()
        assert raw.endswith(b"\n")
        recs = [json.loads(line) for line in raw.decode().splitlines()]
        assert sorted(r["entry_id"] for r in recs) == sorted(e.entry_id for e in entries)  # no loss, no duplicate
        by_id = {r["entry_id"]: r for r in recs}
        assert all(by_id[e.entry_id]["response"] == expected_answer(entry_messages(e, s)) for e in entries)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), max_size=30), st.integers(0, 40))
def test_reopen_keeps_exactly_the_entries_whose_last_line_succeeded(tmp_path_factory, ops, cut):
    """Any history of appends, then a torn tail of ``cut`` bytes: reopening gives one line per entry, by the
    rule "the last successful line, else the last error line"."""
    path = tmp_path_factory.mktemp("prop") / "none.jsonl"
    with PredictionStore(path) as store:
        for eid, ok in ops:
            store.append(eid, "none", f"r{eid}" if ok else None, 0.0, None if ok else "boom")
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"entry_id": 99, "resp'[:cut])
    ever_ok: dict[str, bool] = {}
    for eid, ok in ops:
        ever_ok[str(eid)] = ever_ok.get(str(eid), False) or ok
    reopened = PredictionStore(path)
    assert reopened.finished_ids == {k for k, ok in ever_ok.items() if ok}
    assert sorted(reopened.retrying) == sorted(k for k, ok in ever_ok.items() if not ok)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(ever_ok) == len({json.loads(x)["entry_id"] for x in lines})


def test_a_docs_block_measured_on_a_changed_tree_says_so(tmp_path, monkeypatch):
    import subprocess

    from petool_utils.report.docblocks import provenance

    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("1\n")
    subprocess.run(["git", "add", "a.txt"], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"], check=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert f"commit {head}, " in provenance("cmd")
    (tmp_path / "a.txt").write_text("2\n")
    assert f"commit {head} with uncommitted changes, " in provenance("cmd")
