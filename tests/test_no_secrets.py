"""No API key in any executed notebook, HTML page, manifest or report file.

1. The smoke run of 07 and 10 happens with a fake OPENAI_API_KEY in the environment: the key must be
   nowhere under run_dir or report_dir.
2. Defence in depth: a notebook that prints the key and fails with it in the error message; the
   executed copy, its HTML, the status file and the index carry ``[redacted:$OPENAI_API_KEY]`` instead.
3. A profile that passes a key as a parameter is refused before anything runs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from _report_smoke import FAKE_KEY, fake_secret_env, smoke_run

from petool_utils.params import ProfileError, load_profile
from petool_utils.report.runner import run_profile


def _files_containing(roots, needle: str) -> list[Path]:
    hits = []
    for root in roots:
        for p in Path(root).rglob("*"):
            if p.is_file() and needle.encode() in p.read_bytes():
                hits.append(p)
    return hits


@pytest.mark.slow
def test_smoke_run_leaves_the_key_nowhere(tmp_path_factory, bench_large_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    roots = [run.profile.run_dir, run.profile.report_dir]
    files = [p for r in roots for p in Path(r).rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.name == "index.html" for p in files)
    assert any(p.name == "manifest.json" for p in files) and any(p.parent.name == "report" for p in files)
    assert _files_containing(roots, FAKE_KEY) == []


@pytest.mark.slow
def test_a_leaking_notebook_is_scrubbed(tmp_path):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("run_dir = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params,
                nbformat.v4.new_code_cell("import os, json\nprint('key is', os.environ['OPENAI_API_KEY'])\n"
                                          "open(os.path.join(run_dir, 'leak.json'), 'w').write(json.dumps({'k': os.environ['OPENAI_API_KEY']}))"),
                nbformat.v4.new_code_cell("raise RuntimeError('auth failed for ' + os.environ['OPENAI_API_KEY'])")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "99_leak.ipynb")
    prof_file = tmp_path / "leak.yaml"
    prof_file.write_text(f"profile: leak\nrun_dir: {tmp_path / 'run'}\nreport_dir: {tmp_path / 'rep'}\n"
                         "notebooks: [99_leak]\n", encoding="utf-8")
    (tmp_path / "run").mkdir()
    with fake_secret_env():
        res = run_profile(load_profile(prof_file), notebooks_dir=nbdir, progress=False)
    (r,) = res.runs
    assert r.status == "failed" and "RuntimeError" in r.error and FAKE_KEY not in r.error
    assert r.redacted >= 3
    executed = (tmp_path / "run" / "notebooks" / "99_leak.ipynb").read_text()
    assert "[redacted:$OPENAI_API_KEY]" in executed
    assert "[redacted:$OPENAI_API_KEY]" in (tmp_path / "rep" / "99_leak.html").read_text()
    assert _files_containing([tmp_path / "run", tmp_path / "rep"], FAKE_KEY) == []


def test_profile_with_a_key_parameter_is_refused(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("profile: bad\nrun_dir: runs/bad\nreport_dir: reports/bad\nnotebooks: [07_evaluation]\n"
                 "params:\n  07_evaluation:\n    api_key: sk-live-123\n", encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        load_profile(p)
    assert exc.value.key == "params.07_evaluation.api_key" and str(p) in str(exc.value)
    assert "sk-live-123" not in str(exc.value)
