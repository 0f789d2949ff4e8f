"""The six error types on hand-built responses: one case per type, precedence, the table's counts and
shares, the examples. On real dev-slice entries when they are here, else on the benchmark the tests
construct from the built-in corpus (so a fresh clone covers the classifier too)."""

from __future__ import annotations

import json

import pytest

from petool_utils.evaluation.errors import ERROR_TYPES, classify_error, error_examples, error_table

HALLUCINATED = "<Imaginary>.<NoSuchTool>.<doIt>"


def call(tool: str, params: dict) -> str:
    return json.dumps({"tool_name": tool, "parameters": params})


def usable(e) -> bool:
    """An entry with parameters, another candidate of its functionality group, and a candidate outside it."""
    in_group = [n for n in e.candidate_names if n in e.same_func_names and n != e.reference.tool_name]
    outside = [n for n in e.candidate_names if n not in e.same_func_names]
    return bool(e.reference.parameters) and bool(in_group) and bool(outside)


@pytest.fixture(scope="module")
def usable_entries(bench_entries):
    found = [e for e in bench_entries if usable(e)]
    assert len(found) >= 6
    return found


def cases(e) -> dict[str, str]:
    """One response per label for entry ``e``."""
    ref = e.reference
    in_group = next(n for n in e.candidate_names if n in e.same_func_names and n != ref.tool_name)
    outside = next(n for n in e.candidate_names if n not in e.same_func_names)
    first = next(iter(ref.parameters))
    renamed = {("renamed_" + k if k == first else k): v for k, v in ref.parameters.items()}
    revalued = {k: ("different value" if k == first else v) for k, v in ref.parameters.items()}
    return {
        "IF": "I would use the logout tool.",
        "TH": call(HALLUCINATED, ref.parameters),
        "TFM": call(outside, ref.parameters),
        "TPM": call(in_group, ref.parameters),
        "PNM": call(ref.tool_name, renamed),
        "PVM": call(ref.tool_name, revalued),
        "right": call(ref.tool_name, ref.parameters),
    }


def test_one_case_per_type(usable_entries):
    e = usable_entries[0]
    got = {label: classify_error(e, resp) for label, resp in cases(e).items()}
    assert got == {"IF": "IF", "TH": "TH", "TFM": "TFM", "TPM": "TPM", "PNM": "PNM", "PVM": "PVM", "right": None}
    assert list(ERROR_TYPES) == ["IF", "TH", "TFM", "TPM", "PNM", "PVM"]


def test_precedence_first_type_that_applies(usable_entries):
    e = usable_entries[0]
    ref = e.reference
    assert classify_error(e, None) == "IF"  # a failed request: no response at all
    # a call whose last parameter is an object ends in "}}}": the authors' lazy "}}" cuts it short, so
    # it is invalid for their parser (IF) and a plain value mismatch (PVM) for the robust one
    last = list(ref.parameters)[-1]
    nested = call(ref.tool_name, {**ref.parameters, last: {"deep": 1}})
    assert classify_error(e, nested) == "IF" and classify_error(e, nested, parser="robust") == "PVM"
    # hallucinated tool with wrong parameters too: the tool is the cause (TH)
    assert classify_error(e, call(HALLUCINATED, {"x": 1})) == "TH"
    # a tool of the right group that is not among this entry's candidates is still a hallucination
    absent = [n for n in e.same_func_names if n not in e.candidate_names]
    if absent:
        assert classify_error(e, call(absent[0], ref.parameters)) == "TH"
    # outside the group with wrong parameters: TFM, not a parameter error
    outside = next(n for n in e.candidate_names if n not in e.same_func_names)
    assert classify_error(e, call(outside, {})) == "TFM"
    # names and values both wrong: PNM
    assert classify_error(e, call(ref.tool_name, {"zzz": "other"})) == "PNM"
    # a missing parameter is a name mismatch
    assert classify_error(e, call(ref.tool_name, dict(list(ref.parameters.items())[1:]))) == "PNM"


def test_error_table_counts_and_shares(usable_entries):
    es = usable_entries[:5]
    wanted = ["IF", "TH", "TPM", "right", "PVM"]
    responses = {e.entry_id: cases(e)[w] for e, w in zip(es, wanted)}
    t = error_table(es, responses).set_index("type")
    assert list(t.index) == list(ERROR_TYPES)
    assert t["count"].to_dict() == {"IF": 1, "TH": 1, "TFM": 0, "TPM": 1, "PNM": 0, "PVM": 1}
    assert t.loc["TH", "share"] == 0.25 and t.loc["TH", "share_of_all"] == 0.2  # 4 wrong of 5
    assert t["share"].sum() == pytest.approx(1.0)
    assert t.loc["TPM", "description"] == "tool preference mismatch"


def test_error_examples_per_type_and_truncated(usable_entries):
    es = usable_entries[:6]
    long_if = "x" * 1000
    responses = {es[0].entry_id: long_if, es[1].entry_id: long_if, es[2].entry_id: cases(es[2])["TFM"],
                 es[3].entry_id: cases(es[3])["right"]}  # es[4], es[5]: no response (IF)
    ex = error_examples(es, responses, per_type=2, max_chars=50)
    assert ex["type"].tolist() == ["IF", "IF", "TFM"]
    assert ex[ex.type == "TFM"]["entry_id"].tolist() == [es[2].entry_id]
    assert json.loads(ex[ex.type == "TFM"]["reference"].iloc[0])["tool_name"] == es[2].reference.tool_name
    assert all(len(r) <= 54 for r in ex["response"])
    assert ex.equals(error_examples(es, responses, per_type=2, max_chars=50))  # seeded
