"""Per-sample records, like lm-eval's ``--log_samples``: one line per (entry, setting, model).

Table 1 and Table 2 say *how often* a model is right; a researcher who wants to know *which* tool *this*
user got, and why it was wrong, needs every answer beside its entry. ``<run dir>/samples.jsonl`` holds,
for every model of a run, every entry of its benchmark and every setting it was asked:

``benchmark, model, setting, entry_id, prompt_sha`` (the input fingerprint the run store keeps, so a
line can be matched to the exact prompt), ``history_shown`` (history items the model saw: the setting's
history minus what a long-prompt fit dropped), ``answer`` (``ok``, ``failed``, ``missing``), ``response``
(the raw answer), ``request_error``, ``parsed`` (the call the parser read, or null), ``tool_ok``,
``param_ok``, ``call_ok`` (the one scorer's per-entry verdicts) and ``error_type`` (the one error
classifier, :func:`petool_utils.evaluation.errors.classify_error`; null when right).

The lines come from the run store through the one reader and are judged by the one scorer and the
one classifier, so they agree with Table 1, Table 2 and ``petool score`` by construction. Two sources of
runs: a profile's run folder (``metrics.json`` of notebook 07 names benchmarks, models and files) and a
folder written by ``petool eval --out X`` (one folder per model, each with its ``manifest.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.benchmark.data import Entry, load_benchmark
from petool_utils.evaluation.errors import ERROR_TYPE_MEANINGS, classify_error
from petool_utils.evaluation.grid import read_metrics
from petool_utils.evaluation.ranker_audit import audit_entries
from petool_utils.evaluation.reader import read_predictions, setting_files
from petool_utils.evaluation.scoring import judge_responses, parse_cached
from petool_utils.io import atomic_write_jsonl, iter_jsonl, read_json
from petool_utils.models.spec import ModelSpec
from petool_utils.report import explorer

SAMPLES_FILE = "samples.jsonl"
SAMPLE_FIELDS = ("benchmark", "model", "setting", "entry_id", "prompt_sha", "history_shown", "answer", "response",
                 "request_error", "parsed", "tool_ok", "param_ok", "call_ok", "error_type")


@dataclass
class ModelFiles:
    """One model's prediction files (``<setting>.jsonl``) on one benchmark."""

    spec: str
    files: list[Path]


@dataclass
class BenchmarkModels:
    """A benchmark and the models whose predictions answer it: the unit the samples and the explorer use."""

    label: str
    data: str | None
    limit: int | None = None
    models: list[ModelFiles] = field(default_factory=list)
    parser: str = "reference"
    """the parser the run scored with (notebook 07's ``parser``)"""

    def entries(self) -> list[Entry]:
        return load_benchmark(self.data, limit=self.limit)


# ----------------------------------------------------------------------------- where the runs are

def from_run_dir(run_dir: str | os.PathLike[str]) -> list[BenchmarkModels]:
    """A profile's run folder: what notebook 07's ``metrics.json`` lists (models that ran)."""
    run_dir = Path(run_dir)
    result = read_metrics(run_dir)
    out = []
    for b in result.benchmarks:
        models = [ModelFiles(m.spec, [run_dir / rel for rel in m.predictions.values()])
                  for m in b.models if m.status == "ok" and m.predictions]
        if models:
            out.append(BenchmarkModels(label=b.source.label, data=b.source.path, limit=b.limit, models=models,
                                       parser=result.parser))
    return out


def model_folders(folder: str | os.PathLike[str]) -> list[Path]:
    """The model folders under ``folder`` (what ``petool eval --out X`` writes: ``X/<model>/<setting>.jsonl``),
    or ``[folder]`` when it is itself a model's folder."""
    folder = Path(folder)
    if setting_files(folder):
        return [folder]
    return sorted(p for p in folder.iterdir() if p.is_dir() and setting_files(p)) if folder.is_dir() else []


def _manifest(folder: Path) -> dict[str, Any]:
    p = folder / "manifest.json"
    try:
        return read_json(p) if p.exists() else {}
    except ValueError:
        return {}


