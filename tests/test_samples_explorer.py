"""samples.jsonl (one line per entry, setting and model), the explorer's data, and `petool score` /
`petool explore` on a folder of model folders (what `petool eval --out X` writes).

Known answers on the benchmark constructed from the built-in corpus: a right call, a tool outside the
candidates (TH), a parameter value changed (PVM), text with no call (IF), a failed request and a
missing entry, each checked against what the classifier and the scorer must say.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from petool_utils.cli import app
from petool_utils.evaluation import samples
from petool_utils.report.explorer import decode_payload, encode_payload, page_payload


def _call(tool: str, params: dict) -> str:
    return json.dumps({"tool_name": tool, "parameters": params})


def _line(eid, response, setting, error=None, **extra) -> str:
    return json.dumps({"entry_id": eid, "setting": setting, "response": response, "latency_s": 0.0, "error": error,
                       **extra})


@pytest.fixture()
def model_dirs(tmp_path, constructed_path, constructed_entries):
    """Two model folders as `petool eval --out X` leaves them (manifest with data and spec)."""
    e = constructed_entries
    assert len(e) >= 6
    ref = [x.reference for x in e]
    pvm = next(i for i, x in enumerate(e) if x.reference.parameters and i not in (0, 1, 3, 4, 5))
    key = next(iter(ref[pvm].parameters))
    lines = [
        _line(e[0].entry_id, _call(ref[0].tool_name, ref[0].parameters), "preferred", history_dropped=1),
        _line(e[1].entry_id, _call("<X>.<Nowhere>.<nothing>", {}), "preferred"),
        _line(e[pvm].entry_id, _call(ref[pvm].tool_name, {**ref[pvm].parameters, key: "changed!"}), "preferred"),
        _line(e[3].entry_id, "I would rather not call anything.", "preferred"),
        _line(e[4].entry_id, None, "preferred", error="HTTP 500"),
    ]  # e[5]: no line at all
    root = tmp_path / "eval"
    for slug, spec, body in (("m-a", "offline:history", lines), ("m-b", "offline:random", lines[:1])):
        d = root / slug
        d.mkdir(parents=True)
        (d / "preferred.jsonl").write_text("\n".join(body) + "\n")
        (d / "manifest.json").write_text(json.dumps({"model_spec": spec, "data": {"path": str(constructed_path)},
                                                     "options": {"limit": None}}))
    return root, pvm


def test_samples_carry_the_classifiers_and_scorers_verdicts(model_dirs, constructed_entries):
    root, pvm = model_dirs
    runs = samples.from_model_folders(root)
    assert [m.spec for m in runs[0].models] == ["offline:history", "offline:random"]
    recs = [r for r in samples.build_samples(runs) if r["model"] == "offline:history"]
    by_id = {str(r["entry_id"]): r for r in recs}
    e = constructed_entries
    assert len(recs) == len(e) and set(recs[0]) == set(samples.SAMPLE_FIELDS)
    right = by_id[e[0].key]
    assert (right["error_type"], right["call_ok"], right["answer"]) == (None, True, "ok")
    assert right["history_shown"] == len(e[0].history("preferred")) - 1  # one item dropped to fit the prompt
    assert right["prompt_sha"] == e[0].input_fingerprint("preferred")
    assert right["parsed"] == {"tool_name": e[0].reference.tool_name, "parameters": e[0].reference.parameters}
    assert by_id[e[1].key]["error_type"] == "TH" and not by_id[e[1].key]["tool_ok"]
    assert by_id[e[pvm].key]["error_type"] == "PVM" and by_id[e[pvm].key]["tool_ok"]
    assert not by_id[e[pvm].key]["param_ok"]
    assert by_id[e[3].key]["error_type"] == "IF" and by_id[e[3].key]["parsed"] is None
    failed = by_id[e[4].key]
    assert (failed["answer"], failed["request_error"], failed["error_type"]) == ("failed", "HTTP 500", "IF")
    assert (by_id[e[5].key]["answer"], by_id[e[5].key]["error_type"]) == ("missing", "IF")


def test_explore_and_score_a_folder_of_model_folders(model_dirs, constructed_path, constructed_entries):
    root, _ = model_dirs
    res = CliRunner().invoke(app, ["explore", str(root)])
    assert res.exit_code == 0, res.output
    written = samples.read_samples(root)
    assert len(written) == 2 * len(constructed_entries)
    payload = page_payload((root / "entries.html").read_text(encoding="utf-8"))
    assert payload["models"] == ["offline:history", "offline:random"]
    assert len(payload["entries"]) == len(constructed_entries) and len(payload["samples"]) == len(written)
    # every history item of every entry is there, in prompt order, with its rating
    e = constructed_entries[0]
    for setting, hist in payload["entries"][0][6].items():
        items = [payload["items"][i] for i, _ in hist]
        assert [payload["strings"][it[0]] for it in items] == [h.instruction for h in e.history(setting)]
        assert [r for _, r in hist] == [h.rating for h in e.history(setting)]
    # candidates: the reference's group marked, and nothing else
    group = set(e.same_func_names) | {e.reference.tool_name}
    assert {payload["strings"][n] for n, _, g in payload["entries"][0][7] if g} == group & set(e.candidate_names)

    res = CliRunner().invoke(app, ["score", str(root), "--data", str(constructed_path), "--json", "--n-boot", "0"])
    out = json.loads(res.stdout)
    assert set(out) == {"offline:history", "offline:random"}
    n = len(constructed_entries)
    assert out["offline:random"]["preferred"]["tool_acc"] == pytest.approx(1 / n)
    assert out["offline:history"]["preferred"]["n_failed"] == 1


def test_explore_says_what_writes_a_missing_input(tmp_path):
    res = CliRunner().invoke(app, ["explore", str(tmp_path)])
    assert res.exit_code == 2
    assert "07_evaluation" in res.stderr and "petool eval --out" in res.stderr and str(tmp_path) in res.stderr


def test_payload_round_trips_through_gzip_and_base64():
    payload = {"title": "t", "entries": [[0, "1", "café ☕", "<a>.<b>.<c>", {}, "3", {}, [], {}, None]]}
    assert decode_payload(encode_payload(payload)) == payload
    assert encode_payload(payload) == encode_payload(payload)  # reproducible: no timestamp in the gzip header


def test_a_missing_benchmark_file_names_its_folder_and_its_notebook(tmp_path):
    from petool_utils.benchmark.data import DataError, load_entries

    with pytest.raises(DataError, match=r"searched .*benchmark; notebook 05_data_creation writes it .*--only 05"):
        load_entries(tmp_path / "runs" / "x" / "benchmark" / "train.json")
