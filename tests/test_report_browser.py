"""Headless Chromium loads index.html (offline, file://) and finds the tables and rendered plotly figures."""

from __future__ import annotations

import subprocess

import pytest
from _report_smoke import chromium, smoke_run

pytestmark = pytest.mark.slow

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    exe = chromium()
    if exe is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium; .ci/run installs it)")
    return exe


def dump_dom(exe: str, url: str, profile_dir) -> str:
    out = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile_dir}", "--virtual-time-budget=8000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_index_renders_tables_and_plotly_figures(browser, tmp_path_factory, bench_large_path, tmp_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    dom = dump_dom(browser, (run.profile.report_dir / "index.html").as_uri(), tmp_path / "chrome")
    # Tables: Table 1 with the paper's rows, Table 2 with the error types.
    assert dom.count('<table class="petool-table"') >= 4
    assert "PEToolLLaMA" in dom and "TPM" in dom
    # Plotly drew SVG: only happens if plotly.js loaded offline and ran.
    assert dom.count('class="main-svg"') >= 3
    assert 'class="bars"' in dom or 'class="trace bars"' in dom  # Figure 5's bars are there


def test_notebook_page_renders_its_figures_offline(browser, tmp_path_factory, bench_large_path, tmp_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    dom = dump_dom(browser, (run.profile.report_dir / "07_evaluation.html").as_uri(), tmp_path / "chrome")
    assert 'class="main-svg"' in dom
