"""Where data lives: one resolution order for the CLI, the notebooks and the tests."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SLICE_NAME = "user_entries_test_dev.json.gz"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the data directory: an explicit ``--data``/parameter, then ``PETOOL_DATA_DIR``, then ``data/``.

    Kept in one place so that a notebook parameter, the CLI flag and the environment never disagree.
    """
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("PETOOL_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return REPO_ROOT / "data"


def shared_petoolbench_dir() -> Path | None:
    """The ``../shared/petoolbench`` folder beside the checkout, if present (developers and CI have it)."""
    env = os.environ.get("PETOOL_DATA_DIR")
    beside = [REPO_ROOT.parent / "shared" / "petoolbench", REPO_ROOT.parent.parent / "shared" / "petoolbench"]
    for cand in ([Path(env)] if env else []) + beside:
        if (cand / DEV_SLICE_NAME).exists():
            return cand
    return None


def find_benchmark_file(data: str | os.PathLike[str] | None = None) -> Path:
    """Find a benchmark file: ``data`` may be a file or a folder holding the release's test split.

    A folder is searched for the full release name first, then the development slice.
    """
    p = resolve_data_dir(data)
    if p.is_file():
        return p
    for name in ("user_entries_test.json", "user_entries_test.json.gz", DEV_SLICE_NAME, "test.json"):
        if (p / name).exists():
            return p / name
    raise FileNotFoundError(
        f"No PEToolBench test file in {p} (looked for user_entries_test.json[.gz], {DEV_SLICE_NAME}, test.json). "
        "Pass --data PATH, set PETOOL_DATA_DIR, or run `petool download`."
    )
