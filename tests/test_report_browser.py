"""Headless Chromium loads the report (offline, file://): tables, rendered plotly figures from the one
shared plotly.js, the navigation, and the entry explorer's filters and opened rows.

``PETOOL_WRITE_SCREENSHOTS=1`` also copies the screenshots it takes to ``docs/images/`` (the README's
picture of the report, docs/reports.md's picture of the explorer with one row open).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _report_smoke import chromium, smoke_run

from petool_utils.paths import REPO_ROOT
from petool_utils.report.explorer import page_payload

pytestmark = pytest.mark.slow

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
SCREENSHOT_MAX_BYTES = 200_000


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


def screenshot(exe: str, url: str, path: Path, profile_dir, size: str = "1280,1000", scale: float = 0.8) -> Path:
    """A JPEG of the page as a reader sees it (Chromium picks the format from the name); scaled down so
    the copies committed for the docs stay small."""
    out = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile_dir}", "--virtual-time-budget=8000",
                          f"--window-size={size}", f"--force-device-scale-factor={scale}", f"--screenshot={path}", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and path.exists(), out.stderr[-2000:]
    assert path.read_bytes()[:3] == b"\xff\xd8\xff" and path.stat().st_size > 10_000  # a JPEG with something drawn
    if os.environ.get("PETOOL_WRITE_SCREENSHOTS") == "1":
        assert path.stat().st_size < SCREENSHOT_MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"
        dest = REPO_ROOT / "docs" / "images" / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return path


def test_index_renders_tables_and_plotly_figures(browser, tmp_path_factory, bench_large_path, tmp_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    dom = dump_dom(browser, (run.profile.report_dir / "index.html").as_uri(), tmp_path / "chrome")
    # Tables: Table 1 with the paper's rows, Table 2 with the error types.
    assert dom.count('<table class="petool-table"') >= 4
    assert "PEToolLLaMA" in dom and "TPM" in dom
    # Plotly drew SVG: only happens if the shared plotly.min.js loaded offline and ran.
    assert dom.count('class="main-svg"') >= 3
    assert 'class="bars"' in dom or 'class="trace bars"' in dom  # Figure 5's bars are there


def test_index_navigation(browser, tmp_path_factory, bench_large_path, tmp_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    dom = dump_dom(browser, (run.profile.report_dir / "index.html").as_uri(), tmp_path / "chrome")
    # Every contents link lands on a heading of the page; Table 1 is the first section after the contents.
    toc = dom[dom.index('<nav id="contents"'):dom.index("</nav>")]
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert len(anchors) >= 4
    for a in anchors:
        assert f'id="{a}"' in dom, a
    sections = re.findall(r'<section id="([^"]+)"><h2>([^<]*)', dom)
    assert sections[0][1].startswith("Table 1"), sections[:3]
    # "(from NN)" links to the notebook's page; the explorer is linked from the index.
    assert '(from <a href="07_evaluation.html">07_evaluation</a>)' in dom
    assert 'href="entries.html"' in dom
    # Table 1 states its data once per group of rows, has a legend of its row colours, and scrolls sideways.
    t1 = dom[dom.index("Table 1: personalized tool-calling accuracy"):]
    t1 = t1[:t1.index("</table>")]
    assert t1.count('<tr class="group">') == t1.count("Evaluated on:") >= 2
    assert "<th>Evaluated on</th>" not in t1
    assert "the paper's published numbers" in dom and 'class="legend"' in dom
    assert '<div class="table-scroll"><table class="petool-table"><caption>Table 1' in dom
    assert "NaN" not in re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    screenshot(browser, (run.profile.report_dir / "index.html").as_uri(), tmp_path / "report.jpg", tmp_path / "c2")


def test_notebook_page_renders_its_figures_offline(browser, tmp_path_factory, bench_large_path, tmp_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    page = run.profile.report_dir / "07_evaluation.html"
    dom = dump_dom(browser, page.as_uri(), tmp_path / "chrome")
    assert 'class="main-svg"' in dom
    # one plotly.js for the whole report: pages load the shared file instead of carrying 4.8 MB each
    assert '<script src="plotly.min.js"></script>' in page.read_text(encoding="utf-8")
    assert page.stat().st_size < 1_000_000


def _expected_rows(run_dir: Path, payload: dict, model: str, error_type: str) -> set[str]:
    bench = {b: i for i, b in enumerate(payload["benchmarks"])}
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    return {f"{bench[r['benchmark']]}:{r['entry_id']}" for r in rows if r["model"] == model and r["error_type"] == error_type}


def test_explorer_filters_by_error_type_and_opens_a_row(browser, tmp_path_factory, bench_large_path, tmp_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    page = run.profile.report_dir / "entries.html"
    payload = page_payload(page.read_text(encoding="utf-8"))
    model = "offline:history"
    counts: dict[str, int] = {}
    for s in payload["samples"]:
        if payload["models"][s[1]] == model and s[3] >= 0:
            counts[payload["types"][s[3]]] = counts.get(payload["types"][s[3]], 0) + 1
    error_type = max(counts, key=counts.get)  # the commonest type: a filter with something to show
    expected = _expected_rows(run.profile.run_dir, payload, model, error_type)
    assert 0 < len(expected) < len(payload["entries"])  # the filter must leave some rows out to be tested
    dom = dump_dom(browser, page.as_uri() + f"#model={model}&type={error_type}", tmp_path / "chrome")
    assert 'data-ready="1"' in dom, dom[-2000:]
    shown = set(re.findall(r'<tr class="row[^"]*" data-key="([^"]+)"', dom))
    assert shown == expected
    assert f'<b id="n-matched">{len(expected)}</b>' in dom
    # Personalization-critical: the entries where, in some setting with answers, popularity's pick is not the reference.
    answered = {(s[0], payload["settings"][s[2]]) for s in payload["samples"]}
    critical = {f"{e[0]}:{e[1]}" for i, e in enumerate(payload["entries"])
                if any(pick is not None and pick != e[3] and (i, st) in answered for st, pick in e[8].items())}
    assert critical  # (the smoke run has entries on both sides; a filter that keeps all would still be right)
    dom = dump_dom(browser, page.as_uri() + "#critical=1", tmp_path / "chrome")
    assert set(re.findall(r'<tr class="row[^"]*" data-key="([^"]+)"', dom)) == critical
    # Opening a row shows its histories (in prompt order, ratings marked), candidates and answers.
    key = sorted(expected)[0]
    entry = next(e for e in payload["entries"] if f"{e[0]}:{e[1]}" == key)
    dom = dump_dom(browser, page.as_uri() + f"#model={model}&type={error_type}&open={key}", tmp_path / "chrome")
    detail = dom[dom.index('<tr class="detail"'):]
    strings, items = payload["strings"], payload["items"]
    for setting, hist in entry[6].items():
        assert f'class="history" data-setting="{setting}"' in detail
        first = strings[items[hist[0][0]][0]]
        assert html.escape(first, quote=False) in detail, (setting, first)
    if "ratings" in entry[6]:
        assert "liked" in detail
    assert "reference's group" in detail or "← reference" in detail
    assert f'data-model="{model}"' in detail and "raw answer" in detail
    screenshot(browser, page.as_uri() + f"#model={model}&open={key}", tmp_path / "explorer.jpg", tmp_path / "c2",
               size="1280,900", scale=0.75)


def test_no_page_carries_the_machines_paths(tmp_path_factory, bench_large_path):
    run = smoke_run(tmp_path_factory, bench_large_path)
    pages = sorted(run.profile.report_dir.glob("*.html"))
    assert len(pages) >= 3
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert str(REPO_ROOT) + "/" not in text, p.name
    assert len(list(run.profile.report_dir.glob("plotly*.js"))) == 1
