"""Report fragments: how a notebook puts a table or a figure on the profile's ``index.html``.

Notebooks run in separate kernels and share nothing in memory, so a notebook that wants a section on
the index writes one small JSON file under ``<run_dir>/report/``; the runner gathers them all when it
builds the index. The format is deliberately plain (records and plotly JSON rather than pickled
objects) so that any notebook, in any order, can add a section and a test can read it back.

:func:`write_fragment` is the one writer. The index reads in stage order because a section's place comes
from its notebook's number: ``order = 100 * NN + part`` (construction 01-06, evaluation 07, training
08-09, errors 10, ranker 11); ``part`` orders several sections of one notebook. A fragment that names no
notebook (written by hand) goes after all of them.

Format (see docs/reports.md)::

    {"title": "Table 1: ...", "order": 700, "notebook": "07_evaluation",
     "blocks": [{"kind": "text", "text": "..."},
                {"kind": "table", "records": [{...}, ...], "columns": [...], "caption": "...",
                 "row_classes": ["paper", "ours", ...], "decimals": 1},
                {"kind": "plotly", "figure": <plotly figure JSON>, "caption": "..."},
                {"kind": "html", "html": "<p>trusted html</p>"}]}

``{"title", "order", "html"}`` alone is accepted as a one-block shorthand.
"""

from __future__ import annotations

import html as _html
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import BaseModel, Field, ValidationError, model_validator

from petool_utils.io import atomic_write_json, read_json

FRAGMENT_DIR = "report"
UNPLACED_ORDER = 10_000
"""Where a fragment that names no notebook sorts: after every stage's sections."""
_NOTEBOOK = re.compile(r"(\d{2})(?:_[A-Za-z0-9_]+)?")


def notebook_order(notebook: str, part: int = 0) -> int:
    """``"07_evaluation"`` (or ``"07"``) -> 700 + part: a section's place on the index, from its notebook."""
    m = _NOTEBOOK.fullmatch(notebook)
    if not m:
        raise ValueError(f"notebook {notebook!r}: expected its file stem, NN_name (e.g. 07_evaluation)")
    if not 0 <= part < 100:
        raise ValueError(f"part {part}: use 0..99 to order one notebook's sections")
    return 100 * int(m.group(1)) + part


class Block(BaseModel):
    """One piece of a section: a paragraph, a table, a plotly figure or trusted HTML."""

    kind: Literal["text", "table", "plotly", "html"]
    text: str | None = None
    html: str | None = None
    records: list[dict[str, Any]] | None = None
    columns: list[str] | None = None
    row_classes: list[str] | None = None
    decimals: int = 1
    figure: dict[str, Any] | None = None
    caption: str | None = None

    @model_validator(mode="after")
    def _payload_present(self) -> "Block":
        need = {"text": "text", "html": "html", "table": "records", "plotly": "figure"}[self.kind]
        if getattr(self, need) is None:
            raise ValueError(f"a '{self.kind}' block needs '{need}'")
        return self


class Fragment(BaseModel):
    """One section of the index page."""

    title: str
    order: int = 100
    notebook: str | None = None
    html: str | None = None
    blocks: list[Block] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shorthand(self) -> "Fragment":
        if self.html is not None:
            self.blocks = [Block(kind="html", html=self.html), *self.blocks]
            self.html = None
        return self

    def place(self) -> int:
        """Where the section goes: from its notebook's number when it names one (whatever ``order``
        a hand-written file claims), else after every stage's sections."""
        if self.notebook:
            try:
                return notebook_order(self.notebook, self.order % 100 if self.order >= 100 else 0)
            except ValueError:
                pass
        return UNPLACED_ORDER + self.order


# ----------------------------------------------------------------------------- writing

def text_block(text: str) -> dict[str, Any]:
    return {"kind": "text", "text": text}


def html_block(html: str, caption: str | None = None) -> dict[str, Any]:
    return {"kind": "html", "html": html, "caption": caption}


def table_block(df: Any, caption: str | None = None, row_classes: Sequence[str] | None = None,
                decimals: int = 1) -> dict[str, Any]:
    """A pandas DataFrame (or a list of dicts) as a table block; NaN becomes an empty cell."""
    if hasattr(df, "to_dict"):
        columns = [str(c) for c in df.columns]
        records = json.loads(df.to_json(orient="records", force_ascii=False))
    else:
        records = list(df)
        columns = list(dict.fromkeys(k for r in records for k in r))
    return {"kind": "table", "records": records, "columns": columns, "caption": caption,
            "row_classes": list(row_classes) if row_classes is not None else None, "decimals": decimals}


def figure_block(fig: Any, caption: str | None = None) -> dict[str, Any]:
    """A plotly figure as JSON (no plotly.js inside: the index inlines the library once)."""
    return {"kind": "plotly", "figure": json.loads(fig.to_json()), "caption": caption}


def write_fragment(run_dir: str | os.PathLike[str], notebook: str, title: str, blocks: Sequence[dict[str, Any]],
                   *, key: str | None = None, part: int = 0) -> Path:
    """The one way a notebook puts a section on the index: ``<run_dir>/report/<notebook>[.<key>].json``.

    ``notebook`` is the notebook's file stem (``"07_evaluation"``): its number places the section
    (``order = 100 * NN + part``), so the index reads in stage order whoever writes. ``key`` tells
    several sections of one notebook apart, ``part`` (0..99) orders them. ``blocks`` are made by
    :func:`text_block`, :func:`table_block`, :func:`figure_block` and :func:`html_block`. The file is
    validated and written atomically; a rerun replaces it.
    """
    order = notebook_order(notebook, part)
    name = f"{notebook}.{key}" if key else notebook
    if not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?", name):
        raise ValueError(f"fragment {name!r}: use letters, digits, '_' and '-' only")
    frag = Fragment(title=title, order=order, notebook=notebook, blocks=[Block.model_validate(b) for b in blocks])
    return atomic_write_json(Path(run_dir) / FRAGMENT_DIR / f"{name}.json", frag.model_dump(mode="json"))


