"""The project root, found from the caller's own checkout, and paths taken from it.

The benchmark search order lives in :mod:`petool_utils.benchmark.locate`.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The checkout that holds this code (its resources, its git commit); not necessarily the project in use."""

ROOT_ENV = "PETOOL_ROOT"
"""Set it to a project folder to name the root explicitly (a job script, a kernel started elsewhere)."""


def is_project_root(folder: str | os.PathLike[str]) -> bool:
    """A petool project: a folder holding ``pyproject.toml`` and ``params/``."""
    p = Path(folder)
    return (p / "pyproject.toml").is_file() and (p / "params").is_dir()


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The project the caller works in: ``$PETOOL_ROOT``, else the nearest folder at or above ``start``
    (default: the working directory) holding ``pyproject.toml`` and ``params/``, else the checkout of this
    code.

    The root used to be the folder petool_utils was installed from, so a clone run with another
    checkout's environment (or the user-wide kernel pointing at one ``.venv``) read and wrote that other
    checkout's ``runs/``. A notebook's kernel starts in ``notebooks/`` and a command in the shell's folder,
    so walking up from there finds the caller's own project.
    """
    env = os.environ.get(ROOT_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if is_project_root(folder):
            return folder
    return PACKAGE_ROOT


REPO_ROOT = find_project_root()
"""The project root of this process (:func:`find_project_root` when petool_utils was first imported)."""


def project_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as an absolute path, a relative one taken from the project root, never from the current
    directory: a notebook opened in JupyterLab runs in ``notebooks/``, papermill in the root, and both
    must read and write the same ``runs/<profile>``."""
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else REPO_ROOT / p
