"""SFT/DPO records from any benchmark in the release layout, and the LLaMA-Factory registry."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from petool_utils import SETTINGS
from petool_utils.benchmark.prompts import entry_messages, entry_prompt
from petool_utils.construction.export import (OFFICIAL_DATASET_INFO, dpo_records_from_reference,
                                              llamafactory_dataset_info, official_records, sft_records, split_users,
                                              to_alpaca_dpo, to_alpaca_sft, to_trl_dpo, to_trl_sft, write_official)
from petool_utils.benchmark.parsing import parse_reference
from petool_utils.training.records import sft_record


def load_official(folder: Path) -> dict[str, list[dict]]:
    """LLaMA-Factory's loader semantics on a ``dataset_info.json``: for each dataset, read ``file_name`` and map
    ``columns`` (dataset column name -> field name in the file); every record must have every mapped field."""
    info = json.loads((folder / "dataset_info.json").read_text())
    out = {}
    for name, spec in info.items():
        rows = json.loads((folder / spec["file_name"]).read_text())
        mapped = []
        for r in rows:
            assert all(field in r for field in spec["columns"].values()), (name, r.keys())
            mapped.append({col: r[field] for col, field in spec["columns"].items()})
        out[name] = mapped
    return out


def check_official_export(folder: Path, entries) -> None:
    """The authors' layout loads with the authors' registry, and its prompts are the benchmark's."""
    for kind in ("sft", "dpo"):
        data = load_official(folder / f"dataset_{kind}")
        assert set(data) == {f"user_entries_{kind}_{x}" for x in "prc"}
        for letter, setting in zip("prc", SETTINGS):
            rows = data[f"user_entries_{kind}_{letter}"]
            expected = [e for e in entries if kind == "sft" or len(set(e.same_func_names)) > 1]
            assert len(rows) == len(expected) > 0
            for row, e in zip(rows, expected):
                assert row["prompt"] == entry_prompt(e, setting) == e.prompt(setting) and row["query"] == e.query
                target = row["response"] if kind == "sft" else row["chosen"]
                assert parse_reference(target).tool_name == e.reference.tool_name


def test_sft_records_are_the_training_records_with_the_generator(bench_entries):
    entries = bench_entries[:20]
    recs = sft_records(entries, SETTINGS)
    assert len(recs) == 3 * len(entries) and [r["setting"] for r in recs[:3]] == list(SETTINGS)
    e, r = entries[0], recs[1]
    # the generator of the entry rides along: None for the released records, the construction LLM's name else
    assert {k: v for k, v in r.items() if k != "generator"} == sft_record(e, "ratings") and r["generator"] == (e.model_extra or {}).get("generator")
    assert r["prompt"] == entry_messages(e, "ratings") and r["prompt"][0]["content"] == e.instruction_ratings
    a = to_alpaca_sft([r])[0]
    assert (a["instruction"], a["input"], a["setting"], a["entry_id"]) == (e.instruction_ratings, e.query, "ratings",
                                                                          str(e.entry_id))
    parsed = parse_reference(a["output"])  # the scorer's own parser reads the target back
    assert parsed.ok and parsed.tool_name == e.reference.tool_name and parsed.parameters == e.reference.parameters
    none = to_alpaca_sft(sft_records(entries[:1], ["none"]))[0]
    assert "Interaction history" not in none["instruction"]


def test_official_layout_of_the_release_loads_with_the_authors_registry(dev_entries, shared_dir, tmp_path):
    official = json.loads((shared_dir / "official_templates.json").read_text())
    assert OFFICIAL_DATASET_INFO == {"sft": official["dataset_info_sft"], "dpo": official["dataset_info_dpo"]}
    entries = dev_entries[:30]
    sizes = write_official(tmp_path, to_alpaca_sft(sft_records(entries)),
                           to_alpaca_dpo(dpo_records_from_reference(entries, rng=0)))
    assert sizes["official_sft_p"] == 30
    for kind in ("sft", "dpo"):
        assert json.loads((tmp_path / f"dataset_{kind}" / "dataset_info.json").read_text()) == official[f"dataset_info_{kind}"]
    check_official_export(tmp_path, entries)


