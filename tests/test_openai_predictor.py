"""The OpenAI-compatible predictor against a real HTTP server on loopback, with injected faults."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from petool_utils import ALL_SETTINGS
from petool_utils.evaluation.engine import evaluate
from petool_utils.models.spec import model_slug
from petool_utils.predictors.registry import make_predictor
from petool_utils.models.base import FatalLLMError, LLMError
from petool_utils.models.cache import CachedLLM
from petool_utils.models.openai_backend import (
    ConfigurationError,
    OpenAIBackend,
    RetryPolicy,
    public_base_url,
)
from petool_utils.secrets import SecretEchoWarning, redact_text
from petool_utils.benchmark.prompts import entry_messages
from petool_utils.evaluation.reader import load_predictions
from _bench_copies import at_least, write_release
from openai_server import FAKE_KEY, expected_answer

# max_timeouts=3: at 3% "timeout" faults drawn afresh per attempt, a few of 1,000 prompts meet two in a row
FAST_RETRY = RetryPolicy(max_retries=8, base_delay=0.01, max_delay=0.1, max_timeouts=3)


@pytest.fixture(scope="module")
def many(bench_entries):
    """250 entries: the benchmark's first 250, topped up with copies when it has fewer."""
    return at_least(bench_entries, 250)


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_1000_requests_with_20pct_faults_lose_nothing_and_duplicate_nothing(server, many, tmp_path):
    entries = many  # x 4 settings = 1,000 requests
    data_path = write_release(entries, tmp_path / "bench.json")
    # "timeout" replies come after 3 s, twice the client's 1.5 s timeout (a normal reply takes milliseconds).
    srv = server(rate_429=0.07, rate_500=0.07, rate_timeout=0.03, rate_malformed=0.03, slow_delay=3.0, seed=7)
    kw = {"timeout": 1.5, "retry": FAST_RETRY}
    cache = tmp_path / "cache.sqlite"
    paths = evaluate("openai:loopback-model", entries, ALL_SETTINGS, tmp_path / "run1", concurrency=64,
                     cache_path=cache, progress=False, data_path=data_path, predictor_kwargs=kw)

    # Every (entry, setting) exactly once, with the answer meant for that very prompt.
    for setting, path in paths.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        recs = [json.loads(line) for line in lines]
        assert len(recs) == 250
        assert sorted(r["entry_id"] for r in recs) == sorted(e.entry_id for e in entries)
        by_id = {r["entry_id"]: r for r in recs}
        for e in entries:
            r = by_id[e.entry_id]
            assert r["error"] is None and r["setting"] == setting
            assert r["response"] == expected_answer(entry_messages(e, setting))
    stats = srv.stats
    faults = sum(v for k, v in stats.outcomes.items() if k != "ok")
    # each distinct prompt answered successfully once (identical requests, e.g. one user's query in the
    # no-history setting, are sent once): no duplicate request won
    distinct = {json.dumps(entry_messages(e, s), sort_keys=True) for s in ALL_SETTINGS for e in entries}
    assert stats.outcomes["ok"] == len(distinct) and 800 < len(distinct) <= 1000
    assert all(stats.outcomes[k] > 0 for k in ("429", "500", "timeout", "malformed"))
    assert 0.15 < faults / stats.total < 0.25
    assert stats.auth == {f"Bearer {FAKE_KEY}": stats.total}  # the key came from the environment

    # A second run with the same cache into a fresh folder sends nothing and writes the same answers.
    before = stats.total
    paths2 = evaluate("openai:loopback-model", entries, ALL_SETTINGS, tmp_path / "run2", concurrency=64,
                      cache_path=cache, progress=False, predictor_kwargs=kw)
    assert srv.stats.total == before
    for s in ALL_SETTINGS:
        a, b = load_predictions(paths[s]), load_predictions(paths2[s])
        assert {k: v["response"] for k, v in a.items()} == {k: v["response"] for k, v in b.items()}
        assert all(v["cached"] for v in b.values())

    manifest = json.loads((tmp_path / "run1" / model_slug("openai:loopback-model") / "manifest.json").read_text())
    assert manifest["model_spec"] == "openai:loopback-model"
    assert manifest["data"]["sha256"] and len(manifest["data"]["sha256"]) == 64 and manifest["data"]["path"] == str(data_path)
    counts = dict(manifest["runs"][-1]["counts"]["none"])
    times = counts.pop("answer_time_s")  # the answers sent this run (none from the cache)
    assert counts == {"lines": 250, "errors": 0, "pending_jobs_this_run": 250, "asked_again_inputs_changed": 0}
    assert times["n"] == 250 and 0 < times["median"] <= times["max"]
    assert manifest["options"]["predictor"]["llm"]["base_url"] == srv.base_url
    assert _files_containing(tmp_path, FAKE_KEY) == []


