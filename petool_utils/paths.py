"""Where things live: the project root (found from the caller's own checkout), and the one search order
for benchmark data.

Every caller (the CLI, notebooks 06, 07, 10 and 11, the tests) finds data through the functions here, so
a notebook parameter, a CLI flag and the environment never disagree about which release is meant:

1. an explicit ``data`` (a ``--data`` flag or a notebook parameter): a file or a folder; it must hold a
   benchmark, since the user asked for it;
2. ``$PETOOL_DATA_DIR``;
3. ``data/`` under the project root (where ``petool download`` puts the release);
4. ``../shared/petoolbench`` beside the checkout (developers and CI have it), unless
   ``PETOOL_NO_SHARED=1``: a test that plays a fresh clone sets it, so that nothing beside the
   project is seen;
5. for notebooks that need *a* benchmark: the split notebook 05 constructed, ``<run_dir>/benchmark/test.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
DEV_SLICE_NAME = "user_entries_test_dev.json.gz"
RELEASE_NAMES = ("user_entries_test.json", "user_entries_test.json.gz", DEV_SLICE_NAME, "test.json")
"""Benchmark files a data folder is searched for, in this order: the full release first."""

DATA_DIR_ENV = "PETOOL_DATA_DIR"
NO_SHARED_ENV = "PETOOL_NO_SHARED"
"""Set to 1 to stop petool from looking at ``../shared/petoolbench`` (the fresh-clone test does)."""

NO_RELEASED_NOTE = ("no released PEToolBench found: evaluated on the constructed split; "
                    "`petool download` or PETOOL_DATA_DIR adds it")
"""What a notebook prints first, and the report says, when it falls back to the constructed split."""

HOW_TO_GET_DATA = ("pass --data PATH (a notebook's `data` parameter), set PETOOL_DATA_DIR, or run "
                   "`petool download`")


def project_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as an absolute path, a relative one taken from the project root, never from the current
    directory: a notebook opened in JupyterLab runs in ``notebooks/``, papermill in the root, and both
    must read and write the same ``runs/<profile>``."""
    p = Path(os.path.expanduser(str(path)))
    return p if p.is_absolute() else REPO_ROOT / p


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """An explicit ``--data``/parameter, then ``PETOOL_DATA_DIR``, then ``data/`` under the project root.

    An explicit or environment path is taken as given (a relative one from the current directory, as a
    shell user means it); notebooks make their parameters absolute first (:func:`project_path`).
    """
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return REPO_ROOT / "data"


def shared_search_enabled() -> bool:
    """Whether ``../shared`` may be searched: the one place that reads ``PETOOL_NO_SHARED``."""
    return os.environ.get(NO_SHARED_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def shared_petoolbench_dir() -> Path | None:
    """The folder holding the development slice: ``PETOOL_DATA_DIR`` if it has it, else
    ``../shared/petoolbench`` beside the checkout (unless ``PETOOL_NO_SHARED=1``); None if absent."""
    env = os.environ.get(DATA_DIR_ENV)
    cands = [Path(env).expanduser()] if env else []
    if shared_search_enabled():
        cands += [REPO_ROOT.parent / "shared" / "petoolbench", REPO_ROOT.parent.parent / "shared" / "petoolbench"]
    for cand in cands:
        if (cand / DEV_SLICE_NAME).exists():
            return cand
    return None


def _per_setting_layout(folder: Path) -> bool:
    from petool_utils.benchmark.data import per_setting_files

    return per_setting_files(folder) is not None


def benchmark_in(folder_or_file: str | os.PathLike[str]) -> Path | None:
    """The benchmark a file or folder holds: the file itself, a release file in the folder (full
    release first), or the folder when it has the per-setting layout; None when it holds none."""
    p = Path(folder_or_file)
    if p.is_file():
        return p
    if not p.is_dir():
        return None
    for name in RELEASE_NAMES:
        if (p / name).is_file():
            return p / name
    return p if _per_setting_layout(p) else None


def find_benchmark_file(data: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark file ``data`` names (or ``PETOOL_DATA_DIR``, then ``data/``); an error that says
    where it looked and how to get the data when there is none."""
    p = resolve_data_dir(data)
    found = benchmark_in(p)
    if found is not None and found.is_file():
        return found
    raise FileNotFoundError(
        f"No PEToolBench test file in {p} (looked for {', '.join(RELEASE_NAMES)}). {HOW_TO_GET_DATA[0].upper()}"
        f"{HOW_TO_GET_DATA[1:]}."
    )


def find_released_benchmark(data: str | os.PathLike[str] | None = None) -> Path | None:
    """The released benchmark, by the one search order (module docstring, steps 1-4); None if absent.

    An explicit ``data`` that holds no benchmark raises ``FileNotFoundError``: the user asked for it.
    The result is a file, or a folder in the per-setting layout (``load_benchmark`` reads both).
    """
    if data:
        p = Path(data).expanduser()
        found = benchmark_in(p)
        if found is None:
            raise FileNotFoundError(f"No PEToolBench test file in {p} (looked for {', '.join(RELEASE_NAMES)} and "
                                    f"the per-setting user_entries_test_{{p,r,c}}.json)")
        return found
    for cand in (resolve_data_dir(None), shared_petoolbench_dir() if shared_search_enabled() else None):
        if cand is not None:
            found = benchmark_in(cand)
            if found is not None:
                return found
    return None


def constructed_split(run_dir: str | os.PathLike[str]) -> Path | None:
    """The test split notebook 05 wrote under ``run_dir``, if it did."""
    p = project_path(run_dir) / "benchmark" / "test.json"
    return p if p.is_file() else None


@dataclass(frozen=True)
class BenchmarkChoice:
    """The one benchmark a notebook works on, and what it should say about it."""

    path: Path
    kind: Literal["released", "constructed"]
    note: str
    """One line for the notebook's first output and the report: which data, and why."""


def choose_benchmark(data: str | os.PathLike[str] | None, run_dir: str | os.PathLike[str]) -> BenchmarkChoice:
    """The released benchmark when the search order finds one, else the constructed split (step 5).

    Raises ``FileNotFoundError`` only when neither exists (run notebook 05, or add the released data).
    """
    released = find_released_benchmark(data)
    if released is not None:
        return BenchmarkChoice(released, "released", f"released PEToolBench: {released}")
    split = constructed_split(run_dir)
    if split is not None:
        return BenchmarkChoice(split, "constructed", f"{NO_RELEASED_NOTE} ({split})")
    raise FileNotFoundError(f"no benchmark: no released PEToolBench ({HOW_TO_GET_DATA}) and no constructed "
                            f"split at {project_path(run_dir) / 'benchmark' / 'test.json'} (run notebook 05 first)")
