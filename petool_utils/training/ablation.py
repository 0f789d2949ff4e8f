"""Greedy evaluation of trained adapters, and the paper's ablation table (SFT only / DPO only / SFT+DPO).

Adapters are evaluated the way every model in the kit is: raw text from a predictor, parsed and scored
by the shared scorer. ``load_predictor`` uses the evaluation engine's ``HFPredictor`` when it is there
and otherwise :class:`AdapterPredictor` below (same contract: ``name``, ``predict(entries, setting)``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from petool_utils.benchmark.data import Entry
from petool_utils.io import atomic_write_jsonl
from petool_utils.benchmark.parsing import get_parser
from petool_utils.benchmark.prompts import entry_messages


class AdapterPredictor:
    """Greedy decoding of a base model with an optional LoRA adapter (a Predictor)."""

    def __init__(self, model_path: str | Path, adapter: str | Path | None = None, *, quantization: str = "none",
                 max_new_tokens: int = 128, batch_size: int = 8, label: str | None = None):
        from petool_utils.training.modeling import model_label

        self.model_path, self.adapter = Path(model_path), (Path(adapter) if adapter else None)
        self.quantization, self.max_new_tokens, self.batch_size = quantization, max_new_tokens, batch_size
        self.name = label or f"hf:{model_label(model_path)}" + (f"@{self.adapter}" if self.adapter else "")
        self._model = None

    def _load(self):
        if self._model is None:
            from petool_utils.training.modeling import load_for_inference

            self._model, self._tok = load_for_inference(self.model_path, self.adapter, self.quantization)
        return self._model, self._tok

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        from petool_utils.training.modeling import greedy_calls

        model, tok = self._load()
        return greedy_calls(model, tok, [entry_messages(e, setting) for e in entries], self.max_new_tokens, self.batch_size)


def load_predictor(model_path: str | Path, adapter: str | Path | None = None, *, prefer_engine: bool = True, **kwargs: Any):
    """The evaluation engine's ``HFPredictor`` if importable (what ``petool eval hf:<base>@<adapter>``
    runs), else :class:`AdapterPredictor`."""
    if prefer_engine:
        try:
            from petool_utils.models.hf_backend import HFPredictor  # type: ignore[import-not-found]

            return HFPredictor(str(model_path), adapter=str(adapter) if adapter else None)
        except ImportError:
            pass
    return AdapterPredictor(model_path, adapter, **kwargs)


def score(entries: Sequence[Entry], responses: Mapping[Any, str], parser: str = "reference") -> dict[str, float]:
    """Tool/param/call accuracy and invalid-format rate: the shared scorer when present, else the
    same definitions (the authors' parser; exact tool name; exact parameters; both)."""
    try:
        from petool_utils.evaluation.scoring import score_responses  # type: ignore[import-not-found]

        s = score_responses(entries, responses, parser=parser, n_boot=200, seed=0)
        return {"n": s.n, "tool_acc": s.tool_acc, "param_acc": s.param_acc, "call_acc": s.call_acc, "invalid_format": s.invalid_format}
    except ImportError:
        pass
    parse = get_parser(parser)
    n = len(entries)
    tool = param = call = invalid = 0
    for e in entries:
        p = parse(responses.get(e.entry_id))
        if not p.ok:
            invalid += 1
            continue
        t, q = p.tool_name == e.reference.tool_name, p.parameters == e.reference.parameters
        tool, param, call = tool + t, param + q, call + (t and q)
    d = max(n, 1)
    return {"n": n, "tool_acc": tool / d, "param_acc": param / d, "call_acc": call / d, "invalid_format": invalid / d}


def write_predictions(path: str | Path, entries: Sequence[Entry], setting: str, responses: Sequence[str], latency_s: float = 0.0) -> Path:
    """The evaluation engine's prediction lines, so ``petool score`` reads them like any other run."""
    per = latency_s / max(len(entries), 1)
    rows = [{"entry_id": e.entry_id, "setting": setting, "response": r, "latency_s": per, "error": None} for e, r in zip(entries, responses)]
    return atomic_write_jsonl(path, rows)


def evaluate_variants(base_model: str | Path, variants: Mapping[str, str | Path | None], entries: Sequence[Entry],
                      settings: Sequence[str], out_dir: str | Path | None = None, **kwargs: Any):
    """One row per (variant, setting): greedy decoding, reference parser. ``variants`` maps a row name
    (e.g. "SFT only") to an adapter path, ``None`` for the base alone. Predictions are written under
    ``out_dir/<variant>/<setting>.jsonl`` when ``out_dir`` is given."""
    import pandas as pd

    rows = []
    for name, adapter in variants.items():
        pred = AdapterPredictor(base_model, adapter, **kwargs)
        for s in settings:
            t0 = time.time()
            responses = pred.predict(entries, s)
            if out_dir is not None:
                slug = name.lower().replace(" ", "_").replace("+", "_")
                write_predictions(Path(out_dir) / slug / f"{s}.jsonl", entries, s, responses, time.time() - t0)
            sc = score(entries, dict(zip([e.entry_id for e in entries], responses)))
            rows.append({"variant": name, "setting": s, **sc})
    return pd.DataFrame(rows)


def ablation_entries(sft_output_dir: str | Path, eval_on: str = "train", limit: int | None = None) -> list[Entry]:
    """Entries to score the variants on.

    ``train``: the SFT run's own training entries. ``heldout``: entries the run did not train on,
    shortened the same way. When the run used a slice (``limit``), these are the entries that follow it
    in the same source. When it used a whole training set, they come from the released test data
    (``data``), which is the paper's setup. A tiny model memorises its data, so held-out scores say
    nothing about it.
    """
    import dataclasses
    import json

    from petool_utils.benchmark.data import load_benchmark, load_entries
    from petool_utils.training.config import SFTParams, from_mapping
    from petool_utils.training.records import load_training_entries, shorten_entries

    out = Path(sft_output_dir)
    if eval_on == "train":
        entries = load_entries(out / "train_entries.json")
        return entries[:limit] if limit else entries
    if eval_on != "heldout":
        raise ValueError(f"eval_on must be 'train' or 'heldout', not {eval_on!r}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    params = from_mapping(SFTParams, manifest["params"])
    used = {e.entry_id for e in load_entries(out / "train_entries.json")}
    if params.limit is not None:
        source = load_training_entries(dataclasses.replace(params, offset=params.offset + params.limit, limit=None), params.run_dir)
        held = [e for e in source if e.entry_id not in used]
    else:
        source = shorten_entries(load_benchmark(params.data), params.max_history, params.max_candidates, params.seed)
        trained_elsewhere = bool(params.train_data) or (Path(params.run_dir) / "benchmark" / "train.json").exists()
        # ids of a constructed training set may coincide with the test ids without being the same entries
        held = source if trained_elsewhere else [e for e in source if e.entry_id not in used]
    held = held[:limit]
    if not held:
        raise ValueError(f"{out}: no entry outside the training data to hold out; use eval_on='train' or pass data")
    return held
