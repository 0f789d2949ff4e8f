"""The paper's tables and figures from hand-made scores: known answers, cell by cell."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from petool_utils.evaluation.errors import ERROR_TYPE_MEANINGS
from petool_utils.models.spec import spec_labels
from petool_utils.report import tables as rp


def s(tool, param):
    return {"n": 4, "tool_acc": tool, "param_acc": param, "call_acc": 0.0, "invalid_format": 0.0}


SCORES = {"dev slice, 4 entries": {
    "offline:ranker": {"preferred": s(1.0, 0.5), "ratings": s(0.75, 0.25), "chronological": s(0.5, 0.0), "none": s(0.25, 0.25)},
    "openai:gpt-4o": {"preferred": s(0.5, 1.0)},
}}


def test_paper_rows_are_the_published_numbers():
    paper = rp.load_paper_table1().set_index("method")
    assert paper.loc["PEToolLLaMA", "all_tool"] == pytest.approx(77.83)
    assert paper.loc["GPT-4o", "ratings_param"] == pytest.approx(79.6)
    assert math.isnan(paper.loc["GPT-4o", "preferred_tool"])
    assert len(paper) == 10


def test_table1_our_rows_in_percent_with_all_as_mean_of_three_settings():
    t = rp.table1(SCORES, labels=spec_labels([m for by in SCORES.values() for m in by]))
    assert list(t["row_class"]).count("paper") == 10
    ours = t[t["row_class"] != "paper"].set_index("method")
    r = ours.loc["petool ranker (ours, offline, no LLM; no population: one prompt at a time)"]
    assert (r["preferred_tool"], r["ratings_tool"], r["chronological_tool"]) == (100.0, 75.0, 50.0)
    assert r["all_tool"] == pytest.approx(75.0) and r["all_param"] == pytest.approx(25.0)
    assert r["source"] == "petool: dev slice, 4 entries" and r["row_class"] == "ours"
    g = ours.loc["gpt-4o (OpenAI-compatible API)"]
    assert g["preferred_tool"] == 50.0 and math.isnan(g["ratings_tool"]) and math.isnan(g["all_tool"])
    assert g["row_class"] == "measured"


def test_table1_accepts_pydantic_scores():
    from pydantic import BaseModel

    class Score(BaseModel):
        tool_acc: float
        param_acc: float

    row = rp.score_row({k: Score(tool_acc=0.1, param_acc=0.2) for k in ("preferred", "ratings", "chronological")})
    assert row["all_tool"] == pytest.approx(10.0) and row["chronological_param"] == pytest.approx(20.0)


@pytest.mark.parametrize("spec, label", [
    ("offline:ranker", "petool ranker (ours, offline, no LLM; no population: one prompt at a time)"),
    ("offline:ranker@crossfit:2", "petool ranker (ours, offline, no LLM; cross-fitted prior, 2 folds by functionality group)"),
    ("offline:ranker@runs/x/prior.json", "petool ranker (ours, offline, no LLM; prior fitted on training histories: prior.json)"),
    ("offline:popularity", "popularity baseline (offline, no LLM; ignores the user's history; cross-fitted prior, 2 folds by functionality group)"),
    ("offline:random", "random baseline (offline, no LLM)"),
    ("openai:gpt-4o-mini", "gpt-4o-mini (OpenAI-compatible API)"),
    ("hf:/m/Llama-3.1-8B@/runs/a/dpo", "Llama-3.1-8B + adapter dpo (HF, local)"),
])
def test_model_labels(spec, label):
    """Labels come from the spec (ModelSpec.label); the report shows what it is given."""
    labels = spec_labels([spec])
    assert labels[spec]["label"] == label
    t = rp.table1({"b": {spec: {"preferred": {"tool_acc": 0.5, "param_acc": 0.5}}}}, include_paper=False, labels=labels)
    assert t["method"].tolist() == [label]
    assert rp.table1({"b": {spec: {}}}, include_paper=False)["method"].tolist() == [spec]  # nothing given: the spec


def test_figure5_pairs_each_setting_with_the_no_history_score():
    fig = rp.figure5(SCORES["dev slice, 4 entries"], labels=spec_labels(list(SCORES["dev slice, 4 entries"])))
    tool_with, tool_without = fig.data[0], fig.data[1]
    assert tool_with.name == "with history" and tool_without.name == "without history"
    assert tool_with.orientation == "h"  # model names read on the left, not under the bars
    assert list(tool_with.x) == [100.0, 75.0, 50.0, 50.0]
    assert list(tool_without.x) == [25.0, 25.0, 25.0, None]  # gpt-4o ran no "none" setting
    assert list(tool_with.y[0]) == ["ranker (ours, offline, no population)"] * 3 + ["gpt-4o"]


def test_figure6_takes_one_kind_of_the_scorers_long_table():
    df = pd.DataFrame({
        "setting": ["ratings"] * 4, "kind": ["history_items", "history_items", "history_length_bin", "history_length_bin"],
        "bucket": ["3", "5", "0-9", "10-19"], "lo": [3, 5, 0, 10], "n": [2, 2, 3, 1],
        "tool_acc": [0.5, 1.0, 0.25, 0.75], "param_acc": [0.0, 0.5, 0.0, 0.0]}).assign(model="offline:ranker")
    (line,) = rp.figure6(df, kind="history_length_bin").data
    assert list(line.x) == [0, 10] and list(line.y) == [25.0, 75.0]
    assert [c[0] for c in line.customdata] == ["0-9", "10-19"]
    (line,) = rp.figure6(df, kind="history_items", metric="param_acc").data
    assert list(line.x) == [3, 5] and list(line.y) == [0.0, 50.0]
    (line,) = rp.figure6(df, kind="history_length_bin", min_n=2).data
    assert list(line.x) == [0]  # the 10-19 bin holds one entry
    # one length left: a panel without a trend, so no figure at all when two lengths are asked for
    assert rp.figure6(df, kind="history_length_bin", min_n=2, min_lengths=2) is None
    assert rp.figure6(df, kind="history_items", min_lengths=2) is not None


def test_figure6_plain_table_with_length_in_the_index():
    df = pd.DataFrame({"n": [2, 2], "tool_acc": [0.5, 1.0]}, index=pd.Index([3, 5], name="n_history"))
    fig = rp.figure6(df.reset_index().assign(model="offline:random", setting="preferred"))
    assert list(fig.data[0].y) == [50.0, 100.0]
    with pytest.raises(ValueError, match="history-length column"):
        rp.tidy_by_length(pd.DataFrame({"tool_acc": [1.0]}))


ERRORS = pd.DataFrame({
    "model": ["offline:random"] * 6 + ["offline:ranker"] * 2,
    "setting": ["preferred"] * 8,
    "entry_id": list(range(8)),
    "error_type": ["IF", "TPM", "TPM", "PVM", None, None, None, "TH"],
    "query": ["q"] * 8, "reference": ["r"] * 8, "response": ["x" * 500] * 8,
})


def test_table2_counts_and_shares_of_wrong_answers():
    t = rp.table2(ERRORS, ERROR_TYPE_MEANINGS).set_index(["model", "error_type"])
    assert t.loc[("offline:random", "TPM"), "count"] == 2
    assert t.loc[("offline:random", "TPM"), "share"] == pytest.approx(50.0)  # 2 of 4 wrong
    assert t.loc[("offline:random", "IF"), "wrong"] == 4 and t.loc[("offline:random", "IF"), "n"] == 6
    assert t.loc[("offline:ranker", "TH"), "share"] == pytest.approx(100.0)
    wide = rp.table2_wide(rp.table2(ERRORS, ERROR_TYPE_MEANINGS),
                          labels=spec_labels(["offline:random", "offline:ranker"])).set_index("Method")
    assert wide.loc["random baseline (offline, no LLM)", "TPM"] == "2 (50.0%)"
    assert wide.loc["random baseline (offline, no LLM)", "wrong / n"] == "4 / 6"


def test_error_examples_are_seeded_clipped_and_per_type():
    ex = rp.error_examples(ERRORS, ERROR_TYPE_MEANINGS, per_type=1, seed=0, width=50)
    assert list(ex["type"]) == ["IF", "TH", "TPM", "PVM"]
    assert ex["response"].str.len().max() == 50
    assert ex.equals(rp.error_examples(ERRORS, ERROR_TYPE_MEANINGS, per_type=1, seed=0, width=50))
