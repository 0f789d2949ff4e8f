"""Training pieces that need no model: records, pair rules, configs, the memory estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petool_utils.benchmark.data import ToolCall
from petool_utils.benchmark.prompts import entry_messages
from petool_utils import SETTINGS as SETTINGS_ALL
from petool_utils.paths import REPO_ROOT
from petool_utils.models.hf_backend import cpu_has_bf16
from petool_utils.training.ablation import ablation_variants
from petool_utils.training.config import DPOParams, SFTParams, from_mapping, load_config
from petool_utils.training.memory import LlamaShape, estimate_qlora_memory, kv_cache_gib, layer_slope_gib, lora_params, nf4_bits_per_param
from petool_utils.training.records import shorten_entry, sft_record, sft_records
from petool_utils.training.report import ablation_table_html, dpo_report_html, run_summary
from petool_utils.training.trainer import TrainResult
from petool_utils.training.sampling import (
    CHOSEN_EXACT,
    CHOSEN_REFERENCE,
    REJECTED_CONSTRUCTED,
    REJECTED_SAMPLED_GROUP,
    build_pairs,
    choose_pair,
    parse_samples,
)


@pytest.fixture(scope="module")
def entry(bench_entries):
    # the first entry whose group has a tool besides the reference (a rival to build a rejected call from);
    # on the dev slice the first entry: <Advertising>.<MultipleTeamsCallingTest>.<logoutUser>, group of two
    return next(e for e in bench_entries if set(e.same_func_names) - {e.reference.tool_name})


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


def test_build_pairs_counts_every_source(entry):
    ref = entry.reference
    samples = [_texts((ref.tool_name, ref.parameters), "junk"), _texts("junk", "junk")]
    pairs, counts = build_pairs([entry], ["preferred", "ratings"], samples)
    assert len(pairs) == 2 and counts["pairs"] == 2
    assert counts["samples"] == 4 and counts["samples_invalid"] == 3 and counts["samples_preferred_tool"] == 1
    assert counts[f"chosen:{CHOSEN_EXACT}"] == 1 and counts[f"chosen:{CHOSEN_REFERENCE}"] == 1
    assert counts[f"rejected:{REJECTED_CONSTRUCTED}"] == 2
    assert pairs[1]["prompt"] == entry_messages(entry, "ratings")
    with pytest.raises(ValueError, match="sample lists"):
        build_pairs([entry], ["preferred"], samples)


def test_config_from_profile_and_overrides(tmp_path):
    prof = tmp_path / "p.yaml"
    prof.write_text(
        "profile: x\nrun_dir: runs/x\nreport_dir: reports/x\nseed: 3\ndata: null\n"
        "params:\n  08_sft_qlora:\n    sft: {learning_rate: 0.001, lora: {r: 8}}\n  09_dpo:\n    dpo: {beta: 0.2}\n"
    )
    sft = load_config("sft", prof, ["limit=16", "lora.lora_alpha=4", "settings=[preferred]"])
    assert isinstance(sft, SFTParams)
    # the one profile reader resolves run_dir against the project root, as for notebooks and the CLI
    assert (sft.run_dir, sft.seed, sft.limit, sft.settings) == (str(REPO_ROOT / "runs" / "x"), 3, 16, ["preferred"])
    assert sft.trl == {"seed": 3, "learning_rate": 0.001}  # TRL's own fields, passed through as given
    assert sft.lora == {"r": 8, "lora_alpha": 4}
    dpo = load_config("dpo", prof)
    assert isinstance(dpo, DPOParams) and dpo.trl["beta"] == 0.2 and "loss_type" not in dpo.trl
    assert dpo.resolved_sft_adapter() == REPO_ROOT / "runs" / "x" / "train" / "sft" / "adapter"
    with pytest.raises(ValueError, match="unknown key 'learning_rat'.*did you mean learning_rate"):
        load_config("sft", None, ["learning_rat=1"])


def test_one_profile_reader_refuses_a_secret_in_a_training_profile(tmp_path):
    """`petool train --config` used to re-parse the YAML itself: no secret check, run_dir as given."""
    from petool_utils.params import ProfileError

    prof = tmp_path / "p.yaml"
    prof.write_text("profile: x\nrun_dir: runs/x\nreport_dir: r\nparams:\n  08_sft_qlora:\n"
                    "    sft: {learning_rate: 0.001, hub_token: hf_abcdefghijkl}\n")
    with pytest.raises(ProfileError, match=r"p.yaml: key 'params.08_sft_qlora.sft.hub_token': looks like a credential"):
        load_config("sft", prof)
    flat = tmp_path / "flat.yaml"
    flat.write_text("run_dir: runs/y\nlearning_rate: 0.001\napi_key: sk-abcdefghijkl\n")
    with pytest.raises(ProfileError, match="key 'api_key': looks like a credential"):
        load_config("sft", flat)
    flat.write_text("run_dir: runs/y\nlearning_rate: 0.001\n")
    assert load_config("sft", flat).run_dir == str(REPO_ROOT / "runs" / "y")
    prof.write_text("profile: x\nrun_dir: runs/x\nreport_dir: r\nsede: 1\nparams: {}\n")
    with pytest.raises(ProfileError, match="key 'sede'"):
        load_config("sft", prof)


def test_config_keys_are_petool_keys_or_trl_fields():
    """Every non-petool key must be a field of trl.SFTConfig / DPOConfig; DPO-only fields are not SFT's."""
    dpo = from_mapping("dpo", {"beta": 0.3, "loss_type": ["sigmoid"], "max_length": 512, "sampling": {"num_samples": 2}})
    assert dpo.trl == {"beta": 0.3, "loss_type": ["sigmoid"], "max_length": 512} and dpo.sampling.num_samples == 2
    with pytest.raises(ValueError, match="unknown key 'beta'"):
        from_mapping("sft", {"beta": 0.1})
    with pytest.raises(ValueError, match="unknown key 'warmup_ratio'.*warmup_steps"):
        from_mapping("sft", {"warmup_ratio": 0.1})
    with pytest.raises(ValueError, match="sampling key"):
        from_mapping("dpo", {"sampling": {"k": 8}})
    with pytest.raises(ValueError, match="peft.LoraConfig"):
        from_mapping("sft", {"lora": {"alpha": 8}})
    # the TRL objects are built from the passed-through keys, with only machine-dependent fields filled in
    from petool_utils.training.trainer import trl_args

    args = trl_args("dpo", dpo.trl, __import__("pathlib").Path("/tmp/x"), 5, progress=False)
    assert (args.beta, args.max_length, args.seed, args.use_cpu, args.bf16) == (0.3, 512, 5, True, False)
    assert args.learning_rate == 1e-6  # DPOConfig's own default: petool declares no copy of it


