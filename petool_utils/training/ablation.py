"""The paper's ablation (SFT only / DPO only / SFT+DPO), scored exactly as ``petool eval`` scores a model.

Each variant is evaluated by the evaluation engine itself (:func:`petool_utils.evaluation.engine.evaluate`
on ``hf:<base>[@<adapter>]``, which builds its predictor with ``make_predictor``: an ``LLMPredictor`` over
the hf backend behind the response cache), with the evaluation's generation options (temperature 0.1,
i.e. greedy, and 256 new tokens) and its context fitting (oldest history first, then candidate
descriptions) into the adapters' prompt budget, which the untrained base's row shares. The prediction files are the run store's, scored by :mod:`petool_utils.evaluation.scoring`,
so a row of notebook 09 and the same model's row in notebook 07 are the same numbers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from petool_utils.benchmark.data import Entry, load_benchmark, load_entries
from petool_utils.evaluation.engine import evaluate
from petool_utils.models.spec import model_slug
from petool_utils.evaluation.scoring import score_prediction_dir
from petool_utils.models.hf_backend import adapter_training_info
from petool_utils.io import atomic_write_json
from petool_utils.training.config import DPOParams, from_mapping
from petool_utils.training.dpo import train_dpo
from petool_utils.training.data import resolve_training_data, select
from petool_utils.training.records import shorten_entries
from petool_utils.training.trainer import TrainResult


def variant_spec(base_model: str | Path, adapter: str | Path | None) -> str:
    """The ``hf:`` spec ``petool eval --model`` takes for the same model."""
    return f"hf:{base_model}" + (f"@{adapter}" if adapter else "")


def ablation_variants(params: DPOParams, sft_dpo: TrainResult, dpo_only: bool = True,
                      train: Callable[[DPOParams], TrainResult] = train_dpo,
                      ) -> tuple[dict[str, Path | None], TrainResult | None]:
    """The rows of the paper's Table 4, in its order: ``base (no training)``, ``SFT only``, ``DPO only``
    (with ``dpo_only``), ``SFT+DPO`` (name -> adapter, ``None`` for the base alone), and the DPO-only run.

    DPO only is DPO from a fresh LoRA on the base model (``init: base``, its own default stage folder)
    on the very pairs the SFT+DPO run wrote, so the two rows differ in the starting point alone.
    ``train`` is :func:`~petool_utils.training.dpo.train_dpo` (a test hands a stand-in)."""
    variants: dict[str, Path | None] = {"base (no training)": None, "SFT only": params.resolved_sft_adapter()}
    only = None
    if dpo_only:
        only = train(dataclasses.replace(params, init="base", stage_dir=None,
                                         pairs_path=str(sft_dpo.output_dir / "pairs.jsonl")))
        variants["DPO only"] = only.adapter_dir
    variants["SFT+DPO"] = sft_dpo.adapter_dir
    return variants, only


def evaluate_variants(base_model: str | Path, variants: Mapping[str, str | Path | None], entries: Sequence[Entry],
                      settings: Sequence[str], out_dir: str | Path, *, gen_opts: Mapping[str, Any] | None = None,
                      parser: str = "reference", progress: bool = True, fresh: bool = True, **backend_kwargs: Any):
    """One row per (variant, setting). ``variants`` maps a row name (e.g. "SFT only") to an adapter path,
    ``None`` for the base alone. Each variant is ``evaluate``-d into ``out_dir/<model slug>/`` (the
    engine's layout, so ``petool score`` reads it); ``gen_opts`` default to the evaluation's own.
    ``fresh``: earlier predictions of the same spec are removed first (the adapters were just trained
    again at the same path, and the engine would otherwise keep the answers it already has)."""
    import shutil

    import pandas as pd

    out_dir = Path(out_dir)
    # the one length rule for every row, the untrained base's included: the trained adapters' prompt
    # budget, precision and layout (petool_training.json) unless the caller gives them
    trained = next((info for info in map(adapter_training_info, variants.values()) if info), {})
    for option, key in (("max_context", "prompt_budget"), ("quantization", "quantization"),
                        ("autocast", "bf16_autocast"), ("layout", "layout")):
        if option not in backend_kwargs and key in trained:
            backend_kwargs[option] = trained[key]
    rows = []
    for name, adapter in variants.items():
        spec = variant_spec(base_model, adapter)
        if fresh:
            shutil.rmtree(out_dir / model_slug(spec), ignore_errors=True)
        evaluate(spec, entries, settings, out_dir, gen_opts=gen_opts, progress=progress, predictor_kwargs=backend_kwargs)
        scores = score_prediction_dir(out_dir / model_slug(spec), entries, parser=parser, n_boot=0)
        for s in settings:
            sc = scores[s]
            rows.append({"variant": name, "setting": s, "n": sc.n, "tool_acc": sc.tool_acc, "param_acc": sc.param_acc,
                         "call_acc": sc.call_acc, "invalid_format": sc.invalid_format, "spec": spec})

    atomic_write_json(out_dir / "ablation.json", rows)  # the table, for reports and docs scripts
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

    out = Path(sft_output_dir)
    if eval_on == "train":
        entries = load_entries(out / "train_entries.json")
        return entries[:limit] if limit else entries
    if eval_on != "heldout":
        raise ValueError(f"eval_on must be 'train' or 'heldout', not {eval_on!r}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    params = from_mapping("sft", manifest["params"])
    used = {e.entry_id for e in load_entries(out / "train_entries.json")}
    source_kind = (manifest.get("training_data") or {}).get("source")
    if params.limit is not None:
        data = resolve_training_data(params, tiny=params.base_model == "tiny")
        rest = dataclasses.replace(params, offset=params.offset + params.limit, limit=None)
        held = [e for e in select(data.entries, rest) if e.entry_id not in used]
    else:
        source = shorten_entries(load_benchmark(params.data), params.max_history, params.max_candidates, params.seed)
        trained_elsewhere = source_kind not in (None, "released_test")
        # ids of a constructed training set may coincide with the test ids without being the same entries
        held = source if trained_elsewhere else [e for e in source if e.entry_id not in used]
    held = held[:limit]
    if not held:
        raise ValueError(f"{out}: no entry outside the training data to hold out; use eval_on='train' or pass data")
    return held
