"""Notebooks 01-06: committed clean (they are the source people edit) and running under papermill (smoke)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["01_tool_preparation", "02_tool_understanding", "03_tool_clustering", "04_preference_construction",
         "05_data_creation", "06_benchmark_statistics"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_clean_and_parameterised(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "run_dir" in params[0].source


@pytest.mark.slow
def test_smoke_profile_runs_01_to_06_under_papermill(tmp_path, monkeypatch):
    """As the runner does: common keys + the notebook's section, kept to the names its parameters cell declares.

    On the built-in corpus (PETOOL_DATA_DIR unset for the kernels), so the run is small whatever the machine has.
    """
    import papermill as pm

    monkeypatch.delenv("PETOOL_DATA_DIR", raising=False)
    profile = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    run_dir = tmp_path / "run"
    for name in NAMES:
        values = {k: profile.get(k) for k in ("run_dir", "report_dir", "seed", "data", "tools_dir")}
        values.update(profile["params"].get(name) or {})
        values["run_dir"] = str(run_dir)
        declared = set(pm.inspect_notebook(str(ROOT / "notebooks" / f"{name}.ipynb")))
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"),
                            parameters={k: v for k, v in values.items() if k in declared}, cwd=str(ROOT),
                            kernel_name="python3", progress_bar=False)
    assert json.loads((run_dir / "benchmark" / "manifest.json").read_text())["generator"] == "offline-standin"
    assert sorted(p.stem for p in (run_dir / "report").glob("*.json")) == [*NAMES, "06_benchmark_statistics.baselines"]
    out = nbformat.read(tmp_path / "03_tool_clustering.ipynb", as_version=4)
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for c in out.cells if c.cell_type == "code"
               for o in c.outputs)
