"""Report fragments and the index page, without papermill: format, ordering, bad files, missing notebooks."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from petool_utils.report.fragments import Fragment, figure_block, load_fragments, table_block, text_block, write_fragment
from petool_utils.params import load_profile
from petool_utils.report.runner import CARTESIAN_BUNDLE, build_index, run_profile


@pytest.fixture()
def prof(tmp_path):
    p = load_profile("smoke")
    return p.model_copy(update={"run_dir": tmp_path / "run", "report_dir": tmp_path / "rep"})


def test_fragments_sorted_by_notebook_number_and_bad_files_reported(prof):
    write_fragment(prof.run_dir, "07_evaluation", "Second", [text_block("two")], key="b", part=1)
    write_fragment(prof.run_dir, "07_evaluation", "First", [table_block(pd.DataFrame({"x": [1.25, None]}))], key="a")
    (prof.run_dir / "report" / "shorthand.json").write_text(json.dumps({"title": "Third", "order": 30, "html": "<b>3</b>"}))
    (prof.run_dir / "report" / "broken.json").write_text(json.dumps({"order": 1}))
    frags, problems = load_fragments(prof.run_dir)
    assert [f.title for f in frags] == ["First", "Second", "Third"]  # a fragment naming no notebook goes last
    assert frags[2].blocks[0].kind == "html"
    assert len(problems) == 1 and "broken.json" in problems[0]


def test_every_writer_lands_in_stage_order(prof):
    """Construction 01-06, evaluation 07, training 08-09, errors 10, ranker 11, whoever writes and in any order.

    Before the one writer, each module picked its own numbers and the index read Table 1, Tool preparation,
    Figure 5, Tool understanding, ...
    """
    from petool_utils.construction.pipeline import write_fragment as construction_writer
    from petool_utils.training.report import write_fragment as training_writer

    run = prof.run_dir
    write_fragment(run, "11_ranker", "ranker", [text_block("r")])
    write_fragment(run, "10_error_analysis", "table 2", [text_block("t2")], key="table2")
    training_writer(run, "09_dpo", "dpo", 90, "<p>dpo</p>")
    write_fragment(run, "07_evaluation", "figure 5", [text_block("f5")], key="figure5", part=1)
    training_writer(run, "08_sft_qlora", "sft", 80, "<p>sft</p>")
    construction_writer(run, "06_benchmark_statistics", "statistics", "<p>s</p>")
    write_fragment(run, "07_evaluation", "table 1", [text_block("t1")], key="table1", part=0)
    construction_writer(run, "02_tool_understanding", "understanding", "<p>u</p>")
    construction_writer(run, "01_tool_preparation", "preparation", "<p>p</p>")
    frags, problems = load_fragments(run)
    assert not problems
    assert [f.title for f in frags] == ["preparation", "understanding", "statistics", "table 1", "figure 5", "sft",
                                        "dpo", "table 2", "ranker"]
    assert [f.order for f in frags] == [100, 200, 600, 700, 701, 800, 900, 1000, 1100]


def test_bad_names_are_rejected(prof):
    with pytest.raises(ValidationError):
        Fragment.model_validate({"title": "t", "blocks": [{"kind": "plotly"}]})
    with pytest.raises(ValueError, match="expected its file stem"):
        write_fragment(prof.run_dir, "../escape", "t", [text_block("x")])
    with pytest.raises(ValueError, match="letters, digits"):
        write_fragment(prof.run_dir, "07_evaluation", "t", [text_block("x")], key="../up")


def test_index_with_missing_notebooks_tables_and_one_inline_plotly(prof, tmp_path):
    res = run_profile(prof, only="07,10", notebooks_dir=tmp_path / "empty", progress=False)
    assert [r.status for r in res.runs] == ["missing", "missing"]
    write_fragment(prof.run_dir, "07_evaluation", "A table", [table_block(pd.DataFrame({"m": ["a<b"], "v": [0.123]}),
                                                                          row_classes=["ours"], decimals=2)], key="t")
    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    write_fragment(prof.run_dir, "07_evaluation", "Figures", [figure_block(fig), figure_block(fig)], key="f", part=1)
    page = build_index(prof).read_text()
    assert '<tr class="ours"><td>a&lt;b</td><td class="num">0.12</td></tr>' in page
    assert page.count("Plotly.newPlot") == 2
    # plotly.js is not in the page: one shared copy beside it, the cartesian bundle since a bar is cartesian
    assert page.count('<script src="plotly.min.js"></script>') == 1 and "/**" not in page
    shared = prof.report_dir / "plotly.min.js"
    assert shared.read_text() == CARTESIAN_BUNDLE.read_text()
    assert "status-missing" in page and page.index("A table") < page.index("Figures")
    # a trace the cartesian bundle cannot draw switches the report to plotly's full bundle
    write_fragment(prof.run_dir, "07_evaluation", "GL", [figure_block(go.Figure(go.Scattergl(x=[1], y=[2])))],
                   key="gl", part=2)
    build_index(prof)
    from plotly.offline import get_plotlyjs

    assert shared.read_text() == get_plotlyjs()


def test_the_vendored_cartesian_bundle_is_the_plotly_packages_version():
    from plotly.offline import get_plotlyjs_version

    head = CARTESIAN_BUNDLE.read_text()[:200]
    assert f"v{get_plotlyjs_version()}" in head and "cartesian" in head


def test_notebook_pages_share_one_plotly_and_one_style_sheet(tmp_path):
    from plotly.offline import get_plotlyjs

    from petool_utils.report.runner import minify_css, publish_page

    css = "/* theme */\n.jp-Cell {\n  color : red;\n}\n" * 2000
    page = (f'<html><head><style type="text/css">{css}</style><style type="text/css">.small{{}}</style></head>'
            f'<body><script>{get_plotlyjs()}</script><div>/home/x</div></body></html>')
    for name in ("a.html", "b.html"):
        publish_page(page, tmp_path / name, {})
    sheets = list(tmp_path.glob("notebook-*.css"))
    assert len(sheets) == 1 and sheets[0].read_text() == minify_css(css)
    assert ".jp-Cell{color : red;}" in sheets[0].read_text() and "/*" not in sheets[0].read_text()
    a = (tmp_path / "a.html").read_text()
    assert f'<link rel="stylesheet" href="{sheets[0].name}">' in a and ".small{}" in a  # small sheets stay inline
    assert '<script src="plotly.min.js"></script>' in a and len(a) < 2000
    assert (tmp_path / "plotly.min.js").exists()


def test_machine_paths_become_relative_to_the_project(tmp_path):
    from petool_utils.report.machine_paths import strip_machine_paths

    root = tmp_path / "home" / "me" / "petool"
    text = (f'run_dir="{root}/runs/offline" data {tmp_path}/home/shared/bench.json cwd {root} '
            f"{tmp_path}/home/me/petoolbox/x {tmp_path}/homework")
    out = strip_machine_paths(text, root)
    # a sibling is relative to the root; /homework is not /home: only whole components are replaced
    assert out == 'run_dir="runs/offline" data ../../shared/bench.json cwd . ../petoolbox/x ../../../homework'


def test_table_blocks_group_the_data_column_show_counts_as_integers_and_explain_colours():
    from petool_utils.report.fragments import Block, render_table

    block = Block.model_validate(table_block(pd.DataFrame({
        "Method": ["paper row", "ours", "baseline"], "Evaluated on": ["paper", "dev", "dev"],
        "Tool": [53.7, 50.0, float("nan")], "users": [120.0, 3.0, 4.0]}), row_classes=["paper", "ours", "baseline"]))
    html = render_table(block)
    assert html.count('<tr class="group">') == 2 and "<th>Evaluated on</th>" not in html
    assert '<tr class="group"><th colspan="3">Evaluated on: dev</th></tr>' in html
    assert '<td class="num">120</td>' in html and '<td class="num">50.0</td>' in html  # counts whole, % keep decimals
    assert "NaN" not in html and "nan" not in html
    assert "published numbers" in html and "own method" in html and "measured here" not in html  # only the classes used
    assert html.startswith('<div class="table-scroll">')


def test_notebook_frames_blank_missing_values_and_round_floats():
    import numpy as np

    from petool_utils.display import format_number, frame_html

    assert [format_number(v) for v in (12.74126148223877, 120.0, 0.5, np.nan, pd.NA, None, 3)] == \
        ["12.74", "120", "0.5000", "", "", "", "3"]
    html = frame_html(pd.DataFrame({"users": [120.0, 3.0], "q": ["a query", None],
                                    "n": pd.array([1, None], dtype="Int64")}))
    assert ">120<" in html and ">120.0<" not in html and "NaN" not in html and "&lt;NA&gt;" not in html
    assert '<td style="text-align:left">a query</td>' in html
    long = frame_html(pd.DataFrame({"x": range(100)}), max_rows=10)
    assert long.count("<tr>") == 12 and "90 more rows" in long and "100 rows" in long  # head, 10 rows, the gap
    assert "<th></th>" not in long  # a plain RangeIndex is not shown, cut or not


def test_no_input_hides_code_but_keeps_outputs():
    import nbformat

    from petool_utils.report.runner import notebook_to_html

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_sauce = 6 * 7")
    cell.outputs = [nbformat.v4.new_output("stream", text="answer-is-42\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title here"), cell]
    shown, hidden = notebook_to_html(nb), notebook_to_html(nb, no_input=True)
    assert "secret_sauce" in shown and "secret_sauce" not in hidden
    assert "answer-is-42" in hidden and "Title here" in hidden


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(lambda f: f == 0 or abs(f) >= 1e-4))
def test_format_number_keeps_four_significant_digits(f):
    from petool_utils.display import format_number

    text = format_number(f)
    assert "e" not in text and "nan" not in text
    assert abs(float(text) - f) <= max(5e-4 * abs(f), 0.5 if abs(f) >= 1e4 else 0.0) + 1e-12


@given(st.lists(st.sampled_from(["runs", "offline", "x.json", "..", "a b", "<p>", "'", "/"]), max_size=6))
def test_no_root_path_survives_the_scrub(parts):
    from petool_utils.report.machine_paths import strip_machine_paths

    root = "/srv/me/petool"
    text = " ".join(f"{root}/{p}" for p in parts) + f" {root}"
    out = strip_machine_paths(text, root)
    assert "/srv/me/petool" not in out and strip_machine_paths(out, root) == out
