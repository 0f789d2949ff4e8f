"""Shared fixtures.

* The real PEToolBench dev slice (``dev_path``, ``dev_entries``): developers and CI have it beside the
  checkout; a fresh clone does not, and every test that needs it skips saying what is missing and how
  to get it.
* A benchmark in the release layout that any checkout can build (``constructed_path``,
  ``constructed_entries``): construction stages 01-05 on the built-in tool corpus at smoke size (about
  2 s), so the reader, scorer, error types, loaders and CLI are covered without the dev slice.
* ``bench_path``, ``bench_entries``: the dev slice when it is here, else the constructed split; for tests
  that need some benchmark in the release layout but assert nothing about the released records.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from petool_utils.paths import DEV_SLICE_NAME, shared_petoolbench_dir

NO_DEV_SLICE = (f"needs the released dev slice {DEV_SLICE_NAME}, which is not here: set PETOOL_DATA_DIR to a "
                "folder holding it, or put ../shared/petoolbench beside the checkout (`petool download` fetches "
                "the full release; PETOOL_NO_SHARED=1 hides ../shared)")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    d = shared_petoolbench_dir()
    if d is None:
        pytest.skip(NO_DEV_SLICE)
    return d


@pytest.fixture(scope="session")
def dev_path(shared_dir: Path) -> Path:
    return shared_dir / DEV_SLICE_NAME


@pytest.fixture(scope="session")
def dev_entries(dev_path: Path):
    from petool_utils.benchmark.data import load_entries

    return load_entries(dev_path)


@pytest.fixture(scope="session")
def constructed_run(tmp_path_factory) -> Path:
    """A run folder with construction stages 01-05 done on the built-in corpus, with the smoke profile's
    parameters read through the one profile reader (as `petool build` reads them)."""
    import inspect

    from petool_utils.cli.build import STAGES, stage_kwargs
    from petool_utils.construction import pipeline as p
    from petool_utils.report.profiles import load_profile

    run = tmp_path_factory.mktemp("constructed")
    prof = load_profile("smoke")
    for stage in ("01", "02", "03", "04", "05"):
        notebook, fname = STAGES[stage][:2]
        func = getattr(p, fname)
        quiet = {k: False for k in ("progress", "trl") if k in inspect.signature(func).parameters}
        func(**stage_kwargs(func, prof, notebook, str(run), "builtin"), **quiet)
    return run


@pytest.fixture(scope="session")
def constructed_path(constructed_run: Path) -> Path:
    """The constructed test split, in the release's record layout."""
    return constructed_run / "benchmark" / "test.json"


@pytest.fixture(scope="session")
def constructed_entries(constructed_path: Path):
    from petool_utils.benchmark.data import load_entries

    entries = load_entries(constructed_path)
    assert len(entries) >= 6
    return entries


@pytest.fixture(scope="session")
def bench_path(constructed_path: Path) -> Path:
    """Entries in the release layout for tests that need *some* benchmark, not the released statistics:
    the dev slice when it is here (CI, developers), else the split constructed from the built-in corpus,
    so a fresh clone still runs them. A test asserting facts of the released records uses ``dev_path``."""
    d = shared_petoolbench_dir()
    return d / DEV_SLICE_NAME if d is not None else constructed_path


@pytest.fixture(scope="session")
def bench_entries(bench_path: Path):
    from petool_utils.benchmark.data import load_entries

    return load_entries(bench_path)
