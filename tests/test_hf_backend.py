"""The transformers backend on a tiny Llama built here (random weights, locally trained tokenizer)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from petool_utils.benchmark.prompts import entry_messages  # noqa: E402
from petool_utils.evaluation.engine import evaluate  # noqa: E402
from petool_utils.models.base import ChatRequest  # noqa: E402
from petool_utils.models.hf_backend import HFBackend  # noqa: E402
from petool_utils.models.tiny import STANDIN_NAME, build_tiny_llama, is_standin  # noqa: E402
from petool_utils.predictors.llm import LLMPredictor, entry_request  # noqa: E402

GREEDY8 = {"temperature": 0.0, "max_tokens": 8}


@pytest.fixture(scope="module")
def tiny_dir(bench_large_entries, tmp_path_factory):
    texts = [e.instruction_ratings for e in bench_large_entries[:30]] + [e.query for e in bench_large_entries]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama", texts, vocab_size=2000, seed=0)


@pytest.fixture(scope="module")
def backend(tiny_dir):
    return HFBackend(tiny_dir, device="cpu", max_context=100_000, batch_size=5)


def _same_model(backend, **kw) -> HFBackend:
    return HFBackend(backend.model_path, model=backend.model, tokenizer=backend.tokenizer, **kw)


@pytest.fixture(scope="module")
def short_entries(backend, bench_large_entries):
    """Entries whose no-history prompt is at most 1400 tokens (distinct lengths: quick to generate on CPU)
    and that have >= 10 past interactions to drop."""
    picked, lengths = [], set()
    for e in bench_large_entries[:150]:
        n = backend.count_tokens(backend.render(entry_messages(e, "none")))
        if n <= 1400 and n not in lengths and len(e.history("chronological")) >= 10:
            picked.append(e)
            lengths.add(n)
        if len(picked) == 5:
            break
    assert len(picked) == 5
    return picked


def test_tiny_model_is_small_and_marked(tiny_dir, backend):
    n = sum(p.numel() for p in backend.model.parameters())
    assert 100_000 < n < 1_000_000
    assert is_standin(tiny_dir) and STANDIN_NAME in (tiny_dir / "STANDIN.md").read_text()
    assert STANDIN_NAME in backend.name
    assert backend.tokenizer.padding_side == "left" and backend.tokenizer.pad_token == "<|pad|>"
    text = backend.render([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}])
    assert text == "<|bos|><|system|>S<|end|><|user|>Q<|end|><|assistant|>"


def test_left_padded_batch_equals_one_at_a_time(backend, short_entries):
    reqs = [entry_request(e, "none", GREEDY8) for e in short_entries]
    batched = backend.chat_many(reqs)
    single = _same_model(backend, batch_size=1, max_context=100_000).chat_many(reqs)
    assert len({r.info["prompt_tokens"] for r in batched}) > 1  # different lengths: the batch really is padded
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.info["history_dropped"] == 0 for r in batched)


def test_too_long_prompt_drops_the_oldest_history_items(backend, bench_large_entries):
    e = next(x for x in bench_large_entries[::-1] if len(x.history("ratings")) >= 10)
    hist = e.history("ratings")
    # A limit that the prompt without its 3 oldest items meets exactly.
    limit = backend.count_tokens(backend.render(entry_messages(e, "ratings", history=hist[3:])))
    small = _same_model(backend, max_context=limit)
    fitted = small.fit(entry_request(e, "ratings", GREEDY8))
    assert (fitted.dropped, fitted.tokens, fitted.over_limit) == (3, limit, False)
    assert fitted.value == backend.render(entry_messages(e, "ratings", history=hist[3:]))
    assert e.query in fitted.value and all(json.dumps(c.tool_name, ensure_ascii=False) in fitted.value
                                           for c in e.candidates)
    [res] = small.chat_many([entry_request(e, "ratings", {"temperature": 0.0, "max_tokens": 2})])
    assert res.info["history_dropped"] == 3
    tight = _same_model(backend, max_context=10)
    req = entry_request(e, "ratings", GREEDY8)
    fitted = tight.fit(req)
    # past the history, every candidate's descriptions are cut to the last cap (0); the query and the
    # candidates' names are never cut, so the prompt stays over the limit
    assert req.describe(fitted.dropped) == {"history_dropped": len(hist), "description_cap": 0} and fitted.over_limit
    assert e.query in fitted.value and all(json.dumps(c.tool_name, ensure_ascii=False) in fitted.value for c in e.candidates)
    [res] = tight.chat_many([entry_request(e, "ratings", {"temperature": 0.0, "max_tokens": 2})])
    assert (res.info["history_dropped"], res.info["description_cap"], res.info["over_limit"]) == (len(hist), 0, True)


def test_evaluate_records_history_dropped(backend, tiny_dir, short_entries, tmp_path):
    entries = short_entries[:3]
    # Room for the prompt with an empty history and a little more: every entry must drop items.
    limit = max(backend.count_tokens(backend.render(entry_messages(e, "chronological", history=[]))) for e in entries) + 40
    pred = LLMPredictor(_same_model(backend, max_context=limit), {"max_tokens": 4})
    paths = evaluate(f"hf:{tiny_dir}", entries, ["chronological"], tmp_path, predictor=pred, progress=False)
    recs = [json.loads(x) for x in paths["chronological"].read_text().splitlines()]
    assert sorted(r["entry_id"] for r in recs) == sorted(e.entry_id for e in entries)
    assert all(r["history_dropped"] > 0 and r["prompt_tokens"] <= limit for r in recs)
    manifest = json.loads((paths["chronological"].parent / "manifest.json").read_text())
    assert STANDIN_NAME in manifest["predictor"] and manifest["standin"] is True
    assert manifest["options"]["predictor"]["gen_opts"] == {"temperature": 0.1, "max_tokens": 4}


def test_sampling_is_seeded_per_prompt_and_sample_index(backend):
    msgs = [{"role": "user", "content": "Find me a weather API"}]
    hot = {"temperature": 2.0, "max_tokens": 8}  # the untrained tiny model repeats one token at 1.0
    a0 = backend.chat(msgs, **hot, sample_index=0)
    assert a0 and backend.chat(msgs, **hot, sample_index=0) == a0
    assert backend.chat(msgs, **hot, sample_index=1) != a0
    assert backend.chat(msgs, temperature=0.0, max_tokens=8) == backend.chat(msgs, temperature=0.05, max_tokens=8)
    # K samples of one prompt come back the same whatever else is in the call
    k = [ChatRequest(msgs, {**hot, "sample_index": i}) for i in range(3)]
    other = [ChatRequest([{"role": "user", "content": "Translate hello"}], {**hot, "sample_index": i}) for i in range(2)]
    alone = [r.text for r in backend.chat_many(k)]
    mixed = [r.text for r in backend.chat_many(other + k)][2:]
    assert alone == mixed and len(set(alone)) > 1


def test_unknown_generation_options_are_refused(backend):
    with pytest.raises(ValueError, match="not supported by the hf backend"):
        backend.chat([{"role": "user", "content": "x"}], frequency_penalty=0.5)


def test_context_budget_never_exceeds_the_models_positions(bench_large_entries, tmp_path):
    """A model of P < 4,000 positions asked for the paper's 4,000-token budget: every prompt is fitted into the
    positions its max_tokens leave (P - 8), never past them; a prompt too long even with no history and the
    candidates' descriptions cut (a query past the positions) is a ContextOverflowError, not generated; the
    manifest says the budget was lowered. P is chosen from the data (3,000 suits the dev slice; the
    constructed split's prompts are shorter) so that two entries need history dropped and fit without it."""
    texts = [e.instruction_ratings for e in bench_large_entries[:30]] + [e.query for e in bench_large_entries]
    probe = HFBackend(build_tiny_llama(tmp_path / "tiny-probe", texts, vocab_size=2000, seed=0, max_positions=3900),
                      device="cpu", batch_size=2)

    def tokens(hf, e, history=None):
        return hf.count_tokens(hf.render(entry_messages(e, "ratings", history=history)))

    lens = [(tokens(probe, e), tokens(probe, e, [])) for e in bench_large_entries]
    P = next(p for p in (3000, 2000, 1500, 1200, 1000, 800, 600)
             if sum(1 for full, bare in lens if full > p and bare < p - 100) >= 2)
    model_dir = build_tiny_llama(tmp_path / f"tiny-{P}", texts, vocab_size=2000, seed=0, max_positions=P)
    hf = HFBackend(model_dir, device="cpu", batch_size=2)  # max_context left at its default, 4000
    assert (hf.max_context_requested, hf.max_context, hf.max_positions) == (4000, P, P)
    fitting = [e for e, (full, bare) in zip(bench_large_entries, lens) if full > P and bare < P - 100][:2]
    # the query is never cut (history and candidate descriptions are): a query past the positions cannot fit
    base = fitting[0]
    too_long = base.model_copy(update={"entry_id": f"{base.entry_id}-long", "query": " ".join([base.query] * 400)})
    assert tokens(hf, too_long, []) > P - 8
    paths = evaluate(f"hf:{model_dir}", [*fitting, too_long], ["ratings"], tmp_path / "out", progress=False,
                     predictor=LLMPredictor(hf, {"max_tokens": 8}))
    recs = {r["entry_id"]: r for r in map(json.loads, paths["ratings"].read_text().splitlines())}
    for e in fitting:  # before: the whole prompt, past the model's positions (transformers only warned)
        assert recs[e.entry_id]["error"] is None and recs[e.entry_id]["history_dropped"] > 0
        assert recs[e.entry_id]["prompt_tokens"] <= P - 8
    bad = recs[too_long.entry_id]
    assert bad["response"] is None and bad["error"].startswith("ContextOverflowError:") and f"{P} positions" in bad["error"]
    llm = json.loads((paths["ratings"].parent / "manifest.json").read_text())["options"]["predictor"]["llm"]
    assert llm["max_context"] == P and llm["max_context_requested"] == 4000
    assert llm["max_position_embeddings"] == P and f"lowered to {P}" in llm["max_context_lowered"]


def test_the_authors_layout_is_rendered_as_one_user_turn(backend, bench_large_entries):
    """An adapter trained in the authors' layout (user_only) is asked in it: the backend renders the
    system prompt and the query as one user turn and counts the tokens as training counted them."""
    from petool_utils.benchmark.prompts import apply_layout
    from petool_utils.models.hf_backend import prompt_token_counter

    e = bench_large_entries[0]
    msgs = entry_messages(e, "preferred")
    authors = _same_model(backend, layout="user_only")
    one_turn = [{"role": "user", "content": msgs[0]["content"] + "\n" + e.query}]
    assert apply_layout(msgs, "user_only") == one_turn
    assert authors.render(msgs) == backend.tokenizer.apply_chat_template(one_turn, add_generation_prompt=True, tokenize=False)
    assert authors.render(msgs) != backend.render(msgs)
    assert prompt_token_counter(backend.tokenizer, "user_only")(msgs) == authors.count_tokens(authors.render(msgs))
    assert "layout=user_only" in authors.identity() and "layout" not in backend.identity()


def test_bf16_autocast_is_opt_in_and_part_of_the_identity(backend, monkeypatch):
    from petool_utils.models import hf_backend as H

    assert not H.resolve_autocast("none", "cpu") and H.resolve_autocast("bf16", "cpu")
    monkeypatch.setattr(H, "cpu_has_bf16", lambda: False)
    assert not H.resolve_autocast("auto", "cpu")
    monkeypatch.setattr(H, "cpu_has_bf16", lambda: True)
    assert H.resolve_autocast("auto", "cpu")
    with pytest.raises(ValueError, match="autocast must be one of"):
        H.resolve_autocast("fp8", "cpu")
    bf16 = _same_model(backend, autocast="bf16", max_context=backend.max_context)
    assert not backend.bf16_autocast and "ac=bf16" not in backend.identity()  # fp32 keys unchanged
    assert bf16.identity() == backend.identity().replace("q=none", "q=none|ac=bf16")
    assert bf16.describe()["bf16_autocast"] is True
    out = bf16.chat_many([ChatRequest([{"role": "user", "content": "hello"}], GREEDY8)])
    assert isinstance(out[0].text, str)


def test_cli_max_context_reaches_the_hf_backend_and_only_it(backend, tiny_dir, short_entries, tmp_path):
    """``petool eval --max-context N``: every prompt sent fits N tokens (oldest history dropped), the manifest
    records N; a server spec refuses the flag, since a server fits nothing."""
    from typer.testing import CliRunner

    from petool_utils.benchmark.data import dump_entries
    from petool_utils.cli import app
    from petool_utils.io import atomic_write_json
    from petool_utils.models.spec import model_slug

    entries = short_entries[:2]
    limit = max(backend.count_tokens(backend.render(entry_messages(e, "chronological", history=[]))) for e in entries) + 40
    data = atomic_write_json(tmp_path / "two.json", dump_entries(entries), indent=None)
    spec = f"hf:{tiny_dir}"
    res = CliRunner().invoke(app, ["eval", "--model", spec, "--data", str(data), "--settings", "chronological",
                                   "--out", str(tmp_path / "out"), "--max-tokens", "4", "--max-context", str(limit),
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    run = tmp_path / "out" / model_slug(spec)
    recs = [json.loads(x) for x in (run / "chronological.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and all(r["history_dropped"] > 0 and r["prompt_tokens"] <= limit for r in recs)
    assert json.loads((run / "manifest.json").read_text())["options"]["predictor"]["llm"]["max_context"] == limit
    res = CliRunner().invoke(app, ["eval", "--model", "offline:random", "--data", str(data), "--out",
                                   str(tmp_path / "o2"), "--max-context", "100"])
    assert res.exit_code != 0 and "--max-context" in res.output