def test_paper_profile_holds_the_paper_hyperparameters():
    from petool_utils.paths import REPO_ROOT
    from petool_utils.training.trainer import trl_args

    sft = load_config("sft", REPO_ROOT / "params" / "paper.yaml")
    a = trl_args("sft", sft.trl, REPO_ROOT / "runs" / "x", sft.seed, progress=False)
    assert (a.learning_rate, str(a.lr_scheduler_type.value), a.warmup_steps, a.num_train_epochs) == (1e-4, "cosine", 0.1, 1)
    assert (a.per_device_train_batch_size, a.gradient_accumulation_steps, a.max_length) == (2, 8, 4096)
    assert a.gradient_checkpointing and a.save_steps == 200
    assert sft.quantization == "auto" and sft.lora["target_modules"] == "all-linear" and sft.lora["r"] == 16
    dpo = load_config("dpo", REPO_ROOT / "params" / "paper.yaml")
    d = trl_args("dpo", dpo.trl, REPO_ROOT / "runs" / "x", dpo.seed, progress=False)
    assert (d.loss_type, d.beta, d.learning_rate, str(d.lr_scheduler_type.value), d.warmup_steps) == (["sigmoid"], 0.1, 5e-6, "cosine", 0.1)
    assert (d.per_device_train_batch_size, d.gradient_accumulation_steps, d.max_length) == (1, 32, 4096)
    assert dpo.sampling.temperature > 0.1 and dpo.sampling.num_samples == 8 and dpo.sampling.max_tokens == 256
    assert dpo.sampling.sample_batch_size <= 8  # one prompt x K samples at a time (KV cache, docs/training.md)


