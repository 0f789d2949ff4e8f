"""The offline personalized ranker: acceptance bars on the dev slice, determinism, known answers."""

from __future__ import annotations

import json

import pytest

from petool_utils import SETTINGS
from petool_utils.benchmark.data import CandidateTool, Entry, HistoryItem, ToolCall, ToolParameter
from petool_utils.benchmark.parsing import parse_reference
from petool_utils.predictors.ranker import PersonalizedRanker
from petool_utils.predictors.ranker.ablation import score, simple_error_type
from petool_utils.predictors.ranker.parameters import fill_parameters


@pytest.fixture(scope="module")
def dev_predictions(dev_entries):
    r = PersonalizedRanker()
    return {s: r.predict(dev_entries, s) for s in (*SETTINGS, "none")}


def test_dev_slice_meets_issue_4_bars(dev_entries, dev_predictions):
    """Issue 4: Tool Acc >= 80 per setting and >= 85 on average; Param Acc >= 60 (authors' parser)."""
    scores = {s: score(dev_entries, dev_predictions[s]) for s in SETTINGS}
    tool = {s: round(v["tool_acc"], 3) for s, v in scores.items()}
    param = {s: round(v["param_acc"], 3) for s, v in scores.items()}
    assert all(t >= 0.80 for t in tool.values()), tool
    assert sum(tool.values()) / 3 >= 0.85, tool
    assert all(p >= 0.60 for p in param.values()), param


def test_every_answer_is_one_line_json_the_authors_parser_reads(dev_entries, dev_predictions):
    for s, responses in dev_predictions.items():
        assert len(responses) == len(dev_entries)
        for e, r in zip(dev_entries[:50], responses[:50]):
            assert "\n" not in r
            p = parse_reference(r)
            assert p.ok, (s, r)
            assert p.tool_name in e.candidate_names


def test_no_history_setting_still_finds_the_functionality(dev_entries, dev_predictions):
    """Without history the provider is a guess, but the functionality group must be right."""
    errors = [simple_error_type(e, r) for e, r in zip(dev_entries, dev_predictions["none"])]
    wrong_function = sum(t in ("IF", "TH", "TFM") for t in errors)
    assert wrong_function / len(errors) <= 0.15


def test_two_runs_are_identical(dev_entries):
    subset = dev_entries[:30]
    a = PersonalizedRanker().predict(subset, "chronological")
    b = PersonalizedRanker().predict(subset, "chronological")
    assert a == b


# --- a hand-made entry where the preference decides -----------------------------------------------


def _p(name: str, type_: str = "STRING", default: object = "", desc: str = "") -> ToolParameter:
    return ToolParameter(name=name, type=type_, description=desc, default=default)


def _weather_entry(histories: dict[str, list[HistoryItem]]) -> Entry:
    cands = [
        CandidateTool(tool_name="<Weather>.<SunnyAPI>.<getForecast>", tool_description="Weather forecast for a city",
                      required_parameters=[_p("city"), _p("days", "NUMBER", "1")]),
        CandidateTool(tool_name="<Finance>.<CoinDesk>.<getPrice>", tool_description="Bitcoin price in a currency",
                      required_parameters=[_p("currency", default="USD")]),
        CandidateTool(tool_name="<Weather>.<RainyAPI>.<getForecast>", tool_description="Weather forecast for a city",
                      required_parameters=[_p("city"), _p("days", "NUMBER", "1")]),
        CandidateTool(tool_name="<Music>.<Tunes>.<searchSongs>", tool_description="Search songs by title",
                      required_parameters=[_p("q")]),
    ]
    e = Entry(entry_id="hand-1", query="What is the weather forecast for 'Paris' for the next 3 days?",
              apis_candidate=json.dumps([c.model_dump() for c in cands]),
              api_call_ground_truth=ToolCall(tool_name="<Weather>.<RainyAPI>.<getForecast>", parameters={"city": "Paris", "days": 3}))
    e.candidates = cands
    e.histories = histories
    return e


def _h(tool: str, rating: int | None = None, instruction: str = "Show me something") -> HistoryItem:
    return HistoryItem(instruction=instruction, tool_call=ToolCall(tool_name=tool, parameters={}), rating=rating)


def test_preference_decides_between_two_providers_of_one_function():
    rainy_other_api = "<Weather>.<RainyAPI>.<getAlerts>"
    sunny_other_api = "<Weather>.<SunnyAPI>.<getAlerts>"
    e = _weather_entry({
        "preferred": [_h("<Music>.<Tunes>.<topCharts>"), _h(rainy_other_api)],
        "ratings": [_h(sunny_other_api, 0), _h("<Music>.<Tunes>.<topCharts>", 1)],
        "chronological": [_h(sunny_other_api), _h("<Music>.<Tunes>.<topCharts>"), _h("<Music>.<Tunes>.<topCharts>"), _h(rainy_other_api)],
    })
    r = PersonalizedRanker(embedder="tfidf", population="off")
    expected = {"tool_name": "<Weather>.<RainyAPI>.<getForecast>", "parameters": {"city": "Paris", "days": 3}}
    for s in SETTINGS:
        assert json.loads(r.predict([e], s)[0]) == expected, s
    # the same entry with the evidence reversed picks the other provider
    e2 = _weather_entry({"preferred": [_h(sunny_other_api)], "ratings": [_h(rainy_other_api, 0)],
                         "chronological": [_h(rainy_other_api), _h("<Music>.<Tunes>.<topCharts>"), _h(sunny_other_api)]})
    for s in SETTINGS:
        assert json.loads(r.predict([e2], s)[0])["tool_name"] == "<Weather>.<SunnyAPI>.<getForecast>", s


