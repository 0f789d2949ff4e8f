"""Nothing lost, nothing hangs (issues 9 and 25): one run per folder, checked flags, files as readable as any
other; a damaged cache, a full disk, bounded replies and deadlines, clean errors for the last bad inputs."""

from __future__ import annotations

import json
import os
import random
import re
import stat
import subprocess
import threading
import time

import pytest
from _bench_copies import at_least, file_with_at_least, write_release
from openai_server import FAKE_KEY, Faults, LoopbackServer, expected_answer
from typer.testing import CliRunner

from petool_utils.benchmark.prompts import entry_messages
from petool_utils.cli import app
from petool_utils.evaluation.engine import RunLockedError, evaluate
from petool_utils.evaluation.reader import read_prediction_lines
from petool_utils.evaluation.store import RunLock
from petool_utils.models.cache import CacheCorruptWarning, ResponseCache
from petool_utils.models.spec import model_slug
from petool_utils.models.openai_backend import RetryPolicy

runner = CliRunner()


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
                                        ("--timeout", "-1"), ("--timeout", "nan"), ("--timeout", "inf"),
                                        ("--concurrency", "0"), ("--max-retries", "-1"), ("--max-reply-bytes", "0")])
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


# -- issue 25 ---------------------------------------------------------------------------------------------

FAST = RetryPolicy(max_retries=6, base_delay=0.01, max_delay=0.05)


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _damage(path, how: str, rng: random.Random) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:100])
    elif how == "random_bytes":
        path.write_bytes(rng.randbytes(len(data)))
    elif how == "header_overwritten":
        path.write_bytes(rng.randbytes(100) + data[100:])
    else:  # 8 KiB of garbage mid-file
        mid = len(data) // 2
        path.write_bytes(data[:mid] + rng.randbytes(8192) + data[mid + 8192:])


