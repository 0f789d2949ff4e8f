"""Training pieces that need no model: records, pair rules, configs, the memory estimate."""

from __future__ import annotations

import json

import pytest

from petool_utils.benchmark.data import ToolCall
from petool_utils.benchmark.prompts import entry_messages
from petool_utils.training.config import DPOParams, SFTParams, load_config
from petool_utils.training.memory import LlamaShape, estimate_qlora_memory, lora_params, nf4_bits_per_param
from petool_utils.training.records import shorten_entry, sft_record, sft_records
from petool_utils.training.sampling import (
    CHOSEN_REFERENCE,
    CHOSEN_SAMPLED,
    REJECTED_CONSTRUCTED,
    REJECTED_SAMPLED_GROUP,
    REJECTED_SAMPLED_OTHER,
    build_pairs,
    choose_pair,
    parse_samples,
)


@pytest.fixture(scope="module")
def entry(dev_entries):
    # the first dev entry: reference <Advertising>.<MultipleTeamsCallingTest>.<logoutUser>, group of two
    return dev_entries[0]


def test_sft_record_is_the_evaluation_prompt_and_the_reference_call(entry):
    rec = sft_record(entry, "ratings")
    assert rec["prompt"] == entry_messages(entry, "ratings")
    assert rec["prompt"][0]["content"] == entry.instruction_ratings  # byte-identical to the release
    assert rec["completion"] == [{"role": "assistant", "content": entry.reference.to_json()}]
    assert [r["setting"] for r in sft_records([entry])] == ["preferred", "ratings", "chronological"]


def test_shorten_keeps_the_group_and_the_latest_history(entry):
    short = shorten_entry(entry, max_history=1, max_candidates=2, seed=0)
    names = set(short.candidate_names)
    assert entry.reference.tool_name in names and set(entry.same_func_names) <= names
    assert len(short.candidates) == max(2, len(set(entry.same_func_names)))
    assert short.history("chronological") == entry.history("chronological")[-1:]
    # the shortened entry is a coherent release record: its prompt embeds exactly its own parts
    assert short.instruction_preferred == entry_messages(short, "preferred")[0]["content"]
    assert json.loads(short.apis_candidate)[0]["tool_name"] in names
    assert shorten_entry(entry, None, None).instruction_preferred == entry.instruction_preferred


def _texts(*calls: tuple[str, dict] | str) -> list[str]:
    return [c if isinstance(c, str) else json.dumps({"tool_name": c[0], "parameters": c[1]}) for c in calls]


def test_pair_rules(entry):
    ref = entry.reference
    other_group = next(n for n in entry.same_func_names if n != ref.tool_name)
    stranger = next(n for n in entry.candidate_names if n not in entry.same_func_names)
    # a sampled preferred call wins over the reference; a same-group mistake over another tool's
    samples = parse_samples(_texts((stranger, {}), (ref.tool_name, {"x": 1}), (other_group, {}), "not a call"))
    chosen, rejected, src = choose_pair(entry, samples)
    assert (chosen.tool_name, chosen.parameters) == (ref.tool_name, {"x": 1})
    assert rejected.tool_name == other_group
    assert src == {"chosen": CHOSEN_SAMPLED, "rejected": REJECTED_SAMPLED_GROUP}
    # only a stranger is wrong: it is the rejected call; no preferred sample: the reference is chosen
    chosen, rejected, src = choose_pair(entry, parse_samples(_texts((stranger, {"a": 2}))))
    assert chosen == ref and rejected.tool_name == stranger
    assert src == {"chosen": CHOSEN_REFERENCE, "rejected": REJECTED_SAMPLED_OTHER}
    # nothing wrong sampled: the rejected call is the reference's parameters under a group rival's name
    chosen, rejected, src = choose_pair(entry, parse_samples(_texts((ref.tool_name, ref.parameters))))
    assert rejected == ToolCall(tool_name=other_group, parameters=ref.parameters)
    assert src["rejected"] == REJECTED_CONSTRUCTED