# ----------------------------------------------------------------------------- reading

def load_fragments(run_dir: str | os.PathLike[str]) -> tuple[list[Fragment], list[str]]:
    """All fragments of a run in index order (:meth:`Fragment.place`, then title), and a list of problems
    (bad files are reported, not fatal: one broken notebook must not take the whole index down)."""
    frags: list[tuple[Fragment, str]] = []
    problems: list[str] = []
    d = Path(run_dir) / FRAGMENT_DIR
    for p in sorted(d.glob("*.json")) if d.exists() else []:
        try:
            frags.append((Fragment.model_validate(read_json(p)), p.name))
        except (ValueError, ValidationError) as exc:
            problems.append(f"{p}: not a report fragment ({str(exc).splitlines()[0]})")
    frags.sort(key=lambda fp: (fp[0].place(), fp[1]))
    return [f for f, _ in frags], problems


GROUP_COLUMNS = ("Evaluated on",)
"""A table column with one of these names is shown once per run of equal values, as a header row
across the table, instead of in every row (Table 1's data: the same sentence on every line)."""
ROW_CLASS_MEANINGS = {
    "paper": "the paper's published numbers",
    "ours": "petool's own method",
    "baseline": "offline baselines (no LLM)",
    "measured": "other models measured here",
}
"""The legend of the styled rows (``row_classes``)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole_columns(records: Sequence[dict[str, Any]], cols: Sequence[str]) -> set[str]:
    """Columns whose every number is whole: shown as integers (a count is 120, not 120.0), while a
    column of percentages keeps its decimals even where one of them happens to be round."""
    out = set()
    for c in cols:
        nums = [r.get(c) for r in records if _is_number(r.get(c)) and not (isinstance(r.get(c), float) and math.isnan(r.get(c)))]
        if nums and all(float(v).is_integer() for v in nums):
            out.add(c)
    return out


def _cell(v: Any, decimals: int, whole: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.0f}" if whole else f"{v:.{decimals}f}"
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False)
    return _html.escape(str(v))


def row_legend(classes: Sequence[str]) -> str:
    """A line that says what each row colour of a table means (only the classes it uses)."""
    used = [c for c in ROW_CLASS_MEANINGS if c in set(classes)]
    if not used:
        return ""
    items = "".join(f'<span><span class="swatch {c}"></span>{_html.escape(ROW_CLASS_MEANINGS[c])}</span>' for c in used)
    return f'<div class="legend"><span>Rows:</span>{items}</div>'


def render_table(block: Block) -> str:
    """A table block as HTML, inside a box that scrolls sideways when the table is wider than the page."""
    records = block.records or []
    cols = block.columns or list(dict.fromkeys(k for r in records for k in r))
    group = next((c for c in cols if c in GROUP_COLUMNS), None)
    shown = [c for c in cols if c != group]
    whole = _whole_columns(records, shown)
    head = "".join(f"<th>{_html.escape(c)}</th>" for c in shown)
    rows, last = [], object()
    for i, r in enumerate(records):
        if group is not None and r.get(group) != last:
            last = r.get(group)
            label = _cell(last, block.decimals) or "—"
            rows.append(f'<tr class="group"><th colspan="{len(shown)}">{_html.escape(group)}: {label}</th></tr>')
        cls = block.row_classes[i] if block.row_classes and i < len(block.row_classes) else ""
        cells = "".join(f'<td class="num">{_cell(r.get(c), block.decimals, c in whole)}</td>' if _is_number(r.get(c))
                        else f"<td>{_cell(r.get(c), block.decimals)}</td>" for c in shown)
        rows.append(f'<tr class="{_html.escape(cls)}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    cap = f"<caption>{_html.escape(block.caption)}</caption>" if block.caption else ""
    legend = row_legend(block.row_classes or [])
    return (f'<div class="table-scroll"><table class="petool-table">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{legend}')


def render_block(block: Block, div_id: str) -> str:
    """HTML for one block; plotly figures assume plotly.js is already on the page."""
    if block.kind == "text":
        return "".join(f"<p>{_html.escape(par)}</p>" for par in block.text.split("\n\n"))  # type: ignore[union-attr]
    if block.kind == "html":
        body = block.html or ""
    elif block.kind == "table":
        return render_table(block)
    else:
        import plotly.io as pio

        fig = pio.from_json(json.dumps(block.figure))
        body = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                           config={"displaylogo": False, "responsive": True})
    cap = f'<p class="caption">{_html.escape(block.caption)}</p>' if block.caption else ""
    return f'<div class="petool-block">{body}{cap}</div>'


def fragments_need_plotly(frags: Sequence[Fragment]) -> bool:
    """A plotly block, or trusted HTML that draws a plotly figure (``fig.to_html(include_plotlyjs=False)``)."""
    return any(b.kind == "plotly" or (b.kind == "html" and "Plotly.newPlot" in (b.html or ""))
               for f in frags for b in f.blocks)
