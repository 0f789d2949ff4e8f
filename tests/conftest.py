"""Shared fixtures: the real PEToolBench dev slice from ../shared (skipped cleanly when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from petool_utils.paths import DEV_SLICE_NAME, shared_petoolbench_dir


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    d = shared_petoolbench_dir()
    if d is None:
        pytest.skip(f"../shared/petoolbench/{DEV_SLICE_NAME} not found (set PETOOL_DATA_DIR)")
    return d


@pytest.fixture(scope="session")
def dev_path(shared_dir: Path) -> Path:
    return shared_dir / DEV_SLICE_NAME


@pytest.fixture(scope="session")
def dev_entries(dev_path: Path):
    from petool_utils.benchmark.data import load_entries

    return load_entries(dev_path)
