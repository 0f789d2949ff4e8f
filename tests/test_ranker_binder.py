"""The ranker's span binder, value formats and non-functional score on hand-made requests and candidates
(every expected value computed by hand from the rules in the modules' docstrings)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from _ranker_entries import h, p
from petool_utils.benchmark.data import CandidateTool
from petool_utils.predictors.ranker.binder import (
    abbreviates,
    bind,
    code_in_template,
    date_like,
    dates_in,
    format_like,
    pair_score,
    request_spans,
)
from petool_utils.predictors.ranker.nonfunctional import name_style, nonfunctional_score
from petool_utils.predictors.ranker.parameters import FillerRules, fill_parameters


def _tool(*params, optional=(), name="<C>.<T>.<api>") -> CandidateTool:
    return CandidateTool(tool_name=name, required_parameters=list(params), optional_parameters=list(optional))


# --- abbreviations ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("part", "word", "ok"), [
    ("qty", "quantity", True), ("dest", "destination", True), ("num", "number", True), ("lng", "longitude", True),
    ("src", "source", True), ("price", "price", True),
    ("qty", "query", False),      # no t in "query"
    ("dest", "desktop", True),    # d, e, s, t in order: a subsequence test, not a dictionary
    ("id", "idea", False),        # two letters must equal the word
    ("max", "ma", False),         # the word must be longer than the abbreviation
    ("lang", "slang", False),     # the first letters must agree
])
def test_abbreviations_are_ordered_subsequences_with_the_same_first_letter(part, word, ok):
    assert abbreviates(part, word) is ok


def test_an_abbreviated_name_is_bound_to_the_value_its_full_word_announces():
    tool = _tool(p("qty", "NUMBER"), p("dest"))
    got = fill_parameters("Ship a quantity of 3 boxes to the destination 'Lyon Part-Dieu'.", tool, [])
    assert got == {"qty": 3, "dest": "Lyon Part-Dieu"}


# --- spans --------------------------------------------------------------------------------------------

Q_ROOMS = "List properties with a minimum of 2 bedrooms and a maximum price of 800000."
ROOMS = [p("minimumBedrooms", "NUMBER"), p("maximumBedrooms", "NUMBER"), p("maximumPrice", "NUMBER")]


def test_request_spans_are_numbers_number_words_ids_and_quoted_phrases():
    spans = request_spans("Page two of 'red shoes' for user ab_12, the 5th result.")
    assert [s.value for s in spans] == ["2", "red shoes", "ab_12", "5"]
    assert [s.numeric for s in spans] == [True, False, False, True]


def test_pair_scores_count_name_parts_by_their_distance():
    two, big = request_spans(Q_ROOMS)
    # "2": "minimum" two tokens before (1 / 1.3), "bedrooms" right after (1.0)
    assert pair_score(Q_ROOMS, two, ROOMS[0]) == pytest.approx(1 + 1 / 1.3)
    assert pair_score(Q_ROOMS, two, ROOMS[1]) == pytest.approx(1.0)
    # "800000": "price" two before (1 / 1.3), "maximum" three before (1 / 1.6)
    assert pair_score(Q_ROOMS, big, ROOMS[2]) == pytest.approx(1 / 1.3 + 1 / 1.6)
    assert pair_score(Q_ROOMS, big, ROOMS[1]) == pytest.approx(1 / 1.6)


def test_each_value_goes_to_the_parameter_its_words_name_best():
    assert bind(Q_ROOMS, ROOMS) == {"minimumBedrooms": "2", "maximumPrice": "800000"}
    # the older rule (first value after any word of the name) gives the price to maximumBedrooms
    old = fill_parameters(Q_ROOMS, _tool(optional=tuple(ROOMS)), [], rules=FillerRules(span_binding=False))
    assert old.get("maximumBedrooms") == 800000
    # maximumBedrooms is left out: "maximum" and "bedrooms" already named the parameters that took values
    assert fill_parameters(Q_ROOMS, _tool(optional=tuple(ROOMS)), []) == {"minimumBedrooms": 2, "maximumPrice": 800000}


def test_the_documented_description_announces_a_parameter_whose_name_the_request_does_not_use():
    tool = _tool(p("id", "NUMBER"), optional=(p("size", "NUMBER", "10", "The number of items per response"),
                                              p("number", "NUMBER", "1", "The page index")))
    got = fill_parameters("Reviews of product ID 12345 with 20 items per response, on the second page.", tool, [])
    assert got == {"id": 12345, "size": 20, "number": 2}


def test_a_text_parameter_takes_no_span_across_types():
    tool = _tool(p("flag", "BOOLEAN", "false"), p("count", "NUMBER", "1"))
    assert bind("the flag 7", tool.required_parameters) == {}  # a flag takes no span
    assert bind("the count 'all'", tool.required_parameters) == {}  # a number takes no text
    assert bind("the count 'all' of 3", tool.required_parameters) == {"count": "3"}  # "count" 3 tokens before: 1 / 1.6


def test_an_item_of_a_list_value_already_given_is_not_bound_again():
    params = [p("locationExternalIDs", default="5002,6020"), p("agencyExternalIDs")]
    assert bind("locations with external IDs 5002 and 6020", params[1:], used={"5002,6020"}) == {}


# --- formats ------------------------------------------------------------------------------------------

def test_a_code_is_written_inside_the_examples_template():
    assert code_in_template("results in French", p("lr", default="lang_en")) == "lang_fr"
    assert code_in_template("results from Canada", p("gl", default="us")) == "ca"
    assert code_in_template("results in French", p("lr", default="")) is None


def test_case_follows_a_code_example_not_free_text():
    assert format_like("black", "WHITE") == "BLACK"
    assert format_like("US", "gb") == "us"
    assert format_like("Laptop", "schuhe") == "Laptop"  # a lower-case keyword example says nothing


def test_dates_are_read_in_any_common_form_and_written_as_the_example_writes_them():
    assert dates_in("from January 15, 2023 to 3 March 2024") == [(2023, 1, 15), (2024, 3, 3)]
    assert dates_in("on 2023-01-15 or 28/01/2021") == [(2023, 1, 15), (2021, 1, 28)]
    assert date_like("2022-12-31", (2023, 1, 5)) == "2023-01-05"
    assert date_like("31/12/2022", (2023, 1, 5)) == "05/01/2023"
    assert date_like("12/31/2022", (2023, 1, 5)) == "01/05/2023"
    assert date_like("tomorrow", (2023, 1, 5)) is None
    # the request already writes the example's shape: its own field order stands
    assert date_like("02/01/2021", (2021, 1, 28), "for the date 28/01/2021") is None


def test_a_date_goes_in_the_examples_format():
    tool = _tool(p("date", default="2022-12-31"))
    assert fill_parameters("Matches played on January 15, 2023.", tool, []) == {"date": "2023-01-15"}
    assert fill_parameters("Matches played on January 15, 2023.", tool, [], rules=FillerRules(example_formats=False)) == {
        "date": "2022-12-31"}


# --- optional parameters -----------------------------------------------------------------------------

SEARCH = _tool(p("q"), optional=(p("limit", "NUMBER", "10"), p("offset", "NUMBER", "0"), p("lang", default="en")))


@pytest.mark.parametrize(("query", "expected"), [
    ("Search 'rock' with a limit of 5.", {"q": "rock", "limit": 5}),           # stated: sent with its value
    ("Search 'rock' with a limit.", {"q": "rock", "limit": 10}),               # named without a value: its example
    ("Search 'rock'.", {"q": "rock"}),                                         # not stated: left out
    ("Search 'rock' in German.", {"q": "rock", "lang": "de"}),                 # a language: the example's kind of code
])
def test_optional_parameters_are_sent_exactly_when_the_request_states_them(query, expected):
    assert fill_parameters(query, SEARCH, []) == expected


def test_an_optional_parameter_the_users_past_calls_always_send_is_sent():
    own = [h("<C>.<T>.<api>", instruction=f"Search '{w}'.", q=w, offset=0) for w in ("jazz", "pop", "soul")]
    assert fill_parameters("Search 'rock'.", SEARCH, own) == {"q": "rock", "offset": 0}


@hsettings(max_examples=60, deadline=None)
@given(query=st.text(max_size=120))
def test_binding_is_a_partial_one_to_one_map(query):
    params = [p("pageSize", "NUMBER"), p("page", "NUMBER"), p("keyword"), p("userId")]
    got = bind(query, params)
    assert set(got) <= {x.name for x in params}
    assert len(set(got.values())) == len(got) or len({s.start for s in request_spans(query)}) > len(set(got.values()))
    assert all(v in {s.value for s in request_spans(query)} for v in got.values())


# --- the non-functional score ------------------------------------------------------------------------

def _cand(name: str, desc: str = "") -> CandidateTool:
    return CandidateTool(tool_name=name, tool_description=desc)


def test_name_style():
    assert name_style("Spotify_v3") == (True, False, False)
    assert name_style("Realty in AU") == (False, True, False)
    assert name_style("Deezer") == (False, False, True)


def test_the_provider_that_resembles_the_users_tools_scores_higher():
    hist = [h("<Music>.<Spotify_v2>.<Get playlist>", instruction="Playlist 37i9 please"),
            h("<Music>.<Shazam_v2>.<charts>", instruction="Top charts in France")]
    # Spotify_v3: name Jaccard 1 with Spotify_v2; style (version suffix) shared by both history
    # providers; both history calls in Music; "charts" is one of its two description words
    assert nonfunctional_score(_cand("<Music>.<Spotify_v3>.<Search>", "Search charts"), hist) == pytest.approx(1 + 0.5 + 0.5 + 0.25)
    # Deezer: no shared name word, another name style, same category, no description word used
    assert nonfunctional_score(_cand("<Music>.<Deezer>.<Search>", "Find songs"), hist) == pytest.approx(0.5)
    assert nonfunctional_score(_cand("<Music>.<Deezer>.<Search>"), []) == 0.0


def test_a_word_that_named_a_parameter_with_a_value_names_no_other():
    tool = _tool(p("locationExternalIDs", default="5002,6020"),
                 optional=(p("agencyExternalIDs"), p("rentFrequency", default="monthly"), p("storageName")))
    q = "Properties for rent in locations with external IDs 5002 and 6020, in any storage."
    # "external", "IDs" named locationExternalIDs (which took 5002,6020); "rent" is free, "storage" is free
    assert fill_parameters(q, tool, []) == {"locationExternalIDs": "5002,6020", "rentFrequency": "monthly", "storageName": ""}
    assert fill_parameters(q, tool, [], rules=FillerRules(consumed_words=False)) == {
        "locationExternalIDs": "5002,6020", "agencyExternalIDs": "", "rentFrequency": "monthly", "storageName": ""}


def test_a_learned_pair_model_binds_like_the_pairs_it_was_fitted_on():
    from petool_utils.predictors.ranker.binder import PairModel

    pages, sizes = p("page", "NUMBER"), p("pageSize", "NUMBER")
    examples = [(f"Show page {a} with a page size of {b}.", prm, v)
                for a, b in ((2, 30), (3, 50), (4, 10), (7, 20)) for prm, v in ((pages, a), (sizes, b))]
    model = PairModel().fit(examples)
    assert bind("Show page 9 with a page size of 40.", [pages, sizes], scorer=model) == {"page": "9", "pageSize": "40"}
    with pytest.raises(ValueError, match="positive and negative"):
        PairModel().fit([("Show page 2.", sizes, None)])