@pytest.mark.parametrize("how", ["truncated", "random_bytes", "header_overwritten", "garbage_mid_file"])
def test_a_damaged_cache_is_moved_aside_and_the_run_completes(how, bench_entries, server, tmp_path):
    """Before: a traceback at the cache's open (``file is not a database``) or from ``get`` half-way
    (``database disk image is malformed``, 68 of 100 lines written)."""
    srv = server()
    entries = at_least(bench_entries, 40)
    cache = tmp_path / "cache" / "responses.sqlite"
    kw = {"retry": FAST}
    first = evaluate("openai:m", entries, ["preferred"], tmp_path / "out", limit=20, cache_path=cache,
                     progress=False, predictor_kwargs=kw)["preferred"]
    before = _lines(first)
    filler = ResponseCache(cache)  # ~200 KB, so that 8 KiB mid-file lands inside the table's pages
    for i in range(400):
        filler.put(f"pad-{i}", "pad", "x" * 500)
    filler.close()
    assert cache.stat().st_size > 150_000 and not cache.with_name(cache.name + "-wal").exists()
    _damage(cache, how, random.Random(25))
    srv.reset_stats()

    with pytest.warns(CacheCorruptWarning, match=re.escape(str(cache))) as caught:
        paths = evaluate("openai:m", entries, ["preferred"], tmp_path / "out", cache_path=cache, progress=False,
                         predictor_kwargs=kw)
    after = _lines(paths["preferred"])
    assert after[:20] == before  # nothing already in the JSONL lost, nor asked again
    assert sorted(r["entry_id"] for r in after) == sorted(e.entry_id for e in entries)
    assert all(r["error"] is None for r in after) and srv.stats.total == 20
    [aside] = cache.parent.glob("responses.sqlite.corrupt-*")
    assert str(aside) in str(caught[0].message)
    assert len(ResponseCache(cache)) == 20  # the fresh cache holds this run's answers
    llm = json.loads((paths["preferred"].parent / "manifest.json").read_text())["options"]["predictor"]["llm"]
    assert llm["cache_moved_aside_as_damaged"] == [str(aside)]


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (a real full disk, ENOSPC from the kernel); skipped where mounting is not allowed."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(disk, leave: int):
    """Fill ``disk`` until the kernel refuses, then give ``leave`` bytes back."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


@pytest.mark.parametrize("where", ["predictions", "cache"])
def test_a_full_disk_is_one_clean_error_naming_the_file_and_resume_completes(where, bench_path, bench_entries,
                                                                          server, small_disk, tmp_path):
    """Before: ``error: [Errno 28] No space left on device`` naming no file (predictions), a traceback
    ``OperationalError: database or disk is full`` (cache)."""
    srv = server()
    data = file_with_at_least(bench_path, bench_entries, 120, tmp_path / "data")
    out = small_disk / "out" if where == "predictions" else tmp_path / "out"
    cache = tmp_path / "cache.sqlite" if where == "predictions" else small_disk / "cache.sqlite"
    if where == "cache":
        ResponseCache(cache).close()
    # the cache's WAL index alone takes 32 KiB: with less room its open fails (cleanly too, before any request)
    filler = _fill(small_disk, (12 if where == "predictions" else 48) * 1024)
    args = ["eval", "--model", "openai:m", "--data", str(data), "--out", str(out), "--cache", str(cache),
            "--settings", "preferred", "--limit", "120", "--no-progress", "--max-retries", "1"]
    res = runner.invoke(app, args)
    target = out / "openai-m" / "preferred.jsonl" if where == "predictions" else cache
    assert res.exit_code == 2, res.output
    assert f"could not write {target}: " in res.output and "Traceback" not in res.output
    assert res.output.count("error:") == 1
    pred = out / "openai-m" / "preferred.jsonl"
    kept = read_prediction_lines(pred) if pred.exists() else None
    if kept is not None:  # the store is consistent: whole lines only, each of them usable
        assert kept.problems == [] and len(kept.records) < 120
    before = {r["entry_id"]: r for _, r in kept.records} if kept else {}

    filler.unlink()  # room again: the same command resumes and completes
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    final = _lines(pred)
    assert len(final) == 120 and all(r["error"] is None for r in final)
    assert all(before[r["entry_id"]] == r for r in final if r["entry_id"] in before)
    assert srv.stats.total == srv.stats.outcomes["ok"]  # no request beyond one per prompt (no faults injected)


def test_a_file_size_limit_is_one_clean_error_naming_the_file_without_root(bench_path, bench_entries, tmp_path):
    """The same refused write where no tmpfs can be mounted: a file-size limit (``RLIMIT_FSIZE``, the kernel
    answers EFBIG past it) on a real ``petool eval`` process."""
    import resource
    import signal
    import sys

    from petool_utils.paths import REPO_ROOT

    data = file_with_at_least(bench_path, bench_entries, 200, tmp_path / "data")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "petool_utils.cli", "eval", "--model", "offline:random", "--data", str(data),
           "--out", str(out), "--settings", "preferred", "--limit", "200", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, preexec_fn=limited)
    pred = out / "offline-random" / "preferred.jsonl"
    assert proc.returncode == 2, proc.stderr
    assert f"error: could not write {pred}: File too large" in proc.stderr and "Traceback" not in proc.stderr
    kept = read_prediction_lines(pred)
    assert kept.problems == [] and 0 < len(kept.records) < 200 and pred.stat().st_size <= 16 * 1024
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    final = _lines(pred)
    assert len(final) == 200 and final[: len(kept.records)] == [r for _, r in kept.records]


def _with_text(entries, index: int, field: str, value: str):
    """The entries as a release file's records, one field of one entry replaced (a tool name: the first
    candidate's, in the candidate list and in the reference call)."""
    recs = [e.release_record() for e in entries]
    rec = recs[index]
    if field == "query":
        rec["query"] = value
    else:
        cands = json.loads(rec["apis_candidate"])
        cands[0]["tool_name"] = value
        rec["apis_candidate"] = json.dumps(cands)
    return recs


