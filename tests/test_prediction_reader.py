"""The one prediction reader and the one line rule (evaluation.reader, evaluation.store), as Table 1, notebook 10 and `petool score` see it.

Everything here runs on the benchmark constructed from the built-in corpus, so it needs no released data.
"""

from __future__ import annotations

import json

import pytest
import typer
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

from petool_utils.benchmark.data import DataError
from petool_utils.evaluation.reader import load_predictions, read_prediction_lines, read_predictions
from petool_utils.evaluation.store import PredictionStore, resolve_lines


def call(tool: str, params: dict) -> str:
    return json.dumps({"tool_name": tool, "parameters": params})


def right(e) -> str:
    return call(e.reference.tool_name, e.reference.parameters)


def line(eid, response, error=None, setting="preferred", **extra) -> dict:
    return {"entry_id": eid, "setting": setting, "response": response, "latency_s": 0.1, "error": error, **extra}


def write(path, rows, tail: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")


# --- the rule ------------------------------------------------------------------------------------------

def test_last_successful_line_wins_and_a_later_error_never_undoes_it():
    got = resolve_lines([line(1, "a"), line(1, None, "HTTP 500"),  # success, then a failed retry: success stands
                         line(2, None, "timeout"), line(2, "b"),  # failure, then success
                         line(3, None, "429"), line(3, None, "500"),  # only failures: the last error stands
                         line(4, "x"), line(4, "y")])  # two successes: the last
    assert {k: (r["response"], r["error"]) for k, r in got.items()} == {
        "1": ("a", None), "2": ("b", None), "3": (None, "500"), "4": ("y", None)}


def test_ids_compare_as_text():
    got = resolve_lines([line(24200, "int"), line("24200", None, "500"), line("24200", "text")])
    assert list(got) == ["24200"] and got["24200"]["response"] == "text"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.sampled_from([int, str])), max_size=30))
def test_rule_matches_its_definition(ops):
    """Per entry: the last successful line if there is one, else the last line (an error)."""
    records = [line(kind(eid), f"r{i}" if ok else None, None if ok else f"e{i}") for i, (eid, ok, kind) in enumerate(ops)]
    want: dict[str, dict] = {}
    for r in records:
        key = str(r["entry_id"])
        if r["error"] is None or want.get(key, {}).get("error") is not None or key not in want:
            want[key] = r
    assert {k: (r["response"], r["error"]) for k, r in resolve_lines(records).items()} == \
           {k: (r["response"], r["error"]) for k, r in want.items()}


# --- bad lines: skipped, counted, line numbers --------------------------------------------------------

def test_bad_lines_are_skipped_with_their_line_numbers(tmp_path):
    p = tmp_path / "preferred.jsonl"
    p.write_bytes(b"\n".join([
        json.dumps(line(1, "ok")).encode(),
        b'{"entry_id": 2, "setting": "pref',  # 2: torn in the middle
        json.dumps({"setting": "preferred", "response": "x"}).encode(),  # 3: no entry_id
        json.dumps(line(4, {"tool_name": "x"})).encode(),  # 4: response is a dict
        json.dumps(line(5, "x", setting="sideways")).encode(),  # 5: unknown setting
        b"7",  # 6: a bare number
        json.dumps(line(True, "x")).encode(),  # 7: true is not an id
        b'{"entry_id": 8, "response": "\xff\xfe"}',  # 8: not UTF-8
        json.dumps(line(9, "ok")).encode(),
        b'{"entry_id": 10, "resp',  # 10: the unterminated tail of a killed run
    ]))
    got = read_prediction_lines(p)
    assert [n for n, _ in got.records] == [1, 9]
    assert [(x.line, x.torn_tail) for x in got.problems] == [(2, False), (3, False), (4, False), (5, False), (6, False),
                                                            (7, False), (8, False), (10, True)]
    msgs = [str(x) for x in got.problems]
    assert "line 3: field 'entry_id': missing" in msgs[1] and "field 'response'" in msgs[2]
    assert "unknown setting 'sideways'" in msgs[3] and "JSON int" in msgs[4] and "bool" in msgs[5]
    assert "UTF-8" in msgs[6] and "unterminated last line" in msgs[7] and str(p) in msgs[0]
    pset = read_predictions([p])
    assert len(pset.problems) == 8 and len(pset.bad_lines) == 7
    assert load_predictions(p).keys() == {"1", "9"}


def test_same_entry_in_two_files_is_an_error_naming_both(tmp_path):
    a, b = tmp_path / "a" / "preferred.jsonl", tmp_path / "b" / "preferred.jsonl"
    write(a, [line(1, "x")])
    write(b, [line("1", "y")])
    with pytest.raises(DataError, match=r"already answered in .*a/preferred\.jsonl"):
        read_predictions([a, b])


