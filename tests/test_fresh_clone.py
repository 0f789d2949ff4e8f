"""The new user: a copy of the project with nothing beside it (no ../shared, no PETOOL_DATA_DIR) runs the
smoke profile. It succeeds on the built-in corpus and the split notebook 05 constructs, and the report says
that this is what it was measured on.

One run of the whole smoke profile (about 1.5 min on 2 cores), so the other checks that need every
notebook executed ride along: the index in stage order, and no library warning in the cells of the
notebooks that call the notebook-setup helper.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.locate import NO_RELEASED_NOTE

pytestmark = pytest.mark.slow


def project_files() -> list[str]:
    """What a clone holds: the tracked files (and new ones not ignored, so it works before a commit)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                             capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell which files a clone would have")
    return [f for f in out.stdout.decode().split("\0") if f and (REPO_ROOT / f).is_file()]


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    clone = tmp_path_factory.mktemp("fresh") / "petool"
    for rel in project_files():
        dest = clone / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, dest)
    assert not (clone.parent / "shared").exists() and not (clone.parent.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("PETOOL_DATA_DIR", "PYTHONPATH")}
    env.update(PETOOL_NO_SHARED="1", PYTHONPATH=str(clone), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "petool_utils.cli", "run", "--profile", "smoke"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900)
    return clone, proc


def test_smoke_profile_succeeds_on_the_constructed_split(fresh_run):
    clone, proc = fresh_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not re.search(r"^(failed|missing|not-run) ", proc.stdout, re.M), proc.stdout
    index = clone / "reports" / "smoke" / "index.html"
    page = index.read_text(encoding="utf-8")
    assert NO_RELEASED_NOTE.split(":")[0] in page and "evaluated on the constructed split" in page
    assert "petool: constructed test split" in page  # Table 1's rows say what they were measured on
    assert "released PEToolBench dev slice" not in page  # no row on data this clone does not have
    for name in ("07_evaluation", "10_error_analysis", "11_ranker"):
        assert f'href="{name}.html"' in page and (clone / "reports" / "smoke" / f"{name}.html").exists()
    assert page.count('class="status-ok"') == 11


def test_index_reads_in_stage_order(fresh_run):
    clone, _ = fresh_run
    page = (clone / "reports" / "smoke" / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'\(from <a href="\d\d_[a-z_]+\.html">(\d\d)_[a-z_]+</a>\)', page)
    # Table 1 (07) comes first, right after the contents; every other section in stage order
    assert sources[0] == "07" and "Table 1" in page[:page.index("(from <a")], sources
    rest = sources[1:]
    assert rest == sorted(rest) and rest[0] == "01" and rest[-1] == "11", sources


def test_no_library_warnings_in_notebooks_that_use_the_setup_helper(fresh_run):
    clone, _ = fresh_run
    checked = []
    for path in sorted((clone / "runs" / "smoke" / "notebooks").glob("*.ipynb")):
        source = nbformat.read(clone / "notebooks" / path.name, as_version=4)
        if "params.setup(" not in "".join(c.source for c in source.cells):
            continue
        checked.append(path.stem)
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            for o in c.get("outputs", []):
                if o.get("output_type") == "stream" and o.get("name") == "stderr":
                    assert "Warning" not in o.get("text", ""), f"{path.stem}: {o['text'][:300]}"
    assert len(checked) == 11  # every notebook calls the one set-up


def test_first_output_of_the_data_notebooks_names_the_constructed_split(fresh_run):
    clone, _ = fresh_run
    for name in ("07_evaluation", "11_ranker"):
        nb = nbformat.read(clone / "runs" / "smoke" / "notebooks" / f"{name}.ipynb", as_version=4)
        first = next(o for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
                     for o in c.outputs if o.get("output_type") == "stream")
        assert first["text"].startswith("no released PEToolBench found: evaluated on the constructed split"), name
    assert Path(clone / "runs" / "smoke" / "metrics.json").exists()
