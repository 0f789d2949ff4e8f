"""The construction's LLM path over HTTP (issue 11, item 2): notebooks 02 and 05 with ``llm: openai:<model>``
against the loopback OpenAI-protocol server, which answers construction prompts with the offline stand-in's
own generator while injecting 10% faults (429, 500, timeouts, replies that are not JSON). The artifacts
must equal those of the in-process ``offline-standin`` run, except the generator label; the JSON retries
grow by the non-JSON replies the server sent. Also ``embedder: openai:<model>`` against ``/v1/embeddings``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from openai_server import EMBED_DIM, Faults, LoopbackServer, hashed_embedding
from petool_utils.construction import pipeline
from petool_utils.construction.standin import OfflineStandinLLM

ROOT = Path(__file__).resolve().parent.parent
MODEL = "openai:standin-over-http"
FAULT_RATE = 0.05  # the stand-in's own faulty replies, in both runs
RETRIES = 4        # JSON retries: enough that no task runs out of them in either run
SMALL = dict(n_users=6, tools_per_user=[2, 6])


def _offline(rd: Path) -> Path:
    pipeline.stage01_prepare(rd, "builtin")
    pipeline.stage02_understand(rd, fault_rate=FAULT_RATE, max_retries=RETRIES, progress=False)
    pipeline.stage03_cluster(rd, embedder="tfidf", eps=0.5, eps_values=[0.5])
    pipeline.stage04_preferences(rd, embedder="tfidf", **SMALL)
    pipeline.stage05_create(rd, embedder="tfidf", queries_per_user=2, fault_rate=FAULT_RATE, max_retries=RETRIES,
                            progress=False)
    return rd


def _notebook(name: str, tmp: Path, **params) -> None:
    import papermill as pm

    pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(tmp / f"{name}.ipynb"), parameters=params,
                        cwd=str(ROOT), kernel_name="python3", progress_bar=False)


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k != "json_retries"}
    return [_strip(v) for v in obj] if isinstance(obj, list) else obj


def _artifacts(rd: Path) -> dict[str, object]:
    """Every artifact except the cache and the report fragments, the generator label replaced and the JSON
    retry counters taken out: what must be equal between the two runs."""
    out: dict[str, object] = {}
    for p in sorted(rd.rglob("*")):
        rel = p.relative_to(rd)
        if not p.is_file() or rel.parts[0] in ("cache", "report"):
            continue
        data = p.read_bytes()
        if p.suffix in (".json", ".jsonl"):
            text = data.decode("utf-8").replace(MODEL, "offline-standin")
            docs = [json.loads(line) for line in text.splitlines()] if p.suffix == ".jsonl" else [json.loads(text)]
            out[str(rel)] = _strip(docs)
        else:
            out[str(rel)] = data
    return out


def _retries(rd: Path) -> int:
    return (json.loads((rd / "understanding_log.json").read_text())["json_retries"]
            + json.loads((rd / "data_filter_log.json").read_text())["new_instructions"]["json_retries"])


@pytest.fixture(scope="module")
def server():
    faults = Faults(rate_429=0.025, rate_500=0.025, rate_timeout=0.025, rate_non_json=0.025, slow_delay=1.5, seed=3)
    with LoopbackServer(faults, standin=OfflineStandinLLM(seed=0, fault_rate=FAULT_RATE)) as srv:
        yield srv


@pytest.fixture
def server_env(server, monkeypatch):
    for var in ("PETOOL_OPENAI_BASE_URL", "PETOOL_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
    monkeypatch.delenv("PETOOL_DATA_DIR", raising=False)
    return server


def test_construction_over_http_notebooks_02_and_05_equal_the_offline_run(tmp_path, server_env):
    offline = _offline(tmp_path / "offline")
    rd = tmp_path / "http"
    server_env.reset_stats()
    pipeline.stage01_prepare(rd, "builtin")
    http = dict(llm=MODEL, max_retries=RETRIES, concurrency=8, request_timeout=0.5)
    _notebook("02_tool_understanding", tmp_path, run_dir=str(rd), **http)
    pipeline.stage03_cluster(rd, embedder="tfidf", eps=0.5, eps_values=[0.5])
    pipeline.stage04_preferences(rd, embedder="tfidf", **SMALL)
    _notebook("05_data_creation", tmp_path, run_dir=str(rd), embedder="tfidf", queries_per_user=2, **http)

    seen = server_env.stats.outcomes
    assert all(seen[k] > 0 for k in ("429", "500", "timeout", "non_json", "ok")), seen
    a, b = _artifacts(offline), _artifacts(rd)
    assert sorted(a) == sorted(b) and len(a) > 20
    assert [k for k in a if a[k] != b[k]] == []
    assert json.loads((rd / "benchmark" / "manifest.json").read_text())["generator"] == MODEL  # the label is there
    # every prose reply went down the JSON retry path and was counted (a stand-in cut-off that an earlier
    # prose reply displaced can make the difference smaller, never larger)
    extra = _retries(rd) - _retries(offline)
    assert 0 < extra <= seen["non_json"]


def test_openai_embedder_against_the_loopback_server(server_env):
    from petool_utils.models.embeddings import OpenAIEmbedder, get_embedder

    emb = get_embedder("openai:hash-embed")
    assert isinstance(emb, OpenAIEmbedder) and emb.name == "openai:hash-embed"
    texts = [f"weather in city {i}" for i in range(5)] + ["stock quote", "stock quote"]
    emb.batch_size = 3  # several requests, rows kept in order
    m = emb.embed(texts)
    assert m.shape == (7, EMBED_DIM) and np.allclose(np.linalg.norm(m, axis=1), 1, atol=1e-5)
    assert np.allclose(m[2], hashed_embedding(texts[2]), atol=1e-6) and np.allclose(m[5], m[6])
    assert emb.embed([]).shape[0] == 0


def test_openai_embedder_needs_a_configured_server(monkeypatch):
    from petool_utils.models.embeddings import get_embedder
    from petool_utils.models.openai_backend import ConfigurationError

    for var in ("PETOOL_OPENAI_BASE_URL", "PETOOL_OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_BASE_URL"):
        get_embedder("openai:text-embedding-3-small")


@pytest.fixture
def clean_server_env(monkeypatch):
    """A loopback server without faults (every reply the stand-in's), configured as the openai: server."""
    with LoopbackServer(Faults(), standin=OfflineStandinLLM(seed=0)) as srv:
        for var in ("PETOOL_OPENAI_BASE_URL", "PETOOL_OPENAI_API_KEY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
        yield srv


def test_json_mode_schema_sends_each_tasks_reply_schema_and_the_replies_fit_it(tmp_path, clean_server_env):
    """``json_mode: schema`` puts the task's reply schema in every request body, in the form llama.cpp's
    server reads (``{"type": "json_object", "schema": ...}``); the schema accepts the replies the stages
    use (checked by the jsonschema library, not by petool) and rejects the prose a small model writes."""
    import jsonschema

    from petool_utils.construction.llm_prompts import REPLY_SCHEMAS, task_messages
    from petool_utils.construction.standin import OfflineStandinLLM as S

    rd = tmp_path / "run"
    pipeline.stage01_prepare(rd, "builtin")
    out = pipeline.stage02_understand(rd, llm=MODEL, json_mode="schema", progress=False, concurrency=8)
    sent = clean_server_env.stats.options
    n_apis = out["log"].n_input
    assert len(sent) == 2 * n_apis  # both tasks of every API, no retry (the replies are JSON)
    schemas = [o["response_format"]["schema"] for o in sent]
    assert schemas.count(REPLY_SCHEMAS["tool_description"]) == n_apis
    calls = [sc for sc in schemas if sc != REPLY_SCHEMAS["tool_description"]]
    assert len(calls) == n_apis and all(sc["required"] == ["instruction", "parameters"] for sc in calls)
    # each call's parameters are the API's own: every understood example fits its API's schema, and a
    # parameter the API lacks (the demonstration's "city" where the API has none) does not
    by_names = {}
    for sc in calls:
        ps = sc["properties"]["parameters"]
        assert ps["additionalProperties"] is False and set(ps["required"]) <= set(ps["properties"])
        by_names[tuple(sorted(ps["properties"]))] = sc
    for t in out["tools"]:
        names = tuple(sorted([p.name for p in t.required_parameters] + [p.name for p in t.optional_parameters]))
        jsonschema.validate(t.example.model_dump(mode="json"), by_names[names])
    no_city = next(sc for names, sc in by_names.items() if "city" not in names)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"instruction": "I want the weather.", "parameters": {"city": "Paris"}}, no_city)
    assert all(o["response_format"]["type"] == "json_object" for o in sent)
    assert sorted({o["max_tokens"] for o in sent}) == [384, 512]  # a grammar bounds the shape, not the length
    assert json.loads((rd / "understanding_log.json").read_text())["json_mode"] == "schema"
    t = out["tools"][0]
    jsonschema.validate({"functionality": t.functionality, "non_functional": t.non_functional},
                        REPLY_SCHEMAS["tool_description"])
    reply = json.loads(S().answer(task_messages(
        "new_instructions", {"n_items": 2, "tool": {"full_name": "<A>.<B>.<C>", "functionality": "get the weather"},
                             "group_tools": [], "existing": []})))
    jsonschema.validate(reply, REPLY_SCHEMAS["new_instructions"])
    for bad, task in ((["not", "an", "object"], "tool_use_example"), ({"instruction": "x"}, "tool_use_example"),
                      ({"functionality": ""} , "tool_description"), ([], "new_instructions")):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, REPLY_SCHEMAS[task])
    # a rerun in the default mode does not reuse the schema mode's rows (the request differs, so do replies)
    clean_server_env.reset_stats()
    (rd / "tools_understood.jsonl").unlink()
    pipeline.stage02_understand(rd, llm=MODEL, progress=False, concurrency=8)
    assert len(clean_server_env.stats.options) == 2 * n_apis
    assert all("response_format" not in o for o in clean_server_env.stats.options)


