"""``petool eval``, ``petool prompts``, ``petool download`` through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from _bench_copies import at_least, file_with_at_least
from typer.testing import CliRunner

from petool_utils.cli import app
from petool_utils.models.spec import ModelSpec, model_slug
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.prompts import entry_messages, render_prompt

runner = CliRunner()


def test_eval_offline_writes_and_resumes(bench_path, bench_entries, tmp_path):
    data = file_with_at_least(bench_path, bench_entries, 10, tmp_path / "data")
    args = ["eval", "--model", "offline:random", "--data", str(data), "--settings", "preferred,none",
            "--out", str(tmp_path), "--limit", "10", "--no-progress"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    run = tmp_path / "offline-random"
    for s in ("preferred", "none"):
        recs = [json.loads(x) for x in (run / f"{s}.jsonl").read_text().splitlines()]
        assert [r["entry_id"] for r in recs] == [e.entry_id for e in at_least(bench_entries, 10)]
        assert all(r["setting"] == s and r["error"] is None and r["response"].startswith('{"tool_name"') for r in recs)
    res = runner.invoke(app, args)  # a rerun finds everything done
    assert res.exit_code == 0
    assert len((run / "preferred.jsonl").read_text().splitlines()) == 10
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["predictor"] == "offline-random" and manifest["standin"] is True
    assert [r["counts"]["none"]["pending_jobs_this_run"] for r in manifest["runs"]] == [10, 0]
    assert manifest["data"]["path"] == str(data)


def test_eval_rejects_bad_settings_and_specs(bench_path, tmp_path):
    res = runner.invoke(app, ["eval", "--model", "offline:random", "--data", str(bench_path), "--settings", "preferd",
                              "--out", str(tmp_path)])
    assert res.exit_code != 0 and "preferd" in res.output
    res = runner.invoke(app, ["eval", "--model", "gpt-4o", "--data", str(bench_path), "--out", str(tmp_path)])
    assert res.exit_code != 0 and "openai:<model>" in res.output
    res = runner.invoke(app, ["eval", "--model", "offline:random", "--data", str(tmp_path / "missing.json"),
                              "--out", str(tmp_path)])
    assert res.exit_code == 2 and "missing.json" in res.output


def test_prompts_writes_batch_api_lines(bench_path, bench_entries, tmp_path):
    out = tmp_path / "requests.jsonl"
    res = runner.invoke(app, ["prompts", "--data", str(bench_path), "--settings", "ratings,none", "--out", str(out),
                              "--limit", "4"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["custom_id"] for r in rows] == [f"{e.entry_id}:{s}" for s in ("ratings", "none") for e in bench_entries[:4]]
    for r in rows:
        eid, setting = r["custom_id"].rsplit(":", 1)
        e = next(x for x in bench_entries if str(x.entry_id) == eid)
        assert r["method"] == "POST" and r["url"] == "/v1/chat/completions"
        assert r["body"] == {"model": "gpt-4o-mini", "messages": entry_messages(e, setting), "temperature": 0.1,
                             "max_tokens": 256}
    first = rows[0]["body"]["messages"]
    assert first[0] == {"role": "system", "content": bench_entries[0].instruction_ratings}  # the benchmark's own prompt
    assert first[1] == {"role": "user", "content": bench_entries[0].query}
    assert rows[4]["body"]["messages"][0]["content"] == render_prompt("none", [], bench_entries[0].candidates)


def test_download_offline_fails_clearly(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT), "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, "-m", "petool_utils.cli", "download", "--dest", str(tmp_path / "data")],
                          env=env, cwd=str(REPO_ROOT), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "travisxu/PEToolBench" in proc.stderr and "PETOOL_DATA_DIR" in proc.stderr


def test_model_slugs():
    assert model_slug("offline:ranker") == "offline-ranker"
    assert model_slug("openai:gpt-4o-mini") == "openai-gpt-4o-mini"
    a, b = model_slug("hf:/runs/a/final"), model_slug("hf:/runs/b/final")
    assert a != b and a.startswith("hf-final-") and b.startswith("hf-final-")
    assert model_slug("hf:/m/llama@/adapters/sft-1") == model_slug("hf:/m/llama@/adapters/sft-1")
    assert model_slug("hf:/m/llama@/adapters/sft-1").startswith("hf-llama-sft-1-")
    assert all(c.isalnum() or c in "._-" for c in model_slug("openai:weird name/with:colons?"))
    with pytest.raises(ValueError, match="openai:<model>"):
        ModelSpec.parse("vllm:llama")
