"""`petool score`: no traceback for any data problem, every skipped line reported with its number, exit
codes as docs/scoring.md states them, and `--compare A B` with group-clustered intervals.

On the benchmark constructed from the built-in corpus (no released data needed).
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from petool_utils.cli import app


def right(e) -> str:
    return json.dumps({"tool_name": e.reference.tool_name, "parameters": e.reference.parameters})


def line(eid, response, setting="preferred", error=None) -> str:
    return json.dumps({"entry_id": eid, "setting": setting, "response": response, "latency_s": 0.1, "error": error})


def score(*args: str):
    res = CliRunner().invoke(app, ["score", *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    return res


@pytest.fixture()
def good_lines(constructed_entries):
    return [line(e.entry_id, right(e)) for e in constructed_entries]


def test_torn_line_in_the_middle_is_skipped_counted_and_reported(tmp_path, constructed_path, good_lines):
    p = tmp_path / "preferred.jsonl"
    p.write_text("\n".join(good_lines[:2] + ['{"entry_id": 99, "setting": "prefer'] + good_lines[2:]) + "\n")
    res = score(str(p), "--data", str(constructed_path), "--json", "--n-boot", "0")
    assert res.exit_code == 2
    assert f"{p}: line 3: not valid JSON" in res.stderr and "1 line(s) skipped" in res.stderr
    out = json.loads(res.stdout)  # the scores of the rest are still given
    assert out["preferred"]["tool_acc"] == 1.0 and out["preferred"]["n_missing"] == 0


def test_unusable_lines_are_skipped_with_their_line_numbers(tmp_path, constructed_path, constructed_entries, good_lines):
    e = constructed_entries
    p = tmp_path / "mine.jsonl"
    p.write_text("\n".join([
        good_lines[0],
        json.dumps({"setting": "preferred", "response": right(e[1])}),  # 2: no entry_id
        json.dumps({"entry_id": e[2].entry_id, "setting": "preferred", "response": {"tool_name": "x"}}),  # 3: a dict
        json.dumps({"entry_id": e[3].entry_id, "setting": "sideways", "response": right(e[3])}),  # 4: unknown setting
        "42",  # 5: a bare number
        *good_lines[4:],
    ]) + "\n")
    res = score(str(p), "--data", str(constructed_path), "--json", "--n-boot", "0")
    assert res.exit_code == 2
    for n, why in [(2, "field 'entry_id': missing"), (3, "field 'response'"), (4, "field 'setting': unknown setting 'sideways'"),
                   (5, "expected a JSON object {entry_id, setting, response, ...}, got a JSON int")]:
        assert f"{p}: line {n}: {why}" in res.stderr
    out = json.loads(res.stdout)
    assert out["preferred"]["n_missing"] == 3 and out["preferred"]["n"] == len(e)


def test_torn_last_line_of_a_killed_run_is_only_a_warning(tmp_path, constructed_path, good_lines):
    p = tmp_path / "preferred.jsonl"
    p.write_text("\n".join(good_lines[:-1]) + "\n" + good_lines[-1][:20])
    res = score(str(p), "--data", str(constructed_path), "--n-boot", "0")
    assert res.exit_code == 0, res.output
    assert "unterminated last line" in res.stderr and "1 of" in res.stderr and "no line" in res.stderr


def test_empty_predictions_file_warns_and_exits_non_zero(tmp_path, constructed_path):
    p = tmp_path / "preferred.jsonl"
    p.write_text("")
    res = score(str(p), "--data", str(constructed_path))
    assert res.exit_code == 2 and res.stdout == ""
    assert f"warning: {p}: no usable prediction line" in res.stderr and "nothing to score" in res.stderr


def test_broken_benchmark_is_one_message_and_exit_2(tmp_path, constructed_path, good_lines):
    p = tmp_path / "preferred.jsonl"
    p.write_text("\n".join(good_lines) + "\n")
    bench = tmp_path / "bench.json.gz"
    bench.write_bytes(gzip.compress(constructed_path.read_bytes())[:300])
    res = score(str(p), "--data", str(bench))
    assert res.exit_code == 2 and "truncated gzip" in res.stderr and str(bench) in res.stderr


def test_failed_requests_are_counted_apart_from_missing_entries(tmp_path, constructed_path, constructed_entries):
    e = constructed_entries
    p = tmp_path / "preferred.jsonl"
    p.write_text("\n".join([line(x.entry_id, None, error="500") for x in e[:2]]
                           + [line(x.entry_id, right(x)) for x in e[2:-1]]) + "\n")
    res = score(str(p), "--data", str(constructed_path), "--json", "--n-boot", "0")
    assert res.exit_code == 0
    out = json.loads(res.stdout)["preferred"]
    assert (out["n_failed"], out["n_missing"], out["tool_acc"]) == (2, 1, pytest.approx((len(e) - 3) / len(e)))


def test_table_says_which_intervals(tmp_path, constructed_path, good_lines):
    p = tmp_path / "preferred.jsonl"
    p.write_text("\n".join(good_lines) + "\n")
    res = score(str(p), "--data", str(constructed_path), "--n-boot", "50")
    assert res.exit_code == 0 and "cluster bootstrap over functionality groups" in res.stdout
    res = score(str(p), "--data", str(constructed_path), "--n-boot", "50", "--ci", "entry", "--json")
    assert json.loads(res.stdout)["preferred"]["ci_method"] == "entry"


# --- --compare ------------------------------------------------------------------------------------------

def _write_set(folder, entries, good) -> None:
    """preferred and ratings: the entries in ``good`` answered right, the others with a non-call."""
    folder.mkdir(parents=True)
    for s in ("preferred", "ratings"):
        (folder / f"{s}.jsonl").write_text("\n".join(line(e.entry_id, right(e) if e.entry_id in good else "no", s)
                                                     for e in entries) + "\n")


def test_compare_gives_b_minus_a_with_clustered_interval_and_paired_p(tmp_path, constructed_path, constructed_entries):
    from petool_utils.evaluation.intervals import cluster_ids, paired_comparison

    e = constructed_entries
    groups = sorted({x.func for x in e})
    a_good = {x.entry_id for x in e if x.func == groups[0]}
    b_good = {x.entry_id for x in e}
    _write_set(tmp_path / "A", e, a_good)
    _write_set(tmp_path / "B", e, b_good)
    res = CliRunner().invoke(app, ["score", "--compare", str(tmp_path / "A"), str(tmp_path / "B"), "--data",
                                   str(constructed_path), "--json", "--n-boot", "500"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert list(out) == ["preferred", "ratings", "all"] and set(out["all"]) == {"tool_acc", "param_acc", "call_acc"}
    share = len(a_good) / len(e)
    for s in out:
        c = out[s]["tool_acc"]
        assert (c["a"], c["b"]) == (pytest.approx(share), 1.0) and c["diff"] == pytest.approx(1 - share)
    # the numbers are intervals.paired_comparison's on the group clusters, both settings paired for "all"
    a = np.array([x.entry_id in a_good for x in e], dtype=float)
    want = paired_comparison([a, a], [np.ones(len(e)), np.ones(len(e))], cluster_ids(e), n_boot=500)
    assert out["all"]["call_acc"]["ci"] == pytest.approx(list(want.ci))
    assert out["all"]["call_acc"]["p_value"] == pytest.approx(want.p_value)
    assert out["all"]["call_acc"]["n_groups"] == len(groups)
    text = CliRunner().invoke(app, ["score", "--compare", str(tmp_path / "A"), str(tmp_path / "B"), "--data",
                                    str(constructed_path), "--n-boot", "100"])
    assert text.exit_code == 0 and "B minus A" in text.stdout and "functionality groups" in text.stdout


def test_compare_of_a_set_with_itself_is_zero_with_p_one(tmp_path, constructed_path, constructed_entries):
    e = constructed_entries
    _write_set(tmp_path / "A", e, {x.entry_id for x in e[::2]})
    res = CliRunner().invoke(app, ["score", "--compare", str(tmp_path / "A"), str(tmp_path / "A"), "--data",
                                   str(constructed_path), "--json", "--n-boot", "100"])
    c = json.loads(res.stdout)["all"]["tool_acc"]
    assert c["diff"] == 0.0 and c["p_value"] == 1.0 and c["ci"] == [0.0, 0.0]


def test_compare_needs_two_sets(tmp_path, constructed_path, good_lines):
    p = tmp_path / "preferred.jsonl"
    p.write_text("\n".join(good_lines) + "\n")
    res = score("--compare", str(p), "--data", str(constructed_path))
    assert res.exit_code == 2 and "exactly two" in res.stderr
