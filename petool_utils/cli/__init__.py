"""The ``petool`` command line: one module per command under ``petool_utils/cli/``, wired here.

Each module exposes ``register(app)``. A module that fails to import is an error of the whole command
line (never a silently missing sub-command).
"""

from __future__ import annotations

import typer

from petool_utils import __version__
from petool_utils.cli import build, evaluate, explore, models, ranker, run, score, train

app = typer.Typer(add_completion=False, no_args_is_help=True, help="petool: personalized tool learning, end to end.")


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


for _mod in (evaluate, score, explore, run, build, train, ranker, models):
    _mod.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