# --- item 1 of the brief: 3 failed requests read as 3 failed everywhere --------------------------------

def _run_with_three_failures(out_dir, entries):
    """Prediction files as the engine writes them (through the run store), three requests failed for good."""
    failed = [e.entry_id for e in entries[:3]]
    for setting in ("preferred", "ratings", "chronological"):
        with PredictionStore(out_dir / f"{setting}.jsonl") as store:
            for e in entries:
                if setting == "preferred" and e.entry_id in failed:
                    store.append(e.entry_id, setting, None, 0.1, error="APIStatusError: 500 (after 7 attempts)")
                else:
                    store.append(e.entry_id, setting, right(e), 0.1)
    return failed


def test_three_failed_requests_show_as_three_failed_in_table1_and_in_petool_score(tmp_path, constructed_path,
                                                                                   constructed_entries):
    from petool_utils.cli.score import register
    from petool_utils.evaluation import grid, grid_report
    from petool_utils.report import tables as rp

    entries = constructed_entries
    pred_dir = tmp_path / "predictions" / "constructed" / "openai-m"
    _run_with_three_failures(pred_dir, entries)
    files = {s: pred_dir / f"{s}.jsonl" for s in ("preferred", "ratings", "chronological")}

    # Table 1: metrics.json and the fragment
    scores, problems = grid.score_model(entries, files, "reference", seed=0, n_boot=20)
    assert problems == []
    assert scores["preferred"]["n_failed"] == 3 and scores["preferred"]["n_missing"] == 0
    assert scores["preferred"]["tool_acc"] == pytest.approx((len(entries) - 3) / len(entries))
    assert scores["all"]["n_failed"] == 3 and scores["ratings"]["n_failed"] == 0
    src = grid.BenchmarkSource(key="constructed", label="constructed test split", path=str(constructed_path))
    result = grid.GridResult(parser="reference", seed=0, settings=list(files), benchmarks=[grid.BenchmarkRun(
        source=src, n=len(entries), models=[grid.ModelRun(spec="openai:m", label="m", status="ok", scores=scores,
                                                          predictions={s: str(p) for s, p in files.items()})])])
    grid.write_metrics(result, tmp_path)
    back = grid.read_metrics(tmp_path)
    assert back.benchmarks[0].models[0].scores["preferred"]["n_failed"] == 3
    t1 = rp.table1_display(rp.table1(back.scores()))
    ours = t1[t1["Evaluated on"].str.startswith("petool")].iloc[0]
    assert ours["Failed requests"] == 3 and ours["Missing entries"] == 0
    (frag_path, *_) = grid_report.write_evaluation_fragments(back, tmp_path)
    frag = json.loads(frag_path.read_text())
    table = next(b for b in frag["blocks"] if b["kind"] == "table")
    assert [r["Failed requests"] for r in table["records"] if r["Evaluated on"].startswith("petool")] == [3]

    # petool score: the same three
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    res = CliRunner().invoke(app, ["score", str(pred_dir), "--data", str(constructed_path), "--json", "--n-boot", "0"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["preferred"]["n_failed"] == 3 and out["preferred"]["n_missing"] == 0 and out["all"]["n_failed"] == 3
    assert "3 of" in res.stderr and "failed requests" in res.stderr


def test_error_analysis_reads_failed_and_missing_through_the_same_reader(tmp_path, constructed_path, constructed_entries):
    from petool_utils.evaluation import error_report, grid

    entries = constructed_entries
    pred_dir = tmp_path / "predictions" / "constructed" / "m"
    write(pred_dir / "preferred.jsonl", [line(e.entry_id, right(e)) for e in entries[3:-1]]
          + [line(e.entry_id, None, "500") for e in entries[:3]])  # the last entry: no line
    src = grid.BenchmarkSource(key="constructed", label="constructed", path=str(constructed_path))
    result = grid.GridResult(parser="reference", seed=0, settings=["preferred"], benchmarks=[grid.BenchmarkRun(
        source=src, n=len(entries), models=[grid.ModelRun(spec="offline:x", label="x", status="ok",
                                                          predictions={"preferred": str(pred_dir / "preferred.jsonl")})])])
    errors = error_report.collect_errors(result, tmp_path)
    assert errors["answer"].value_counts().to_dict() == {"ok": len(entries) - 4, "failed": 3, "missing": 1}
    assert set(errors[errors.answer != "ok"]["error_type"]) == {"IF"}
    assert errors[errors.answer == "ok"]["error_type"].isna().all()
