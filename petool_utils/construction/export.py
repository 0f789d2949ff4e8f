"""Stage 05c: the constructed benchmark in the RELEASED record layout, and SFT/DPO exports.

Writing the release layout (rather than a format of our own) means every consumer of the released
PEToolBench (the loader, ``petool eval``, scoring, training) takes a constructed benchmark unchanged.
The SFT/DPO exports take entries in that layout too, so they work on the release as well.

There is ONE SFT record builder, :func:`petool_utils.training.records.sft_record` (TRL's conversational
prompt/completion, the evaluation's messages), and one DPO pair builder,
:func:`petool_utils.training.records.dpo_record`; every file below is a conversion of those records.

Exports under ``run_dir``:
- ``sft/{train,test}.json``: LLaMA-Factory alpaca records ``{"instruction": <system prompt of the
  setting>, "input": <user query>, "output": <reference call JSON>, "setting", "entry_id", "generator"}``;
- ``dpo/{train,test}.json``: ``{"instruction", "input", "chosen", "rejected", "setting", "entry_id", "generator"}``
  where ``rejected`` calls a non-preferred tool of the reference's group with the same parameters;
- ``sft/dataset_info.json``, ``dpo/dataset_info.json``: LLaMA-Factory dataset registry (the
  instruction goes to the system role, the query to the user turn: the evaluation's message layout);
- ``official/dataset_sft/user_entries_sft_{p,r,c}.json`` and ``official/dataset_dpo/user_entries_dpo_{p,r,c}.json``
  (the train split, one file per setting) with the authors' own ``dataset_info.json``, byte for byte
  (``OFFICIAL_DATASET_INFO``): their LLaMA-Factory configs run on this data unchanged;
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
from petool_utils.benchmark.data import CandidateTool, Entry, ToolCall, ToolParameter
from petool_utils.benchmark.prompts import render_prompt
from petool_utils.construction.histories import Query, UserData, entry_histories
from petool_utils.construction.preferences import tool_parts
from petool_utils.construction.understanding import UnderstoodTool
from petool_utils.io import atomic_write_json
from petool_utils.training.records import (TRAINER_COLUMNS_DPO, TRAINER_COLUMNS_SFT, dpo_record, sft_record,
                                           trainer_rows)

SETTING_LETTERS = {"preferred": "p", "ratings": "r", "chronological": "c"}
"""The authors' file suffix of each setting (``user_entries_sft_p.json``...)."""


def _official_info(kind: str) -> dict[str, Any]:
    cols = {"prompt": "instruction", "query": "input"}
    cols.update({"response": "output"} if kind == "sft" else {"chosen": "chosen", "rejected": "rejected"})
    out = {}
    for letter in SETTING_LETTERS.values():
        name = f"user_entries_{kind}_{letter}"
        out[name] = {"file_name": f"{name}.json", **({"ranking": True} if kind == "dpo" else {}), "columns": dict(cols)}
    return out


OFFICIAL_DATASET_INFO = {"sft": _official_info("sft"), "dpo": _official_info("dpo")}
"""The authors' ``dataset_sft/dataset_info.json`` and ``dataset_dpo/dataset_info.json`` (a test checks them
against ``official_templates.json``)."""


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