def test_failures_after_all_retries_are_recorded_then_retried_on_rerun(server, many, tmp_path):
    entries = many[:3]
    srv = server(rate_500=1.0)
    kw = {"retry": RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.01)}
    paths = evaluate("openai:m", entries, ["preferred"], tmp_path, progress=False, predictor_kwargs=kw)
    recs = load_predictions(paths["preferred"])
    assert len(recs) == 3 and all("InternalServerError" in r["error"] and r["response"] is None for r in recs.values())
    assert all(r["attempts"] == 3 for r in recs.values())
    assert sorted(srv.stats.per_key.values()) == [3, 3, 3]  # 1 try + 2 retries each

    srv.faults.rate_500 = 0.0
    srv.reset_stats()
    paths = evaluate("openai:m", entries, ["preferred"], tmp_path, progress=False, predictor_kwargs=kw)
    lines = paths["preferred"].read_text().splitlines()
    assert len(lines) == 3  # the failed lines were replaced, not duplicated
    assert all(json.loads(x)["error"] is None for x in lines)
    assert srv.stats.total == 3


def test_client_errors_are_not_retried(server, many, tmp_path):
    srv = server(rate_400=1.0)
    paths = evaluate("openai:m", many[:2], ["none"], tmp_path, progress=False,
                     predictor_kwargs={"retry": FAST_RETRY})
    recs = load_predictions(paths["none"])
    assert all(r["error"].startswith("BadRequestError") for r in recs.values())
    assert srv.stats.total == 2


def test_concurrency_is_bounded(server, many, tmp_path):
    srv = server(latency=0.05)
    evaluate("openai:m", many[:40], ["preferred"], tmp_path, concurrency=4, progress=False)
    assert srv.stats.total == len({json.dumps(entry_messages(e, "preferred")) for e in many[:40]}) > 30
    assert 2 <= srv.stats.max_inflight <= 4


def test_server_and_key_come_only_from_the_environment(monkeypatch):
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "PETOOL_OPENAI_BASE_URL", "PETOOL_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    monkeypatch.setenv("PETOOL_OPENAI_BASE_URL", "http://user:pw@localhost:8000/v1?token=abc")
    backend = OpenAIBackend("local")
    assert backend.describe()["base_url"] == "http://localhost:8000/v1"  # no credentials in the manifest
    assert "pw" not in backend.identity() and "abc" not in backend.identity()
    assert public_base_url(None) is None


def test_chat_llm_adapter_uses_cache_and_sample_index(server, many, tmp_path):
    srv = server()
    llm = CachedLLM(OpenAIBackend("m", retry=FAST_RETRY), tmp_path / "c.sqlite")
    msgs = entry_messages(many[0], "preferred")
    assert llm.chat(msgs) == expected_answer(msgs)
    assert llm.chat(msgs) == expected_answer(msgs)
    assert srv.stats.total == 1
    llm.chat(msgs, sample_index=1, temperature=1.0)  # another sample is another request
    assert srv.stats.total == 2
    srv.faults.rate_400 = 1.0
    with pytest.raises(LLMError, match="failed after 1 attempt"):
        llm.chat(msgs, sample_index=2)


def test_predict_protocol_returns_responses_in_order(server, many, tmp_path):
    server(latency=0.01)
    pred = make_predictor("openai:m", concurrency=8, cache_path=tmp_path / "c.sqlite", retry=FAST_RETRY)
    out = pred.predict(many[:10], "ratings")
    assert out == [expected_answer(entry_messages(e, "ratings")) for e in many[:10]]


@hsettings(max_examples=200, deadline=None)
@given(attempt=st.integers(0, 30), base=st.floats(0.001, 5), cap=st.floats(0.01, 60), seed=st.integers(0, 99),
       retry_after=st.one_of(st.none(), st.floats(0, 100)))
def test_backoff_is_exponential_jittered_and_capped(attempt, base, cap, seed, retry_after):
    policy = RetryPolicy(max_retries=5, base_delay=base, max_delay=cap)
    d = policy.delay(attempt, random.Random(seed), retry_after)
    nominal = min(cap, base * 2**attempt)
    low = max(0.5 * nominal, min(cap, retry_after) if retry_after is not None else 0.0)
    assert low - 1e-9 <= d <= max(1.5 * nominal, low) + 1e-9


def test_the_one_rule_removes_the_key_from_error_text():
    secrets = {"OPENAI_API_KEY": FAKE_KEY}
    assert redact_text(f"401: Incorrect API key provided: {FAKE_KEY}.", secrets)[0] == \
        "401: Incorrect API key provided: [redacted:$OPENAI_API_KEY]."
    assert redact_text("nothing", {"A_KEY": "", "B_KEY": "a"}) == ("nothing", 0)


