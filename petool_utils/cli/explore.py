"""``petool explore RUN_DIR``: the entry explorer (and ``samples.jsonl``) for any run folder.

``RUN_DIR`` is either a profile's run folder (notebook 07's ``metrics.json`` lists its benchmarks and
models) or a folder written by ``petool eval --out X`` (one folder per model; each model's benchmark from
its ``manifest.json``, or ``--data``). ``samples.jsonl`` goes into ``RUN_DIR``; the page goes to
``--out``, else beside the profile's report when ``RUN_DIR`` is a profile's run folder, else into
``RUN_DIR``. Exit 2, with a message, when there is nothing to explore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _profile_report_dir(run_dir: Path) -> Path | None:
    """The report folder of the profile in ``params/`` whose run folder is ``run_dir``, if any."""
    from petool_utils.params import load_profile, params_dir

    for p in sorted(params_dir().glob("*.yaml")):
        try:
            prof = load_profile(p)
        except Exception:  # a broken profile is its own problem, not this command's
            continue
        if Path(prof.run_dir).resolve() == run_dir.resolve():
            return Path(prof.report_dir)
    return None


def register(app: typer.Typer) -> None:
    @app.command("explore")
    def explore(
        run_dir: Path = typer.Argument(..., help="A profile's run folder (runs/<profile>) or a `petool eval --out` folder."),
        data: Optional[str] = typer.Option(None, "--data", help="The benchmark of a `petool eval --out` folder (default: each model's manifest)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Where to write the page (default: reports/<profile>/entries.html, else RUN_DIR/entries.html)."),
        parser: Optional[str] = typer.Option(None, "--parser", help="reference or robust (default: the parser the run scored with)."),
    ) -> None:
        """Write the entry explorer: a row per entry, each model's call per setting coloured by error type."""
        from petool_utils.benchmark.data import DataError
        from petool_utils.evaluation import samples
        from petool_utils.evaluation.grid import METRICS_FILE
        from petool_utils.report.explorer import EXPLORER_FILE

        if not run_dir.is_dir():
            typer.echo(f"error: {run_dir}: no such folder", err=True)
            raise typer.Exit(2)
        if (run_dir / METRICS_FILE).exists():
            runs = samples.from_run_dir(run_dir)
            page = out or (_profile_report_dir(run_dir) or run_dir) / EXPLORER_FILE
        else:
            runs = samples.from_model_folders(run_dir, data)
            page = out or run_dir / EXPLORER_FILE
            unknown = [m.spec for bm in runs if not bm.data for m in bm.models]
            if unknown:
                typer.echo(f"error: {run_dir}: no benchmark recorded for {', '.join(unknown)} (no manifest.json with "
                           "data); pass --data", err=True)
                raise typer.Exit(2)
        if not runs:
            typer.echo(f"error: {run_dir}: nothing to explore: no {METRICS_FILE} with models that ran (notebook "
                       "07_evaluation writes it) and no model folders with <setting>.jsonl files (`petool eval --out "
                       f"{run_dir}` writes them)", err=True)
            raise typer.Exit(2)
        try:
            written, html = samples.write_explorer(runs, run_dir, page, title=f"petool entries: {run_dir.name}",
                                                   parser=parser)
        except (DataError, FileNotFoundError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        n = sum(len(m.models) for m in runs)
        typer.echo(f"{n} model run(s) on {len(runs)} benchmark(s): samples {written}; explorer {html}")


__all__ = ["register"]
