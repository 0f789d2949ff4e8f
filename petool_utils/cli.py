"""The ``petool`` command line. Sub-commands live beside the logic they call; this file wires them.

Each ``petool_utils/cli_<area>.py`` module exposes ``register(app)``; a module that is missing or
fails to import does not take the other commands down with it.
"""

from __future__ import annotations

import importlib

import typer

from petool_utils import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, help="petool: personalized tool learning, end to end.")

CLI_MODULES = ("cli_eval", "cli_score", "cli_run", "cli_build", "cli_train", "cli_ranker")


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


for _mod in CLI_MODULES:
    try:
        importlib.import_module(f"petool_utils.{_mod}").register(app)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"petool_utils.{_mod}":
            raise


def main() -> None:
    app()


if __name__ == "__main__":
    main()
