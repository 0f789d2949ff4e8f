"""Shared fixtures.

* The real PEToolBench dev slice (``dev_path``, ``dev_entries``): developers and CI have it beside the
  checkout; a fresh clone does not, and every test that needs it skips saying what is missing and how
  to get it.
* A benchmark in the release layout that any checkout can build (``constructed_path``,
  ``constructed_entries``): construction stages 01-05 on the built-in tool corpus at smoke size (about
  2 s), so the reader, scorer, error types, loaders and CLI are covered without the dev slice.
* ``bench_path``, ``bench_entries``: the dev slice when it is here, else the constructed split; for tests
  that need some benchmark in the release layout but assert nothing about the released records.
* ``bench_large_path``, ``bench_large_entries``: the same, but the fallback is a larger constructed split
  (about 50 test entries, most with >= 10 past interactions; about 5 s), for tests that need more entries
  than the smoke split's six: the tiny training runs, the papermill smoke run's limit of 20, the hf
  backend's long prompts.
* ``server``: ``server(**faults)`` starts a loopback OpenAI-protocol server (tests/openai_server.py) with
  those faults, the environment pointing at it with a fake key, stopped after the test.
* ``tiny_sft_run``: one SFT run of the tiny stand-in at ``TINY_SFT`` on ``bench_large_path``, shared by the
  tiny training and ``transformers serve`` tests instead of training twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir

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


def _construct(run: Path, overrides: dict[str, dict] | None = None) -> Path:
    """Construction stages 01-05 on the built-in corpus into ``run``, with the smoke profile's parameters
    read through the one profile reader (as `petool build` reads them), ``overrides`` per notebook on top."""
    import inspect

    from petool_utils.cli.build import STAGES, stage_kwargs
    from petool_utils.construction import pipeline as p
    from petool_utils.params import load_profile

    prof = load_profile("smoke")
    for stage in ("01", "02", "03", "04", "05"):
        notebook, fname = STAGES[stage][:2]
        func = getattr(p, fname)
        quiet = {k: False for k in ("progress", "trl") if k in inspect.signature(func).parameters}
        kwargs = {**stage_kwargs(func, prof, notebook, str(run), "builtin"), **(overrides or {}).get(notebook, {})}
        func(**kwargs, **quiet)
    return run


@pytest.fixture(scope="session")
def constructed_run(tmp_path_factory) -> Path:
    """A run folder with construction stages 01-05 done on the built-in corpus at the smoke profile's size."""
    return _construct(tmp_path_factory.mktemp("constructed"))


# More users and queries than the smoke profile: about 50 test entries, most with 10-20 past interactions.
LARGE_CONSTRUCTION = {"04_preference_construction": {"n_users": 40}, "05_data_creation": {"queries_per_user": 3}}


@pytest.fixture(scope="session")
def constructed_large_path(tmp_path_factory) -> Path:
    """The test split of a larger construction on the built-in corpus (see ``LARGE_CONSTRUCTION``)."""
    return _construct(tmp_path_factory.mktemp("constructed-large"), LARGE_CONSTRUCTION) / "benchmark" / "test.json"


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


@pytest.fixture(scope="session")
def bench_large_path(request) -> Path:
    """Like ``bench_path``, for tests that need more entries than the smoke split holds: the dev slice
    when it is here, else the larger constructed split (built only then)."""
    d = shared_petoolbench_dir()
    return d / DEV_SLICE_NAME if d is not None else request.getfixturevalue("constructed_large_path")


@pytest.fixture(scope="session")
def bench_large_entries(bench_large_path: Path):
    from petool_utils.benchmark.data import load_entries

    return load_entries(bench_large_path)


@pytest.fixture(scope="session")
def tiny_sft_run(tmp_path_factory, bench_large_path: Path):
    """SFT of the tiny stand-in at ``TINY_SFT`` (16 records, seed 0) on ``bench_large_path``: the training
    tests check it, the DPO test continues from it, the serving test merges and serves it."""
    pytest.importorskip("trl")
    from petool_utils.training.config import TINY_SFT, from_mapping
    from petool_utils.training.sft import train_sft

    run_dir = tmp_path_factory.mktemp("tiny-train")
    # TINY_SFT allows the tiny demo's one permitted use of released test data (the outputs say so)
    params = from_mapping("sft", {**TINY_SFT, "run_dir": str(run_dir), "data": str(bench_large_path), "seed": 0})
    return train_sft(params, progress=False)


@pytest.fixture
def server(monkeypatch):
    """``server(**faults)``: a started loopback server (faults changeable later through ``srv.faults``), with
    OPENAI_BASE_URL / OPENAI_API_KEY (a fake key, :data:`openai_server.FAKE_KEY`) pointing at it."""
    from openai_server import FAKE_KEY, Faults, LoopbackServer

    started: list = []

    def start(**faults):
        srv = LoopbackServer(Faults(**faults)).start()
        started.append(srv)
        for var in ("PETOOL_OPENAI_BASE_URL", "PETOOL_OPENAI_API_KEY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        return srv

    yield start
    for srv in started:
        srv.stop()