def from_model_folders(folder: str | os.PathLike[str], data: str | None = None) -> list[BenchmarkModels]:
    """A folder of model folders: each model's spec, benchmark and ``--limit`` from its ``manifest.json``;
    ``data`` (a benchmark file or folder) overrides the manifests' data for every model."""
    groups: dict[tuple[str | None, int | None], BenchmarkModels] = {}
    for d in model_folders(folder):
        man = _manifest(d)
        path = data if data is not None else (man.get("data") or {}).get("path")
        limit = (man.get("options") or {}).get("limit")  # `petool eval --limit N` asked the first N entries
        label = (Path(path).name if path else "benchmark") + (f", first {limit} entries" if limit else "")
        bm = groups.setdefault((path, limit), BenchmarkModels(label=label, data=path, limit=limit))
        bm.models.append(ModelFiles(man.get("model_spec") or d.name, setting_files(d)))
    return list(groups.values())


# ----------------------------------------------------------------------------- the records

def _shown(entry: Entry, setting: str, record: dict[str, Any] | None) -> int:
    items = len(entry.history(setting)) if setting in entry.histories or setting == "none" else 0
    dropped = int((record or {}).get("history_dropped") or 0)
    return max(0, items - dropped)


def samples_for(entries: Sequence[Entry], spec: str, files: Iterable[Path], benchmark: str,
                parser: str = "reference") -> Iterator[dict[str, Any]]:
    """The sample records of one model on one benchmark, setting by setting, entries in benchmark order."""

    predictions = read_predictions(files)
    for setting, answers in predictions.settings.items():
        responses, errors = answers.responses(), answers.errors()
        judged = judge_responses(entries, responses, parser, failed=errors)
        for i, e in enumerate(entries):
            rec = answers.records.get(e.key)
            answer = "failed" if e.key in errors else ("ok" if rec is not None else "missing")
            text = responses.get(e.key)
            call = parse_cached(parser, text) if text is not None else None
            yield {"benchmark": benchmark, "model": spec, "setting": setting, "entry_id": e.entry_id,
                   "prompt_sha": (rec or {}).get("input_sha") or e.input_fingerprint(setting),
                   "history_shown": _shown(e, setting, rec), "answer": answer, "response": text,
                   "request_error": errors.get(e.key),
                   "parsed": ({"tool_name": call.tool_name, "parameters": call.parameters}
                              if call is not None and call.ok else None),
                   "tool_ok": bool(judged.tool[i]), "param_ok": bool(judged.param[i]), "call_ok": bool(judged.call[i]),
                   "error_type": classify_error(e, text, parser)}


def build_samples(runs: Sequence[BenchmarkModels], entries: dict[str, list[Entry]] | None = None,
                  parser: str | None = None) -> list[dict[str, Any]]:
    """Every sample of every model of ``runs`` (``entries``: benchmarks already loaded, by label), judged
    with each run's own parser unless ``parser`` names another."""
    out: list[dict[str, Any]] = []
    for bm in runs:
        ents = (entries or {}).get(bm.label) or bm.entries()
        for m in bm.models:
            out.extend(samples_for(ents, m.spec, m.files, bm.label, parser or bm.parser))
    order = {s: i for i, s in enumerate(ALL_SETTINGS)}
    return sorted(out, key=lambda r: order.get(r["setting"], len(order)))


def write_samples(records: Iterable[dict[str, Any]], folder: str | os.PathLike[str]) -> Path:
    """``<folder>/samples.jsonl``, written atomically (a rerun replaces it whole)."""
    return atomic_write_jsonl(Path(folder) / SAMPLES_FILE, list(records))


