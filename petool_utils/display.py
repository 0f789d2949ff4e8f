"""How a notebook shows a DataFrame: the same number rules as the report's index.

pandas' own HTML prints ``NaN`` and ``<NA>`` in blank cells, ``120.0`` for a count that passed through a
float column, ``12.74126148223877`` for a loss, and right-aligns every cell, queries and JSON included.
:func:`frame_html` is registered for DataFrames by :func:`petool_utils.params.configure_display`, so every
table on a notebook page reads the same way:

* blank instead of NaN / ``<NA>`` / None;
* a column whose every number is whole shows integers;
* other floats to 4 significant digits (a loss of 12.74, an accuracy of 45.68; percentages keep their
  scale: the modules that build tables give them in percent);
* text columns left-aligned, numbers right-aligned.
"""

from __future__ import annotations

import html as _html
import math
from typing import Any

SIGNIFICANT = 4


def format_number(v: Any) -> str:
    """One cell's text: ``""`` for a missing value, an integer, or 4 significant digits."""
    if v is None:
        return ""
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) or type(v).__name__.startswith("float"):
        f = float(v)
        return "" if math.isnan(f) else _sig(f)
    return str(v)


def _sig(f: float) -> str:
    """``f`` to :data:`SIGNIFICANT` significant digits, as a fixed-point number (never ``1.274e+01``)."""
    a = abs(f)
    if math.isinf(f) or (f.is_integer() and a < 1e15) or a >= 10 ** SIGNIFICANT:
        return f"{f:.0f}" if not math.isinf(f) else str(f)
    if a < 1e-4:
        return f"{f:.{SIGNIFICANT - 1}e}"
    return f"{f:.{SIGNIFICANT - 1 - math.floor(math.log10(a))}f}"


def frame_html(df: Any, max_rows: int | None = None) -> str:
    """A DataFrame as an HTML table by the rules above; long frames keep their first and last rows."""
    import pandas as pd

    max_rows = max_rows or pd.get_option("display.max_rows") or 60
    n = len(df)
    view = df if n <= max_rows else pd.concat([df.head(max_rows // 2), df.tail(max_rows // 2)])
    numeric = {c: pd.api.types.is_numeric_dtype(view[c].dtype) and not pd.api.types.is_bool_dtype(view[c].dtype)
               for c in view.columns}
    names = [n_ for n_ in (df.index.names or []) if n_ is not None]
    show_index = bool(names) or not isinstance(df.index, pd.RangeIndex)

    def cell(v: Any, c: Any) -> str:
        if numeric[c]:
            return f'<td style="text-align:right">{_html.escape(format_number(v))}</td>'
        text = "" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v)
        return f'<td style="text-align:left">{_html.escape(text)}</td>'

    def label(c: Any) -> str:
        return " / ".join(map(str, c)) if isinstance(c, tuple) else str(c)

    head = ("<th></th>" if show_index else "") + "".join(
        f'<th style="text-align:{"right" if numeric[c] else "left"}">{_html.escape(label(c))}</th>' for c in view.columns)
    rows = []
    for k, (idx, r) in enumerate(view.iterrows()):
        if n > max_rows and k == max_rows // 2:
            rows.append(f'<tr><td colspan="{len(view.columns) + show_index}">… {n - max_rows} more rows …</td></tr>')
        ix = f'<th style="text-align:left">{_html.escape(label(idx))}</th>' if show_index else ""
        rows.append("<tr>" + ix + "".join(cell(r[c], c) for c in view.columns) + "</tr>")
    foot = f'<p style="color:#5b6b7d;font-size:.85em">{n} rows × {len(df.columns)} columns</p>' if n > max_rows else ""
    return (f'<div style="overflow-x:auto;max-width:100%"><table class="dataframe petool-frame">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{foot}")


def register_frame_formatter() -> bool:
    """Show every DataFrame through :func:`frame_html` in this IPython kernel (False outside one)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' kernel
        return False
    ip = get_ipython()
    if ip is None:
        return False
    import pandas as pd

    ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
    return True


__all__ = ["format_number", "frame_html", "register_frame_formatter"]