def release_record(entry_id: int, user: UserData, query: Query, query_index: int, candidates: Sequence[str],
                   group: Sequence[str], tools: Mapping[str, UnderstoodTool], max_history: int | None = 20,
                   seed: int = 0) -> dict[str, Any]:
    """One entry in the release's record layout, prompts rendered by :func:`render_prompt`.

    As in the release, a prompt embeds at most the ``max_history`` most recent items of a history
    (:func:`~petool_utils.construction.histories.entry_histories`) while ``history_length`` gives the full
    length of the preferred history; ``tool_comb`` lists the user's preferred tools in the order they were
    drawn (the release's lists are in that order: they start alike because its users walked one order).
    """
    cand_records = [candidate_record(tools[n]) for n in candidates]
    cands = [CandidateTool.model_validate(c) for c in cand_records]
    hist = entry_histories(user, query, query_index, tools, max_history, seed)
    rec: dict[str, Any] = {"query": query.instruction}
    for s in SETTINGS:
        rec[f"instruction_{s}"] = render_prompt(s, hist[s], cands)
    tool_comb = list(dict.fromkeys(tool_parts(t)[1] for t in user.tools))  # draw order, as the release lists them
    rec.update(
        apis_candidate=json.dumps(cand_records, ensure_ascii=False),
        api_call_ground_truth={"tool_name": query.tool_name, "parameters": query.parameters},
        api_ground_truth=api_doc_record(tools[query.tool_name]),
        func=query.group,
        apis_same_func=[api_doc_record(tools[n]) for n in group],
        tool_comb=tool_comb,
        num_tools_combined=str(len(tool_comb)),
        history_length=len(user.history),
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
    """``benchmark/{train,test}.json``: JSON lists, one record per line, written record by record."""
    d = Path(run_dir) / "benchmark"
    paths = {}
    for split, records in (("train", train), ("test", test)):
        w = JsonListWriter(d / f"{split}.json")
        for r in records:
            w.write(r)
        w.close()
        paths[split] = w.path
    return paths


# -- SFT / DPO ----------------------------------------------------------------------------------------

def _generator(e: Entry) -> str | None:
    """Who wrote the entry (``offline-standin``, ``openai:<model>``) when it says so; None for the release."""
    return (e.model_extra or {}).get("generator")


def sft_records(entries: Iterable[Entry], settings: Sequence[str] = SETTINGS) -> list[dict[str, Any]]:
    """SFT records (:func:`~petool_utils.training.records.sft_record`, one per entry and setting) with the
    entry's ``generator``; any benchmark in the release layout, the release included."""
    return [dict(sft_record(e, s), generator=_generator(e)) for e in entries for s in settings]


def dpo_records_from_reference(entries: Iterable[Entry], settings: Sequence[str] = SETTINGS,
                               rng: random.Random | int = 0) -> list[dict[str, Any]]:
    """Preference pairs (:func:`~petool_utils.training.records.dpo_record`): chosen = the reference call,
    rejected = the same parameters sent to a non-preferred tool of the reference's group.

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
            rec = dpo_record(e, s, e.reference, rejected,
                             {"chosen": "reference call", "rejected": "reference parameters, non-preferred tool of the group"})
            out.append(dict(rec, generator=_generator(e)))
    return out


def _text(messages: Sequence[Mapping[str, str]], role: str) -> str:
    return next(m["content"] for m in messages if m["role"] == role)


def to_alpaca_sft(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Conversational SFT records -> alpaca ``{"instruction": system, "input": user, "output": assistant}``."""
    return [{"instruction": _text(r["prompt"], "system"), "input": _text(r["prompt"], "user"),
             "output": r["completion"][0]["content"], "setting": r["setting"], "entry_id": str(r["entry_id"]),
             "generator": r.get("generator")} for r in records]


def to_alpaca_dpo(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Conversational DPO records -> alpaca ``{"instruction", "input", "chosen", "rejected"}``."""
    return [{"instruction": _text(r["prompt"], "system"), "input": _text(r["prompt"], "user"),
             "chosen": r["chosen"][0]["content"], "rejected": r["rejected"][0]["content"], "setting": r["setting"],
             "entry_id": str(r["entry_id"]), "generator": r.get("generator")} for r in records]


def to_trl_sft(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only the columns TRL's SFT trainer reads: conversational ``prompt``/``completion``."""
    return trainer_rows(list(records), TRAINER_COLUMNS_SFT)


def to_trl_dpo(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return trainer_rows(list(records), TRAINER_COLUMNS_DPO)


def llamafactory_dataset_info(prefix: str = "petool") -> dict[str, Any]:
    """LLaMA-Factory ``dataset_info.json`` entries for the SFT and DPO files (alpaca formatting)."""
    cols = {"prompt": "input", "system": "instruction"}
    sft = {f"{prefix}_sft_{split}": {"file_name": f"{split}.json", "formatting": "alpaca",
                                     "columns": dict(cols, response="output")} for split in ("train", "test")}
    dpo = {f"{prefix}_dpo_{split}": {"file_name": f"{split}.json", "formatting": "alpaca", "ranking": True,
                                     "columns": dict(cols, chosen="chosen", rejected="rejected")} for split in ("train", "test")}
    return {"sft": sft, "dpo": dpo}


def official_records(alpaca: Iterable[Mapping[str, Any]], kind: str) -> dict[str, list[dict[str, Any]]]:
    """Alpaca records -> the authors' layout: one list per setting letter, their columns (plus ``generator``)."""
    keep = ("instruction", "input", "output") if kind == "sft" else ("instruction", "input", "chosen", "rejected")
    out: dict[str, list[dict[str, Any]]] = {letter: [] for letter in SETTING_LETTERS.values()}
    for r in alpaca:
        if r["setting"] in SETTING_LETTERS:
            row = {k: r[k] for k in keep}
            if r.get("generator") is not None:
                row["generator"] = r["generator"]
            out[SETTING_LETTERS[r["setting"]]].append(row)
    return out


class JsonListWriter:
    """A JSON list written record by record (one per line), so a large export never sits in memory as one
    string; atomic: the records go to a temporary file in the same folder, renamed over the target on close."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.f = open(self.tmp, "w", encoding="utf-8")
        self.f.write("[")
        self.n = 0

    def write(self, record: Any) -> None:
        self.f.write(("\n" if self.n == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        self.n += 1

    def close(self) -> None:
        self.f.write("\n]\n")
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.f.close()
        self.tmp.unlink(missing_ok=True)


def write_official(out_dir: str | os.PathLike[str], sft_alpaca: Sequence[Mapping[str, Any]],
                   dpo_alpaca: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """``dataset_sft/`` and ``dataset_dpo/`` as the authors' repository has them, with their ``dataset_info.json``."""
    out_dir = Path(out_dir)
    sizes = {}
    for kind, rows in (("sft", sft_alpaca), ("dpo", dpo_alpaca)):
        folder = out_dir / f"dataset_{kind}"
        for letter, recs in official_records(rows, kind).items():
            atomic_write_json(folder / f"user_entries_{kind}_{letter}.json", recs, indent=1)
            sizes[f"official_{kind}_{letter}"] = len(recs)
        atomic_write_json(folder / "dataset_info.json", OFFICIAL_DATASET_INFO[kind], indent=2)
    return sizes


class TrlDatasetWriter:
    """A ``datasets`` dataset built from rows added in any number of calls: every ``chunk`` rows become an
    Arrow table (compact UTF-8) and the Python rows are dropped, so a large export does not sit in memory as
    Python objects. Saved with a content-derived fingerprint, so equal data gives equal bytes."""

    def __init__(self, path: Path, chunk: int = 2000):
        self.path, self.chunk = Path(path), chunk
        self.rows: list[dict[str, Any]] = []
        self.shards: list[Any] = []
        self.digest = hashlib.sha256()

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for r in rows:
            self.digest.update(json.dumps(r, sort_keys=True, ensure_ascii=False).encode())
            self.rows.append(r)
        if len(self.rows) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        import datasets

        if self.rows:
            self.shards.append(datasets.Dataset.from_list(self.rows))
            self.rows = []

    def close(self) -> Path:
        import datasets

        self._flush()
        if not self.shards:
            ds = datasets.Dataset.from_dict({})
        elif len(self.shards) == 1:
            ds = self.shards[0]
        else:
            ds = datasets.concatenate_datasets(self.shards)
        ds._fingerprint = self.digest.hexdigest()[:16]
        if self.path.exists():
            import shutil

            shutil.rmtree(self.path)
        ds.save_to_disk(str(self.path))
        self.shards = []
        return self.path


def save_trl_dataset(rows: list[dict[str, Any]], path: Path) -> Path:
    """``datasets.Dataset.save_to_disk`` of ``rows`` (see :class:`TrlDatasetWriter`)."""
    w = TrlDatasetWriter(path)
    w.add(rows)
    return w.close()


def write_split_exports(run_dir: str | os.PathLike[str], split: str, entries: Iterable[Entry],
                        settings: Sequence[str] = SETTINGS, seed: int = 0, trl: bool = True,
                        official: bool = False) -> dict[str, int]:
    """One split's SFT and DPO files (and the authors' layout when ``official``), entry by entry: records are
    written as they are made, so memory holds one entry's records (plus the TRL rows, which ``datasets``
    needs together). ``entries`` is iterated once (it may be a generator)."""
    run_dir = Path(run_dir)
    rng = random.Random(f"{seed}-{split}")
    writers = {"sft": JsonListWriter(run_dir / "sft" / f"{split}.json"), "dpo": JsonListWriter(run_dir / "dpo" / f"{split}.json")}
    if official:
        for kind in ("sft", "dpo"):
            for letter in SETTING_LETTERS.values():
                name = f"user_entries_{kind}_{letter}"
                writers[name] = JsonListWriter(run_dir / "official" / f"dataset_{kind}" / f"{name}.json")
    trl_out = {kind: TrlDatasetWriter(run_dir / kind / f"trl_{split}") for kind in ("sft", "dpo")} if trl else {}
    try:
        for e in entries:
            sft = sft_records([e], settings)
            dpo = dpo_records_from_reference([e], settings, rng)
            for kind, recs, alpaca in (("sft", sft, to_alpaca_sft(sft)), ("dpo", dpo, to_alpaca_dpo(dpo))):
                for r in alpaca:
                    writers[kind].write(r)
                if official:
                    for letter, rows in official_records(alpaca, kind).items():
                        for r in rows:
                            writers[f"user_entries_{kind}_{letter}"].write(r)
                if trl:
                    trl_out[kind].add(to_trl_sft(recs) if kind == "sft" else to_trl_dpo(recs))
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    for w in writers.values():
        w.close()
    sizes = {f"sft_{split}": writers["sft"].n, f"dpo_{split}": writers["dpo"].n}
    if official:
        sizes.update({f"official_{name[len('user_entries_'):]}": w.n for name, w in writers.items()
                      if name.startswith("user_entries_")})
        for kind in ("sft", "dpo"):
            atomic_write_json(run_dir / "official" / f"dataset_{kind}" / "dataset_info.json", OFFICIAL_DATASET_INFO[kind],
                              indent=2)
    for w in trl_out.values():
        w.close()
    return sizes


def write_registries(run_dir: str | os.PathLike[str]) -> None:
    info = llamafactory_dataset_info()
    atomic_write_json(Path(run_dir) / "sft" / "dataset_info.json", info["sft"])
    atomic_write_json(Path(run_dir) / "dpo" / "dataset_info.json", info["dpo"])


def write_exports(run_dir: str | os.PathLike[str], splits: Mapping[str, Sequence[Entry]], settings: Sequence[str] = SETTINGS,
                  seed: int = 0, trl: bool = True, official_split: str | None = "train") -> dict[str, int]:
    """SFT and DPO files for each split, LLaMA-Factory registries, the authors' layout for ``official_split``
    and (optionally) TRL datasets; all converted from the one record builder's records."""
    sizes: dict[str, int] = {}
    for split, entries in splits.items():
        sizes.update(write_split_exports(run_dir, split, entries, settings, seed, trl, official=split == official_split))
    write_registries(run_dir)
    return sizes
