"""PEToolLLaMA-mini: the paper's SFT -> DPO ablation (Table 1: SFT, SFT+DPO, w/o SFT) with a real
instruct model on CPU, SmolLM2-135M-Instruct (``petool models fetch smollm2``).

What it does, resumably (a killed run continues where it stopped: TRL checkpoints under each stage's
``checkpoints/config-<hash>``, the evaluation engine's per-entry lines, the DPO sampling cache):

1. **Data**: the released dev slice, split by functionality group with the seed: the training records
   come from the entries of one half of the groups, the evaluated entries from the other half, so no
   evaluated entry (nor any entry of its group) is ever trained on. ``--train-entries`` entries x the
   three settings are the SFT records. Both splits are shortened alike (``max_candidates`` of the
   profile: the reference's group kept, the other candidates drawn with the seed), which makes the
   choice easier than the release's ten candidates, for all rows alike.
2. **SFT** (``training.sft.train_sft``) with ``params/small-llm.yaml``'s ``08_sft_qlora.sft``.
3. **DPO** from the SFT adapter (the paper's SFT+DPO) on pairs of its own sampled calls by the paper's
   rule, then **DPO only** (a fresh LoRA on the base, the same pairs), with ``09_dpo.dpo``.
4. **Evaluation** of zero-shot, SFT, SFT+DPO and DPO only (and ``offline:history``, the goal) on the
   held-out entries by the evaluation engine's own ``hf:`` predictor, at the adapters' prompt budget
   and precision, greedy; Tool/Param/Call Acc per setting with cluster-bootstrap intervals, and paired
   intervals (SFT - zero-shot, SFT+DPO - SFT, ...).

Everything goes to ``--run-dir`` (default ``~/.cache/petool/runs/small-llm``, outside the checkout, so
it survives a new worktree); ``results.json`` there is rewritten after every stage. ``--write-docs``
writes the table into docs/training.md from that file (block ``small-llm``) and trains nothing.

    nice -n 10 python benchmarks/small_llm.py [--train-entries 16] [--eval-entries 30] > small_llm.log 2>&1
    python benchmarks/small_llm.py --write-docs
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Any, Sequence

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, dump_entries, load_entries
from petool_utils.io import atomic_write_json
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir
from petool_utils.paths import REPO_ROOT

PROFILE = REPO_ROOT / "params" / "small-llm.yaml"
DOC = REPO_ROOT / "docs" / "training.md"
BLOCK = "small-llm"
TRAINING_DATA = "released dev-slice entries of functionality groups disjoint from the evaluated ones"
VARIANTS = ("zero-shot", "SFT", "SFT+DPO", "DPO only")
COMPARISONS = (("SFT", "zero-shot"), ("SFT+DPO", "SFT"), ("DPO only", "zero-shot"), ("SFT+DPO", "DPO only"),
               ("SFT", "offline:history"), ("SFT+DPO", "offline:history"))


def default_run_dir() -> Path:
    from petool_utils.models.fetch import cache_root

    return cache_root() / "runs" / "small-llm"


def split_by_group(entries: Sequence[Entry], seed: int) -> tuple[list[Entry], list[Entry]]:
    """(training entries, evaluated entries): the functionality groups shuffled with the seed, every
    other group to each side, entries kept in release order. No group is on both sides."""
    groups = sorted({str(e.func) for e in entries})
    random.Random(f"small-llm:{seed}").shuffle(groups)
    train_groups = set(groups[0::2])
    train = [e for e in entries if str(e.func) in train_groups]
    held = [e for e in entries if str(e.func) not in train_groups]
    return train, held


def spread(entries: Sequence[Entry], n: int) -> list[Entry]:
    """``n`` entries taking one group at a time in turn (so a few entries cover many groups)."""
    by_group: dict[str, list[Entry]] = {}
    for e in entries:
        by_group.setdefault(str(e.func), []).append(e)
    lanes = list(by_group.values())
    out: list[Entry] = []
    i = 0
    while len(out) < n and any(i < len(q) for q in lanes):
        out.extend(q[i] for q in lanes if i < len(q))
        i += 1
    return out[:n]


class Stages:
    """``stages.json``: each finished stage's wall seconds (summed over sittings) and its result."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def done(self, name: str) -> bool:
        return bool(self.data.get(name, {}).get("finished"))

    def record(self, name: str, seconds: float, finished: bool, **info: Any) -> None:
        if self.path.exists():  # another part (``--part dpo-only``) may have recorded its stages meanwhile
            self.data = {**self.data, **json.loads(self.path.read_text())}
        row = self.data.setdefault(name, {"seconds": 0.0})
        row["seconds"] = round(row.get("seconds", 0.0) + seconds, 1)
        row["finished"] = finished
        row.update(info)
        atomic_write_json(self.path, self.data)


