"""``petool ranker-ablation``: the ranker's ablation table (what each component adds) without a notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("ranker-ablation")
    def ranker_ablation(
        data: Optional[str] = typer.Option(None, "--data", help="PEToolBench file or folder; default PETOOL_DATA_DIR, then ../shared/petoolbench."),
        limit: Optional[int] = typer.Option(None, "--limit", help="First N entries only."),
        metric: str = typer.Option("tool_acc", "--metric", help="tool_acc or param_acc for the printed table."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write every row (both metrics, error counts) as CSV."),
        halves: bool = typer.Option(False, "--halves", help="Also print the design-half / confirming-half check."),
    ) -> None:
        """Ablations of offline:ranker (petool's own method, no LLM): Tool/Param Acc per setting, in %."""
        from petool_utils.benchmark.data import load_benchmark
        from petool_utils.paths import shared_petoolbench_dir
        from petool_utils.predictors.ranker import ablation

        if metric not in ("tool_acc", "param_acc"):
            raise typer.BadParameter("--metric must be tool_acc or param_acc")
        src = data or shared_petoolbench_dir()
        entries = load_benchmark(src, limit=limit)
        df = ablation.run_ablations(entries, progress=True)
        typer.echo(f"offline:ranker ablations ({metric}, %), {len(entries)} entries from {src}")
        typer.echo(ablation.summary_table(df, metric).to_string())
        if out is not None:
            from petool_utils.io import atomic_write_text

            atomic_write_text(out, df.to_csv(index=False))
            typer.echo(f"rows written to {out}")
        if halves:
            h = ablation.halves_check(entries)
            t = (h.pivot_table(index=["half", "population"], columns="setting", values=metric) * 100).round(1)
            typer.echo(t.to_string())
