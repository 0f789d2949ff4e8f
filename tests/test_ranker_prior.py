"""The ranker's prior artifact, its specs (offline:ranker@PATH, @crossfit:K, offline:popularity), the
stable folds, and the ``petool ranker`` commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from _ranker_entries import RAINY, SUNNY, TUNES, h, weather_entry
from petool_utils.models.spec import model_slug
from petool_utils.predictors.registry import make_offline_predictor, make_predictor
from petool_utils.predictors.ranker import CrossFitted, PersonalizedRanker, PopularityPredictor, fold_of
from petool_utils.predictors.ranker.crossfit import parse_crossfit, split_folds
from petool_utils.predictors.ranker.prior import SCHEMA_VERSION, RankerPrior, fit_prior, read_prior, write_prior


def _users():
    """u1 likes Rainy (preferred), rejects Sunny (ratings); u2 likes Sunny twice; u3 abandons Sunny."""
    u1 = weather_entry({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>", instruction="Alerts for Oslo", city="Oslo")],
                        "ratings": [h("<Weather>.<SunnyAPI>.<getAlerts>", 0), h(TUNES, 1)]}, entry_id="u1")
    u2 = weather_entry({"preferred": [h("<Weather>.<SunnyAPI>.<getAlerts>"), h("<Weather>.<SunnyAPI>.<getRadar>")]}, entry_id="u2")
    u3 = weather_entry({"chronological": [h("<Weather>.<SunnyAPI>.<getAlerts>")] + [h(TUNES)] * 5}, entry_id="u3")
    return [u1, u2, u3]


def test_votes_are_counted_per_user_setting_and_provider():
    prior = fit_prior(_users() + [_users()[0]])  # u1 twice: one vote
    assert prior.n_users == {"preferred": 2, "ratings": 1, "chronological": 1}
    assert prior.votes["preferred"]["RainyAPI"].likes == 1 and prior.votes["preferred"]["SunnyAPI"].likes == 1
    assert prior.votes["ratings"]["SunnyAPI"].dislikes == 1 and prior.votes["ratings"]["Tunes"].likes == 1
    assert prior.votes["chronological"]["SunnyAPI"].dislikes == 1 and prior.votes["chronological"]["Tunes"].likes == 1
    assert prior.net_votes("ratings") == {"SunnyAPI": -1, "Tunes": 1}
    assert prior.net_votes("none") == {}
    oslo = [c for c in prior.calls if c.instruction == "Alerts for Oslo"]
    assert len(oslo) == 1 and oslo[0].parameters == {"city": "Oslo"} and oslo[0].count == 1
    assert prior.schema_version == SCHEMA_VERSION and "reference" in prior.vote_rule


def test_the_artifact_round_trips_byte_for_byte(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_prior(fit_prior(_users()), a)
    write_prior(fit_prior(list(reversed(_users()))), b)
    assert a.read_bytes() == b.read_bytes()
    assert read_prior(a) == fit_prior(_users())


def test_a_missing_or_malformed_prior_names_the_file_and_the_field(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_prior(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        read_prior(bad)
    bad.write_text(json.dumps({"kind": "something-else"}))
    with pytest.raises(ValueError, match="field 'kind'"):
        read_prior(bad)
    bad.write_text(json.dumps({"kind": "petool-ranker-prior", "schema_version": 99}))
    with pytest.raises(ValueError, match="field 'schema_version'"):
        read_prior(bad)
    bad.write_text(json.dumps({"kind": "petool-ranker-prior", "schema_version": 1,
                               "votes": {"preferred": {"X": {"likes": -2}}}}))
    with pytest.raises(ValueError, match=r"bad.json: field 'votes.preferred.X.likes'"):
        read_prior(bad)


def test_specs_build_the_right_predictor(tmp_path):
    path = tmp_path / "train-prior.json"
    write_prior(fit_prior(_users()), path)
    plain = make_predictor("offline:ranker", embedder="tfidf")
    assert isinstance(plain, PersonalizedRanker) and plain.prior is None
    fitted = make_predictor(f"offline:ranker@{path}", embedder="tfidf")
    assert fitted.prior is not None and fitted.prior_path == str(path) and "train-prior" in fitted.name
    assert fitted.describe()["prior"]["n_users"]["preferred"] == 2
    cross = make_predictor("offline:ranker@crossfit:3", embedder="tfidf")
    assert isinstance(cross, CrossFitted) and cross.folds == 3 and cross.name == "offline-ranker-crossfit-3"
    assert make_offline_predictor("ranker@crossfit", folds=4, embedder="tfidf").folds == 4
    pop = make_predictor("offline:popularity", embedder="tfidf")
    assert isinstance(pop, PopularityPredictor) and pop.folds == 2 and pop.name == "offline-popularity-crossfit-2"
    pop_prior = make_predictor(f"offline:popularity@{path}", embedder="tfidf")
    assert pop_prior.use_history is False and pop_prior.prior is not None
    with pytest.raises(ValueError, match="takes no '@' argument"):
        make_offline_predictor("random@x")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        make_predictor("offline:ranker@/no/such/missing.json")
    with pytest.raises(ValueError, match="crossfit:K"):
        parse_crossfit("crossfit:one")
    # the registry picks CrossFitted for @crossfit (PersonalizedRanker cannot import it: it is made of them)
    with pytest.raises(ValueError, match="K >= 2"):
        make_offline_predictor("ranker@crossfit:1", embedder="tfidf")
    with pytest.raises(ValueError, match="is cross-fitted"):
        PersonalizedRanker.from_spec("crossfit:2", embedder="tfidf")
    assert make_offline_predictor(f"ranker@{path}", folds=4, embedder="tfidf").prior_path == str(path)


def test_model_slugs_of_prior_specs_are_safe_and_distinct():
    a = model_slug("offline:ranker@runs/a/prior.json")
    b = model_slug("offline:ranker@runs/b/prior.json")
    assert a != b and a.startswith("offline-ranker-prior-prior-") and "/" not in a and "@" not in a
    assert model_slug("offline:ranker@crossfit:2").startswith("offline-ranker-crossfit-2-")
    assert model_slug("offline:popularity") == "offline-popularity"
    assert model_slug("offline:ranker") == "offline-ranker"


def test_a_fold_is_a_function_of_the_functionality_group_alone():
    es = [weather_entry({}, entry_id=f"e{i}", func=str(i % 7)) for i in range(30)]
    # known values (sha256 of "func:<id>"): stable across runs, machines and subsets
    assert [fold_of(weather_entry({}, func=f), 2) for f in ("0", "1", "2", "3")] == [fold_of(weather_entry({}, entry_id="x", func=f), 2) for f in ("0", "1", "2", "3")]
    folds = split_folds(es, 3)
    assert sum(len(f) for f in folds) == 30
    for f in folds:
        assert len({fold_of(e, 3) for e in f}) <= 1
    funcs = [{e.func for e in f} for f in folds]
    assert all(not (funcs[i] & funcs[j]) for i in range(3) for j in range(3) if i != j)
    assert split_folds(es[:10], 3) == [[e for e in f if e in es[:10]] for f in folds]
    no_func = weather_entry({}, entry_id="lonely", func=None)
    assert fold_of(no_func, 5) == fold_of(weather_entry({}, entry_id="lonely", func=""), 5)


def test_cross_fitting_uses_only_the_other_folds_histories():
    """Two groups in different folds; each group's users like a different provider. Cross-fitted, a
    silent user of group A is answered with group B's votes, never with group A's own."""
    funcs = [f for f in map(str, range(50))]
    fa = next(f for f in funcs if fold_of(weather_entry({}, func=f), 2) == 0)
    fb = next(f for f in funcs if fold_of(weather_entry({}, func=f), 2) == 1)
    a_users = [weather_entry({"preferred": [h("<Weather>.<SunnyAPI>.<getAlerts>")]}, entry_id=f"a{i}", func=fa) for i in range(3)]
    b_users = [weather_entry({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>")]}, entry_id=f"b{i}", func=fb) for i in range(2)]
    silent = weather_entry({"preferred": [h(TUNES)]}, entry_id="s", func=fa)
    cross = CrossFitted(folds=2, embedder="tfidf").fit(a_users + b_users + [silent])
    assert json.loads(cross.predict([silent], "preferred")[0])["tool_name"] == RAINY
    assert cross.fold_sizes == [4, 2]
    # fitted on everything (the batch prior this replaces), group A's own users would decide: Sunny
    batch = PersonalizedRanker(embedder="tfidf").fit(a_users + b_users)
    assert json.loads(batch.predict([silent], "preferred")[0])["tool_name"] == SUNNY


def test_prior_summary_never_carries_the_calls():
    s = fit_prior(_users()).summary()
    assert "calls" not in s and s["n_calls"] == 4  # Oslo alerts, Sunny alerts, Sunny radar, Tunes charts


# --- the commands ---------------------------------------------------------------------------------


def _cli():
    from petool_utils.cli import app

    return CliRunner(), app


def test_petool_ranker_fit_writes_a_versioned_prior_with_source_hashes(bench_path, bench_entries, tmp_path):
    runner, app = _cli()
    out = tmp_path / "prior.json"
    res = runner.invoke(app, ["ranker", "fit", "--data", str(bench_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    prior = read_prior(out)
    from petool_utils.io import file_sha256

    n = len(bench_entries)  # 514 on the dev slice; every entry is another user
    assert prior.sources[0].sha256 == file_sha256(bench_path) and prior.sources[0].n_entries == n
    assert prior.n_users["preferred"] == n and isinstance(prior, RankerPrior)
    assert prior == fit_prior(bench_entries).model_copy(update={"sources": prior.sources})


def test_petool_ranker_crossfit_writes_run_store_files_petool_score_reads(bench_path, bench_entries, tmp_path):
    runner, app = _cli()
    out = tmp_path / "cf"
    n = min(30, len(bench_entries))
    res = runner.invoke(app, ["ranker", "crossfit", "--data", str(bench_path), "--limit", str(n), "--folds", "2",
                              "--out", str(out), "--setting", "preferred", "--setting", "none", "--no-progress"])
    assert res.exit_code == 0, res.output
    folder = out / model_slug("offline:ranker@crossfit:2")
    lines = [json.loads(x) for x in (folder / "preferred.jsonl").read_text().splitlines()]
    assert len(lines) == n and set(lines[0]) >= {"entry_id", "setting", "response", "latency_s", "error"}
    assert (folder / "priors" / "fold-0.json").exists() and (out / model_slug("offline:popularity@crossfit:2") / "none.jsonl").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "cross-fitted" in json.dumps(manifest)
    res = runner.invoke(app, ["score", str(folder), "--data", str(bench_path)])
    assert res.exit_code == 0, res.output
    assert "preferred" in res.output
