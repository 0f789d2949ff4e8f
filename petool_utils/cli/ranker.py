"""``petool ranker``: petool's own offline method, from the command line.

* ``petool ranker fit --data TRAIN... --out prior.json``: fit the prior artifact on training histories;
* ``petool ranker crossfit --data X --folds K --out DIR``: group-disjoint cross-fitted predictions
  (``DIR/<model folder>/<setting>.jsonl``, what ``petool score`` reads);
* ``petool ranker ablation``: what each part adds (the table of notebook 11);
* ``petool ranker audit --data X --predictions DIR``: the popularity audit of every model in DIR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

SETTINGS_HELP = "Settings to predict (repeat the option); default: preferred, ratings, chronological, none."


def _load(data: Optional[str], limit: Optional[int] = None):
    from petool_utils.benchmark.data import load_benchmark
    from petool_utils.benchmark.locate import locate_benchmark

    try:
        src = locate_benchmark(data)  # the one search order: --data, PETOOL_DATA_DIR, data/, ../shared
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    return str(src), load_benchmark(src, limit=limit)


def _pct(v: float, ci) -> str:
    return f"{100 * v:5.1f}" + (f" [{100 * ci[0]:5.1f}, {100 * ci[1]:5.1f}]" if ci else "")


def build_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="offline:ranker, petool's own CPU method (no LLM): fit a prior, cross-fit, ablate, audit.")

    @app.command("fit")
    def fit(
        data: list[str] = typer.Option(..., "--data", help="Training benchmark file or folder (repeat for several)."),
        out: Path = typer.Option(..., "--out", help="Where to write the prior (JSON)."),
    ) -> None:
        """Fit the ranker's prior on training histories (never references) and write it as a versioned JSON file."""
        from petool_utils.predictors.ranker.prior import fit_prior_files, write_prior

        prior = fit_prior_files(data)
        path = write_prior(prior, out)
        s = prior.summary()
        typer.echo(f"prior written to {path}: users per setting {s['n_users']}, providers {s['n_providers']}, "
                   f"{s['n_calls']} distinct (instruction, call) pairs, from {len(prior.sources)} file(s)")
        typer.echo(f"use it as: petool eval --model offline:ranker@{path} ...")

    @app.command("crossfit")
    def crossfit(
        data: Optional[str] = typer.Option(None, "--data", help="Benchmark file or folder; default PETOOL_DATA_DIR, then ../shared/petoolbench."),
        folds: int = typer.Option(2, "--folds", min=2, help="Folds by functionality group."),
        out: Path = typer.Option(..., "--out", help="Run-store root: DIR/<model folder>/<setting>.jsonl."),
        settings: Optional[list[str]] = typer.Option(None, "--setting", help=SETTINGS_HELP),
        limit: Optional[int] = typer.Option(None, "--limit", help="First N entries only (folds and priors come from these)."),
        extra_rows: bool = typer.Option(True, "--extra-rows/--no-extra-rows",
                                        help="Also write offline:ranker (no population) and offline:popularity@crossfit:K."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Cross-fitted predictions: each fold of functionality groups answered with a prior from the other folds."""
        from petool_utils import ALL_SETTINGS
        from petool_utils.evaluation.engine import evaluate
        from petool_utils.models.spec import model_slug
        from petool_utils.predictors.ranker.crossfit import CrossFitted, PopularityPredictor
        from petool_utils.predictors.ranker.predictor import PersonalizedRanker
        from petool_utils.predictors.ranker.prior import write_prior

        src, entries = _load(data, limit)
        chosen = list(settings) if settings else list(ALL_SETTINGS)
        ranker = CrossFitted(folds=folds, method="ranker").fit(entries)
        jobs = [(f"offline:ranker@crossfit:{folds}", ranker)]
        if extra_rows:
            jobs += [(f"offline:popularity@crossfit:{folds}", PopularityPredictor(folds=folds, table=ranker.table).fit(entries)),
                     ("offline:ranker", PersonalizedRanker(table=ranker.table))]
        for spec, pred in jobs:
            paths = evaluate(spec, entries, chosen, out, predictor=pred, data_path=src, progress=progress)
            for k, prior in enumerate(getattr(pred, "priors", [])):
                write_prior(prior, Path(out) / model_slug(spec) / "priors" / f"fold-{k}.json")
            typer.echo(f"{spec}: {', '.join(str(p) for p in paths.values())}")
        _print_scores(out, [s for s, _ in jobs], entries)

    def _print_scores(out: Path, specs: list[str], entries) -> None:
        from petool_utils.models.spec import model_slug
        from petool_utils.evaluation.reader import read_predictions
        from petool_utils.evaluation.ranker_ablation import accuracy_rows, judge_all

        typer.echo("\nTool / Param / Call Acc in %, with 95% intervals resampling functionality groups:")
        for spec in specs:
            responses = read_predictions([Path(out) / model_slug(spec)]).responses()
            for r in accuracy_rows(entries, judge_all(entries, responses)):
                typer.echo(f"  {spec:<32} {r['setting']:<14} n={r['n']:<5} Tool {_pct(r['tool_acc'], r['tool_ci'])}  "
                           f"Param {_pct(r['param_acc'], r['param_ci'])}  Call {_pct(r['call_acc'], r['call_ci'])}")

    @app.command("ablation")
    def ablation_cmd(
        data: Optional[str] = typer.Option(None, "--data", help="PEToolBench file or folder; default PETOOL_DATA_DIR, then ../shared/petoolbench."),
        limit: Optional[int] = typer.Option(None, "--limit", help="First N entries only."),
        metric: str = typer.Option("tool_acc", "--metric", help="tool_acc, param_acc or call_acc for the printed table."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write every row (all metrics, intervals, error counts) as CSV."),
        halves: bool = typer.Option(False, "--halves", help="Also print the held-out score of each fold (2 folds by functionality group)."),
        folds: int = typer.Option(2, "--folds", min=2, help="Folds of the cross-fitted variants."),
    ) -> None:
        """Ablations of offline:ranker (petool's own method, no LLM): Tool/Param/Call Acc per setting, in %."""
        from petool_utils.evaluation import ranker_ablation as ablation

        if metric not in ("tool_acc", "param_acc", "call_acc"):
            raise typer.BadParameter("--metric must be tool_acc, param_acc or call_acc")
        src, entries = _load(data, limit)
        df = ablation.run_ablations(entries, folds=folds, progress=True)
        typer.echo(f"offline:ranker ablations ({metric}, %, 95% group-clustered intervals), {len(entries)} entries from {src}; "
                   f"variants with a prior are cross-fitted ({folds} folds by functionality group)")
        typer.echo(ablation.summary_table(df, metric, with_ci=True).to_string())
        if out is not None:
            from petool_utils.io import atomic_write_text

            atomic_write_text(out, df.to_csv(index=False))
            typer.echo(f"rows written to {out}")
        if halves:
            t = ablation.fold_table(entries, folds=2, metric=metric)
            typer.echo(t.to_string())

    @app.command("audit")
    def audit_cmd(
        predictions: Path = typer.Option(..., "--predictions", help="Run-store root: one folder per model with <setting>.jsonl files."),
        data: Optional[str] = typer.Option(None, "--data", help="The benchmark the predictions answer."),
        folds: int = typer.Option(2, "--folds", min=2, help="Folds of the cross-fitted popularity prior."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write the subset accuracies as CSV."),
    ) -> None:
        """The popularity audit: the personalization-critical subset and every model's accuracy on it."""
        from petool_utils.evaluation import ranker_audit as audit

        src, entries = _load(data)
        a = audit.audit_entries(entries, folds=folds)
        typer.echo(f"popularity audit of {src} ({len(entries)} entries, popularity cross-fitted with {folds} folds)")
        typer.echo(audit.audit_summary(a).to_string(index=False))
        models = audit.models_from_dir(predictions)
        if not models:
            raise typer.BadParameter(f"{predictions}: no <model>/<setting>.jsonl folders", param_hint="--predictions")
        df = audit.subset_accuracy(entries, a, models)
        view = df[df["setting"] == "pooled (3 settings)"]
        for _, r in view.iterrows():
            typer.echo(f"  {r['model']:<40} {r['subset']:<9} n={r['n']:<5} Tool {_pct(r['tool_acc'], r['tool_ci'])}  "
                       f"Param {_pct(r['param_acc'], r['param_ci'])}  Call {_pct(r['call_acc'], r['call_ci'])}")
        if out is not None:
            from petool_utils.io import atomic_write_text

            atomic_write_text(out, df.to_csv(index=False))
            typer.echo(f"rows written to {out}")

    return app


def register(app: typer.Typer) -> None:
    app.add_typer(build_app(), name="ranker")
