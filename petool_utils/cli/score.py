"""``petool score``: metrics for predictions files, as a readable table or one JSON object."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer



class ParserName(str, Enum):
    reference = "reference"
    robust = "robust"


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its ``<setting>.jsonl`` files (one model's run-store folder)."""
    from petool_utils.evaluation.prediction_files import setting_files

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = setting_files(p)
            if not found:
                raise typer.BadParameter(f"{p}: no <setting>.jsonl files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise typer.BadParameter(f"{p}: no such file or folder")
    return out


def _fmt(acc: float, ci: tuple[float, float] | None) -> str:
    s = f"{100 * acc:5.1f}"
    return s + (f" [{100 * ci[0]:5.1f}, {100 * ci[1]:5.1f}]" if ci else "")


def render_table(scores: dict, parser: str, source: str) -> str:
    """The human view: percentages (as the paper prints them) with 95% bootstrap intervals."""
    lines = [f"parser: {parser}   data: {source}", ""]
    head = f"{'setting':<14}{'n':>6}  {'Tool Acc':<21}{'Param Acc':<21}{'Call Acc':<21}{'invalid':>8}"
    lines += [head, "-" * len(head)]
    for name, sc in scores.items():
        lines.append(
            f"{name:<14}{sc.n:>6}  {_fmt(sc.tool_acc, sc.tool_ci):<21}{_fmt(sc.param_acc, sc.param_ci):<21}"
            f"{_fmt(sc.call_acc, sc.call_ci):<21}{100 * sc.invalid_format:>7.1f}%"
        )
    if "all" in scores and scores["all"].settings:
        lines += ["", f"all = mean of {', '.join(scores['all'].settings)} (the no-history 'none' setting is never included)"]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score(
        predictions: list[Path] = typer.Argument(..., help="Predictions .jsonl files (run-store lines), or a model's predictions folder."),
        data: Optional[str] = typer.Option(None, "--data", help="Benchmark file or folder (default: $PETOOL_DATA_DIR, then data/)."),
        parser: ParserName = typer.Option(ParserName.reference, "--parser", help="reference = the authors' scoring; robust = any reasonable answer."),
        as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object {setting: {n, tool_acc, ...}} (fractions 0..1)."),
        n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples for the 95% intervals (0: none)."),
        seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
        predicted_only: bool = typer.Option(
            False, "--predicted-only",
            help="Score only the entries that have a line in the files (default: every benchmark entry, a missing one scores 0, as the authors score)."),
        errors: bool = typer.Option(False, "--errors", help="Also give the six error types per setting."),
    ) -> None:
        """Score predictions: Tool / Param / Call accuracy per setting and "all" (mean of the personalized settings)."""
        from petool_utils.benchmark.data import load_benchmark
        from petool_utils.evaluation.errors import error_table
        from petool_utils.paths import resolve_data_dir
        from petool_utils.evaluation.prediction_files import read_prediction_files
        from petool_utils.evaluation.scoring import score_settings, scores_to_json

        files = _expand(predictions)
        try:
            entries = load_benchmark(data)
        except FileNotFoundError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        by_setting = read_prediction_files(files)
        known = {str(e.entry_id) for e in entries}
        answered = {eid for answers in by_setting.values() for eid in answers}
        unknown = answered - known
        if answered and not (answered & known):
            typer.echo(f"error: none of the {len(answered)} entry ids in the predictions is in the benchmark "
                       f"{resolve_data_dir(data)}; wrong --data?", err=True)
            raise typer.Exit(2)
        if unknown:
            typer.echo(f"warning: {len(unknown)} predicted entry ids are not in the benchmark and are ignored", err=True)
        if predicted_only:
            entries = [e for e in entries if str(e.entry_id) in answered]
        scores = score_settings(entries, by_setting, parser.value, n_boot=n_boot, seed=seed, overall_min_settings=2)
        for name, sc in scores.items():
            if name != "all" and sc.n_missing:
                typer.echo(f"warning: {name}: {sc.n_missing} of {sc.n} entries have no response and score 0"
                           + ("" if predicted_only else " (use --predicted-only to score only answered entries)"), err=True)
        tables = {s: error_table(entries, by_setting[s], parser.value) for s in by_setting} if errors else {}
        if as_json:
            out = scores_to_json(scores)
            for s, t in tables.items():
                out[s]["error_types"] = {row.type: int(row.count) for row in t.itertuples()}
            typer.echo(json.dumps(out))
            return
        typer.echo(render_table(scores, parser.value, f"{resolve_data_dir(data)} ({len(entries)} entries)"))
        for s, t in tables.items():
            typer.echo(f"\nerror types, {s} (share of wrong entries):")
            typer.echo(t.to_string(index=False, formatters={"share": "{:.1%}".format, "share_of_all": "{:.1%}".format}))


__all__ = ["register", "render_table", "ParserName"]
