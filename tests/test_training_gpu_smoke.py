"""The GPU smoke's pieces that need no GPU and no model: the synthetic train split, exact-length
conversations, the layer extrapolation and the report that writes docs/training.md's block.
(The whole script has a ``--cpu-dry-run``; it takes minutes, so it is not part of the suite.)"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

from petool_utils.paths import REPO_ROOT


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_synthetic_train_split_is_a_valid_release_layout():
    from petool_utils.benchmark.data import parse_entry
    from petool_utils.benchmark.prompts import entry_messages

    smoke = _load("gpu_smoke")
    rows = smoke.synthetic_train_split(12, 0)
    entries = [parse_entry(r) for r in rows]
    for e in entries:
        assert e.reference.tool_name in e.candidate_names and e.reference.tool_name in e.same_func_names
        assert len(set(e.same_func_names)) == 3 and len(e.history("ratings")) == 3
        assert entry_messages(e, "preferred")[0]["content"] == e.instruction_preferred
    assert rows == smoke.synthetic_train_split(12, 0)  # seeded


def test_word_tokenizer_gives_conversations_of_exact_length(tmp_path):
    pytest.importorskip("transformers")
    smoke = _load("gpu_smoke")
    tok = smoke.word_tokenizer(tmp_path)
    prompt, a, b = smoke.sized_conversation(tok, 300, 16, random.Random(0))
    for ans in (a, b):
        assert len(tok.apply_chat_template(prompt + ans, tokenize=True, return_dict=False)) == 300
        assert len(tok(ans[0]["content"], add_special_tokens=False)["input_ids"]) == 16


def test_extrapolation_is_linear_in_the_layer_count():
    smoke = _load("gpu_smoke")
    assert smoke.extrapolate({2: 6.0, 4: 6.5}, 32) == pytest.approx(13.5)  # 6.0 + 30 x 0.25
    assert smoke.extrapolate({4: 6.5, 2: 6.0}, 2) == pytest.approx(6.0)
    assert smoke.extrapolate({2: None, 4: 6.5}, 32) is None


def test_report_writes_the_marked_block_and_refuses_a_dry_run(tmp_path):
    report = _load("gpu_smoke_report")
    summary = {"mode": "gpu", "started": "2026-11-28T10:00:00", "elapsed_s": 250.0, "parts": {
        "environment": {"ok": True, "gpu": "NVIDIA H100 80GB HBM3", "gpu_memory_gib": 79.2, "torch": "2.11.0", "cuda": "13.0"},
        "petool_train_sft_dpo": {"ok": True, "sft": {"wall_s": 40.0, "cuda_peak_allocated_gib": 0.2, "trainable_dtypes_at_start": {"float32": 28}},
                                 "dpo": {"wall_s": 50.0, "reward_margin_first_step": 0.0, "reward_margin_after": 0.01},
                                 "dpo_changed_lora_A": 0.999, "dpo_changed_lora_B": 1.0, "checks": {"dpo_margin_0_at_step_1": True}},
        "memory_probe_8b_shape": {"ok": False, "error": "RuntimeError: out of time", "seq_len": 4096, "micro_batch": 2,
                                  "by_layers": {"2": {"sft": {"peak_allocated_gib": 6.1}, "estimate_allocated_gib": 5.9}},
                                  "extrapolated_32_layers": {"sft_peak_allocated_gib": 13.9}, "estimate_32_layers": {"allocated_gib": 13.67}}}}
    block = report.render(summary)
    assert "NVIDIA H100 80GB HBM3" in block and "| 2 | SFT | 6.100 |" in block and "13.90 GiB allocated" in block
    assert "`memory_probe_8b_shape` did not complete: RuntimeError: out of time" in block
    doc = tmp_path / "training.md"
    doc.write_text("before\n<!-- gpu-smoke:begin -->\nold\n<!-- gpu-smoke:end -->\nafter\n")
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    assert report.main.__module__  # the CLI entry exists
    import sys

    argv = sys.argv
    try:
        sys.argv = ["gpu_smoke_report.py", str(path), "--doc", str(doc)]
        assert report.main() == 0
        text = doc.read_text()
        assert text.startswith("before\n<!-- gpu-smoke:begin -->\n_Written by `scripts/gpu_smoke_report.py")
        assert text.endswith("after\n")
        assert "old" not in text and "13.90 GiB allocated" in text
        path.write_text(json.dumps({**summary, "mode": "cpu-dry-run"}))
        assert report.main() == 2  # CPU rehearsal numbers are not GPU figures
    finally:
        sys.argv = argv


def test_docs_blocks_are_the_scripts_output():
    """docs/training.md's memory block is what the script writes today (numbers are never typed in)."""
    numbers = _load("training_doc_numbers")
    doc = (REPO_ROOT / "docs" / "training.md").read_text()
    block = doc.split("<!-- memory-estimate:begin -->", 1)[1].split("<!-- memory-estimate:end -->")[0]
    assert block.strip().split("\n\n", 1)[1] == numbers.memory_block().strip()  # after the "Written by" line
    assert Path(REPO_ROOT / "scripts" / "gpu_smoke.sh").read_text().count("--cpu-dry-run") >= 2