def test_memory_estimate_from_the_8b_architecture():
    shape = LlamaShape()
    assert shape.total_params() == 8_030_261_248  # Llama-3.1-8B's published count
    assert lora_params(shape, 16) == 41_943_040  # 32 x 16 x (8192 + 5120 + 5120 + 8192 + 3 x 18432)
    assert nf4_bits_per_param(double_quant=True) == pytest.approx(4.127, abs=1e-3)
    assert nf4_bits_per_param(double_quant=False) == 4.5
    est = estimate_qlora_memory(seq_len=4096, micro_batch=2)
    gib = 1024**3
    # prepare_model_for_kbit_training upcasts embeddings and lm_head to fp32: 2 x 128256 x 4096 x 4 bytes
    assert est.embeddings_fp32_gib == pytest.approx(2 * 128256 * 4096 * 4 / gib)
    # the fp32 residual stream: 32 layers x 8192 tokens x 4096 x 4 bytes = 4 GiB (twice the bf16 figure)
    assert est.checkpointed_activations_gib == pytest.approx(4.0)
    # TRL 1.16 scores only the completion positions: 2 x 64 tokens x 128256 x (4 + 4) bytes, no 9.8 GiB term
    assert est.completion_logits_gib == pytest.approx(2 * 64 * 128256 * 8 / gib) and est.completion_logits_gib < 0.2
    assert est.total_gib == pytest.approx(14.67, abs=0.01)  # "about 14 GiB at micro-batch 2"
    assert est.allocated_gib == pytest.approx(est.total_gib - 1.0)
    assert estimate_qlora_memory(seq_len=4096, micro_batch=1).total_gib == pytest.approx(11.78, abs=0.01)
    no_ckpt = estimate_qlora_memory(seq_len=4096, micro_batch=2, gradient_checkpointing=False)
    assert no_ckpt.total_gib > est.total_gib + 40  # checkpointing is what makes 4k fit one GPU
    # the per-layer slope the GPU smoke extrapolates with: (fp32 residual + NF4 weights + LoRA) per layer
    assert layer_slope_gib() == pytest.approx((est.total_gib - estimate_qlora_memory(shape.with_layers(0)).total_gib) / 32)
    # DPO sampling: K = 8 samples of one 4,096-token prompt (+256 new) hold 8 x 4352 x 128 KiB of KV cache
    assert kv_cache_gib() == pytest.approx(8 * 4352 * 128 * 1024 / gib) == pytest.approx(4.25)
    assert kv_cache_gib(sequences=64) == pytest.approx(34.0)  # 8 prompts x 8 samples: the old default


def test_smoke_profile_uses_the_tested_tiny_settings():
    """The smoke profile runs what the tiny tests check; if one drifts, the other no longer proves it."""
    from petool_utils.paths import REPO_ROOT
    from petool_utils.training.config import TINY_DPO, TINY_SFT, to_dict

    smoke = REPO_ROOT / "params" / "smoke.yaml"
    for kind, tiny in (("sft", TINY_SFT), ("dpo", TINY_DPO)):
        got = to_dict(load_config(kind, smoke))
        want = to_dict(from_mapping(kind, {**tiny, "run_dir": got["run_dir"], "seed": got["seed"]}))
        assert got == want


