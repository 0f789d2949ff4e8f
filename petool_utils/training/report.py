"""Figures and report fragments for notebooks 08 and 09 (kept here so the notebooks stay thin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from petool_utils.display import format_number
from petool_utils.report.fragments import html_block, write_fragment as write_section
from petool_utils.report.tables import in_percent


def curve_figure(log_history: Sequence[dict[str, Any]], key: str, title: str, label: str):
    """A plotly line of ``key`` over training steps; the model label is in the title."""
    import plotly.graph_objects as go

    pts = [(h["step"], h[key]) for h in log_history if key in h and "step" in h and not any(k.startswith("eval_") for k in h)]
    fig = go.Figure(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=key))
    fig.update_layout(title=f"{title} ({label})", xaxis_title="step", yaxis_title=key, height=360)
    return fig


def dict_table_html(rows: dict[str, Any], caption: str) -> str:
    """Key/value rows; numbers as the report shows them (a loss to 4 significant digits, a count whole)."""

    body = "".join(f"<tr><td>{k}</td><td>{format_number(v)}</td></tr>" for k, v in rows.items())
    return f"<table><caption>{caption}</caption>{body}</table>"


def run_summary(result: Any) -> dict[str, Any]:
    """A training run's summary rows without the pair-source counts (notebook 09 shows those as a table)."""
    return {k: v for k, v in result.summary().items() if k != "pair_sources"}


def pair_sources_frame(result: Any, column: str = "count"):
    """Where each side of each DPO pair came from (``TrainResult.extra["pair_sources"]``), one row a source."""
    import pandas as pd

    return pd.Series(result.extra["pair_sources"], name=column).to_frame()


def ablation_table_html(table: Any, label: str, n_entries: int, eval_on: str) -> str:
    """The ablation table (:func:`~petool_utils.training.ablation.evaluate_variants`) in percent, one decimal,
    under a caption naming the model, the number of entries and whether they are training or held-out."""
    caption = f"Ablation, {label}, {n_entries} {eval_on} entries"
    return f"<h4>{caption}</h4>" + in_percent(table.drop(columns=["spec"])).to_html(index=False, float_format="%.1f")


def dpo_report_html(result: Any, fig: Any, ablation_html: str) -> str:
    """Notebook 09's report section: the pair sources, the SFT+DPO run, its reward-margin curve, the ablation."""
    return ("<h4>DPO pair sources</h4>" + pair_sources_frame(result, "pairs").to_html()
            + dict_table_html(run_summary(result), f"SFT+DPO run: {result.model_label}")
            + figure_html(fig) + ablation_html)


def write_dpo_report(run_dir: str | Path, result: Any, fig: Any, ablation_html: str) -> Path:
    """Notebook 09's section of the run report (:func:`dpo_report_html`), titled with the model label."""
    return write_fragment(run_dir, "09_dpo", f"DPO and ablation: {result.model_label}", None,
                          dpo_report_html(result, fig, ablation_html))


def write_fragment(run_dir: str | Path, name: str, title: str, order: int | None, html: str) -> Path:
    """The notebook's report section through the one writer (:func:`petool_utils.report.fragments.write_fragment`).

    ``name`` is the notebook's stem (``"08_sft_qlora"``), which places the section; ``order`` is kept for
    notebook 08's call and decides nothing (``None`` is as good).
    """

    return write_section(run_dir, name, title, [html_block(html)])


def figure_html(fig) -> str:
    """For report fragments: no plotly.js (the index loads the report's one shared copy, offline)."""
    return fig.to_html(full_html=False, include_plotlyjs=False)


def show_figure(fig) -> None:
    """Display a figure so that it survives nbconvert: the executed notebook's HTML page carries the
    plotly library itself (a bare ``fig.show()`` under papermill leaves only a JSON MIME bundle,
    which the HTML export drops), so the page works offline."""
    from IPython.display import HTML, display

    display(HTML(fig.to_html(full_html=False, include_plotlyjs=True)))