def configs(run_dir: Path, train_path: Path, overrides: Sequence[str]):
    from petool_utils.training.config import load_config

    common = [f"run_dir={run_dir / 'run'}", f"train_data={train_path}", *overrides]
    return load_config("sft", PROFILE, common), load_config("dpo", PROFILE, [f"run_dir={run_dir / 'run'}", *overrides])


def evaluate_model(spec: str, entries: Sequence[Entry], out: Path, gen_opts: dict[str, Any], **backend: Any) -> Path:
    from petool_utils.evaluation.engine import evaluate
    from petool_utils.models.spec import model_slug

    evaluate(spec, entries, list(SETTINGS), out, gen_opts=gen_opts, progress=True, predictor_kwargs=backend or None,
             concurrency=1)
    return out / model_slug(spec)


def answer_seconds(pred_dir: Path) -> float | None:
    """Mean generation seconds per answer over a run's lines (a batch's time shared by its prompts): unlike
    a stage's wall time it does not lose a sitting that was killed before the stage finished."""
    secs = [json.loads(x).get("latency_s") or 0.0 for f in sorted(pred_dir.glob("*.jsonl"))
            for x in f.read_text().splitlines() if x.strip()]
    return sum(secs) / len(secs) if secs else None


def score_rows(pred_dirs: dict[str, Path], entries: Sequence[Entry]) -> tuple[list[dict], list[dict]]:
    """Per (variant, setting) scores with intervals, and the paired comparisons of :data:`COMPARISONS`."""
    from petool_utils.evaluation.reader import read_predictions
    from petool_utils.evaluation.scoring import compare_predictions, score_prediction_dir

    rows = []
    for name, d in pred_dirs.items():
        for setting, sc in score_prediction_dir(d, entries, n_boot=1000).items():
            rows.append({"variant": name, "setting": setting, "n": sc.n, "tool_acc": sc.tool_acc,
                         "param_acc": sc.param_acc, "call_acc": sc.call_acc, "invalid_format": sc.invalid_format,
                         "tool_ci": sc.tool_ci, "param_ci": sc.param_ci, "call_ci": sc.call_ci,
                         "n_missing": sc.n_missing})
    paired = []
    for b, a in COMPARISONS:
        if a in pred_dirs and b in pred_dirs:
            cmp = compare_predictions(entries, read_predictions([pred_dirs[a]]), read_predictions([pred_dirs[b]]))
            for setting, metrics in cmp.items():
                paired.append({"b": b, "a": a, "setting": setting,
                               **{m: c.to_dict() for m, c in metrics.items()}})
    return rows, paired


