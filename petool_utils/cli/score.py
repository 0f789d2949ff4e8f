"""``petool score``: metrics for predictions files, as a readable table or one JSON object.

Exit codes (docs/scoring.md): 0 scored; 2 a data problem, always with a message and never a traceback:
the benchmark cannot be loaded, no predictions file, files that mix models, nothing at all to score,
or predictions files with skipped lines or no usable line (the scores of what could be read are still
printed, so nothing is hidden, but a script learns that its input was damaged). An unterminated last
line (what a killed run leaves) is only a warning: its entry counts as missing, as it would after a
resume.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

MAX_SHOWN_PROBLEMS = 20


class ParserName(str, Enum):
    reference = "reference"
    robust = "robust"


class CIName(str, Enum):
    group = "group"
    entry = "entry"


def _fmt(acc: float, ci: tuple[float, float] | None) -> str:
    s = f"{100 * acc:5.1f}"
    return s + (f" [{100 * ci[0]:5.1f}, {100 * ci[1]:5.1f}]" if ci else "")


def render_table(scores: dict, parser: str, source: str) -> str:
    """The human view: percentages (as the paper prints them) with 95% intervals."""
    from petool_utils.evaluation.scoring import CI_METHODS

    lines = [f"parser: {parser}   data: {source}", ""]
    head = (f"{'setting':<14}{'n':>6}  {'Tool Acc':<21}{'Param Acc':<21}{'Call Acc':<21}{'invalid':>8}"
            f"{'failed':>8}{'missing':>8}")
    lines += [head, "-" * len(head)]
    for name, sc in scores.items():
        lines.append(
            f"{name:<14}{sc.n:>6}  {_fmt(sc.tool_acc, sc.tool_ci):<21}{_fmt(sc.param_acc, sc.param_ci):<21}"
            f"{_fmt(sc.call_acc, sc.call_ci):<21}{100 * sc.invalid_format:>7.1f}%{sc.n_failed:>8}{sc.n_missing:>8}"
        )
    methods = sorted({sc.ci_method for sc in scores.values() if sc.tool_ci is not None})
    if methods:
        lines += ["", "intervals: " + "; ".join(CI_METHODS[m] for m in methods)]
    lines.append("failed: requests that failed on every try; missing: entries with no line; both score 0")
    if "all" in scores and scores["all"].settings:
        lines.append(f"all = mean of {', '.join(scores['all'].settings)} (the no-history 'none' setting is never included)")
    return "\n".join(lines)


def render_comparison(comparison: dict, a: str, b: str) -> str:
    """``B - A`` per setting and metric, in points, with the clustered interval and the paired p-value."""
    lines = [f"B minus A, in points (A = {a}; B = {b})", ""]
    head = f"{'setting':<14}{'metric':<11}{'A':>7}{'B':>7}{'B-A':>8}  {'95% interval':<18}{'p':>8}{'groups':>8}"
    lines += [head, "-" * len(head)]
    for setting, metrics in comparison.items():
        for metric, c in metrics.items():
            ci = f"[{100 * c.ci[0]:+.1f}, {100 * c.ci[1]:+.1f}]" if c.ci else ""
            lines.append(f"{setting:<14}{metric:<11}{100 * c.mean_a:7.1f}{100 * c.mean_b:7.1f}{100 * c.diff:+8.1f}  "
                         f"{ci:<18}{c.p_value:8.4f}{c.n_groups:>8}")
    lines += ["", "interval: cluster bootstrap over functionality groups; p: paired randomisation test that flips "
              "whole groups' differences (two-sided)"]
    return "\n".join(lines)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _read(paths: list[Path], label: str):
    """The one reader, with every problem turned into a message (exit 2 for what makes scoring impossible)."""
    from petool_utils.benchmark.data import DataError
    from petool_utils.evaluation.reader import read_predictions, setting_files

    for p in paths:
        if p.is_dir() and not setting_files(p):
            _fail(f"{p}: no <setting>.jsonl files in this folder, nor model folders holding them "
                  "(`petool eval --out DIR` writes DIR/<model>/<setting>.jsonl)")
        if not p.exists():
            _fail(f"{p}: no such file or folder")
        if not p.is_dir() and not p.is_file():
            _fail(f"{p}: not a file")
    try:
        return read_predictions(paths)
    except (DataError, OSError) as exc:
        _fail(f"{label}{exc}")


def _report_problems(predictions, label: str = "") -> bool:
    """Warnings for skipped lines and empty files; True when the input was damaged (exit 2 at the end)."""
    for p in predictions.problems[:MAX_SHOWN_PROBLEMS]:
        typer.echo(f"warning: {label}{p}: line skipped", err=True)
    if len(predictions.problems) > MAX_SHOWN_PROBLEMS:
        typer.echo(f"warning: {label}... and {len(predictions.problems) - MAX_SHOWN_PROBLEMS} more skipped lines",
                   err=True)
    if predictions.problems:
        torn = sum(p.torn_tail for p in predictions.problems)
        typer.echo(f"warning: {label}{len(predictions.problems)} line(s) skipped"
                   + (f" ({torn} unterminated last line(s) of an interrupted run)" if torn else ""), err=True)
    for f in predictions.empty_files:
        typer.echo(f"warning: {label}{f}: no usable prediction line (empty file?)", err=True)
    return bool(predictions.bad_lines or predictions.empty_files)


def _load_entries(data: Optional[str]):
    from petool_utils.benchmark.data import DataError, load_benchmark

    try:
        return load_benchmark(data)
    except (FileNotFoundError, DataError, ValueError) as exc:
        _fail(str(exc))


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score(
        predictions: list[Path] = typer.Argument(..., help="Predictions .jsonl files (run-store lines), a model's predictions folder, or a folder of model folders (petool eval --out)."),
        data: Optional[str] = typer.Option(None, "--data", help="Benchmark file or folder (default: $PETOOL_DATA_DIR, then data/)."),
        parser: ParserName = typer.Option(ParserName.reference, "--parser", help="reference = the authors' scoring; robust = any reasonable answer."),
        as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object {setting: {n, tool_acc, ...}} (fractions 0..1)."),
        n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples for the 95% intervals (0: none)."),
        seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
        ci: CIName = typer.Option(CIName.group, "--ci", help="group = resample whole functionality groups (default); entry = per-entry bootstrap."),
        predicted_only: bool = typer.Option(
            False, "--predicted-only",
            help="Score only the entries that have a line in the files (default: every benchmark entry, a missing one scores 0, as the authors score)."),
        errors: bool = typer.Option(False, "--errors", help="Also give the six error types per setting."),
        compare: bool = typer.Option(
            False, "--compare",
            help="Compare two prediction sets A B (files or folders) on the same entries: B minus A per setting and 'all', "
                 "with the group-clustered 95% interval and a paired p-value."),
    ) -> None:
        """Score predictions: Tool / Param / Call accuracy per setting and "all" (mean of the personalized settings).

        A folder of model folders (what ``petool eval --out X`` writes) scores every model under it: one table
        per model (``--json``: one object ``{model spec: {setting: ...}}``)."""
        from petool_utils.evaluation.reader import setting_files
        from petool_utils.evaluation.samples import model_folders

        if compare:
            _compare(predictions, data, parser.value, as_json, n_boot, seed)
            return
        opts = dict(data=data, parser=parser.value, n_boot=n_boot, seed=seed, ci=ci.value,
                    predicted_only=predicted_only, errors=errors, as_json=as_json)
        root = predictions[0]
        if len(predictions) == 1 and root.is_dir() and not setting_files(root) and model_folders(root):
            damaged, out = False, {}
            for d in model_folders(root):
                spec = _spec_of(d)
                if not as_json:
                    typer.echo(f"\n== {spec} ({d}) ==")
                result, bad = _score_set([d], label=f"{d.name}: ", **opts)
                out[spec], damaged = result, damaged or bad
            if as_json:
                typer.echo(json.dumps(out))
        else:
            result, damaged = _score_set(predictions, **opts)
            if as_json:
                typer.echo(json.dumps(result))
        if damaged:
            typer.echo("error: the predictions had skipped lines or empty files (listed above); the scores cover the "
                       "rest, with those entries missing", err=True)
            raise typer.Exit(2)


def _spec_of(folder: Path) -> str:
    """A model folder's spec, from its manifest (the folder's name when it has none)."""
    from petool_utils.io import read_json

    try:
        return str(read_json(folder / "manifest.json").get("model_spec") or folder.name)
    except (OSError, ValueError, AttributeError):
        return folder.name


def _score_set(predictions: list[Path], *, data: Optional[str], parser: str, n_boot: int, seed: int, ci: str,
               predicted_only: bool, errors: bool, as_json: bool, label: str = "") -> tuple[dict[str, Any], bool]:
    """Score one model's prediction set; print its table (unless ``as_json``); return its JSON form and
    whether its input was damaged."""
    from petool_utils.evaluation.errors import error_table
    from petool_utils.evaluation.scoring import score_prediction_set, scores_to_json
    from petool_utils.benchmark.locate import locate_benchmark

    pset = _read(predictions, label)
    damaged = _report_problems(pset, label)
    if not pset.settings:
        _fail(f"{label}nothing to score: no usable prediction line in " + ", ".join(str(p) for p in pset.files))
    entries = _load_entries(data)
    known = {e.key for e in entries}
    answered = pset.ids()
    unknown = answered - known
    if answered and not (answered & known):
        _fail(f"{label}none of the {len(answered)} entry ids in the predictions is in the benchmark "
              f"{locate_benchmark(data)}; wrong --data?")
    if unknown:
        typer.echo(f"warning: {label}{len(unknown)} predicted entry ids are not in the benchmark and are ignored", err=True)
    if predicted_only:
        entries = [e for e in entries if e.key in answered]
    scores = score_prediction_set(entries, pset, parser, n_boot=n_boot, seed=seed, ci=ci)
    for name, sc in scores.items():
        if name == "all":
            continue
        if sc.n_failed:
            typer.echo(f"warning: {label}{name}: {sc.n_failed} of {sc.n} entries are failed requests (error lines only) "
                       "and score 0; rerun `petool eval` to retry them", err=True)
        if sc.n_missing:
            typer.echo(f"warning: {label}{name}: {sc.n_missing} of {sc.n} entries have no line and score 0"
                       + ("" if predicted_only else " (use --predicted-only to score only answered entries)"), err=True)
    tables = {s: error_table(entries, a.responses(), parser) for s, a in pset.settings.items()} if errors else {}
    out: dict[str, Any] = scores_to_json(scores)
    for s, t in tables.items():
        out[s]["error_types"] = {row.type: int(row.count) for row in t.itertuples()}
    if not as_json:
        typer.echo(render_table(scores, parser, f"{locate_benchmark(data)} ({len(entries)} entries)"))
        for s, t in tables.items():
            typer.echo(f"\nerror types, {s} (share of wrong entries):")
            typer.echo(t.to_string(index=False, formatters={"share": "{:.1%}".format, "share_of_all": "{:.1%}".format}))
    return out, damaged


def _compare(paths: list[Path], data: Optional[str], parser: str, as_json: bool, n_boot: int, seed: int) -> None:
    from petool_utils.evaluation.scoring import compare_predictions

    if len(paths) != 2:
        _fail(f"--compare takes exactly two prediction sets, A and B (files or folders); got {len(paths)}")
    a = _read([paths[0]], "A: ")
    b = _read([paths[1]], "B: ")
    damaged = _report_problems(a, "A: ") | _report_problems(b, "B: ")
    entries = _load_entries(data)
    common = [s for s in a.settings if s in b.settings]
    if not common:
        _fail(f"A ({', '.join(a.settings) or 'nothing'}) and B ({', '.join(b.settings) or 'nothing'}) share no setting")
    comparison = compare_predictions(entries, a, b, parser=parser, n_boot=n_boot, seed=seed)
    if as_json:
        typer.echo(json.dumps({s: {m: c.to_dict() for m, c in ms.items()} for s, ms in comparison.items()}))
    else:
        typer.echo(render_comparison(comparison, str(paths[0]), str(paths[1])))
    if damaged:
        typer.echo("error: the predictions had skipped lines or empty files (listed above)", err=True)
        raise typer.Exit(2)


__all__ = ["register", "render_table", "render_comparison", "ParserName"]
