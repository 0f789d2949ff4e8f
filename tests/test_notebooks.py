"""Notebooks are the source people edit: committed clean with one `parameters` cell each, and they behave
the same in JupyterLab (working directory `notebooks/`, parameters typed or passed as strings) as under
`petool run`."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from petool_utils.paths import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_is_committed_clean_with_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "committed with outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "run_dir" in params[0].source


def stderr_warnings(nb) -> list[str]:
    """Warning text a reader of the report would see in the notebook's cells."""
    found = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            text = o.get("text", "") if o.get("output_type") == "stream" and o.get("name") == "stderr" else ""
            if "Warning" in text:
                found.append(text[:300])
    return found


@pytest.mark.slow
def test_07_from_the_notebooks_folder_writes_under_the_project_root(tmp_path, constructed_path, monkeypatch):
    """As JupyterLab runs it: working directory notebooks/, a relative run_dir, `models` given as a string
    (what `papermill -p models offline:history` passes). The run lands where the relative path means from the
    project root, nothing is written under notebooks/, and the cells show no library warning."""
    import papermill as pm

    monkeypatch.setenv("PETOOL_NO_SHARED", "1")
    monkeypatch.delenv("PETOOL_DATA_DIR", raising=False)
    run = tmp_path / "run"
    (run / "benchmark").mkdir(parents=True)
    (run / "benchmark" / "test.json").write_bytes(constructed_path.read_bytes())
    relative = os.path.relpath(run, REPO_ROOT)  # ../../.. from the root; one level off from notebooks/
    before = {p for p in (REPO_ROOT / "notebooks").rglob("*")}
    out = tmp_path / "07.ipynb"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    pm.execute_notebook(str(REPO_ROOT / "notebooks" / "07_evaluation.ipynb"), str(out), kernel_name="python3",
                        cwd=str(REPO_ROOT / "notebooks"), progress_bar=False,
                        parameters={"run_dir": relative, "models": "offline:history", "limit": 5, "n_boot": 20})
    assert {p for p in (REPO_ROOT / "notebooks").rglob("*")} == before
    metrics = json.loads((run / "metrics.json").read_text())
    assert [[m["spec"] for m in b["models"]] for b in metrics["benchmarks"]] == [["offline:history"]]
    assert metrics["notes"][0].startswith("no released PEToolBench found: evaluated on the constructed split")
    assert (run / "report" / "07_evaluation.table1.json").exists()
    nb = nbformat.read(out, as_version=4)
    first = next(o for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "no released PEToolBench found" in first.get("text", "")  # the first thing the notebook says
    assert stderr_warnings(nb) == []


def test_progress_bars_render_as_widgets_in_jupyterlab():
    """ipywidgets is a dependency: tqdm.auto draws a widget in JupyterLab instead of warning about IProgress."""
    import ipywidgets  # noqa: F401
    from tqdm.notebook import IProgress

    assert IProgress is not None


def test_a_broken_notebook_file_is_failed_and_the_index_still_written(tmp_path):
    from petool_utils.report.profiles import load_profile
    from petool_utils.report.runner import run_profile

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    (nbdir / "07_evaluation.ipynb").write_text("{not a notebook")
    prof = load_profile("smoke").model_copy(update={"run_dir": tmp_path / "run", "report_dir": tmp_path / "rep",
                                                    "notebooks": ["07_evaluation", "10_error_analysis"]})
    res = run_profile(prof, notebooks_dir=nbdir, progress=False)
    assert [r.status for r in res.runs] == ["failed", "not-run"] and "cannot read the notebook" in res.runs[0].error
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "status-failed" in page and "status-not-run" in page
