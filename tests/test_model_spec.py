"""ModelSpec (one parser, unique folder names, labels) and the typed registries of backends and predictors."""

from __future__ import annotations

import hashlib
import json

import pytest
from _ranker_entries import RAINY, SUNNY, h, weather_entry
from hypothesis import given, strategies as st

from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.manifest import RunFolderMismatch
from petool_utils.models.base import BACKENDS, ChatLLM, make_llm, register_backend
from petool_utils.models.spec import ModelSpec, Registry, SpecError, model_slug
from petool_utils.construction.standin import OfflineStandinLLM
from petool_utils.predictors.base import Predictor
from petool_utils.predictors.registry import PREDICTORS, make_predictor


def test_specs_that_read_alike_get_different_folders():
    a, b = model_slug("openai:qwen2.5:7b"), model_slug("openai:qwen2.5/7b")
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()[:8]  # noqa: E731
    assert a == f"openai-qwen2.5-7b-{sha('openai:qwen2.5:7b')}" and b == f"openai-qwen2.5-7b-{sha('openai:qwen2.5/7b')}"
    assert a != b
    assert model_slug("openai:модель") != model_slug("openai:модуль")
    assert model_slug("openai:модель") == f"openai-{sha('openai:модель')}"
    # safe text loses nothing, so it stays as it reads
    assert model_slug("openai:gpt-4o-mini") == "openai-gpt-4o-mini" and model_slug("offline:ranker") == "offline-ranker"


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
def test_slugs_are_unique_and_safe(x, y):
    if x.strip() != x or y.strip() != y or not x.strip() or not y.strip() or x == y:
        return
    a, b = model_slug(f"openai:{x}"), model_slug(f"openai:{y}")
    assert a != b
    assert all(c.isalnum() and c.isascii() or c in "._-" for c in a)


def test_parse_gives_back_the_spec_and_its_parts():
    hf = ModelSpec.parse("hf:/m/llama@/adapters/sft-1")
    assert (hf.kind, hf.name, hf.argument, hf.text) == ("hf", "/m/llama", "/adapters/sft-1", "hf:/m/llama@/adapters/sft-1")
    assert ModelSpec.parse("openai:qwen2.5:7b").name == "qwen2.5:7b"  # an API model name is taken whole
    cf = ModelSpec.parse("offline:ranker@crossfit:3")
    assert (cf.name, cf.argument, cf.row_class) == ("ranker", "crossfit:3", "ours")
    assert cf.label == "petool ranker (ours, offline, no LLM; cross-fitted prior, 3 folds by functionality group)"
    assert ModelSpec.parse("offline:history").label == "history baseline (offline, no LLM)"
    assert ModelSpec.parse("hf:/m/llama@/a/sft").label == "llama + adapter sft (HF, local)"
    for bad in ("vllm:llama", "openai:", "hf:/m@", ""):
        with pytest.raises(SpecError, match="openai:<model>"):
            ModelSpec.parse(bad)


def test_a_folder_of_another_spec_is_refused(tmp_path):
    entries = [weather_entry({"preferred": [h(RAINY), h(SUNNY)]}, entry_id=f"hand-{i}") for i in range(3)]
    evaluate("offline:random", entries, ["preferred"], tmp_path, progress=False)
    folder = tmp_path / model_slug("offline:random")
    manifest = json.loads((folder / "manifest.json").read_text())
    # a folder written by an older petool whose names could collide, or renamed by hand
    manifest["model_spec"] = "offline:history"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    before = (folder / "preferred.jsonl").read_text()
    with pytest.raises(RunFolderMismatch, match=r"holds the answers of 'offline:history'.*not of 'offline:random'"):
        evaluate("offline:random", entries, ["preferred"], tmp_path, progress=False)
    assert (folder / "preferred.jsonl").read_text() == before
    assert json.loads((folder / "manifest.json").read_text())["model_spec"] == "offline:history"


def test_the_registry_rejects_a_non_backend():
    with pytest.raises(TypeError, match="must be a subclass of ChatLLM"):
        register_backend("not-a-backend")(lambda rest, **kw: object())
    with pytest.raises(TypeError, match="must be a subclass of ChatLLM"):
        BACKENDS.register("dict", dict)
    assert "not-a-backend" not in BACKENDS and "dict" not in BACKENDS
    reg: Registry[ChatLLM] = Registry("LLM backend", ChatLLM)
    reg.register("lazy", "petool_utils.models.spec:ModelSpec")  # lazy: checked when first used
    with pytest.raises(TypeError, match="must be a subclass of ChatLLM"):
        reg.get("lazy")
    with pytest.raises(TypeError, match="must be a subclass of Predictor"):
        PREDICTORS.register("oracle", OfflineStandinLLM)
    assert isinstance(make_llm("offline-standin"), OfflineStandinLLM)
    with pytest.raises(ValueError, match="unknown LLM spec"):
        make_llm("gpt4")


def test_a_registered_backend_serves_every_caller(tmp_path):
    class Echo(ChatLLM):
        name = "echo"

        @classmethod
        def from_spec(cls, spec, **kw):
            return cls()

        def chat_many(self, requests, on_result=None):
            raise NotImplementedError

    register_backend("echo-test")(Echo)
    try:
        assert isinstance(make_llm("echo-test:x"), Echo)
        assert issubclass(PREDICTORS.get("ranker"), Predictor)
        assert make_predictor("offline:history").name.startswith("offline-history")
    finally:
        BACKENDS._entries.pop("echo-test"), BACKENDS._loaded.pop("echo-test", None)
