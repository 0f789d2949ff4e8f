"""Offline baselines: hand-built entries with known answers, and the dev slice."""

from __future__ import annotations

import importlib.util
import json

import pytest

from petool_utils.benchmark.data import CandidateTool, Entry, HistoryItem, ToolCall, ToolParameter
from petool_utils.models.spec import model_slug
from petool_utils.benchmark.parsing import parse_reference
from petool_utils.predictors.baselines import (
    HistoryPredictor,
    RandomPredictor,
    RetrievalPredictor,
    call_for,
    fill_parameters,
    history_votes,
)
from petool_utils.predictors.registry import PREDICTORS, make_offline_predictor, make_predictor

A = "<Finance>.<Currency Hub>.<convert>"
B = "<Finance>.<Money Exchange>.<convert currency>"
C = "<Weather>.<Forecast Pro>.<daily forecast>"


def cand(name: str, desc: str, req=(), opt=()) -> CandidateTool:
    return CandidateTool(
        tool_name=name, tool_description=desc,
        required_parameters=[ToolParameter(name=n, type="STRING", description="", default=d) for n, d in req],
        optional_parameters=[ToolParameter(name=n, type="STRING", description="", default=d) for n, d in opt],
    )


def entry(eid, query: str, cands: list[CandidateTool], hist: dict[str, list[tuple[str, int | None]]]) -> Entry:
    e = Entry(entry_id=eid, query=query, apis_candidate="[]",
              api_call_ground_truth=ToolCall(tool_name=cands[0].tool_name, parameters={}))
    e.candidates = cands
    e.histories = {s: [HistoryItem(instruction="past request", tool_call=ToolCall(tool_name=t, parameters={}), rating=r)
                       for t, r in items] for s, items in hist.items()}
    return e


CANDS = [
    cand(A, "Convert an amount of money between currencies", req=[("from", "USD"), ("to", None)]),
    cand(B, "Convert currency amounts using exchange rates", opt=[("amount", "1"), ("round", "")]),
    cand(C, "Daily weather forecast for a city", opt=[("days", 0)]),
]


def test_parameters_come_from_documented_defaults():
    assert fill_parameters(CANDS[0]) == {"from": "USD", "to": ""}  # required: always, "" when undocumented
    assert fill_parameters(CANDS[1]) == {"amount": "1"}  # optional: only a non-empty default
    assert fill_parameters(CANDS[2]) == {"days": 0}  # 0 is a documented value, not an empty one
    parsed = parse_reference(call_for(CANDS[0]))
    assert parsed.ok and parsed.tool_name == A and parsed.parameters == {"from": "USD", "to": ""}


def test_random_is_seeded_per_entry_not_per_order():
    entries = [entry(i, "q", CANDS, {}) for i in range(40)]
    p = RandomPredictor(seed=0)
    forward = p.predict(entries, "none")
    backward = p.predict(entries[::-1], "none")[::-1]
    assert forward == backward
    assert p.predict(entries[5:6], "preferred") == forward[5:6]
    assert len(set(forward)) == 3  # all candidates occur over 40 entries
    assert RandomPredictor(seed=1).predict(entries, "none") != forward


def test_retrieval_picks_the_most_similar_candidate_and_ignores_history():
    e = entry(1, "What is the weather forecast for Paris tomorrow?", CANDS,
              {"preferred": [(A, None)] * 3, "ratings": [], "chronological": []})
    p = RetrievalPredictor()
    assert json.loads(p.predict([e], "preferred")[0])["tool_name"] == C
    assert p.predict([e], "preferred") == p.predict([e], "none")


def test_history_vote_per_setting():
    query = "convert 100 USD to EUR currency"
    hist = {
        # preferred: B used twice, A once -> B.
        "preferred": [(B, None), (B, None), (A, None)],
        # ratings: B disliked twice, A liked -> A.
        "ratings": [(B, 0), (B, 0), (A, 1)],
        # chronological (oldest first): B as often as A but earlier; only the later half votes -> A.
        "chronological": [(B, None), (B, None), (A, None), (A, None)],
    }
    e = entry(7, query, CANDS, hist)
    p = HistoryPredictor()
    got = {s: json.loads(p.predict([e], s)[0])["tool_name"] for s in ("preferred", "ratings", "chronological")}
    assert got == {"preferred": B, "ratings": A, "chronological": A}
    assert history_votes(e.history("ratings"), "ratings") == {"Finance.Money Exchange": -2.0, "Finance.Currency Hub": 1.0}
    assert history_votes(e.history("chronological"), "chronological") == {"Finance.Money Exchange": 0.0,
                                                                         "Finance.Currency Hub": 2.0}


def test_history_ties_go_to_the_query_similar_candidate():
    # No history (setting none), and a history voting equally for the weather and a currency tool.
    e = entry(8, "daily weather forecast please", CANDS, {"preferred": [(C, None), (A, None)]})
    p = HistoryPredictor()
    assert json.loads(p.predict([e], "none")[0])["tool_name"] == C
    assert json.loads(p.predict([e], "preferred")[0])["tool_name"] == C
    e2 = entry(9, "convert money between currencies", CANDS, {"preferred": [(C, None), (A, None)]})
    assert json.loads(p.predict([e2], "preferred")[0])["tool_name"] == A


def test_dev_slice_tool_accuracy(dev_entries):
    """Known answers on the 514 dev entries (preferred setting, the authors' parser)."""

    def tool_acc(pred) -> float:
        out = pred.predict(dev_entries, "preferred")
        return sum(parse_reference(o).tool_name == e.reference.tool_name for o, e in zip(out, dev_entries)) / len(dev_entries)

    assert tool_acc(RandomPredictor(seed=0)) == pytest.approx(45 / 514)
    assert tool_acc(RetrievalPredictor()) == pytest.approx(212 / 514)
    assert tool_acc(HistoryPredictor()) == pytest.approx(339 / 514)


def test_registry_names_and_lazy_ranker():
    assert PREDICTORS.entry("ranker") == "petool_utils.predictors.ranker:PersonalizedRanker"
    for name in ("random", "retrieval", "history"):
        pred = make_predictor(f"offline:{name}")
        assert pred.name.startswith("offline-")
        assert model_slug(f"offline:{name}") == f"offline-{name}"
    assert model_slug("offline:ranker") == "offline-ranker"
    with pytest.raises(ValueError, match="choose one of"):
        make_offline_predictor("oracle")
    if importlib.util.find_spec("petool_utils.predictors.ranker") is None:
        with pytest.raises(ValueError, match="petool_utils.predictors.ranker:PersonalizedRanker"):
            make_offline_predictor("ranker")
    else:
        assert "offline" in make_predictor("offline:ranker").name
