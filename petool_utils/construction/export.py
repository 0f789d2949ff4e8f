"""Stage 05c: the constructed benchmark in the RELEASED record layout, and SFT/DPO exports.

Writing the release layout (rather than a format of our own) means every consumer of the released
PEToolBench (the loader, ``petool eval``, scoring, training) takes a constructed benchmark unchanged.
The SFT/DPO builders take entries in that layout too, so they work on the release as well.

Exports under ``run_dir``:
- ``sft/{train,test}.json``: LLaMA-Factory alpaca records ``{"instruction": <system prompt of the
  setting>, "input": <user query>, "output": <reference call JSON>, "setting", "entry_id"}``;
- ``dpo/{train,test}.json``: ``{"instruction", "input", "chosen", "rejected", "setting", "entry_id", "generator"}``
  where ``rejected`` calls a non-preferred tool of the reference's group with the same parameters;
- ``sft/dataset_info.json``, ``dpo/dataset_info.json``: LLaMA-Factory dataset registry (the
  instruction goes to the system role, the query to the user turn: the evaluation's message layout);
- ``sft/trl_{train,test}``, ``dpo/trl_{train,test}``: ``datasets`` saved to disk, conversational
  ``prompt``/``completion`` and ``prompt``/``chosen``/``rejected``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from petool_utils import SETTINGS
from petool_utils.construction.histories import Item, UserData
from petool_utils.construction.understanding import UnderstoodTool
from petool_utils.benchmark.data import CandidateTool, Entry, HistoryItem, ToolCall, ToolParameter, split_api_name
from petool_utils.io import atomic_write_json
from petool_utils.benchmark.prompts import entry_prompt, render_prompt


def _param(p: ToolParameter) -> dict[str, Any]:
    return {"name": p.name, "type": p.type, "description": p.description or "", "default": p.default}


def candidate_record(t: UnderstoodTool) -> dict[str, Any]:
    """A tool as the release lists it among the candidates."""
    return {
        "tool_name": t.full_name,
        "tool_description": t.api_description,
        "required_parameters": [_param(p) for p in t.required_parameters],
        "optional_parameters": [_param(p) for p in t.optional_parameters],
    }


def api_doc_record(t: UnderstoodTool) -> dict[str, Any]:
    """A tool as the release documents it in ``api_ground_truth`` / ``apis_same_func`` (with its example)."""
    return {
        "api_name": t.api_name,
        "api_desc": t.api_description,
        "required_parameters": [_param(p) for p in t.required_parameters],
        "optional_parameters": [_param(p) for p in t.optional_parameters],
        "Example": {"Scenario": t.example.instruction, "Parameters": t.example.parameters},
        "tool_name": t.tool_name,
        "tool_desc": t.tool_description,
        "category_name": t.category,
        "api_id": t.api_id,
    }


def history_items(items: Sequence[Item], setting: str) -> list[HistoryItem]:
    out = []
    for it in items:
        call = ToolCall(tool_name=it.tool_name, parameters=it.parameters)
        if setting == "ratings":
            out.append(HistoryItem(instruction=it.instruction, tool_call=call, rating=it.rating))
        else:
            out.append(HistoryItem(instruction=it.instruction, tool_call=call))
    return out


def release_record(entry_id: int, query: Item, user: UserData, candidates: Sequence[str],
                   group: Sequence[str], tools: Mapping[str, UnderstoodTool], max_history: int | None = 20) -> dict[str, Any]:
    """One entry in the release's record layout, prompts rendered by :func:`render_prompt`.

    As in the release, a prompt embeds at most the ``max_history`` most recent items of a history
    (the released prompts carry at most 20) while ``history_length`` gives the full length.
    """
    cands = [CandidateTool.model_validate(candidate_record(tools[n])) for n in candidates]
    rec: dict[str, Any] = {"query": query.instruction}
    for s in SETTINGS:
        items = user.histories[s][-max_history:] if max_history else user.histories[s]
        rec[f"instruction_{s}"] = render_prompt(s, history_items(items, s), cands)
    hist_tools = sorted({split_api_name(it.tool_name)[1] for s in SETTINGS for it in user.histories[s]})
    rec.update(
        apis_candidate=json.dumps([candidate_record(tools[n]) for n in candidates], ensure_ascii=False),
        api_call_ground_truth={"tool_name": query.tool_name, "parameters": query.parameters},
        api_ground_truth=api_doc_record(tools[query.tool_name]),
        func=query.group,
        apis_same_func=[api_doc_record(tools[n]) for n in group],
        tool_comb=hist_tools,
        num_tools_combined=str(len(hist_tools)),
        history_length=len(user.histories["preferred"]),
        entry_id=entry_id,
    )
    return rec


def split_users(user_ids: Sequence[str], test_fraction: float, seed: int) -> tuple[set[str], set[str]]:
    """Train/test by user (no user on both sides); at least one test user when there are two or more."""
    ids = sorted(user_ids)
    random.Random(seed).shuffle(ids)
    n_test = min(len(ids), max(1 if len(ids) > 1 else 0, round(len(ids) * test_fraction)))
    return set(ids[n_test:]), set(ids[:n_test])


def write_benchmark(run_dir: str | os.PathLike[str], train: list[dict], test: list[dict]) -> dict[str, Path]:
    d = Path(run_dir) / "benchmark"
    return {"train": atomic_write_json(d / "train.json", train, indent=None),
            "test": atomic_write_json(d / "test.json", test, indent=None)}


# -- SFT / DPO ----------------------------------------------------------------------------------------

def sft_records(entries: Iterable[Entry], settings: Sequence[str] = SETTINGS) -> list[dict[str, Any]]:
    """Alpaca-style SFT records from any benchmark in the release layout (one per entry and setting).

    ``instruction`` is the setting's system prompt, ``input`` the user query, ``output`` the reference
    call as the one-line JSON the scorer parses.
    """
    return [
        {"instruction": entry_prompt(e, s), "input": e.query,
         "output": e.reference.to_json(), "setting": s, "entry_id": str(e.entry_id), "generator": _generator(e)}
        for e in entries for s in settings
    ]


def _generator(e: Entry) -> str | None:
    """Who wrote the entry (``offline-standin``, ``openai:<model>``) when it says so; None for the release."""
    return (e.model_extra or {}).get("generator")


def dpo_records_from_reference(entries: Iterable[Entry], settings: Sequence[str] = SETTINGS,
                               rng: random.Random | int = 0) -> list[dict[str, Any]]:
    """Preference pairs: chosen = the reference call, rejected = the same call to a non-preferred tool.

    The rejected tool is drawn with ``rng`` from the reference's functionality group (``apis_same_func``)
    minus the reference; an entry whose group has no other tool gives no pair.
    """
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    out = []
    for e in entries:
        others = sorted(n for n in e.same_func_names if n != e.reference.tool_name)
        if not others:
            continue
        for s in settings:
            rejected = ToolCall(tool_name=rng.choice(others), parameters=e.reference.parameters)
            out.append({"instruction": entry_prompt(e, s),
                        "input": e.query, "chosen": e.reference.to_json(), "rejected": rejected.to_json(),
                        "setting": s, "entry_id": str(e.entry_id), "generator": _generator(e)})
    return out


def to_trl_sft(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """TRL conversational prompt/completion: system = prompt, user = query, assistant = call."""
    return [{"prompt": [{"role": "system", "content": r["instruction"]}, {"role": "user", "content": r["input"]}],
             "completion": [{"role": "assistant", "content": r["output"]}]} for r in records]


def to_trl_dpo(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"prompt": [{"role": "system", "content": r["instruction"]}, {"role": "user", "content": r["input"]}],
             "chosen": [{"role": "assistant", "content": r["chosen"]}],
             "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in records]


def llamafactory_dataset_info(prefix: str = "petool") -> dict[str, Any]:
    """LLaMA-Factory ``dataset_info.json`` entries for the SFT and DPO files (alpaca formatting)."""
    cols = {"prompt": "input", "system": "instruction"}
    sft = {f"{prefix}_sft_{split}": {"file_name": f"{split}.json", "formatting": "alpaca",
                                     "columns": dict(cols, response="output")} for split in ("train", "test")}
    dpo = {f"{prefix}_dpo_{split}": {"file_name": f"{split}.json", "formatting": "alpaca", "ranking": True,
                                     "columns": dict(cols, chosen="chosen", rejected="rejected")} for split in ("train", "test")}
    return {"sft": sft, "dpo": dpo}


def save_trl_dataset(rows: list[dict[str, Any]], path: Path) -> Path:
    """``datasets.Dataset.save_to_disk`` with a content-derived fingerprint, so equal data = equal bytes."""
    import datasets

    ds = datasets.Dataset.from_list(rows) if rows else datasets.Dataset.from_dict({})
    ds._fingerprint = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    if path.exists():
        import shutil

        shutil.rmtree(path)
    ds.save_to_disk(str(path))
    return path


def write_exports(run_dir: str | os.PathLike[str], splits: Mapping[str, list[Entry]], settings: Sequence[str] = SETTINGS,
                  seed: int = 0, trl: bool = True) -> dict[str, int]:
    """SFT and DPO files for each split, LLaMA-Factory registries and (optionally) TRL datasets."""
    run_dir = Path(run_dir)
    info = llamafactory_dataset_info()
    sizes: dict[str, int] = {}
    for split, entries in splits.items():
        sft = sft_records(entries, settings)
        dpo = dpo_records_from_reference(entries, settings, random.Random(f"{seed}-{split}"))
        atomic_write_json(run_dir / "sft" / f"{split}.json", sft, indent=1)
        atomic_write_json(run_dir / "dpo" / f"{split}.json", dpo, indent=1)
        sizes[f"sft_{split}"], sizes[f"dpo_{split}"] = len(sft), len(dpo)
        if trl:
            save_trl_dataset(to_trl_sft(sft), run_dir / "sft" / f"trl_{split}")
            save_trl_dataset(to_trl_dpo(dpo), run_dir / "dpo" / f"trl_{split}")
    atomic_write_json(run_dir / "sft" / "dataset_info.json", info["sft"])
    atomic_write_json(run_dir / "dpo" / "dataset_info.json", info["dpo"])
    return sizes
