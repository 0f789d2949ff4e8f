"""A predictor that learns from the evaluated users' histories (the ranker's population prior) must give
the same answers whether a run goes through in one piece or is resumed half-way."""

import json

from petool_utils.evaluation.engine import evaluate


def _lines(path):
    return {json.loads(x)["entry_id"]: json.loads(x)["response"] for x in path.read_text().splitlines()}


def test_resumed_ranker_run_answers_as_an_uninterrupted_one(dev_entries, tmp_path):
    entries = dev_entries[:120]
    whole = _lines(evaluate("offline:ranker", entries, ["preferred"], tmp_path / "a", progress=False)["preferred"])
    # a run that was killed after 60 entries: its file holds their lines, the rest is resumed
    first = evaluate("offline:ranker", entries[:60], ["preferred"], tmp_path / "b", progress=False)["preferred"]
    resumed = _lines(evaluate("offline:ranker", entries, ["preferred"], tmp_path / "b", progress=False)["preferred"])
    assert first.exists() and len(resumed) == len(whole) == 120
    later = [e.entry_id for e in entries[60:]]
    assert [resumed[i] for i in later] == [whole[i] for i in later]