@pytest.mark.parametrize("llm", ["offline-standin", "hf:/nowhere"])
def test_json_mode_schema_is_refused_where_no_server_reads_it(tmp_path, llm):
    with pytest.raises(ValueError, match="json_mode: schema needs an openai: llm"):
        pipeline.stage02_understand(tmp_path, llm=llm, json_mode="schema")
    with pytest.raises(ValueError, match="json_mode must be one of"):
        pipeline.stage05_create(tmp_path, llm=llm, json_mode="grammar")


def test_json_mode_bounds_a_list_reply_by_the_items_asked():
    """A grammar with no bound on a list lets a model write items until the context is full (SmolLM2 did):
    the schema sent for ``new_instructions`` caps the list at ``n_items``; the shared schema is not changed."""
    import jsonschema

    from petool_utils.construction.llm_prompts import REPLY_SCHEMAS, response_format

    item = {"instruction": "I want to check the weather.", "parameters": {}}
    fmt = response_format("new_instructions", "schema", {"n_items": 2})
    jsonschema.validate([item, item], fmt["schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([item] * 3, fmt["schema"])
    assert "maxItems" not in REPLY_SCHEMAS["new_instructions"]
    assert response_format("tool_use_example", "schema", {"n_items": 2})["schema"] == REPLY_SCHEMAS["tool_use_example"]
    assert response_format("new_instructions", "none", {"n_items": 2}) is None
