"""papermill really executes notebooks 07 and 10 on the smoke profile; HTML pages and the index exist
with Table 1 (the paper's rows beside ours), Figure 5/6 and Table 2; parameters are filtered."""

from __future__ import annotations

import json

import nbformat
import pytest
from _report_smoke import N_CONSTRUCTED, TEST_MODELS, released_label, smoke_run

from petool_utils.evaluation.grid import read_metrics
from petool_utils.report.runner import run_profile

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory, bench_large_path):
    return smoke_run(tmp_path_factory, bench_large_path)


def test_both_notebooks_ran_ok(run):
    status = {r.notebook: r.status for r in run.result.runs}
    assert status == {"07_evaluation": "ok", "10_error_analysis": "ok"}, run.result.runs
    for name in status:
        assert (run.profile.report_dir / f"{name}.html").stat().st_size > 10_000
        assert (run.profile.run_dir / "notebooks" / f"{name}.ipynb").exists()


def test_injected_parameters_are_the_declared_ones(run):
    nb = nbformat.read(run.profile.run_dir / "notebooks" / "07_evaluation.ipynb", as_version=4)
    params = nb.metadata.papermill.parameters
    # the smoke section, plus common keys the notebook declares; nothing it does not declare
    assert params["limit"] == 20 and params["n_boot"] == 50
    assert params["models"] == TEST_MODELS
    assert params["run_dir"] == str(run.profile.run_dir)
    assert "notebooks" not in params and "report_dir" not in params and "tools_dir" not in params
    nb10 = nbformat.read(run.profile.run_dir / "notebooks" / "10_error_analysis.ipynb", as_version=4)
    assert set(nb10.metadata.papermill.parameters) == {"run_dir", "report_dir", "seed", "examples_per_type"}


def test_metrics_cover_both_benchmarks_and_the_limit(run):
    m = read_metrics(run.profile.run_dir)
    by_key = {b.source.key: b for b in m.benchmarks}
    assert by_key["released"].n == 20  # the smoke limit
    assert by_key["constructed"].n == N_CONSTRUCTED
    for b in m.benchmarks:
        specs = {x.spec: x for x in b.models}
        assert list(specs) == TEST_MODELS
        for spec in ("offline:random", "offline:history"):
            x = specs[spec]
            assert x.status == "ok" and set(x.scores) == {"preferred", "ratings", "chronological", "all", "none"}
            assert x.scores["preferred"]["n"] == b.n and x.scores["all"]["ci_method"] == "group"
            assert x.scores["preferred"]["n_failed"] == 0 and x.scores["preferred"]["n_missing"] == 0
        # a model that cannot run is reported with its reason, never a crash
        bad = specs["offline:nosuch"]
        assert bad.status == "failed" and "nosuch" in bad.reason and not bad.scores


def test_index_has_table1_figures_table2_and_links(run):
    page = (run.profile.report_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="07_evaluation.html"' in page and 'href="10_error_analysis.html"' in page
    assert "Table 1" in page and "PEToolLLaMA w/o DPO" in page and "77.8" in page  # paper rows
    assert "random baseline (offline, no LLM)" in page  # ours, labelled as offline
    assert "Not in the table: offline:nosuch" in page
    assert f"{released_label(run.profile.data)}, 20 entries" in page
    assert f"constructed test split (this run), {N_CONSTRUCTED} entries" in page
    assert "Figure 5" in page and "Figure 6" in page and "Table 2" in page
    assert page.count("Plotly.newPlot") >= 2  # Figure 5 per benchmark; Figure 6 only where lengths vary
    assert page.count("plotly.js v") == 0  # the library is the report's one shared plotly.min.js


def test_rerun_of_10_alone_keeps_07_in_the_index(run, tmp_path_factory):
    from _report_smoke import fake_secret_env

    with fake_secret_env():
        res = run_profile(run.profile, only="10", progress=False)
    assert [r.status for r in res.runs] == ["ok"]
    page = (run.profile.report_dir / "index.html").read_text(encoding="utf-8")
    assert "Table 1" in page and 'href="07_evaluation.html"' in page
    status = json.loads((run.profile.run_dir / "notebooks" / "status.json").read_text())
    assert status["07_evaluation"]["status"] == "ok"


def test_a_failed_model_fails_notebook_07_after_its_tables(tmp_path, bench_path):
    """The small-llm run's 07 said "ok" while metrics.json had both its models failed. By default a failed model
    fails the notebook, naming it, after metrics.json is written with the others' scores."""
    from _report_smoke import smoke_profile

    prof = smoke_profile(tmp_path, bench_path)
    params = {**prof.params, "07_evaluation": {**prof.params["07_evaluation"], "models": ["offline:history",
              "offline:nosuch"], "settings": ["preferred"], "limit": 3, "n_boot": 0, "fail_on_model_errors": True}}
    res = run_profile(prof.model_copy(update={"params": params}), only="07", progress=False)
    [run] = res.runs
    assert run.status == "failed" and "ModelsFailedError" in run.error and "offline:nosuch" in run.error, run
    m = read_metrics(prof.run_dir)
    runs = {x.spec: x for b in m.benchmarks for x in b.models}
    assert runs["offline:history"].status == "ok" and runs["offline:nosuch"].status == "failed"
