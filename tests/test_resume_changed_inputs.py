"""Resuming into a run folder after the benchmark changed: each line carries a fingerprint of the inputs
it answered, the entries whose inputs changed are asked again, and an answer to an old prompt never
stands for the new one (not even over a failed retry)."""

from __future__ import annotations

import json
from typing import Iterator

from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.reader import load_predictions
from petool_utils.evaluation.store import PredictionStore, resolve_lines
from petool_utils.predictors.base import Answer, Predictor


class Echo(Predictor):
    """Answers with the query it was shown, and records what it was asked."""

    name = "offline-echo"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def predict(self, entries, setting):  # pragma: no cover - the engine calls answer_jobs
        raise NotImplementedError

    def answer_jobs(self, jobs) -> Iterator[tuple[int, Answer]]:
        for j, (e, s) in enumerate(jobs):
            self.asked.append((str(e.entry_id), s))
            yield j, Answer(json.dumps({"tool_name": e.query, "parameters": {}}))


def _run(entries, out, settings=("preferred", "none")) -> Echo:
    pred = Echo()
    evaluate("offline:echo", entries, list(settings), out, predictor=pred, progress=False)
    return pred


def test_a_resumed_run_asks_again_only_where_the_inputs_changed(bench_entries, tmp_path):
    entries = list(bench_entries[:6])
    assert len(_run(entries, tmp_path).asked) == 12
    assert _run(entries, tmp_path).asked == []  # nothing changed: nothing asked

    edited = entries[2].model_copy(update={"query": entries[2].query + " (edited)"})
    new_cands = entries[4].model_copy(update={"apis_candidate": entries[4].apis_candidate + " "})
    changed = [*entries[:2], edited, entries[3], new_cands, entries[5]]
    pred = _run(changed, tmp_path)
    e2, e4 = str(entries[2].entry_id), str(entries[4].entry_id)
    # the edited query changes both settings; the candidates list only feeds the no-history fingerprint
    # (the preferred setting's candidates come from its own prompt, which did not change)
    assert sorted(pred.asked) == sorted([(e2, "preferred"), (e2, "none"), (e4, "none")])
    recs = load_predictions(tmp_path / "offline-echo" / "preferred.jsonl")
    assert json.loads(recs[e2]["response"])["tool_name"] == edited.query
    assert recs[e2]["input_sha"] == edited.input_fingerprint("preferred") != entries[2].input_fingerprint("preferred")
    assert len(recs) == 6  # superseded lines compacted away
    manifest = json.loads((tmp_path / "offline-echo" / "manifest.json").read_text())
    last = manifest["runs"][-1]["counts"]  # each resumed run adds its own counts
    assert last["preferred"]["asked_again_inputs_changed"] == 1 and last["none"]["asked_again_inputs_changed"] == 2


def test_an_answer_to_old_inputs_never_stands_for_new_ones():
    ok_old = {"entry_id": 7, "response": "A", "error": None, "input_sha": "aaaa"}
    failed_new = {"entry_id": 7, "response": None, "error": "timeout", "input_sha": "bbbb"}
    failed_same = {"entry_id": 7, "response": None, "error": "timeout", "input_sha": "aaaa"}
    assert resolve_lines([ok_old, failed_new])["7"]["error"] == "timeout"  # the stale answer goes
    assert resolve_lines([ok_old, failed_same])["7"]["response"] == "A"  # a retry's failure does not undo
    unmarked = {k: v for k, v in failed_new.items() if k != "input_sha"}
    assert resolve_lines([ok_old, unmarked])["7"]["response"] == "A"  # no fingerprint: nothing says stale


def test_lines_written_before_fingerprints_count_as_finished(tmp_path):
    path = tmp_path / "preferred.jsonl"
    path.write_text(json.dumps({"entry_id": 1, "setting": "preferred", "response": "x", "latency_s": 0,
                                "error": None}) + "\n")
    store = PredictionStore(path)
    assert store.is_finished(1, "0123456789abcdef") and not store.is_stale(1, "0123456789abcdef")
    store.close()