def test_heldout_ablation_entries_follow_the_training_slice(tmp_path, bench_large_entries, bench_large_path):
    # 3 entries trained on, the next 4 held out: more than the smoke split has
    from petool_utils.benchmark.data import dump_entries
    from petool_utils.io import atomic_write_json
    from petool_utils.training.ablation import ablation_entries
    from petool_utils.training.config import to_dict

    params = from_mapping("sft", {"run_dir": str(tmp_path), "data": str(bench_large_path), "limit": 3, "max_candidates": 2,
                                  "base_model": "tiny", "allow_test_data": True})
    atomic_write_json(tmp_path / "train_entries.json", dump_entries(bench_large_entries[:3]))
    atomic_write_json(tmp_path / "manifest.json", {"params": to_dict(params), "training_data": {"source": "released_test"}})
    held = ablation_entries(tmp_path, "heldout", limit=4)
    assert [e.entry_id for e in held] == [e.entry_id for e in bench_large_entries[3:7]]
    assert all(e.reference.tool_name in e.candidate_names for e in held)
    assert len(ablation_entries(tmp_path, "train")) == 3


def test_heldout_after_a_whole_training_set_is_the_test_data(tmp_path, bench_entries, bench_path):
    from petool_utils.benchmark.data import dump_entries
    from petool_utils.io import atomic_write_json
    from petool_utils.training.ablation import ablation_entries
    from petool_utils.training.config import to_dict

    # trained on all of `data`: nothing is held out, and saying so beats scoring the training set
    params = from_mapping("sft", {"run_dir": str(tmp_path), "data": str(bench_path)})
    atomic_write_json(tmp_path / "train_entries.json", dump_entries(bench_entries))
    atomic_write_json(tmp_path / "manifest.json", {"params": to_dict(params), "training_data": {"source": "released_test"}})
    with pytest.raises(ValueError, match="no entry outside"):
        ablation_entries(tmp_path, "heldout")
    # trained on a constructed benchmark: the released test data is held out, ids notwithstanding
    atomic_write_json(tmp_path / "manifest.json", {"params": to_dict(params), "training_data": {"source": "constructed"}})
    held = ablation_entries(tmp_path, "heldout", limit=3)
    assert [e.entry_id for e in held] == [e.entry_id for e in bench_entries[:3]]


def _released_sft_files(folder, entries):
    """The authors' per-setting LLaMA-Factory files (alpaca layout) for ``entries``, one file per setting."""
    from petool_utils.benchmark.data import SETTING_FILE_SUFFIX

    folder.mkdir(parents=True, exist_ok=True)
    for setting, c in SETTING_FILE_SUFFIX.items():
        rows = [{"instruction": e.prompt(setting), "input": e.query, "output": e.reference.to_json()} for e in entries]
        (folder / f"user_entries_sft_{c}.json").write_text(json.dumps(rows), encoding="utf-8")
    return folder


def test_limit_and_max_records_keep_the_settings_balanced_on_per_setting_files(tmp_path, bench_entries):
    """Read file after file, limit 6 used to give 6 preferred records and no other setting."""
    from collections import Counter

    from petool_utils.training.data import read_train_data, select
    from petool_utils.training.records import training_sft_records

    folder = _released_sft_files(tmp_path / "released", bench_entries[:5])
    entries, _ = read_train_data(folder, "sft")
    assert [next(iter(e.histories)) for e in entries[:5]] == ["chronological"] * 5  # file order: _c, _p, _r
    params = from_mapping("sft", {"train_data": str(folder), "limit": 6})
    chosen = select(entries, params)
    assert Counter(next(iter(e.histories)) for e in chosen) == {"preferred": 2, "ratings": 2, "chronological": 2}
    records = training_sft_records(select(entries, from_mapping("sft", {"train_data": str(folder)})), SETTINGS_ALL)[:9]
    assert Counter(r["setting"] for r in records) == {"preferred": 3, "ratings": 3, "chronological": 3}
    # the i-th record of each setting comes from the i-th released record of that file
    assert [r["entry_id"] for r in records[:3]] == ["user_entries_sft_c.json#0", "user_entries_sft_p.json#0",
                                                    "user_entries_sft_r.json#0"]