def test_population_prior_decides_when_own_history_is_silent():
    """Other users' liked providers break the tie; with the prior off the list order decides (Sunny)."""
    me = _weather_entry({"preferred": [_h("<Music>.<Tunes>.<topCharts>")]})
    others = [_weather_entry({"preferred": [_h("<Weather>.<RainyAPI>.<getAlerts>")]}) for _ in range(3)]
    for i, o in enumerate(others):
        o.entry_id = f"other-{i}"
    on = PersonalizedRanker(embedder="tfidf").fit(others, settings=["preferred"])
    off = PersonalizedRanker(embedder="tfidf", population="off")
    assert json.loads(on.predict([me], "preferred")[0])["tool_name"] == "<Weather>.<RainyAPI>.<getForecast>"
    assert json.loads(off.predict([me], "preferred")[0])["tool_name"] == "<Weather>.<SunnyAPI>.<getForecast>"


# --- parameter filling with known answers ----------------------------------------------------------


def _tool(*params: ToolParameter, optional: tuple[ToolParameter, ...] = ()) -> CandidateTool:
    return CandidateTool(tool_name="<C>.<T>.<api>", required_parameters=list(params), optional_parameters=list(optional))


@pytest.mark.parametrize(
    ("query", "tool", "expected"),
    [
        ("I want to list products with the keyword 'bikini top'.", _tool(_p("keyword")), {"keyword": "bikini top"}),
        ("Show the results on page 3.", _tool(_p("page", "NUMBER", "1")), {"page": 3}),
        ("Show results starting from the second page.", _tool(_p("page", "NUMBER", "1")), {"page": 2}),
        ("I want the order with order ID #12345.", _tool(_p("orderId", "NUMBER", 0)), {"orderId": 12345}),
        ("I want to know the scheduled matches for the date 28/01/2021.", _tool(_p("date")), {"date": "28/01/2021"}),
        ("Reviews of the product with ID 7 in Singapore.", _tool(_p("id", "NUMBER"), optional=(_p("country", default="US"),)), {"id": 7, "country": "SG"}),
        ("Suggestions for 'rome' in Italy.", _tool(_p("prefix"), optional=(_p("country", default="fr"),)), {"prefix": "rome", "country": "it"}),
        ("The product with ID 5 described in English.", _tool(_p("id", "NUMBER"), optional=(_p("lang", default="de-DE"),)), {"id": 5, "lang": "en"}),
        ("Azure news about the 'compute' topic.", _tool(_p("topic", default="compute")), {"topic": "compute"}),
        ("List all posts.", _tool(_p("limit", "NUMBER", "10")), {"limit": 10}),
        ("List all posts.", _tool(optional=(_p("limit", "NUMBER", "10"),)), {}),
        ("I want to check the disc usage of the default storage.", _tool(optional=(_p("storageName"),)), {"storageName": ""}),
        ("The first 100 tracks of playlist ID 37i9dQZF.", _tool(_p("id"), optional=(_p("offset", "NUMBER", "0"), _p("limit", "STRING", "10"))),
         {"id": "37i9dQZF", "offset": 0}),
        ("Hexagon at longitude -73.4532 and latitude 46.0464.", _tool(_p("longitude", "NUMBER", "0"), _p("latitude", "NUMBER", "0")),
         {"longitude": -73, "latitude": 46}),
        ("Search 'summer' starting from the 5th result.", _tool(_p("q"), optional=(_p("start", default="0"),)), {"q": "summer", "start": "5"}),
    ],
)
def test_fill_parameters_known_answers(query, tool, expected):
    assert fill_parameters(query, tool, []) == expected


def test_fill_parameters_copies_the_users_past_call_of_the_same_request():
    tool = _tool(_p("id"), optional=(_p("offset", "NUMBER", "0"), _p("limit", "NUMBER", "10")))
    past = [HistoryItem(instruction="Albums of the artist 2w9z, first 100 please.",
                        tool_call=ToolCall(tool_name="<Music>.<Other>.<api>", parameters={"id": "2w9z", "offset": 0, "limit": 100}))]
    q = "Albums of the artist 2w9z, first 100 please."
    assert fill_parameters(q, tool, past) == {"id": "2w9z", "offset": 0, "limit": 100}
    assert fill_parameters(q, tool, past, use_history=False) != {"id": "2w9z", "offset": 0, "limit": 100}


def test_entry_without_candidates_gets_an_empty_call_not_a_crash():
    e = _weather_entry({"preferred": []})
    e.candidates = []
    out = PersonalizedRanker(embedder="tfidf").predict([e], "preferred")
    assert json.loads(out[0]) == {"tool_name": "", "parameters": {}}


def test_unknown_component_is_rejected():
    with pytest.raises(ValueError, match="unknown ranker components"):
        PersonalizedRanker(embedder="tfidf", components=["semantic", "telepathy"])
