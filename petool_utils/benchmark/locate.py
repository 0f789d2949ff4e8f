"""The one search order for benchmark data, and the layouts a data folder may hold.

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

from petool_utils.paths import REPO_ROOT, project_path

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


PRODUCERS: tuple[tuple[str, str], ...] = (
    ("tools_understood.jsonl", "02_tool_understanding"),
    ("tools.jsonl", "01_tool_preparation"),
    ("corpus.json", "01_tool_preparation"),
    ("groups.json", "03_tool_clustering"),
    ("embeddings_nonfunctional", "04_preference_construction"),
    ("embeddings", "03_tool_clustering"),
    ("users.json", "04_preference_construction"),
    ("train/sft/", "08_sft_qlora"),
    ("train/dpo/", "09_dpo"),
    ("train/dpo_only/", "09_dpo"),
    ("benchmark/", "05_data_creation"),
    ("sft/", "05_data_creation"),
    ("dpo/", "05_data_creation"),
    ("metrics.json", "07_evaluation"),
    ("predictions/", "07_evaluation"),
    ("errors.jsonl", "10_error_analysis"),
    ("samples.jsonl", "10_error_analysis"),
)
"""Which notebook writes a run folder's artifact (matched on the path's end, first match wins)."""


def missing_input_hint(path: str | os.PathLike[str]) -> str:
    """What to say when an input is missing: the folder that was searched and what writes the file
    there (the notebook, and the command that runs it), so the reader knows what to run next."""
    p = Path(path)
    text = p.as_posix()
    writer = next((nb for end, nb in PRODUCERS if f"/{end}" in text or text.endswith(end.rstrip("/"))), None)
    where = f"searched {p.parent}"
    if writer is None:
        return f"{where}; {HOW_TO_GET_DATA}" if p.suffix in (".json", ".gz") else where
    return (f"{where}; notebook {writer} writes it "
            f"(`petool run --profile <profile> --only {writer[:2]}`, after the notebooks before it)")


class MissingInputError(FileNotFoundError):
    """An input a stage reads is not there; the message names the file, the folder searched and what
    writes it. A ``FileNotFoundError``, so every caller (and the CLI's exit 2) that handles one handles it."""


def require_input(path: str | os.PathLike[str]) -> Path:
    """``path``, when it exists; else a :class:`MissingInputError` saying what to run to make it.

    The one check before a stage reads another stage's output (construction 02-06, training, notebooks
    10 and 11), so every missing input reads the same way and names its producer."""
    p = Path(path)
    if p.exists():
        return p
    raise MissingInputError(f"{p} not found: {missing_input_hint(p)}")


SETTING_FILE_SUFFIX = {"preferred": "p", "ratings": "r", "chronological": "c"}
"""The release's per-setting files: ``user_entries_test_{p,r,c}.json``."""


def per_setting_files(folder: str | os.PathLike[str]) -> dict[str, Path] | None:
    """The per-setting layout's three files in ``folder``, or None when the folder is not in that layout
    (the combined ``user_entries_test.json`` wins when both are there)."""
    folder = Path(folder)
    per = {s: folder / f"user_entries_test_{c}.json" for s, c in SETTING_FILE_SUFFIX.items()}
    if all(f.exists() for f in per.values()) and not (folder / "user_entries_test.json").exists():
        return per
    return None


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
    return p if per_setting_files(p) is not None else None


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


def locate_benchmark(data: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark to use when a caller needs one: :func:`find_released_benchmark` (steps 1-4), or a
    ``FileNotFoundError`` that says where it looked and how to get the data. ``load_benchmark(None)``,
    ``petool eval``/``score``/``ranker`` and training's demo data all come here, so none skips a step."""
    found = find_released_benchmark(data)
    if found is not None:
        return found
    looked = [str(resolve_data_dir(None))] + ([str(REPO_ROOT.parent / "shared" / "petoolbench")]
                                             if shared_search_enabled() else [])
    raise FileNotFoundError(f"No PEToolBench test file found (looked in {', '.join(looked)} for "
                            f"{', '.join(RELEASE_NAMES)}). {HOW_TO_GET_DATA[0].upper()}{HOW_TO_GET_DATA[1:]}.")
