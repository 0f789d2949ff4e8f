"""The transformers predictor on a tiny Llama built here (random weights, locally trained tokenizer)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from petool_utils.evaluation.engine import evaluate  # noqa: E402
from petool_utils.models.hf_backend import HFChatLLM, HFGenerator, HFPredictor  # noqa: E402
from petool_utils.benchmark.prompts import entry_messages  # noqa: E402
from petool_utils.models.tiny import STANDIN_NAME, build_tiny_llama, is_standin  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(dev_entries, tmp_path_factory):
    texts = [e.instruction_ratings for e in dev_entries[:30]] + [e.query for e in dev_entries]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama", texts, vocab_size=2000, seed=0)


@pytest.fixture(scope="module")
def gen(tiny_dir):
    return HFGenerator.load(tiny_dir, device="cpu")


@pytest.fixture(scope="module")
def short_entries(gen, dev_entries):
    """Entries whose no-history prompt is 500-1400 tokens (distinct lengths): quick to generate on CPU."""
    picked, lengths = [], set()
    for e in dev_entries[:150]:
        n = gen.count_tokens(gen.render(entry_messages(e, "none")))
        if 500 <= n <= 1400 and n not in lengths and len(e.history("chronological")) >= 10:
            picked.append(e)
            lengths.add(n)
        if len(picked) == 5:
            break
    assert len(picked) == 5
    return picked


def test_tiny_model_is_small_and_marked(tiny_dir, gen):
    n = sum(p.numel() for p in gen.model.parameters())
    assert 100_000 < n < 1_000_000
    assert is_standin(tiny_dir) and STANDIN_NAME in (tiny_dir / "STANDIN.md").read_text()
    assert gen.tokenizer.padding_side == "left" and gen.tokenizer.pad_token == "<|pad|>"
    text = gen.render([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}])
    assert text == "<|bos|><|system|>S<|end|><|user|>Q<|end|><|assistant|>"


def test_left_padded_batch_equals_one_at_a_time(gen, tiny_dir, short_entries):
    entries = short_entries
    batched = HFPredictor(tiny_dir, generator=gen, batch_size=5, max_new_tokens=8, max_context=100_000)
    single = HFPredictor(tiny_dir, generator=gen, batch_size=1, max_new_tokens=8, max_context=100_000)
    b = batched.predict_with_info(entries, "none")
    s = single.predict_with_info(entries, "none")
    assert len({r.prompt_tokens for r in b}) > 1  # different lengths, so the batch really is padded
    assert [r.text for r in b] == [r.text for r in s]
    assert all(r.history_dropped == 0 for r in b)
    assert STANDIN_NAME in batched.name


def test_too_long_prompt_drops_the_oldest_history_items(gen, tiny_dir, dev_entries):
    e = next(x for x in dev_entries[::-1] if len(x.history("ratings")) >= 10)
    hist = e.history("ratings")
    # A limit that the prompt without its 3 oldest items meets exactly.
    limit = gen.count_tokens(gen.render(entry_messages(e, "ratings", history=hist[3:])))
    pred = HFPredictor(tiny_dir, generator=gen, max_new_tokens=2, max_context=limit)
    text, dropped, n_tok, over = pred.fit_prompt(e, "ratings")
    assert (dropped, n_tok, over) == (3, limit, False)
    assert text == gen.render(entry_messages(e, "ratings", history=hist[3:]))
    assert e.query in text and all(json.dumps(c.tool_name, ensure_ascii=False) in text for c in e.candidates)
    assert hist[3].instruction in text and hist[2].instruction not in text.split("<|user|>")[0]
    [res] = pred.predict_with_info([e], "ratings")
    assert res.history_dropped == 3

    tiny_limit = HFPredictor(tiny_dir, generator=gen, max_new_tokens=2, max_context=10)
    _, dropped, _, over = tiny_limit.fit_prompt(e, "ratings")
    assert dropped == len(hist) and over  # query and candidates are never cut, even over the limit


def test_evaluate_records_history_dropped(gen, tiny_dir, short_entries, tmp_path):
    entries = short_entries[:3]
    # Room for the prompt with an empty history and a little more: every entry must drop items.
    limit = max(gen.count_tokens(gen.render(entry_messages(e, "chronological", history=[]))) for e in entries) + 40
    pred = HFPredictor(tiny_dir, generator=gen, max_new_tokens=4, max_context=limit)
    paths = evaluate(f"hf:{tiny_dir}", entries, ["chronological"], tmp_path, predictor=pred, progress=False)
    recs = [json.loads(x) for x in paths["chronological"].read_text().splitlines()]
    assert [r["entry_id"] for r in recs] == [e.entry_id for e in entries]
    assert all(r["history_dropped"] > 0 and r["prompt_tokens"] <= limit for r in recs)
    manifest = json.loads((paths["chronological"].parent / "manifest.json").read_text())
    assert STANDIN_NAME in manifest["predictor"] and manifest["standin"] is True


def test_chat_llm_sampling_is_seeded_by_sample_index(gen):
    llm = HFChatLLM(generator=gen, name="tiny", max_new_tokens=8)
    msgs = [{"role": "user", "content": "Find me a weather API"}]
    # A hot temperature: the untrained tiny model (tied embeddings) repeats one special token at 1.0
    a0 = llm.chat(msgs, temperature=2.0, sample_index=0)
    assert a0 and llm.chat(msgs, temperature=2.0, sample_index=0) == a0
    assert llm.chat(msgs, temperature=2.0, sample_index=1) != a0
    assert llm.chat(msgs, temperature=0.0) == llm.chat(msgs, temperature=0.05)  # both greedy
    assert len(llm.chat_n(msgs, 3, temperature=1.0)) == 3