def read_samples(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a ``samples.jsonl`` (a folder means the file inside it)."""
    p = Path(path)
    p = p / SAMPLES_FILE if p.is_dir() else p
    if not p.exists():
        raise FileNotFoundError(f"{p} not found: `petool explore {p.parent}` or notebook 10_error_analysis writes it")
    return [r for r in iter_jsonl(p) if isinstance(r, dict)]




# ----------------------------------------------------------------------------- the explorer's data

_ANSWERS = ("ok", "failed", "missing")
MAX_DESCRIPTION = 300


class _Interner:
    """Strings and history items stored once: an entry's three histories repeat the same items, and a
    user's entries repeat the same histories, so the explorer's blob holds indices, not copies."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:

        key = json.dumps(value, ensure_ascii=False, sort_keys=True)
        if key not in self._index:
            self._index[key] = len(self.values)
            self.values.append(value)
        return self._index[key]


def _popularity(entries: Sequence[Entry]) -> dict[tuple[str, str], str | None]:
    """Popularity's pick per (entry, setting), cross-fitted over 2 folds as ``offline:popularity`` and the
    popularity audit (:func:`petool_utils.predictors.ranker.audit.audit_entries`) pick it."""

    if not entries:
        return {}
    a = audit_entries(entries, folds=2, settings=SETTINGS)
    return {(str(eid), s): pick for eid, s, pick in zip(a["entry_id"], a["setting"], a["popularity_pick"])}


def explorer_payload(runs: Sequence[BenchmarkModels], samples: Sequence[dict[str, Any]], *, title: str,
                     entries: dict[str, list[Entry]] | None = None, popularity: bool = True) -> dict[str, Any]:
    """Everything the entry explorer shows, as plain JSON: entries (query, reference, group, the three
    histories, candidates with the reference's group marked, popularity's pick per setting) and the
    samples (one array per (entry, setting, model)), strings and history items interned."""

    strings, items = _Interner(), _Interner()
    out_entries: list[list[Any]] = []
    where: dict[tuple[str, str], int] = {}
    benchmarks = [bm.label for bm in runs]
    for b, bm in enumerate(runs):
        ents = (entries or {}).get(bm.label) or bm.entries()
        pop = _popularity(ents) if popularity else {}
        for e in ents:
            group = set(e.same_func_names) | {e.reference.tool_name}
            hist = {s: [[items([strings(h.instruction), strings(h.tool_call.tool_name), h.tool_call.parameters]),
                         h.rating] for h in e.histories.get(s, [])] for s in SETTINGS if s in e.histories}
            cands = [[strings(c.tool_name), strings(c.tool_description[:MAX_DESCRIPTION]), int(c.tool_name in group)]
                     for c in e.candidates]
            where[(bm.label, e.key)] = len(out_entries)
            out_entries.append([b, e.key, e.query, e.reference.tool_name, e.reference.parameters,
                                "" if e.func is None else str(e.func), hist, cands,
                                {s: pop.get((str(e.entry_id), s)) for s in SETTINGS if (str(e.entry_id), s) in pop},
                                e.history_length])
    models = list(dict.fromkeys(r["model"] for r in samples))
    settings = [s for s in ALL_SETTINGS if any(r["setting"] == s for r in samples)]
    types = list(ERROR_TYPE_MEANINGS)
    rows = []
    for r in samples:
        i = where.get((r["benchmark"], str(r["entry_id"])))
        if i is None:
            continue
        rows.append([i, models.index(r["model"]), settings.index(r["setting"]),
                     types.index(r["error_type"]) if r["error_type"] else -1, r["parsed"], r["response"],
                     _ANSWERS.index(r["answer"]), r["history_shown"], r["prompt_sha"], r.get("request_error")])

    return {"title": title, "benchmarks": benchmarks, "models": models,
            "labels": [ModelSpec.parse(m).label for m in models],
            "short": [ModelSpec.parse(m).short_label for m in models],
            "settings": settings, "types": types, "meanings": [ERROR_TYPE_MEANINGS[t] for t in types],
            "answers": list(_ANSWERS), "strings": strings.values, "items": items.values,
            "entries": out_entries, "samples": rows}


def write_explorer(runs: Sequence[BenchmarkModels], samples_dir: str | os.PathLike[str],
                   page: str | os.PathLike[str], *, title: str, parser: str | None = None) -> tuple[Path, Path]:
    """What ``petool explore`` and notebook 10 do: ``<samples_dir>/samples.jsonl`` from the runs, then the
    explorer page built from that file (with no runs, an empty page that says so). Returns both paths."""
    entries = {bm.label: bm.entries() for bm in runs}
    path = write_samples(build_samples(runs, entries, parser), samples_dir)
    payload = explorer_payload(runs, read_samples(path), title=title, entries=entries)
    return path, explorer.write_explorer(page, payload)


__all__ = ["SAMPLES_FILE", "SAMPLE_FIELDS", "BenchmarkModels", "ModelFiles", "build_samples", "from_model_folders",
           "from_run_dir", "model_folders", "read_samples", "samples_for", "write_explorer", "write_samples"]