def run(args: argparse.Namespace) -> dict[str, Any]:
    from petool_utils.models.fetch import fetch
    from petool_utils.training.dpo import train_dpo
    from petool_utils.training.records import shorten_entries
    from petool_utils.training.sft import train_sft

    run_dir = Path(args.run_dir).expanduser()
    run_dir.mkdir(parents=True, exist_ok=True)
    stages = Stages(run_dir / "stages.json")
    base = fetch("smollm2")
    shared = shared_petoolbench_dir()
    if shared is None:
        raise SystemExit(f"{DEV_SLICE_NAME} not found: set PETOOL_DATA_DIR to the folder holding it")
    data_dir = run_dir / "data"
    train_path, held_path = data_dir / "train.json", data_dir / "heldout.json"
    probe_sft, _ = configs(run_dir, train_path, args.overrides)
    if not held_path.exists():
        train_all, held_all = split_by_group(load_entries(shared / DEV_SLICE_NAME), probe_sft.seed)
        train = spread(train_all, args.train_entries)
        held = shorten_entries(spread(held_all, args.eval_entries), probe_sft.max_history, probe_sft.max_candidates,
                               probe_sft.seed)
        atomic_write_json(train_path, dump_entries(train), indent=None)
        atomic_write_json(held_path, dump_entries(held), indent=None)
    held = load_entries(held_path)
    train_ids = {e.func for e in load_entries(train_path)}
    assert not train_ids & {e.func for e in held}, "a functionality group on both sides"
    sft_cfg, dpo_cfg = configs(run_dir, train_path, [f"base_model={base}", *args.overrides])
    dpo_cfg = dataclasses.replace(dpo_cfg, base_model=str(base))
    out = run_dir / "predictions"
    gen_opts = {"temperature": 0.1, "max_tokens": sft_cfg.answer_tokens}
    results: dict[str, Any] = {"base_model": str(base), "training_data": TRAINING_DATA, "train_path": str(train_path),
                               "heldout_path": str(held_path), "heldout_entries": len(held),
                               "heldout_groups": len({e.func for e in held}), "gen_opts": gen_opts,
                               "max_candidates": sft_cfg.max_candidates, "profile": str(PROFILE.relative_to(REPO_ROOT))}
    pred_dirs: dict[str, Path] = {}

    def timed(name: str, fn, **info: Any):
        t0 = time.time()
        value = fn()
        stages.record(name, time.time() - t0, True, **info)
        return value

    def write_results() -> None:
        rows, paired = score_rows(pred_dirs, held)
        results.update(stages=stages.data, rows=rows, paired=paired,
                       seconds_per_prompt={k: answer_seconds(d) for k, d in pred_dirs.items() if k in VARIANTS})
        atomic_write_json(run_dir / "results.json", results)

    only_cfg = dataclasses.replace(dpo_cfg, init="base", stage_dir=None,
                                   pairs_path=str(dpo_cfg.resolved_stage_dir() / "pairs.jsonl"))
    def sft_backend() -> dict[str, Any]:
        """Every row is evaluated at the SFT adapter's prompt budget and precision (zero-shot included)."""
        meta = json.loads((sft_cfg.resolved_stage_dir() / "adapter" / "petool_training.json").read_text())
        return {"max_context": meta["prompt_budget"], "autocast": meta.get("bf16_autocast", False),
                "batch_size": args.batch_size}

    def dpo_only_row(backend: dict[str, Any]) -> Path:
        if not stages.done("dpo only"):
            r = timed("dpo only", lambda: train_dpo(only_cfg))
            stages.record("dpo only", 0, True, summary={k: v for k, v in r.summary().items()})
        return timed("eval DPO only", lambda: evaluate_model(
            f"hf:{base}@{only_cfg.resolved_stage_dir() / 'adapter'}", held, out, gen_opts, **backend))

    if args.part == "dpo-only":  # beside a ``--part main`` run, once its pairs are written
        if not Path(only_cfg.pairs_path).exists():
            raise SystemExit(f"no pairs yet at {only_cfg.pairs_path}: start this part once the SFT+DPO run has sampled")
        dpo_only_row(sft_backend())
        return results
    # SFT
    sft_dir = sft_cfg.resolved_stage_dir()
    if not stages.done("sft"):
        r = timed("sft", lambda: train_sft(sft_cfg))
        stages.record("sft", 0, True, summary=r.summary())
    sft_adapter = sft_dir / "adapter"
    backend = sft_backend()
    # the floor first: SFT and zero-shot on the held-out entries
    for name, spec in (("SFT", f"hf:{base}@{sft_adapter}"), ("zero-shot", f"hf:{base}")):
        pred_dirs[name] = timed(f"eval {name}", lambda spec=spec: evaluate_model(spec, held, out, gen_opts, **backend))
        write_results()
    pred_dirs["offline:history"] = timed("eval offline:history",
                                         lambda: evaluate_model("offline:history", held, out, {}))
    write_results()
    if args.stop_after == "sft":
        return results
    # DPO from the SFT adapter, then DPO only on the same pairs
    if not stages.done("dpo"):
        r = timed("dpo", lambda: train_dpo(dpo_cfg))
        stages.record("dpo", 0, True, summary={k: v for k, v in r.summary().items()})
    dpo_dir = dpo_cfg.resolved_stage_dir()
    pred_dirs["SFT+DPO"] = timed("eval SFT+DPO", lambda: evaluate_model(f"hf:{base}@{dpo_dir / 'adapter'}", held, out,
                                                                        gen_opts, **backend))
    write_results()
    if args.part == "main":  # the DPO-only row is another process's (``--part dpo-only``); a final plain run scores all
        return results
    pred_dirs["DPO only"] = dpo_only_row(backend)
    write_results()
    return results


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def _ci(ci) -> str:
    return f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""