def test_build_pairs_counts_every_source(entry):
    ref = entry.reference
    samples = [_texts((ref.tool_name, ref.parameters), "junk"), _texts("junk", "junk")]
    pairs, counts = build_pairs([entry], ["preferred", "ratings"], samples)
    assert len(pairs) == 2 and counts["pairs"] == 2
    assert counts["samples"] == 4 and counts["samples_invalid"] == 3 and counts["samples_preferred_tool"] == 1
    assert counts[f"chosen:{CHOSEN_SAMPLED}"] == 1 and counts[f"chosen:{CHOSEN_REFERENCE}"] == 1
    assert counts[f"rejected:{REJECTED_CONSTRUCTED}"] == 2
    assert pairs[1]["prompt"] == entry_messages(entry, "ratings")
    with pytest.raises(ValueError, match="sample lists"):
        build_pairs([entry], ["preferred"], samples)


def test_config_from_profile_and_overrides(tmp_path):
    prof = tmp_path / "p.yaml"
    prof.write_text(
        "profile: x\nrun_dir: runs/x\nseed: 3\ndata: null\n"
        "params:\n  08_sft_qlora:\n    sft: {learning_rate: 0.001, lora: {r: 8}}\n  09_dpo:\n    dpo: {beta: 0.2}\n"
    )
    sft = load_config("sft", prof, ["limit=16", "lora.alpha=4", "settings=[preferred]"])
    assert isinstance(sft, SFTParams)
    assert (sft.run_dir, sft.seed, sft.learning_rate, sft.limit, sft.settings) == ("runs/x", 3, 0.001, 16, ["preferred"])
    assert (sft.lora.r, sft.lora.alpha, sft.lora.dropout) == (8, 4, 0.05)
    dpo = load_config("dpo", prof)
    assert isinstance(dpo, DPOParams) and dpo.beta == 0.2 and dpo.loss_type == "sigmoid"
    assert dpo.resolved_sft_adapter().as_posix() == "runs/x/train/sft/adapter"
    with pytest.raises(ValueError, match="learning_rat"):
        load_config("sft", None, ["learning_rat=1"])


def test_paper_profile_holds_the_paper_hyperparameters():
    from petool_utils.paths import REPO_ROOT

    sft = load_config("sft", REPO_ROOT / "params" / "paper.yaml")
    assert (sft.learning_rate, sft.lr_scheduler_type, sft.warmup_ratio, sft.num_train_epochs) == (1e-4, "cosine", 0.1, 1)
    assert (sft.per_device_train_batch_size, sft.gradient_accumulation_steps, sft.max_length) == (2, 8, 4096)
    assert sft.quantization == "auto" and sft.lora.target_modules == "all-linear" and sft.gradient_checkpointing
    dpo = load_config("dpo", REPO_ROOT / "params" / "paper.yaml")
    assert (dpo.loss_type, dpo.beta, dpo.learning_rate, dpo.lr_scheduler_type, dpo.warmup_ratio) == ("sigmoid", 0.1, 5e-6, "cosine", 0.1)
    assert (dpo.per_device_train_batch_size, dpo.gradient_accumulation_steps) == (1, 32)
    assert dpo.temperature > 0 and dpo.num_samples > 1


def test_memory_estimate_from_the_8b_architecture():
    shape = LlamaShape()
    assert shape.total_params() == 8_030_261_248  # Llama-3.1-8B's published count
    assert lora_params(shape, 16) == 41_943_040  # 32 x 16 x (8192 + 5120 + 5120 + 8192 + 3 x 18432)
    assert nf4_bits_per_param(double_quant=True) == pytest.approx(4.127, abs=1e-3)
    assert nf4_bits_per_param(double_quant=False) == 4.5
    est = estimate_qlora_memory(seq_len=4096, micro_batch=2)
    # logits: 8192 tokens x 128256 x (2 + 4 + 4) bytes
    assert est.logits_gib == pytest.approx(8192 * 128256 * 10 / 1024**3)
    assert 15 < est.total_gib < 25
    no_ckpt = estimate_qlora_memory(seq_len=4096, micro_batch=2, gradient_checkpointing=False)
    assert no_ckpt.total_gib > est.total_gib + 20  # checkpointing is what makes 4k fit one GPU


