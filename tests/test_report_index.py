"""Report fragments and the index page, without papermill: format, ordering, bad files, missing notebooks."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest
from pydantic import ValidationError

from petool_utils.report.fragments import Fragment, figure_block, load_fragments, table_block, text_block, write_fragment
from petool_utils.params import load_profile
from petool_utils.report.runner import build_index, run_profile


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
    assert page.count("<script type=\"text/javascript\">/**") == 1  # plotly.js inlined once
    assert "status-missing" in page and page.index("A table") < page.index("Figures")


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
