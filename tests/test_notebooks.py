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
def test_every_notebook_from_the_notebooks_folder_writes_under_the_project_root(monkeypatch):
    """As JupyterLab runs them: working directory notebooks/, the smoke profile's parameters with a relative
    ``run_dir`` (what a person leaves in the parameters cell), ``models`` given as a string (what
    ``papermill -p models offline:history`` passes). Every notebook writes under ``<root>/runs/`` and nothing
    under notebooks/; the cells show no library warning. Before ``params.setup``, 01-05 and 08-09 wrote to
    ``notebooks/runs/...`` while 06, 07, 10 and 11 read ``<root>/runs/...``."""
    import shutil
    import uuid

    import papermill as pm

    from petool_utils.params import load_profile
    from petool_utils.report.runner import declared_parameters, notebook_parameters

    monkeypatch.setenv("PETOOL_NO_SHARED", "1")  # the constructed split only: small, and the same on every machine
    monkeypatch.delenv("PETOOL_DATA_DIR", raising=False)
    monkeypatch.delenv("PETOOL_ROOT", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    relative = f"runs/.test-from-notebooks-{uuid.uuid4().hex[:8]}"
    run = REPO_ROOT / relative
    prof = load_profile("smoke")
    before = {p for p in (REPO_ROOT / "notebooks").rglob("*")}
    try:
        for path in NOTEBOOKS:
            params, _ = notebook_parameters(prof, path.stem, declared_parameters(path))
            params.update(run_dir=relative, **({"models": "offline:history", "limit": 5, "n_boot": 20}
                                               if path.stem == "07_evaluation" else {}))
            out = run / "executed" / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            pm.execute_notebook(str(path), str(out), kernel_name="python3", cwd=str(REPO_ROOT / "notebooks"),
                                progress_bar=False, parameters=params)
            assert stderr_warnings(nbformat.read(out, as_version=4)) == [], path.stem
        assert {p for p in (REPO_ROOT / "notebooks").rglob("*")} == before
        for made in ("tools.jsonl", "tools_understood.jsonl", "groups.json", "users.json", "benchmark/test.json",
                     "metrics.json", "train/sft/adapter", "train/dpo"):
            assert (run / made).exists(), made
        assert {p.name.split(".")[0] for p in (run / "report").glob("*.json")} >= {p.stem for p in NOTEBOOKS}
        metrics = json.loads((run / "metrics.json").read_text())
        assert [[m["spec"] for m in b["models"]] for b in metrics["benchmarks"]] == [["offline:history"]]
        assert metrics["notes"][0].startswith("no released PEToolBench found: evaluated on the constructed split")
        nb = nbformat.read(run / "executed" / "07_evaluation.ipynb", as_version=4)
        first = next(o for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert "no released PEToolBench found" in first.get("text", "")  # the first thing the notebook says
    finally:
        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.slow
def test_a_clone_run_with_another_checkouts_environment_uses_only_its_own_runs(tmp_path):
    """The code of this checkout (PYTHONPATH, as another clone's .venv or the user-wide kernel would give it)
    run from a second project folder reads that folder's profile and writes only under its ``runs/`` and
    ``reports/``: the root is found from the caller's folder, not from where petool_utils is installed."""
    import shutil
    import subprocess
    import sys
    import time

    clone = tmp_path / "other-clone"
    clone.mkdir()
    for rel in ("pyproject.toml", "params", "notebooks"):
        src = REPO_ROOT / rel
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, clone / rel)
    mine = [REPO_ROOT / "runs" / "smoke", REPO_ROOT / "reports" / "smoke"]
    t0 = time.time() - 1
    env = {k: v for k, v in os.environ.items() if k not in ("PETOOL_DATA_DIR", "PETOOL_ROOT")}
    env.update(PYTHONPATH=str(REPO_ROOT), PETOOL_NO_SHARED="1", HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "petool_utils.cli", "run", "--profile", "smoke", "--only", "01"],
                          cwd=clone / "notebooks", env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (clone / "runs" / "smoke" / "tools.jsonl").is_file()
    assert (clone / "reports" / "smoke" / "01_tool_preparation.html").is_file()
    touched = [p for d in mine if d.exists() for p in d.rglob("*") if p.is_file() and p.stat().st_mtime >= t0]
    assert touched == []
    probe = subprocess.run([sys.executable, "-c", "from petool_utils.paths import REPO_ROOT, PACKAGE_ROOT; "
                            "print(REPO_ROOT); print(PACKAGE_ROOT)"], cwd=clone / "params", env=env,
                           capture_output=True, text=True, timeout=120)
    assert probe.stdout.split() == [str(clone.resolve()), str(REPO_ROOT)]


def test_progress_bars_render_as_widgets_in_jupyterlab():
    """ipywidgets is a dependency: tqdm.auto draws a widget in JupyterLab instead of warning about IProgress."""
    import ipywidgets  # noqa: F401
    from tqdm.notebook import IProgress

    assert IProgress is not None


def test_a_broken_notebook_file_is_failed_and_the_index_still_written(tmp_path):
    from petool_utils.params import load_profile
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
