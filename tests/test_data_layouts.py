"""The loaders: combined layout (.json / .json.gz), the per-setting files, and data-dir resolution."""

import gzip
import json

import pytest

from petool_utils import SETTINGS
from petool_utils.benchmark.data import SETTING_FILE_SUFFIX, load_benchmark
from petool_utils.benchmark.locate import resolve_data_dir


@pytest.fixture(scope="module")
def raw_dev(bench_path):
    """Up to 12 raw records of the benchmark (the dev slice's .json.gz, or the constructed split's .json)."""
    opener = gzip.open if bench_path.suffix == ".gz" else open
    with opener(bench_path, "rt", encoding="utf-8") as f:
        rows = json.load(f)[:12]
    assert len(rows) >= 6
    return rows


def test_plain_json_and_gz_load_the_same(raw_dev, tmp_path):
    (tmp_path / "user_entries_test.json").write_text(json.dumps(raw_dev, ensure_ascii=False))
    with gzip.open(tmp_path / "x.json.gz", "wt", encoding="utf-8") as f:
        json.dump(raw_dev, f, ensure_ascii=False)
    a = load_benchmark(tmp_path)  # the folder: finds user_entries_test.json
    b = load_benchmark(tmp_path / "x.json.gz")
    assert [e.release_record() for e in a] == [e.release_record() for e in b]
    assert [e.entry_id for e in a] == [r["entry_id"] for r in raw_dev]


def test_per_setting_files_merge_into_the_combined_layout(raw_dev, tmp_path):
    for setting in SETTINGS:
        rows = []
        for r in raw_dev:
            row = {k: v for k, v in r.items() if not k.startswith("instruction_")}
            row["instruction"] = r[f"instruction_{setting}"]
            rows.append(row)
        (tmp_path / f"user_entries_test_{SETTING_FILE_SUFFIX[setting]}.json").write_text(json.dumps(rows, ensure_ascii=False))
    merged = load_benchmark(tmp_path)
    assert len(merged) == len(raw_dev)
    for e, r in zip(merged, raw_dev):
        for s in SETTINGS:
            assert e.prompt(s) == r[f"instruction_{s}"]
        assert e.reference.tool_name == r["api_call_ground_truth"]["tool_name"]
        assert len(e.history("ratings")) > 0


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("PETOOL_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("PETOOL_DATA_DIR")
    assert resolve_data_dir(None).name == "data"


def test_missing_benchmark_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="PETOOL_DATA_DIR"):
        load_benchmark(tmp_path)


# --- the one search order (benchmark/locate.py) ----------------------------------------------------------------

def _release(folder, name="user_entries_test.json"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("[]")
    return folder / name


def test_one_search_order_explicit_then_env_then_data_then_shared(tmp_path, monkeypatch):
    from petool_utils.benchmark import locate as paths

    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "clone" / "petool")
    shared = _release(tmp_path / "clone" / "shared" / "petoolbench", paths.DEV_SLICE_NAME)
    monkeypatch.delenv("PETOOL_DATA_DIR", raising=False)
    monkeypatch.delenv("PETOOL_NO_SHARED", raising=False)
    assert paths.find_released_benchmark(None) == shared
    monkeypatch.setenv("PETOOL_NO_SHARED", "1")  # the fresh-clone switch, read in one place
    assert paths.find_released_benchmark(None) is None and paths.shared_petoolbench_dir() is None
    in_data = _release(tmp_path / "clone" / "petool" / "data")
    assert paths.find_released_benchmark(None) == in_data
    monkeypatch.delenv("PETOOL_NO_SHARED")
    assert paths.find_released_benchmark(None) == in_data  # the project's data/ before ../shared
    env = _release(tmp_path / "env", "user_entries_test.json.gz")
    monkeypatch.setenv("PETOOL_DATA_DIR", str(tmp_path / "env"))
    assert paths.find_released_benchmark(None) == env
    explicit = _release(tmp_path / "mine", "test.json")
    assert paths.find_released_benchmark(tmp_path / "mine") == explicit
    with pytest.raises(FileNotFoundError, match="No PEToolBench test file"):
        paths.find_released_benchmark(tmp_path / "empty")  # asked for, so an error; the fallbacks are only looked at


def test_choose_benchmark_falls_back_to_the_constructed_split(tmp_path, monkeypatch):
    from petool_utils.benchmark import locate as paths

    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "clone")
    monkeypatch.setenv("PETOOL_NO_SHARED", "1")
    monkeypatch.delenv("PETOOL_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="run notebook 05"):
        paths.choose_benchmark(None, tmp_path / "run")
    split = _release(tmp_path / "run" / "benchmark", "test.json")
    got = paths.choose_benchmark(None, tmp_path / "run")
    assert (got.path, got.kind) == (split, "constructed") and got.note.startswith(paths.NO_RELEASED_NOTE)
    released = _release(tmp_path / "clone" / "data")
    assert paths.choose_benchmark(None, tmp_path / "run").path == released


def test_per_setting_folder_counts_as_a_benchmark(tmp_path):
    from petool_utils.benchmark.locate import benchmark_in

    for c in SETTING_FILE_SUFFIX.values():
        (tmp_path / f"user_entries_test_{c}.json").write_text("[]")
    assert benchmark_in(tmp_path) == tmp_path