def docs_block(results: dict[str, Any]) -> str:
    """The docs/training.md table from ``results.json``."""
    from petool_utils.report.docblocks import written_by

    st = results.get("stages", {})
    lines = [written_by("python benchmarks/small_llm.py --write-docs"),
             f"Base model `SmolLM2-135M-Instruct` (`petool models fetch smollm2`), CPU. Training data: "
             f"{results['training_data']}; {results['heldout_entries']} held-out entries from "
             f"{results['heldout_groups']} other groups, candidates cut to {results['max_candidates']} (the "
             f"reference's group kept) for every row alike; greedy, {results['gen_opts']['max_tokens']} new tokens, "
             f"profile `{results['profile']}`. Accuracies in %, 95% cluster-bootstrap intervals (groups resampled).", "",
             "| model | setting | n | Tool Acc | Param Acc | Call Acc | invalid |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results.get("rows", []):
        lines.append(f"| {r['variant']} | {r['setting']} | {r['n']} | {_pct(r['tool_acc'])}{_ci(r['tool_ci'])} | "
                     f"{_pct(r['param_acc'])}{_ci(r['param_ci'])} | {_pct(r['call_acc'])}{_ci(r['call_ci'])} | "
                     f"{_pct(r['invalid_format'])} |")
    paired = [p for p in results.get("paired", []) if p["setting"] == "all"]
    if paired:
        lines += ["", "Paired differences over the three settings (B - A on the same entries, points; interval "
                  "and p-value resample / flip whole functionality groups):", "",
                  "| B - A | Tool Acc | Param Acc | Call Acc |", "| --- | --- | --- | --- |"]
        for p in paired:
            cells = [f"{100 * p[m]['diff']:+.1f}{_ci(p[m]['ci'])} (p {p[m]['p_value']:.3f})"
                     for m in ("tool_acc", "param_acc", "call_acc")]
            lines.append(f"| {p['b']} - {p['a']} | " + " | ".join(cells) + " |")
    sft = st.get("sft", {}).get("summary", {})
    dpo = st.get("dpo", {}).get("summary", {})
    lines += ["", "| stage | wall s | what |", "| --- | --- | --- |"]
    for name, row in st.items():
        what = ""
        if name == "sft" and sft:
            what = (f"{sft.get('records')} records, loss {sft.get('loss_first'):.3f} -> {sft.get('loss_last'):.3f}, "
                    f"{sft.get('losses_logged', sft.get('steps'))} logged steps, prompt budget {sft.get('prompt_budget')}")
        elif name in ("dpo", "dpo only") and row.get("summary"):
            d = row["summary"]
            shares = (d.get("pair_sources") or {}).get("rejected_shares") or {}
            after = d.get("reward_margin_after")
            last = (f"{after:.3f} after training" if after is not None else
                    f"{d.get('reward_margin_last_step') or 0:.3f} at the last logged step")
            what = (f"{d.get('records')} pairs; rejected calls sampled {_pct(shares.get('sampled'))} %, built "
                    f"{_pct(shares.get('built'))} %; reward margin {d.get('reward_margin_first_step') or 0:.3f} at the "
                    f"first step, {last}")
        lines.append(f"| {name} | {row.get('seconds')} | {what}{'' if row.get('finished') else ' (unfinished)'} |")
    per = results.get("seconds_per_prompt") or {}
    lines += ["", "Wall seconds count the sittings that finished a stage (one killed mid-stage and resumed is not "
              "counted); generation seconds per answer, from the prediction lines: "
              + ", ".join(f"{k} {v:.1f}" for k, v in per.items() if v) + "." if per else
              "Wall seconds count the sittings that finished a stage."]
    if not dpo:
        lines += ["", "DPO, DPO only and their evaluations had not finished when this block was written."]
    goals = goals_text(results)
    if goals:
        lines += ["", goals]
    provenance_line = results.get("provenance")
    if provenance_line:
        lines += ["", provenance_line]
    return "\n".join(lines)


def goals_text(results: dict[str, Any]) -> str:
    """The issue's two goals, read off the table (so no sentence about them is written by hand): the floor
    (SFT above zero-shot on Tool Acc, paired interval above 0) and the aim (SFT+DPO at offline:history's Tool
    Acc), and DPO's effect over SFT whatever its sign."""
    rows = {(r["variant"], r["setting"]): r for r in results.get("rows", [])}
    paired = {(p["b"], p["a"]): p for p in results.get("paired", []) if p["setting"] == "all"}
    out = []
    floor = paired.get(("SFT", "zero-shot"))
    if floor:
        d, ci = floor["tool_acc"]["diff"], floor["tool_acc"]["ci"]
        met = "met" if ci and ci[0] > 0 else "not met"
        out.append(f"**Floor ({met})**: SFT - zero-shot Tool Acc {100 * d:+.1f} points{_ci(ci)}.")
    aim, hist = rows.get(("SFT+DPO", "all")), rows.get(("offline:history", "all"))
    if aim and hist:
        met = "met" if aim["tool_acc"] >= hist["tool_acc"] else "not met"
        out.append(f"**Aim ({met})**: SFT+DPO Tool Acc {_pct(aim['tool_acc'])} against `offline:history`'s "
                   f"{_pct(hist['tool_acc'])} on the same entries.")
    eff = paired.get(("SFT+DPO", "SFT"))
    if eff:
        out.append(f"**DPO over SFT**: Tool Acc {100 * eff['tool_acc']['diff']:+.1f}{_ci(eff['tool_acc']['ci'])}, "
                   f"Param Acc {100 * eff['param_acc']['diff']:+.1f}{_ci(eff['param_acc']['ci'])} (paired).")
    return " ".join(out)


README = REPO_ROOT / "README.md"
TIME_BLOCK = "small-llm.time"


def profile_prompt_counts() -> dict[str, int]:
    """SmolLM2 prompts that ``make reproduce PROFILE=small-llm`` evaluates: 07's zero-shot row and 09's
    four-row ablation, read from the profile (never restated)."""
    import yaml

    prof = yaml.safe_load(PROFILE.read_text())["params"]
    e07, e09 = prof["07_evaluation"], prof["09_dpo"]
    llm_rows = sum(1 for m in e07["models"] if str(m).startswith("hf:"))
    n07 = llm_rows * int(e07["limit"]) * len(e07["settings"])
    n09 = (4 if e09.get("train_dpo_only", True) else 3) * int(e09["eval_limit"]) * len(e09["eval_settings"])
    return {"07_evaluation": n07, "09_dpo ablation": n09}


def time_block(results: dict[str, Any]) -> str:
    """README's expected time of the small-llm profile's model stages, from this run's measured stages: its
    SFT and both DPO runs train on the profile's sections at the same record counts, and each evaluated
    prompt costs what the benchmark's evaluations cost per prompt."""
    from petool_utils.report.docblocks import provenance

    st = results.get("stages", {})
    per_prompt = [v for v in (results.get("seconds_per_prompt") or {}).values() if v]
    trained = {k: st[k]["seconds"] for k in ("sft", "dpo", "dpo only") if st.get(k, {}).get("finished")}
    if not per_prompt or len(trained) < 3:
        return ("Expected time of `small-llm`: not measured yet (`benchmarks/small_llm.py` has not finished its "
                "SFT, DPO and DPO-only stages).")
    sec = sum(per_prompt) / len(per_prompt)
    counts = profile_prompt_counts()
    total = sum(trained.values()) + sec * sum(counts.values())
    parts = ", ".join(f"{k} {v / 60:.0f} min" for k, v in trained.items())
    prompts = " + ".join(f"{n} ({k})" for k, n in counts.items())
    return (f"Expected time of `small-llm`'s model stages, **from the stages of one `benchmarks/small_llm.py` run** "
            f"(the same profile sections and record counts, 2 CPU cores shared by two jobs): about "
            f"{total / 3600:.1f} hours: {parts}, and {prompts} SmolLM2 prompts at {sec:.1f} s each. Construction, "
            f"10 and 11 add what they take in the offline profile (table above). A rerun resumes from the last "
            f"checkpoint and the evaluation lines already written; a busier machine is slower.\n\n"
            + provenance("python benchmarks/small_llm.py --write-docs"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default=None, help="default ~/.cache/petool/runs/small-llm ($PETOOL_CACHE/runs/small-llm)")
    ap.add_argument("--train-entries", type=int, default=16, help="training entries (x 3 settings = SFT records)")
    ap.add_argument("--eval-entries", type=int, default=30, help="held-out entries evaluated (x 3 settings)")
    ap.add_argument("--batch-size", type=int, default=4, help="prompts per greedy generate call")
    ap.add_argument("--stop-after", choices=("sft", "all"), default="all")
    ap.add_argument("--part", choices=("all", "main", "dpo-only"), default="all",
                    help="main: all but the DPO-only row; dpo-only: that row alone, once main has written the pairs "
                         "(two processes on two cores); a later plain run finds both done and scores everything")
    ap.add_argument("--write-docs", action="store_true", help="write docs/training.md's block from results.json; no training")
    ap.add_argument("overrides", nargs="*", help="key=value overrides of both training sections")
    args = ap.parse_args()
    args.run_dir = args.run_dir or str(default_run_dir())
    if args.write_docs:
        from petool_utils.report.docblocks import provenance, write_block

        results = json.loads((Path(args.run_dir).expanduser() / "results.json").read_text())
        results["provenance"] = provenance("python benchmarks/small_llm.py --write-docs")
        write_block(DOC, BLOCK, docs_block(results))
        write_block(README, TIME_BLOCK, time_block(results))
        print(f"wrote {DOC} block {BLOCK} and {README} block {TIME_BLOCK}")
        return
    results = run(args)
    print(json.dumps({k: v for k, v in results.items() if k not in ("rows", "paired")}, indent=1, default=str))


if __name__ == "__main__":
    main()