def test_adapters_are_evaluated_on_the_precision_they_were_trained_on(tmp_path):
    """The hf backend takes an adapter's prompt budget, base precision (4-bit NF4 or not) and CPU bf16
    autocast from its petool_training.json unless told otherwise; before, every adapter was evaluated on a
    full-precision base, a QLoRA adapter included."""
    from petool_utils.models.hf_backend import TRAINING_INFO_FILE, trained_defaults

    (tmp_path / TRAINING_INFO_FILE).write_text(json.dumps({"prompt_budget": 900, "quantization": "4bit",
                                                           "bf16_autocast": True}))
    assert trained_defaults(tmp_path, None, None, None) == (900, "4bit", "bf16")
    assert trained_defaults(tmp_path, 500, "none", False) == (500, "none", "none")  # told otherwise
    assert trained_defaults(tmp_path, None, None, "auto") == (900, "4bit", "auto")  # --autocast auto wins
    assert trained_defaults(None, None, None, None) == (4000, "none", "none")  # no adapter: as before
    assert trained_defaults(tmp_path / "elsewhere", None, None, None) == (4000, "none", "none")


def test_a_changed_config_never_resumes_stale_checkpoints(tmp_path):
    """Checkpoints live under checkpoints/config-<hash of the section and the rows>: a rerun with another
    learning rate or other data finds none to resume; saving and logging keys are not part of the hash."""
    from types import SimpleNamespace

    from petool_utils.training.trainer import config_hash, latest_checkpoint, pin_checkpoints

    root = tmp_path / "checkpoints"
    (root / "checkpoint-4").mkdir(parents=True)  # the layout before the hash: never resumed now
    rows = [{"prompt": "p", "completion": "c"}]
    args = SimpleNamespace(output_dir=str(root))
    info = pin_checkpoints(args, {"learning_rate": 1e-4, "logging_steps": 1, "save_steps": 10}, rows)
    assert args.output_dir == str(root / f"config-{info['config_hash']}") and latest_checkpoint(args.output_dir) is None
    assert info["stale_checkpoints_not_resumed"] == [str(root / "checkpoint-4")]
    assert config_hash({"learning_rate": 1e-4, "logging_steps": 50}, rows) == info["config_hash"]
    assert config_hash({"learning_rate": 2e-4}, rows) != info["config_hash"]
    assert config_hash({"learning_rate": 1e-4}, [{"prompt": "q", "completion": "c"}]) != info["config_hash"]


def test_every_dpo_artifact_reports_the_share_of_built_rejected_calls(bench_entries):
    """Two instructions: one whose rival was sampled, one with none sampled. With build_rejected (the
    default, explicit) the second gets a built rival: half sampled, half built; without it, no pair."""
    from petool_utils.training.sampling import NO_PAIR, count_sources, rejected_shares

    e = next(x for x in bench_entries if set(x.same_func_names) - {x.reference.tool_name})
    rival = sorted(set(e.same_func_names) - {e.reference.tool_name})[0]
    samples = [_texts((rival, {"x": 1})), _texts("junk")]
    pairs, counts = build_pairs([e], ["preferred", "ratings"], samples)
    assert rejected_shares(counts) == {"sampled": 0.5, "built": 0.5, "released": 0.0}
    assert count_sources(pairs)["rejected_shares"] == rejected_shares(counts)  # a pairs file read back says the same
    pairs, counts = build_pairs([e], ["preferred", "ratings"], samples, build_rejected=False)
    assert len(pairs) == 1 and counts[f"rejected:{NO_PAIR}"] == 1
    assert rejected_shares(counts) == {"sampled": 1.0, "built": 0.0, "released": 0.0}
    assert from_mapping("dpo", {}).sampling.build_rejected is True  # the paper's rule, stated as an option