def test_model_slug_for_openai_specs():
    assert model_slug("openai:gpt-4o-mini") == "openai-gpt-4o-mini"
    slug = model_slug("openai:meta-llama/Llama-3.1-8B-Instruct")
    assert slug.startswith("openai-meta-llama-Llama-3.1-8B-Instruct-") and len(slug.rsplit("-", 1)[1]) == 8


@pytest.mark.parametrize("status,variable", [(401, "OPENAI_API_KEY"), (404, "OPENAI_BASE_URL")])
def test_wrong_key_or_model_stops_the_run_at_the_first_reply(server, many, tmp_path, status, variable):
    srv = server(**{f"rate_{status}": 1.0}, latency=0.02)
    with pytest.raises(FatalLLMError, match=rf"HTTP {status}.*{variable}"):
        evaluate("openai:m", many[:200], ["preferred"], tmp_path, concurrency=4, progress=False,
                 predictor_kwargs={"retry": FAST_RETRY})
    # nothing is retried and no new request starts after the first refusal: at most the ones in flight
    assert srv.stats.total <= 4


def test_a_key_echoed_by_the_server_is_never_written(server, many, tmp_path):
    server(echo_auth=True)
    with pytest.warns(SecretEchoWarning, match="the server echoed your key"):
        paths = evaluate("openai:m", many[:5], ["none"], tmp_path / "out", progress=False,
                         cache_path=tmp_path / "cache.sqlite", predictor_kwargs={"retry": FAST_RETRY})
    recs = load_predictions(paths["none"])
    assert all("you sent Bearer [redacted:$OPENAI_API_KEY])" in r["response"] for r in recs.values())
    assert _files_containing(tmp_path, FAKE_KEY) == []  # neither the JSONL nor the SQLite cache


def test_a_one_letter_key_leaves_answers_intact(server, many, tmp_path, monkeypatch, recwarn):
    """With ``OPENAI_API_KEY=a`` the old scrubber turned every "a" of every answer into ``***`` (Tool Acc 0),
    and the corrupted answers came back from the cache after the key was fixed."""
    server()
    monkeypatch.setenv("OPENAI_API_KEY", "a")
    entries = many[:8]
    cache = tmp_path / "cache.sqlite"
    paths = evaluate("openai:m", entries, ["none"], tmp_path / "out", progress=False, cache_path=cache,
                     predictor_kwargs={"retry": FAST_RETRY})
    recs = load_predictions(paths["none"])
    want = {str(e.entry_id): expected_answer(entry_messages(e, "none")) for e in entries}
    assert {k: r["response"] for k, r in recs.items()} == want
    assert all("a" in w for w in want.values()) and not any("***" in r["response"] for r in recs.values())
    assert not [w for w in recwarn if issubclass(w.category, SecretEchoWarning)]
    # the cache holds the same intact answers
    import sqlite3

    stored = [r[0] for r in sqlite3.connect(cache).execute("SELECT response FROM responses")]
    assert stored and set(stored) == set(want.values())  # one line per distinct prompt


def test_cache_entries_of_the_old_rule_are_not_trusted(server, many, tmp_path):
    """An answer stored under the old rule (``***`` in place of a short key's letters) is a miss now."""
    import sqlite3

    from petool_utils.models.base import ChatRequest

    srv = server()
    cache = tmp_path / "cache.sqlite"
    llm = CachedLLM(OpenAIBackend("m", retry=FAST_RETRY), cache)
    msgs = entry_messages(many[0], "none")
    old_key = hashlib.sha256(json.dumps({"model": llm.identity(), "messages": msgs, "opts": {}}, sort_keys=True,
                                        ensure_ascii=False, default=str).encode()).hexdigest()
    llm.cache.put(old_key, llm.name, "{\"tool_n***me\": \"<none>\"}")
    llm.cache.flush()
    before = srv.stats.total
    assert llm.chat_many([ChatRequest(msgs)])[0].text == expected_answer(msgs)
    assert srv.stats.total == before + 1 and llm.hits == 0
    llm.close()
    assert sqlite3.connect(cache).execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 2


def test_every_generation_option_reaches_the_server(server, many, tmp_path):
    srv = server()
    evaluate("openai:m", many[:2], ["none"], tmp_path, progress=False,
             gen_opts={"temperature": 0.7, "max_tokens": 64, "top_p": 0.9, "top_k": 20, "seed": 3})
    assert len(srv.stats.options) == 2
    for body in srv.stats.options:
        assert (body["temperature"], body["max_tokens"], body["top_p"], body["top_k"], body["seed"]) == (0.7, 64, 0.9, 20, 3)
        assert "sample_index" not in body
    manifest = json.loads((tmp_path / "openai-m" / "manifest.json").read_text())
    assert manifest["options"]["predictor"]["gen_opts"] == {"temperature": 0.7, "max_tokens": 64, "top_p": 0.9,
                                                            "top_k": 20, "seed": 3}
