"""``petool build``: run the construction stages 01-06 without notebooks (scripts, cluster jobs)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Optional

import typer

STAGES = {
    "01": ("01_tool_preparation", "stage01_prepare"),
    "02": ("02_tool_understanding", "stage02_understand"),
    "03": ("03_tool_clustering", "stage03_cluster"),
    "04": ("04_preference_construction", "stage04_preferences"),
    "05": ("05_data_creation", "stage05_create"),
    "06": ("06_benchmark_statistics", "stage06_statistics"),
}


def load_profile(profile: str) -> dict:
    """A profile by name (``params/<name>.yaml``) or path."""
    import yaml

    from petool_utils.paths import REPO_ROOT

    path = Path(profile)
    if not path.exists():
        path = REPO_ROOT / "params" / f"{profile}.yaml"
    if not path.exists():
        raise typer.BadParameter(f"no profile {profile!r} (looked for a file and params/{profile}.yaml)")
    return yaml.safe_load(path.read_text()) or {}


def stage_kwargs(func, profile: dict, notebook: str, run_dir: str, tools_dir: Optional[str]) -> dict:
    """The profile's common keys plus the notebook's section, kept to the names ``func`` accepts."""
    from petool_utils.construction.pipeline import find_released

    values = {k: profile.get(k) for k in ("seed", "tools_dir", "data")}
    values.update((profile.get("params") or {}).get(notebook) or {})
    values["run_dir"] = run_dir
    if tools_dir is not None:
        values["tools_dir"] = tools_dir
    if notebook == "06_benchmark_statistics":
        rel = find_released(values.get("data"))
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
        from petool_utils.construction import pipeline

        prof = load_profile(profile)
        rd = run_dir or prof.get("run_dir") or f"runs/{prof.get('profile', profile)}"
        for s in [x.strip() for x in stages.split(",") if x.strip()]:
            if s not in STAGES:
                raise typer.BadParameter(f"unknown stage {s!r}; choose from {', '.join(STAGES)}")
            notebook, fname = STAGES[s]
            func = getattr(pipeline, fname)
            typer.echo(f"[{notebook}] ...")
            func(**stage_kwargs(func, prof, notebook, rd, tools_dir))
        typer.echo(f"artifacts in {rd}; benchmark in {rd}/benchmark/")