def test_checkpoint_hash_covers_the_section_as_given():
    """A key petool adds later with a default must not orphan a run's checkpoints; a changed value must."""
    from petool_utils.training.config import given_section

    sft = from_mapping("sft", {"limit": 16, "learning_rate": 3e-4, "layout": "system_user"})
    assert given_section(sft) == {"limit": 16, "learning_rate": 3e-4}  # layout at its default: not part of it
    assert given_section(from_mapping("sft", {"limit": 16, "learning_rate": 3e-4, "layout": "user_only"}))["layout"] == "user_only"
    dpo = from_mapping("dpo", {"sampling": {"num_samples": 4, "build_rejected": True}})
    assert given_section(dpo) == {"sampling": {"num_samples": 4}}


def test_the_authors_training_layout_is_one_user_turn(bench_entries):
    """layout user_only: instruction (the setting's prompt) + "\\n" + input (the query) in one user turn,
    as LLaMA-Factory's alpaca converter builds it from the released files; system_user stays the default."""
    from petool_utils.benchmark.prompts import USER_ONLY, apply_layout
    from petool_utils.training.records import TRAINER_COLUMNS_SFT, trainer_rows

    e = bench_entries[0]
    rec = sft_record(e, "preferred")
    released = {"instruction": e.instruction_preferred, "input": e.query}  # a user_entries_sft_p.json record
    (row,) = trainer_rows([rec], TRAINER_COLUMNS_SFT, USER_ONLY)
    assert row["prompt"] == [{"role": "user", "content": "\n".join([released["instruction"], released["input"]])}]
    assert row["completion"] == rec["completion"]
    assert trainer_rows([rec], TRAINER_COLUMNS_SFT)[0]["prompt"] == entry_messages(e, "preferred")  # the default
    assert from_mapping("sft", {}).layout == "system_user"
    with pytest.raises(ValueError, match="layout must be"):
        from_mapping("sft", {"layout": "alpaca"})
    assert apply_layout([{"role": "user", "content": "q"}], USER_ONLY) == [{"role": "user", "content": "q"}]


def test_small_llm_profile_trains_smollm2_under_one_length_rule():
    from petool_utils.paths import REPO_ROOT
    from petool_utils.params import load_profile
    from petool_utils.training.config import prompt_budget
    from petool_utils.training.trainer import trl_args

    prof = load_profile("small-llm")
    assert prof.params["07_evaluation"]["models"][-1] == "hf:smollm2"
    path = REPO_ROOT / "params" / "small-llm.yaml"
    sft, dpo = load_config("sft", path), load_config("dpo", path)
    assert sft.base_model == "smollm2" and sft.quantization == "none" and sft.layout == "system_user"
    a = trl_args("sft", sft.trl, REPO_ROOT / "runs" / "x", sft.seed, progress=False)
    d = trl_args("dpo", dpo.trl, REPO_ROOT / "runs" / "x", dpo.seed, progress=False)
    assert prompt_budget(a.max_length, sft) == prompt_budget(d.max_length, dpo) == 1152  # one budget, both stages
    # bf16: auto, resolved by the CPU's instructions (emulated bf16 made a step 17x slower on an AVX2-only CPU)
    assert a.use_cpu and sft.trl["bf16"] == dpo.trl["bf16"] == "auto"
    assert a.bf16 is d.bf16 is cpu_has_bf16()
    assert d.disable_dropout is False and dpo.lora["lora_dropout"] == 0.05
    assert dpo.sampling.max_tokens == dpo.answer_tokens == 128
    # the second pass over the pairs after training is skipped here (CPU time) and on by default
    assert dpo.evaluate_after is False and load_config("dpo", REPO_ROOT / "params" / "offline.yaml").evaluate_after is True


