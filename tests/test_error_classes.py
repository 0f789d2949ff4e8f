"""The finer error classes (petool_utils.evaluation.error_classes) on a hand-made entry: one response
per class, each label worked out from the rules in the module docstring."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from _ranker_entries import CLOUDY, RAINY, SUNNY, h, p, weather_entry
from petool_utils.benchmark.data import ApiDoc, ToolCall
from petool_utils.evaluation.error_classes import ERROR_CLASSES, classify_error_class, error_class_counts, format_only


def _r(tool: str, **params) -> str:
    return json.dumps({"tool_name": tool, "parameters": params})


@pytest.fixture
def entry():
    """Group SUNNY + RAINY (reference RAINY, ``{"city": "Paris", "days": 3}``); CLOUDY is listed, with the
    same API name, but is not in the group."""
    e = weather_entry({"preferred": [h("<Music>.<Tunes>.<topCharts>")], "ratings": [h(SUNNY, rating=0)]},
                      group=(SUNNY, RAINY, CLOUDY))
    e.apis_same_func = e.apis_same_func[:2]
    e.__dict__.pop("same_func_names", None)
    return e


@pytest.mark.parametrize(("response", "setting", "label"), [
    (_r(RAINY, city="Paris", days=3), "preferred", None),
    ("no call here", "preferred", "format"),
    (_r("<Weather>.<Nowhere>.<getForecast>", city="Paris", days=3), "preferred", "hallucination"),
    (_r(SUNNY, city="Paris", days=3), "preferred", "member, history silent"),      # history: only Tunes
    (_r(SUNNY, city="Paris", days=3), "ratings", "member, history names one"),     # history rejected SUNNY
    (_r(CLOUDY, city="Paris", days=3), "preferred", "outside, same-named API"),
    (_r("<Finance>.<CoinDesk>.<getPrice>", currency="USD"), "preferred", "outside, other"),
    (_r(RAINY, city="Paris"), "preferred", "optional left out or added"),
    (_r(RAINY, city="Paris", days=3, units="metric"), "preferred", "optional left out or added"),
    (_r(RAINY, city="paris", days=3), "preferred", "case or format only"),
    (_r(RAINY, city="Paris", days="3"), "preferred", "case or format only"),
    (_r(RAINY, city="Paris", days=1), "preferred", "value in request, not bound"),  # "3 days" is in the request
    (_r(RAINY, city="Lyon", days=3), "preferred", "value in request, not bound"),   # so is 'Paris'
])
def test_one_response_per_class(entry, response, setting, label):
    assert classify_error_class(entry, response, setting) == label


def test_a_value_the_request_never_states_is_another_members_example_or_another_value(entry):
    entry.api_call_ground_truth = ToolCall(tool_name=RAINY, parameters={"city": "Paris", "days": 5})
    resp = _r(RAINY, city="Paris", days=1)
    assert classify_error_class(entry, resp, "preferred") == "other value"
    cat, tool, api = "Weather", "SunnyAPI", "getForecast"
    entry.apis_same_func = [ApiDoc(api_name=api, tool_name=tool, category_name=cat, required_parameters=[p("days", "NUMBER", 5)]),
                            entry.apis_same_func[1]]
    entry.__dict__.pop("same_func_names", None)
    assert classify_error_class(entry, resp, "preferred") == "another member's example"


def test_counts_have_every_class_per_setting(entry):
    responses = {"preferred": {entry.entry_id: _r(SUNNY, city="Paris", days=3)},
                 "ratings": {entry.entry_id: _r(RAINY, city="Paris", days=3)}, "chronological": {}}
    df = error_class_counts([entry], responses).set_index("setting")
    assert list(df.columns) == list(ERROR_CLASSES)
    assert df.loc["preferred", "member, history silent"] == 1 and df.loc["preferred"].sum() == 1
    assert df.loc["ratings"].sum() == 0
    assert df.loc["chronological", "format"] == 1  # no response at all


@pytest.mark.parametrize(("a", "b", "ok"), [
    ("New York", "new-york", True), (5, "5", True), (5, 5.0, True), ("2023-01-15", "15/01/2023", True),
    ("Dark Knight", "The Dark Knight", True), ("Paris", "Lyon", False), (5, 6, False), ("2023-01-15", "2023-01-16", False),
    ("", "x", False),
])
def test_format_only(a, b, ok):
    assert format_only(a, b) is ok


@given(st.one_of(st.text(max_size=20), st.integers()))
def test_a_value_is_always_a_format_of_itself(v):
    assert format_only(v, v)
