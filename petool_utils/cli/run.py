"""``petool run``: execute a profile's notebooks with papermill and build the HTML report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        profile: str = typer.Option("offline", "--profile", "-p", help="A profile name under params/ or a YAML path."),
        only: Optional[str] = typer.Option(None, "--only", help="Comma-separated notebook numbers or names, e.g. 07,10."),
        no_input: bool = typer.Option(False, "--no-input", help="Hide code cells in the HTML (a prose-and-results report)."),
        keep_going: bool = typer.Option(False, "--keep-going", help="Run later notebooks after one fails."),
        index_only: bool = typer.Option(False, "--index-only", help="Only rebuild index.html from what is on disk."),
        notebooks_dir: Optional[Path] = typer.Option(None, "--notebooks-dir", help="Where the notebooks are (default: notebooks/)."),
    ) -> None:
        """Run the profile's notebooks headless; executed copies go to <run_dir>/notebooks/, HTML to <report_dir>/."""
        from petool_utils.params import ProfileError, load_profile
        from petool_utils.report.runner import NOTEBOOKS_DIR, build_index, run_profile

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        try:
            prof = load_profile(profile)
        except ProfileError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        if index_only:
            typer.echo(f"Report: {build_index(prof)}")
            return
        try:
            result = run_profile(prof, only=only, notebooks_dir=notebooks_dir or NOTEBOOKS_DIR, no_input=no_input,
                                 keep_going=keep_going)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        for r in result.runs:
            extra = f"  {r.error}" if r.error else ""
            dur = f" {r.duration_s:.1f}s" if r.duration_s is not None else ""
            typer.echo(f"{r.status:8s} {r.notebook}{dur}{extra}")
        typer.echo(f"Report: {result.index}")
        if result.failed:
            raise typer.Exit(1)
