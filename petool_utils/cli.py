"""The ``petool`` command line. Sub-commands live beside the logic they call; this file wires them."""

from __future__ import annotations

import typer

from petool_utils import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, help="petool: personalized tool learning, end to end.")


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