def test_bf16_auto_follows_the_cpu_and_an_explicit_bf16_on_a_cpu_without_it_warns(monkeypatch, tmp_path):
    from petool_utils.training import trainer

    monkeypatch.setattr(trainer, "has_cuda", lambda: False)
    for has in (True, False):
        monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: has)
        assert trainer.trl_args("sft", {"bf16": "auto", "report_to": []}, tmp_path, 0, progress=False).bf16 is has
    with pytest.warns(UserWarning, match="17x slower"):
        assert trainer.trl_args("sft", {"bf16": True, "report_to": []}, tmp_path, 0, progress=False).bf16 is True
    # hashed as what auto resolved to: the same folder as an explicit bf16: false on this CPU
    args = trainer.trl_args("sft", {"bf16": "auto", "report_to": []}, tmp_path, 0, progress=False)
    auto = trainer.pin_checkpoints(args, {"bf16": "auto", "learning_rate": 1e-4}, [])["config_hash"]
    assert auto == trainer.config_hash({"bf16": False, "learning_rate": 1e-4}, [])


def _run(out: Path, label: str = "tiny-llama stand-in") -> TrainResult:
    return TrainResult(output_dir=out, adapter_dir=out / "adapter", base_model=Path("base"), model_label=label,
                       n_records=3, extra={"pair_sources": {"chosen:sampled": 2, "rejected:built": 1}})


def test_the_dpo_only_row_trains_from_the_base_on_the_sft_dpo_pairs(tmp_path):
    """Notebook 09's Table 4 rows: the paper's order, and DPO only = init base, its own stage folder, the
    SFT+DPO run's pairs; every other field of the section unchanged."""
    cfg = DPOParams(run_dir=str(tmp_path), stage_dir=str(tmp_path / "dpo"), lora={"r": 4}, pairs_path=None)
    sft_dpo = _run(tmp_path / "dpo")
    seen = []

    def train(params):
        seen.append(params)
        return _run(tmp_path / "dpo_only")

    variants, only = ablation_variants(cfg, sft_dpo, True, train=train)
    assert list(variants) == ["base (no training)", "SFT only", "DPO only", "SFT+DPO"]
    assert variants == {"base (no training)": None, "SFT only": tmp_path / "train" / "sft" / "adapter",
                        "DPO only": tmp_path / "dpo_only" / "adapter", "SFT+DPO": tmp_path / "dpo" / "adapter"}
    (params,) = seen
    assert (params.init, params.stage_dir, params.pairs_path) == ("base", None, str(tmp_path / "dpo" / "pairs.jsonl"))
    assert params.resolved_stage_dir() == tmp_path / "train" / "dpo_only"
    assert params.lora == {"r": 4} and only.output_dir == tmp_path / "dpo_only"
    seen.clear()
    variants, only = ablation_variants(cfg, sft_dpo, False, train=train)
    assert list(variants) == ["base (no training)", "SFT only", "SFT+DPO"] and only is None and seen == []


def test_the_dpo_report_section_holds_sources_run_curve_and_ablation_in_order(tmp_path):
    import pandas as pd
    table = pd.DataFrame([{"variant": "SFT only", "setting": "preferred", "n": 4, "tool_acc": 0.5, "param_acc": 0.25,
                           "call_acc": 0.25, "invalid_format": 0.0, "spec": "hf:base@adapter"}])
    ablation = ablation_table_html(table, "tiny-llama stand-in", 4, "train")
    assert ablation.startswith("<h4>Ablation, tiny-llama stand-in, 4 train entries</h4>")
    assert "<td>50.0</td>" in ablation and "<td>25.0</td>" in ablation and "hf:base@adapter" not in ablation

    class Fig:
        def to_html(self, full_html, include_plotlyjs):
            assert (full_html, include_plotlyjs) == (False, False)  # the report's one shared plotly.js
            return "<div>margin curve</div>"

    result = _run(tmp_path)
    html = dpo_report_html(result, Fig(), ablation)
    marks = ["<h4>DPO pair sources</h4>", "chosen:sampled", "<caption>SFT+DPO run: tiny-llama stand-in</caption>",
             "<div>margin curve</div>", "<h4>Ablation"]
    assert [html.index(m) for m in marks] == sorted(html.index(m) for m in marks)
    assert "pair_sources" not in run_summary(result) and run_summary(result)["records"] == 3
