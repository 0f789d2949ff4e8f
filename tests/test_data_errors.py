"""Every way a benchmark file can be broken is one clean error naming file, entry and field, raised while
loading (before `petool eval` or `petool prompts` writes anything), and shown by the CLI with exit 2.

Built on the benchmark constructed from the built-in corpus: no released data needed.
"""

from __future__ import annotations

import gzip
import json

import pytest
from typer.testing import CliRunner

from petool_utils.benchmark.data import SETTING_FILE_SUFFIX, DataError, load_benchmark, load_entries
from petool_utils.cli import app


@pytest.fixture()
def raw(constructed_path):
    return json.loads(constructed_path.read_text(encoding="utf-8"))


def dump(path, records) -> None:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")


def gz_bytes(records) -> bytes:
    return gzip.compress(json.dumps(records).encode("utf-8"))


def test_truncated_gz_names_the_file(tmp_path, raw):
    p = tmp_path / "user_entries_test.json.gz"
    data = gz_bytes(raw)
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"user_entries_test\.json\.gz: .*field '<file>'.*truncated gzip"):
        load_entries(p)


def test_gz_that_is_not_gzip(tmp_path, raw):
    p = tmp_path / "bench.json.gz"
    p.write_text(json.dumps(raw))
    with pytest.raises(DataError, match=r"bench\.json\.gz: .*not a valid gzip file"):
        load_entries(p)


def test_non_utf8_bytes_name_the_file_and_offset(tmp_path, raw):
    p = tmp_path / "bench.json"
    body = json.dumps(raw, ensure_ascii=False).encode("utf-8")
    p.write_bytes(body[:100] + b"\xff\xfe" + body[100:])
    with pytest.raises(DataError, match=r"bench\.json: .*not UTF-8 text \(byte offset 100"):
        load_entries(p)


def test_null_prompt_names_entry_and_field(tmp_path, raw):
    raw[2]["instruction_ratings"] = None
    p = tmp_path / "bench.json"
    dump(p, raw)
    with pytest.raises(DataError) as exc:
        load_entries(p)
    assert (exc.value.entry_id, exc.value.field) == (raw[2]["entry_id"], "instruction_ratings")
    assert str(p) in str(exc.value)


def test_entry_missing_from_one_per_setting_file(tmp_path, raw):
    for setting, suffix in SETTING_FILE_SUFFIX.items():
        rows = [{**{k: v for k, v in r.items() if not k.startswith("instruction_")},
                 "instruction": r[f"instruction_{setting}"]} for r in raw]
        if setting == "chronological":
            rows = rows[:-1]  # the last entry is missing from the chronological file
        dump(tmp_path / f"user_entries_test_{suffix}.json", rows)
    with pytest.raises(DataError) as exc:
        load_benchmark(tmp_path)
    assert exc.value.file.endswith("user_entries_test_c.json") and exc.value.entry_id == raw[-1]["entry_id"]
    assert "missing from this file" in str(exc.value)


def test_int_and_text_ids_of_one_entry_are_a_duplicate(tmp_path, raw):
    raw[1]["entry_id"] = 24200
    raw[4]["entry_id"] = "24200"
    p = tmp_path / "bench.json"
    dump(p, raw)
    with pytest.raises(DataError, match=r"entry 24200: field 'entry_id': duplicate entry_id \(as text\)"):
        load_entries(p)


@pytest.mark.parametrize("bad", [True, False, 1.0, None, "", [1]])
def test_ids_must_be_integers_or_text(tmp_path, raw, bad):
    raw[0]["entry_id"] = bad
    p = tmp_path / "bench.json"
    dump(p, raw)
    with pytest.raises(DataError, match="field 'entry_id'"):
        load_entries(p)


def test_negative_limit_is_refused(constructed_path):
    with pytest.raises(ValueError, match="limit"):
        load_benchmark(constructed_path, limit=-1)
    assert load_benchmark(constructed_path, limit=0) == []


@pytest.mark.parametrize("command", ["prompts", "eval"])
def test_cli_gives_one_clean_error_and_writes_nothing(tmp_path, raw, command):
    raw[3]["instruction_preferred"] = None
    p = tmp_path / "bench.json"
    dump(p, raw)
    out = tmp_path / "out"
    args = (["prompts", "--out", str(out / "requests.jsonl")] if command == "prompts"
            else ["eval", "--model", "offline:random", "--out", str(out), "--no-progress"])
    res = CliRunner().invoke(app, [*args, "--data", str(p)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    assert f"entry {raw[3]['entry_id']}: field 'instruction_preferred'" in res.stderr
    assert not out.exists()
