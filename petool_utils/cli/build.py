"""``petool build``: run the construction stages 01-06 without notebooks (scripts, cluster jobs)."""

from __future__ import annotations

import inspect
from typing import Optional

import typer

from petool_utils.params import Profile

STAGES = {
    "01": ("01_tool_preparation", "stage01_prepare"),
    "02": ("02_tool_understanding", "stage02_understand"),
    "03": ("03_tool_clustering", "stage03_cluster"),
    "04": ("04_preference_construction", "stage04_preferences"),
    "05": ("05_data_creation", "stage05_create"),
    "06": ("06_benchmark_statistics", "stage06_statistics", "stage06_baselines"),
}


def stage_kwargs(func, profile: Profile, notebook: str, run_dir: str, tools_dir: Optional[str]) -> dict:
    """The profile's common keys plus the notebook's section, kept to the names ``func`` accepts."""
    from petool_utils.benchmark.locate import find_released_benchmark

    values = profile.notebook_params(notebook)
    values["run_dir"] = run_dir
    if tools_dir is not None:
        values["tools_dir"] = tools_dir
    if notebook == "06_benchmark_statistics":  # the one search order for the released data
        rel = find_released_benchmark(values.get("data"))
        values["released"] = str(rel) if rel else None
    accepted = set(inspect.signature(func).parameters)
    return {k: v for k, v in values.items() if k in accepted}


def register(app: typer.Typer) -> None:
    @app.command("build")
    def build(
        profile: str = typer.Option("offline", help="profile name under params/ or a YAML path"),
        run_dir: Optional[str] = typer.Option(None, help="artifact folder (default: the profile's run_dir)"),
        tools_dir: Optional[str] = typer.Option(None, help="a ToolBench toolenv/tools folder (default: the profile's)"),
        stages: str = typer.Option("01,02,03,04,05,06", help="comma-separated stage numbers to run, in order"),
    ) -> None:
        """Build a PEToolBench-style benchmark from a tool corpus (stages 01-06 of the construction)."""
        from petool_utils.benchmark.data import DataError
        from petool_utils.construction import pipeline
        from petool_utils.params import ProfileError, load_profile

        try:
            prof = load_profile(profile)  # the one profile reader: validated, secrets refused
        except ProfileError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        rd = run_dir or str(prof.run_dir)
        for s in [x.strip() for x in stages.split(",") if x.strip()]:
            if s not in STAGES:
                raise typer.BadParameter(f"unknown stage {s!r}; choose from {', '.join(STAGES)}")
            notebook, *fnames = STAGES[s]
            typer.echo(f"[{notebook}] ...")
            for fname in fnames:  # a notebook's stage functions, in the order the notebook calls them
                func = getattr(pipeline, fname)
                try:
                    func(**stage_kwargs(func, prof, notebook, rd, tools_dir))
                except (DataError, FileNotFoundError) as exc:
                    typer.echo(f"error: {exc}", err=True)
                    raise typer.Exit(2) from None
        typer.echo(f"artifacts in {rd}; benchmark in {rd}/benchmark/")
