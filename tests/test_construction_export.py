"""SFT/DPO records from any benchmark in the release layout, and the LLaMA-Factory registry."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from petool_utils import SETTINGS
from petool_utils.construction.export import (dpo_records_from_reference, llamafactory_dataset_info, sft_records,
                                              split_users, to_trl_dpo, to_trl_sft)
from petool_utils.benchmark.parsing import parse_reference


def test_sft_records_from_the_release(dev_entries):
    entries = dev_entries[:20]
    recs = sft_records(entries, SETTINGS)
    assert len(recs) == 60
    e, r = entries[0], recs[1]
    assert (r["setting"], r["entry_id"]) == ("ratings", str(e.entry_id))
    assert r["instruction"] == e.instruction_ratings and r["input"] == e.query and r["generator"] is None
    parsed = parse_reference(r["output"])  # the scorer's own parser reads the target back
    assert parsed.ok and parsed.tool_name == e.reference.tool_name and parsed.parameters == e.reference.parameters
    none = sft_records(entries[:1], ["none"])[0]
    assert "Interaction history" not in none["instruction"]


def test_dpo_rejects_a_non_preferred_tool_of_the_group(dev_entries):
    recs = dpo_records_from_reference(dev_entries, ["preferred"], rng=0)
    by_id = {str(e.entry_id): e for e in dev_entries}
    with_alternatives = [e for e in dev_entries if len(set(e.same_func_names) - {e.reference.tool_name}) > 0]
    assert len(recs) == len(with_alternatives) > 0
    for r in recs:
        e = by_id[r["entry_id"]]
        rejected = json.loads(r["rejected"])
        assert rejected["tool_name"] in e.same_func_names and rejected["tool_name"] != e.reference.tool_name
        assert rejected["parameters"] == e.reference.parameters and json.loads(r["chosen"]) == json.loads(e.reference.to_json())
    assert recs == dpo_records_from_reference(dev_entries, ["preferred"], rng=0)


def test_trl_conversions_keep_the_evaluation_message_layout():
    rec = {"instruction": "SYS", "input": "Q", "output": "A", "chosen": "C", "rejected": "R"}
    assert to_trl_sft([rec]) == [{"prompt": [{"role": "system", "content": "SYS"}, {"role": "user", "content": "Q"}],
                                  "completion": [{"role": "assistant", "content": "A"}]}]
    d = to_trl_dpo([rec])[0]
    assert d["chosen"] == [{"role": "assistant", "content": "C"}] and d["rejected"][0]["content"] == "R"


def test_llamafactory_registry_maps_prompt_to_system():
    info = llamafactory_dataset_info()
    sft = info["sft"]["petool_sft_train"]
    assert sft == {"file_name": "train.json", "formatting": "alpaca",
                   "columns": {"prompt": "input", "system": "instruction", "response": "output"}}
    assert info["dpo"]["petool_dpo_test"]["ranking"] is True


def test_split_by_user_is_disjoint_and_seeded():
    ids = [f"u{i}" for i in range(10)]
    train, test = split_users(ids, 0.3, seed=4)
    assert len(test) == 3 and not train & test and train | test == set(ids)
    assert split_users(ids, 0.3, seed=4) == (train, test) and split_users(ids, 0.3, seed=5) != (train, test)


@pytest.mark.skipif(not os.environ.get("PETOOL_LLAMAFACTORY_PYTHON"),
                    reason="opt-in: set PETOOL_LLAMAFACTORY_PYTHON to a throwaway venv's python with llamafactory")
def test_exports_load_in_llamafactory(tmp_path):
    """Runs scripts/check_llamafactory.py (LLaMA-Factory's own loader and tokenizer) on a small build."""
    from petool_utils.construction import pipeline

    rd = tmp_path / "run"
    pipeline.stage01_prepare(rd)
    pipeline.stage02_understand(rd, progress=False)
    pipeline.stage03_cluster(rd, embedder="tfidf", eps=0.5, eps_values=[0.5])
    pipeline.stage04_preferences(rd, embedder="tfidf", n_users=4, groups_per_user=2)
    pipeline.stage05_create(rd, embedder="tfidf", items_per_group=2, trl=False, progress=False)
    script = Path(__file__).resolve().parent.parent / "scripts" / "check_llamafactory.py"
    out = subprocess.run([os.environ["PETOOL_LLAMAFACTORY_PYTHON"], str(script), str(rd)], capture_output=True,
                         text=True, timeout=600, env=dict(os.environ, DISABLE_VERSION_CHECK="1"))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count("[ok]") == 8  # 4 datasets aligned + tokenized
