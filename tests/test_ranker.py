"""The offline personalized ranker: acceptance bars on the dev slice under group-disjoint cross-fitting
(scored by the shared scorer), independence from the evaluated batch, and known answers."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from _ranker_entries import CLOUDY, RAINY, SUNNY, TUNES, h, p, weather_entry
from petool_utils import SETTINGS
from petool_utils.benchmark.data import CandidateTool, HistoryItem, ToolCall
from petool_utils.benchmark.parsing import parse_reference
from petool_utils.evaluation.errors import classify_error
from petool_utils.evaluation.scoring import judge_responses
from petool_utils.predictors.base import Predictor
from petool_utils.predictors.ranker import CrossFitted, PersonalizedRanker, PopularityPredictor, fit_prior
from petool_utils.predictors.ranker.conventions import CallBook, PastCall, documented_codes, supported
from petool_utils.predictors.ranker.parameters import FillerRules, fill_parameters


# --- the dev slice: acceptance under 2-fold group-disjoint cross-fitting --------------------------------
# The runs are made on bench_entries: the dev slice when it is here (the bars below take dev_entries too,
# so they skip without it), else the constructed split, on which the mechanics tests still run.


@pytest.fixture(scope="module")
def bench_runs(bench_entries):
    """No population, cross-fitted prior and cross-fitted popularity, sharing one embedding cache."""
    plain = PersonalizedRanker()
    cross = CrossFitted(folds=2, table=plain.table).fit(bench_entries)
    pop = PopularityPredictor(folds=2, table=plain.table).fit(bench_entries)
    out = {}
    for name, pred, settings in (("plain", plain, (*SETTINGS, "none")), ("cross", cross, SETTINGS), ("pop", pop, SETTINGS)):
        out[name] = {s: dict(zip([e.entry_id for e in bench_entries], pred.predict(bench_entries, s))) for s in settings}
    out["_plain"], out["_cross"] = plain, cross
    return out


def _acc(entries, responses, metric):
    return {s: float(getattr(judge_responses(entries, r), metric).mean()) for s, r in responses.items() if s in SETTINGS}


def test_no_population_meets_its_bars(dev_entries, bench_runs):
    """One prompt at a time (no other user's history): Tool Acc >= 0.80 on average and >= 0.65 per
    setting (the preferred-only setting cannot beat chance when the history is silent); Param >= 0.88
    (0.78 before ranker v3's span binder; v3 reads 92.0% on the held-out folds, docs/ranker.md)."""
    tool = _acc(dev_entries, bench_runs["plain"], "tool")
    param = _acc(dev_entries, bench_runs["plain"], "param")
    assert np.mean(list(tool.values())) >= 0.80, tool
    assert min(tool.values()) >= 0.65, tool
    assert np.mean(list(param.values())) >= 0.88, param


def test_cross_fitted_prior_meets_its_bars(dev_entries, bench_runs):
    """Each fold of functionality groups answered with a prior from the other fold only (Tool >= 0.94
    on average: 0.92 before ranker v3's description check of same-named APIs, 96.6% with it)."""
    tool = _acc(dev_entries, bench_runs["cross"], "tool")
    param = _acc(dev_entries, bench_runs["cross"], "param")
    call = _acc(dev_entries, bench_runs["cross"], "call")
    assert np.mean(list(tool.values())) >= 0.94 and min(tool.values()) >= 0.88, tool
    assert np.mean(list(param.values())) >= 0.95, param
    assert np.mean(list(call.values())) >= 0.90, call


def test_the_ranker_beats_popularity_alone(dev_entries, bench_runs):
    ranker = np.mean(list(_acc(dev_entries, bench_runs["cross"], "tool").values()))
    popularity = np.mean(list(_acc(dev_entries, bench_runs["pop"], "tool").values()))
    assert ranker >= popularity + 0.05, (ranker, popularity)


def test_every_answer_is_one_line_json_the_authors_parser_reads(bench_entries, bench_runs):
    for s, responses in bench_runs["plain"].items():
        for e in bench_entries[:50]:
            r = responses[e.entry_id]
            assert "\n" not in r
            call = parse_reference(r)
            assert call.ok, (s, r)
            assert call.tool_name in e.candidate_names


def test_no_history_setting_still_finds_the_functionality(dev_entries, bench_runs):
    """Without history the provider is a guess, but the functionality group must be right."""
    errors = [classify_error(e, bench_runs["plain"]["none"][e.entry_id]) for e in dev_entries]
    wrong_function = sum(t in ("IF", "TH", "TFM") for t in errors)
    assert wrong_function / len(errors) <= 0.15


def test_an_answer_never_depends_on_which_entries_are_evaluated(bench_entries, bench_runs):
    """A fresh ranker (its own embedding cache, other batches) on a shuffled subset answers as the full run."""
    subset = random.Random(0).sample(bench_entries, min(40, len(bench_entries)))
    fresh = PersonalizedRanker().predict(subset, "chronological")
    assert fresh == [bench_runs["plain"]["chronological"][e.entry_id] for e in subset]
    cross = bench_runs["_cross"]
    assert cross.predict(subset[:15], "preferred") == [bench_runs["cross"]["preferred"][e.entry_id] for e in subset[:15]]


def test_the_engine_path_answers_as_predict_does(bench_entries, bench_runs):
    """``answer_jobs`` goes entry by entry with every setting at once (the setting-free functionality
    computed once per entry), in small chunks here; its answers are ``predict``'s, job for job."""
    plain = bench_runs["_plain"]
    subset = bench_entries[:60] + [bench_entries[0].model_copy(update={"entry_id": "no-cands", "candidates": []})]
    jobs = [(e, s) for s in SETTINGS for e in subset]
    engine = PersonalizedRanker(table=plain.table, chunk_size=7)
    got = dict(engine.answer_jobs(jobs))
    assert sorted(got) == list(range(len(jobs)))
    for j, (e, s) in enumerate(jobs):
        want = json.dumps({"tool_name": "", "parameters": {}}) if not e.candidates else bench_runs["plain"][s][e.entry_id]
        assert got[j].text == want, (e.entry_id, s)


def test_cross_fitting_answers_each_fold_with_the_other_folds_prior(bench_entries, bench_runs):
    cross = bench_runs["_cross"]
    from petool_utils.predictors.ranker import fold_of

    fold1 = [e for e in bench_entries if fold_of(e, 2) == 1][:20]
    fold0 = [e for e in bench_entries if fold_of(e, 2) == 0]
    assert fold1 and fold0
    alone = PersonalizedRanker(prior=fit_prior(fold0), table=bench_runs["_plain"].table)
    assert alone.predict(fold1, "ratings") == [bench_runs["cross"]["ratings"][e.entry_id] for e in fold1]
    assert {fold_of(e, 2) for e in bench_entries if e.func == fold1[0].func} == {1}


# --- hand-made entries: what decides -------------------------------------------------------------------


def test_the_ranker_is_a_predictor_with_no_population_by_default():
    r = PersonalizedRanker(embedder="tfidf")
    assert isinstance(r, Predictor) and r.prior is None and not hasattr(r, "batch_size")
    assert r.name == "offline-ranker" and r.describe()["population"].startswith("none")


def test_preference_decides_between_two_providers_of_one_function():
    rainy_other_api = "<Weather>.<RainyAPI>.<getAlerts>"
    sunny_other_api = "<Weather>.<SunnyAPI>.<getAlerts>"
    e = weather_entry({
        "preferred": [h(TUNES), h(rainy_other_api)],
        "ratings": [h(sunny_other_api, 0), h(TUNES, 1)],
        "chronological": [h(sunny_other_api), h(TUNES), h(TUNES), h(rainy_other_api)],
    })
    r = PersonalizedRanker(embedder="tfidf")
    expected = {"tool_name": RAINY, "parameters": {"city": "Paris", "days": 3}}
    for s in SETTINGS:
        assert json.loads(r.predict([e], s)[0]) == expected, s
    # the same entry with the evidence reversed picks the other provider
    e2 = weather_entry({"preferred": [h(sunny_other_api)], "ratings": [h(rainy_other_api, 0)],
                        "chronological": [h(rainy_other_api), h(TUNES), h(sunny_other_api)]})
    for s in SETTINGS:
        assert json.loads(r.predict([e2], s)[0])["tool_name"] == SUNNY, s


def test_chronological_the_last_used_member_of_the_group_wins_however_early():
    """Sunny used at 0, Rainy at 1, then six unrelated calls: both are in the oldest third, yet the
    user moved from Sunny to Rainy; Sunny alone at 0 of 8 was abandoned (Rainy, never used, wins)."""
    filler = [h(TUNES)] * 6
    switched = weather_entry({"chronological": [h("<Weather>.<SunnyAPI>.<getAlerts>"), h("<Weather>.<RainyAPI>.<getAlerts>"), *filler]})
    r = PersonalizedRanker(embedder="tfidf")
    assert json.loads(r.predict([switched], "chronological")[0])["tool_name"] == RAINY
    abandoned = weather_entry({"chronological": [h("<Weather>.<SunnyAPI>.<getAlerts>"), *filler, h(TUNES)]})
    assert json.loads(r.predict([abandoned], "chronological")[0])["tool_name"] == RAINY


def test_a_fitted_prior_decides_when_the_users_history_is_silent():
    """Other users liked Rainy; with no prior the first listed member (Sunny) is taken."""
    me = weather_entry({"preferred": [h(TUNES)]})
    others = [weather_entry({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>")]}, entry_id=f"other-{i}", func="8")
              for i in range(3)]
    on = PersonalizedRanker(embedder="tfidf").fit(others)
    off = PersonalizedRanker(embedder="tfidf")
    assert json.loads(on.predict([me], "preferred")[0])["tool_name"] == RAINY
    assert json.loads(off.predict([me], "preferred")[0])["tool_name"] == SUNNY


def test_popularity_ignores_the_users_own_history():
    """The user liked Sunny; other users liked Rainy: the ranker follows the user, popularity the crowd."""
    me = weather_entry({"preferred": [h("<Weather>.<SunnyAPI>.<getAlerts>")]}, func="1")
    others = [weather_entry({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>")]}, entry_id=f"o{i}", func=str(10 + i))
              for i in range(4)]
    prior = fit_prior(others)
    ranker = PersonalizedRanker(embedder="tfidf", prior=prior)
    from petool_utils.predictors.ranker.predictor import popularity_predictor

    pop = popularity_predictor(prior=prior, embedder="tfidf")
    assert json.loads(ranker.predict([me], "preferred")[0])["tool_name"] == SUNNY
    assert json.loads(pop.predict([me], "preferred")[0])["tool_name"] == RAINY


def test_cross_fitted_predictor_refuses_to_answer_before_fit():
    with pytest.raises(RuntimeError, match="fit"):
        CrossFitted(folds=2, embedder="tfidf").predict([weather_entry({})], "preferred")
    with pytest.raises(ValueError, match="at least 2 folds"):
        CrossFitted(folds=1)


def test_a_past_call_for_the_same_request_names_the_api_in_its_category():
    """Two look-alike groups (the same API in two categories); another user's call for this very
    request was served in the Travel category, so that group is chosen."""
    q = "What is the weather forecast for 'Paris' for the next 3 days?"
    travel = ["<Travel>.<TripWeather>.<getForecast>", "<Travel>.<RoamWeather>.<getForecast>"]
    e = weather_entry({"preferred": [h(TUNES)]}, group=(SUNNY, RAINY, *travel), gold=travel[1])
    other = weather_entry({"preferred": [h(travel[1], instruction=q, city="Paris", days=3)]}, entry_id="o", func="9")
    on = PersonalizedRanker(embedder="tfidf", prior=fit_prior([other]))
    assert json.loads(on.predict([e], "preferred")[0]) == {"tool_name": travel[1], "parameters": {"city": "Paris", "days": 3}}
    off = PersonalizedRanker(embedder="tfidf")
    assert json.loads(off.predict([e], "preferred")[0])["tool_name"] in (SUNNY, RAINY)


def test_entry_without_candidates_gets_an_empty_call_not_a_crash():
    e = weather_entry({"preferred": []})
    e.candidates = []
    out = PersonalizedRanker(embedder="tfidf").predict([e], "preferred")
    assert json.loads(out[0]) == {"tool_name": "", "parameters": {}}


def test_unknown_component_is_rejected():
    with pytest.raises(ValueError, match="unknown ranker components"):
        PersonalizedRanker(embedder="tfidf", components=["semantic", "telepathy"])


# --- parameter filling with known answers -----------------------------------------------------------


def _tool(*params, optional=(), name="<C>.<T>.<api>") -> CandidateTool:
    return CandidateTool(tool_name=name, required_parameters=list(params), optional_parameters=list(optional))


@pytest.mark.parametrize(
    ("query", "tool", "expected"),
    [
        ("I want to list products with the keyword 'bikini top'.", _tool(p("keyword")), {"keyword": "bikini top"}),
        ("Show the results on page 3.", _tool(p("page", "NUMBER", "1")), {"page": 3}),
        ("Show results starting from the second page.", _tool(p("page", "NUMBER", "1")), {"page": 2}),
        ("I want the order with order ID #12345.", _tool(p("orderId", "NUMBER", 0)), {"orderId": 12345}),
        ("I want to know the scheduled matches for the date 28/01/2021.", _tool(p("date")), {"date": "28/01/2021"}),
        ("Reviews of the product with ID 7 in Singapore.", _tool(p("id", "NUMBER"), optional=(p("country", default="US"),)), {"id": 7, "country": "SG"}),
        ("Suggestions for 'rome' in Italy.", _tool(p("prefix"), optional=(p("country", default="fr"),)), {"prefix": "rome", "country": "it"}),
        ("The product with ID 5 described in English.", _tool(p("id", "NUMBER"), optional=(p("lang", default="de-DE"),)), {"id": 5, "lang": "en"}),
        ("Azure news about the 'compute' topic.", _tool(p("topic", default="compute")), {"topic": "compute"}),
        ("List all posts.", _tool(p("limit", "NUMBER", "10")), {"limit": 10}),
        ("List all posts.", _tool(optional=(p("limit", "NUMBER", "10"),)), {}),
        ("I want to check the disc usage of the default storage.", _tool(optional=(p("storageName"),)), {"storageName": ""}),
        ("The first 100 tracks of playlist ID 37i9dQZF.", _tool(p("id"), optional=(p("offset", "NUMBER", "0"), p("limit", "STRING", "10"))),
         {"id": "37i9dQZF", "offset": 0}),
        ("Hexagon at longitude -73.4532 and latitude 46.0464.", _tool(p("longitude", "NUMBER", "0"), p("latitude", "NUMBER", "0")),
         {"longitude": -73, "latitude": 46}),
        ("Search 'summer' starting from the 5th result.", _tool(p("q"), optional=(p("start", default="0"),)), {"q": "summer", "start": "5"}),
        # a value from the code list the description spells out, in the form it is written there
        ("I want to search for the top 5 artists named 'Coldplay'.",
         _tool(p("q"), optional=(p("type", default="multi", desc="`multi` or one of these:\n- albums\n- artists\n- tracks"),)),
         {"q": "Coldplay", "type": "artists"}),
    ],
)
def test_fill_parameters_known_answers(query, tool, expected):
    assert fill_parameters(query, tool, []) == expected


SEARCH = _tool(p("q"), optional=(p("offset", "NUMBER", "0"), p("limit", "NUMBER", "10"), p("gl")), name="<Music>.<Tunes>.<search>")


def _book(*calls: tuple[str, dict], tool: str = "<Music>.<Other>.<search>") -> CallBook:
    return CallBook(PastCall(i, tool, params, 1, False) for i, params in calls)


def test_a_request_made_before_by_other_users_is_answered_as_they_were():
    pop = _book(("Songs like 'Yellow', the first 20 please.", {"q": "Yellow", "offset": 0, "limit": 20, "gl": ""}))
    q = "songs like 'yellow' -- the first 20, please"
    assert fill_parameters(q, SEARCH, [], population=pop) == {"q": "Yellow", "offset": 0, "limit": 20, "gl": ""}
    assert fill_parameters(q, SEARCH, [], population=pop, rules=FillerRules(same_request=False, paraphrase=False)) != \
        {"q": "Yellow", "offset": 0, "limit": 20, "gl": ""}


def test_the_users_own_past_call_comes_before_other_users():
    q = "Albums of the artist 2w9z, first 100 please."
    own = [HistoryItem(instruction=q, tool_call=ToolCall(tool_name="<Music>.<Tunes>.<search>", parameters={"q": "2w9z", "limit": 100}))]
    pop = _book((q, {"q": "2w9z", "offset": 0, "limit": 100}))
    assert fill_parameters(q, SEARCH, own, population=pop) == {"q": "2w9z", "limit": 100}
    assert fill_parameters(q, SEARCH, own, use_history=False, population=pop) == {"q": "2w9z", "offset": 0, "limit": 100}


def test_a_paraphrase_is_answered_only_when_the_call_states_everything_the_request_does():
    pop = _book(("Give me news on the 'compute' topic, first page.", {"q": "compute", "offset": 1}),
                ("Give me news on the 'ai' topic, first page.", {"q": "ai", "offset": 1}))
    assert fill_parameters("I want the first page of news about compute.", SEARCH, [], population=pop) == {"q": "compute", "offset": 1}
    # the request also asks for a limit of 30: no past call says so, so the text is read instead
    got = fill_parameters("I want the first page of news about compute, with a limit of 30.", SEARCH, [], population=pop)
    assert got.get("limit") == 30


def test_numbers_go_as_the_apis_past_calls_send_them():
    tool = _tool(p("id"), optional=(p("limit", "NUMBER", "10"),), name="<Music>.<Tunes>.<tracks>")
    pop = CallBook(PastCall(f"Tracks of playlist {i} up to {n}.", "<Music>.<Tunes>.<tracks>", {"id": str(i), "limit": str(n)})
                   for i, n in ((1, 50), (2, 60), (3, 70)))
    assert fill_parameters("Tracks of playlist ID abc9 with a limit of 100.", tool, [], population=pop) == {"id": "abc9", "limit": "100"}
    assert fill_parameters("Tracks of playlist ID abc9 with a limit of 100.", tool, []) == {"id": "abc9", "limit": 100}


def test_documented_code_lists():
    assert documented_codes("One of the following : unfurnished|furnished") == ("unfurnished", "furnished")
    assert documented_codes("ACCEPTED VALUES:  \nalbum\nartist\ntrack") == ("album", "artist", "track")
    assert documented_codes("Search query") == ()


@pytest.mark.parametrize(("value", "query", "ok"), [
    ("for-rent", "properties for rent in Dubai", True),
    ("5002,6020", "locations 5002 and 6020", True),
    (2, "results on the second page", True),
    ("SG", "reviews in Singapore", True),
    ("schuhe", "search for laptops", False),
    (12345, "the order 1234", False),
    ("", "anything", False),
])
def test_supported_values(value, query, ok):
    assert supported(value, query) is ok


_names = st.sampled_from(["id", "page", "limit", "q", "country", "lang", "offset", "sortBy"])


@hsettings(max_examples=60, deadline=None)
@given(query=st.text(max_size=80), req=st.lists(_names, max_size=3, unique=True), opt=st.lists(_names, max_size=3, unique=True))
def test_filled_parameters_are_documented_and_every_required_one_is_there(query, req, opt):
    opt = [n for n in opt if n not in req]
    tool = _tool(*(p(n) for n in req), optional=tuple(p(n, "NUMBER", "0") for n in opt))
    out = fill_parameters(query, tool, [])
    assert set(out) <= set(req) | set(opt)
    assert set(req) <= set(out)
    json.dumps(out)  # always serialisable into the one-line answer