def test_smoke_profile_uses_the_tested_tiny_settings():
    """The smoke profile runs what the tiny tests check; if one drifts, the other no longer proves it."""
    from petool_utils.paths import REPO_ROOT
    from petool_utils.training.config import TINY_DPO, TINY_SFT, from_mapping, to_dict

    smoke = REPO_ROOT / "params" / "smoke.yaml"
    for kind, tiny, cls in (("sft", TINY_SFT, SFTParams), ("dpo", TINY_DPO, DPOParams)):
        got = to_dict(load_config(kind, smoke))
        want = to_dict(from_mapping(cls, {**tiny, "run_dir": got["run_dir"]}))
        assert got == want


def test_training_entries_prefer_the_constructed_benchmark(tmp_path, dev_entries, dev_path):
    from petool_utils.benchmark.data import dump_entries
    from petool_utils.io import atomic_write_json
    from petool_utils.training.records import load_training_entries

    params = SFTParams(run_dir=str(tmp_path), data=str(dev_path), limit=2, offset=1, max_history=2)
    got = load_training_entries(params, params.run_dir)  # no benchmark/train.json yet: the released data
    assert [e.entry_id for e in got] == [e.entry_id for e in dev_entries[1:3]]
    assert all(len(e.history("ratings")) == 2 for e in got)
    atomic_write_json(tmp_path / "benchmark" / "train.json", dump_entries(dev_entries[10:14]))
    got = load_training_entries(params, params.run_dir)
    assert [e.entry_id for e in got] == [e.entry_id for e in dev_entries[11:13]]


def test_heldout_ablation_entries_follow_the_training_slice(tmp_path, dev_entries, dev_path):
    from petool_utils.benchmark.data import dump_entries
    from petool_utils.io import atomic_write_json
    from petool_utils.training.ablation import ablation_entries
    from petool_utils.training.config import to_dict

    params = SFTParams(run_dir=str(tmp_path), data=str(dev_path), limit=3, max_candidates=2)
    atomic_write_json(tmp_path / "train_entries.json", dump_entries(dev_entries[:3]))
    atomic_write_json(tmp_path / "manifest.json", {"params": to_dict(params)})
    held = ablation_entries(tmp_path, "heldout", limit=4)
    assert [e.entry_id for e in held] == [e.entry_id for e in dev_entries[3:7]]
    assert all(e.reference.tool_name in e.candidate_names for e in held)
    assert len(ablation_entries(tmp_path, "train")) == 3


def test_heldout_after_a_whole_training_set_is_the_test_data(tmp_path, dev_entries, dev_path):
    from petool_utils.benchmark.data import dump_entries
    from petool_utils.io import atomic_write_json
    from petool_utils.training.ablation import ablation_entries
    from petool_utils.training.config import to_dict

    # trained on all of `data`: nothing is held out, and saying so beats scoring the training set
    params = SFTParams(run_dir=str(tmp_path), data=str(dev_path))
    atomic_write_json(tmp_path / "train_entries.json", dump_entries(dev_entries))
    atomic_write_json(tmp_path / "manifest.json", {"params": to_dict(params)})
    with pytest.raises(ValueError, match="no entry outside"):
        ablation_entries(tmp_path, "heldout")
    # trained on a constructed benchmark: the released test data is held out, ids notwithstanding
    atomic_write_json(tmp_path / "benchmark" / "train.json", dump_entries(dev_entries[:2]))
    held = ablation_entries(tmp_path, "heldout", limit=3)
    assert [e.entry_id for e in held] == [e.entry_id for e in dev_entries[:3]]