@pytest.mark.parametrize("field,where", [("query", "query"), ("tool_name", "apis_candidate[0].tool_name")])
@pytest.mark.parametrize("model", ["offline:history", "openai:m"])
def test_a_lone_surrogate_is_refused_before_anything_is_written(field, where, model, bench_entries, tmp_path,
                                                               monkeypatch):
    """Before: offline:history wrote 4 of 5 lines, then ``'utf-8' codec can't encode character '\\ud800'``
    naming no file, entry or field; openai: wrote nothing, and said as little."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # never reached
    entries = at_least(bench_entries, 5)
    data = tmp_path / "bench.json"
    data.write_text(json.dumps(_with_text(entries, 4, field, "bad \ud800 text")), encoding="utf-8")
    assert "\\ud800" in data.read_text()  # the escape, as a JSON writer leaves it
    out = tmp_path / "out"
    res = runner.invoke(app, ["eval", "--model", model, "--data", str(data), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2
    assert f"{data}: entry {entries[4].entry_id}: field '{where}': holds a lone surrogate" in res.output
    assert not out.exists()
    res = runner.invoke(app, ["prompts", "--data", str(data), "--out", str(tmp_path / "req.jsonl")])
    assert res.exit_code == 2 and "lone surrogate" in res.output and not (tmp_path / "req.jsonl").exists()


def test_a_reply_past_the_size_cap_is_a_named_failure_and_nothing_huge_is_stored(bench_entries, server, tmp_path):
    """Before: a 50 MB reply was taken whole (max_tokens 256): 157 MB of predictions and cache for three."""
    entries = at_least(bench_entries, 6)
    cache = tmp_path / "cache.sqlite"
    for streamed in (False, True):  # declared by Content-Length, or only counted as it arrives (chunked)
        srv = server(rate_huge=1.0, huge_bytes=5_000_000, huge_streamed=streamed)
        out = tmp_path / f"out-{streamed}"
        paths = evaluate("openai:m", entries, ["preferred", "none"], out, cache_path=cache, progress=False,
                         predictor_kwargs={"retry": FAST})  # max_reply_bytes left at its default, 256 KiB
        for p in paths.values():
            recs = _lines(p)
            assert len(recs) == 6 and p.stat().st_size < 10_000
            assert all(r["response"] is None and r["error"].startswith("ReplyTooLargeError: ") and "262,144" in r["error"]
                       and r["attempts"] == 1 for r in recs)  # not retried: a runaway reply runs away again
        assert set(srv.stats.per_key.values()) == {1}
        assert len(ResponseCache(cache)) == 0 and cache.stat().st_size < 100_000
    res = runner.invoke(app, ["eval", "--model", "openai:m", "--data", str(write_release(entries, tmp_path / "b.json")),
                              "--out", str(tmp_path / "cli"), "--settings", "none", "--max-reply-bytes", "6000000",
                              "--no-progress"])
    assert res.exit_code == 0, res.output  # the cap is configurable: raised past the reply, it is taken


def test_timeout_is_a_deadline_for_the_whole_reply_and_says_which(bench_entries, server, tmp_path):
    """A server trickling 16 bytes every 0.2 s (about 4 s for a reply) never idles long enough for a per-read
    timeout. Before: ``--timeout 3`` let each attempt run 8 s, and the error was ``TimeoutError: ``.

    Timed per request (its line's ``latency_s``) and as a whole: the run's wall time also holds loading and
    the thread pool, which took 2.8 s on a loaded 2-core machine where the requests took their 1.5 s."""
    srv = server(rate_trickle=1.0, trickle_interval=0.2)
    entries = at_least(bench_entries, 2)
    t0 = time.monotonic()
    paths = evaluate("openai:m", entries, ["none"], tmp_path, progress=False,
                     predictor_kwargs={"timeout": 0.5, "retry": FAST})
    took = time.monotonic() - t0
    recs = _lines(paths["none"])
    assert all(0.0 < r["latency_s"] < 3.0 for r in recs)  # 0.5 s, then 1 s: the whole reply takes 4 s an attempt
    assert took < 6.0  # without the deadline the two attempts alone take 8 s
    for r in recs:
        assert r["error"].startswith("ReplyDeadlineError: no complete reply within 0.5 s, then 1 s")
        assert "--timeout 0.5 is the deadline for a whole reply" in r["error"] and "raise --timeout" in r["error"]
        assert r["attempts"] == 2
    assert set(srv.stats.per_key.values()) == {2}


def test_a_timeout_is_retried_at_a_longer_deadline_and_the_manifest_has_answer_times(bench_entries, server,
                                                                                    tmp_path):
    """Before: 6 retries at the same 60 s deadline, each paying the whole prompt again (7 minutes per long
    prompt on a CPU server, then a failure). Now the attempt after a timeout gets twice the deadline, and a
    second timeout ends the request."""
    entries = at_least(bench_entries, 4)
    srv = server(rate_slow=1.0, slow_reply_delay=0.8)  # needs 0.8 s; --timeout 0.5
    paths = evaluate("openai:m", entries, ["none"], tmp_path / "slow", progress=False,
                     predictor_kwargs={"timeout": 0.5, "retry": FAST})
    recs = _lines(paths["none"])
    assert all(r["error"] is None and r["attempts"] == 2 for r in recs)  # 0.5 s: too short; 1 s: answered
    assert all(r["response"] == expected_answer(entry_messages(e, "none")) for r, e in
               zip(sorted(recs, key=lambda r: r["entry_id"]), sorted(entries, key=lambda e: e.entry_id)))
    times = json.loads((paths["none"].parent / "manifest.json").read_text())["runs"][-1]["counts"]["none"]["answer_time_s"]
    assert times["n"] == len(recs)  # every line of the run: none came from the cache
    assert 1.3 <= times["median"] <= times["max"] < 2.5  # 0.5 s lost, then 0.8 s answered

    srv = server(rate_timeout=1.0, slow_delay=30.0)  # a server that never answers in time
    t0 = time.monotonic()
    paths = evaluate("openai:m", entries[:1], ["none"], tmp_path / "hung", progress=False,
                     predictor_kwargs={"timeout": 0.5, "retry": FAST})
    [rec] = _lines(paths["none"])
    # per request 0.5 s + 1 s; the wall time (loading, the pool) only has to stay far from the server's 30 s
    assert rec["latency_s"] < 3.0 and time.monotonic() - t0 < 10.0
    assert rec["attempts"] == 2 and list(srv.stats.per_key.values()) == [2]
    assert "no complete reply within 0.5 s, then 1 s" in rec["error"] and "raise --timeout" in rec["error"]


@pytest.mark.parametrize("model", ["offline:nonsense", "hf:/nonexistent/model", "offline:ranker@/no/such/prior.json"])
def test_an_unknown_model_is_refused_before_any_folder_is_made(model, bench_entries, tmp_path):
    """Before: an empty model folder holding only ``.lock`` was left behind."""
    out = tmp_path / "out"
    data = write_release(bench_entries[:2], tmp_path / "bench.json")
    res = runner.invoke(app, ["eval", "--model", model, "--data", str(data), "--out", str(out), "--no-progress"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert not out.exists()


def test_an_empty_benchmark_is_an_error(tmp_path):
    """Before: exit 0 and "0 predictions"."""
    data = tmp_path / "empty.json"
    data.write_text("[]")
    res = runner.invoke(app, ["eval", "--model", "offline:random", "--data", str(data), "--out", str(tmp_path / "o"),
                              "--no-progress"])
    assert res.exit_code == 2 and f"{data}: entry -: field '<root>': an empty list" in res.output
    assert not (tmp_path / "o").exists()


def test_2000_requests_at_concurrency_128_with_5pct_faults_of_every_kind(bench_entries, monkeypatch, tmp_path):
    """The load check of benchmarks/eval_load.py at a tenth of its size: every (entry, setting) answered
    or recorded failed, one line each, the server's per-prompt counts equal to the lines' attempts."""
    from _eval_load import LOAD_FAULTS, run_load

    with LoopbackServer(Faults(seed=25, **LOAD_FAULTS)) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        fig = run_load(at_least(bench_entries, 500), srv.base_url, tmp_path, concurrency=128)
    assert fig["requests"] == 2000 and fig["answered"] + fig["failed"] == 2000
    assert all(fig["server_outcomes"].get(k, 0) > 0 for k in ("429", "500", "reset", "slow", "timeout"))
    assert fig["retries"] >= 40  # the fault draws are seeded: 54 here (how many are in flight depends on the CPU)
    assert fig["failed"] <= 0.005 * 2000  # only a prompt meeting two timeouts (about 1 in 10,000) may fail
    assert fig["rss_growth_mb"] < 100, fig
    print(json.dumps(fig))


def test_a_reply_holding_a_lone_surrogate_is_written_escaped_and_reads_back_the_same(tmp_path):
    """A server's JSON can carry ``"\\ud800"`` in a reply: the line is written with ``\\u`` escapes (UTF-8 cannot
    hold it) instead of stopping the run, and the store's own compaction rewrites it the same way."""
    from petool_utils.evaluation.reader import read_resolved
    from petool_utils.evaluation.store import PredictionStore

    path = tmp_path / "preferred.jsonl"
    with PredictionStore(path) as store:
        store.append(1, "preferred", "odd \ud800 reply", 0.1)
        store.append(2, "preferred", "plain reply", 0.1)
        store.append(1, "preferred", "odd \ud800 reply again", 0.2)  # a second line for 1: compacted on close
    assert "\\ud800" in path.read_text(encoding="utf-8") and len(path.read_text().splitlines()) == 2
    assert {k: r["response"] for k, r in read_resolved(path).items()} == {"1": "odd \ud800 reply again",
                                                                         "2": "plain reply"}


def test_a_pending_cache_write_does_not_hold_the_lock_for_another_process(tmp_path):
    """Two runs writing one response cache (two evaluations side by side): the last answers of a burst are
    committed within moments, not at the next burst a minute of generation later, so the other writer's
    transaction gets SQLite's one write lock at once instead of timing out with "database is locked"."""
    import sqlite3

    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", "m", "a")
    cache.put("k2", "m", "b")  # within COMMIT_INTERVAL_S of the first: left pending by the batching
    time.sleep(0.5)
    other = sqlite3.connect(str(path), timeout=0)  # another process: no waiting at all
    other.execute("BEGIN IMMEDIATE")  # takes the write lock, or raises "database is locked"
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 2  # both committed
    other.execute("INSERT INTO responses VALUES ('k3', 'm', 'c', 0)")
    other.commit()
    other.close()
    cache.put("k4", "m", "d")
    cache.close()
    assert len(ResponseCache(path)) == 4