def test_official_layout_of_any_benchmark_loads_with_its_registry(bench_entries, tmp_path):
    """The mechanics of the test above without the authors' file: the written registry is petool's copy of
    it and the records it names load by its column mapping, one per entry and setting."""
    entries = bench_entries[:30]
    sizes = write_official(tmp_path, to_alpaca_sft(sft_records(entries)),
                           to_alpaca_dpo(dpo_records_from_reference(entries, rng=0)))
    assert sizes["official_sft_p"] == sizes["official_sft_r"] == sizes["official_sft_c"] == len(entries)
    for kind in ("sft", "dpo"):
        assert json.loads((tmp_path / f"dataset_{kind}" / "dataset_info.json").read_text()) == OFFICIAL_DATASET_INFO[kind]
    check_official_export(tmp_path, entries)


def test_dpo_rejects_a_non_preferred_tool_of_the_group(bench_entries):
    recs = dpo_records_from_reference(bench_entries, ["preferred"], rng=0)
    by_id = {str(e.entry_id): e for e in bench_entries}
    with_alternatives = [e for e in bench_entries if len(set(e.same_func_names) - {e.reference.tool_name}) > 0]
    assert len(recs) == len(with_alternatives) > 0
    for r in to_alpaca_dpo(recs):
        e = by_id[r["entry_id"]]
        rejected = json.loads(r["rejected"])
        assert rejected["tool_name"] in e.same_func_names and rejected["tool_name"] != e.reference.tool_name
        assert rejected["parameters"] == e.reference.parameters and json.loads(r["chosen"]) == json.loads(e.reference.to_json())
        assert r["instruction"] == e.instruction_preferred
    assert recs == dpo_records_from_reference(bench_entries, ["preferred"], rng=0)


def test_conversions_keep_the_evaluation_message_layout():
    msgs = [{"role": "system", "content": "SYS"}, {"role": "user", "content": "Q"}]
    sft = {"entry_id": 3, "setting": "preferred", "prompt": msgs, "completion": [{"role": "assistant", "content": "A"}],
           "generator": "g"}
    assert to_trl_sft([sft]) == [{"prompt": msgs, "completion": [{"role": "assistant", "content": "A"}]}]
    assert to_alpaca_sft([sft]) == [{"instruction": "SYS", "input": "Q", "output": "A", "setting": "preferred",
                                     "entry_id": "3", "generator": "g"}]
    dpo = {"entry_id": 3, "setting": "chronological", "prompt": msgs, "chosen": [{"role": "assistant", "content": "C"}],
           "rejected": [{"role": "assistant", "content": "R"}], "generator": None}
    assert to_trl_dpo([dpo]) == [{"prompt": msgs, "chosen": dpo["chosen"], "rejected": dpo["rejected"]}]
    alpaca = to_alpaca_dpo([dpo])
    assert official_records(alpaca, "dpo") == {"p": [], "r": [], "c": [{"instruction": "SYS", "input": "Q",
                                                                          "chosen": "C", "rejected": "R"}]}


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
    pipeline.stage04_preferences(rd, embedder="tfidf", n_users=4, tools_per_user=[2, 4])
    pipeline.stage05_create(rd, embedder="tfidf", trl=False, progress=False)
    script = Path(__file__).resolve().parent.parent / "scripts" / "check_llamafactory.py"
    out = subprocess.run([os.environ["PETOOL_LLAMAFACTORY_PYTHON"], str(script), str(rd)], capture_output=True,
                         text=True, timeout=600, env=dict(os.environ, DISABLE_VERSION_CHECK="1"))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count("[ok]") == 20  # 4 petool + 6 official datasets, aligned + tokenized
