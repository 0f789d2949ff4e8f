"""TEST-ONLY stub of petool_utils.scoring (the scoring branch ships the real one): same names, simple maths."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd
from pydantic import BaseModel

from petool_utils.parsing import get_parser


class SettingScore(BaseModel):
    n: int
    tool_acc: float
    param_acc: float
    call_acc: float
    invalid_format: float
    tool_ci: tuple[float, float] = (0.0, 0.0)
    param_ci: tuple[float, float] = (0.0, 0.0)
    call_ci: tuple[float, float] = (0.0, 0.0)


def _marks(entries: Sequence[Any], responses: Mapping[Any, str], parser: str):
    parse = get_parser(parser)
    for e in entries:
        p = parse(responses.get(e.entry_id, ""))
        tool = p.ok and p.tool_name == e.reference.tool_name
        param = p.ok and p.parameters == e.reference.parameters
        yield e, p.ok, tool, param


def score_responses(entries, responses, parser="reference", n_boot=1000, seed=0) -> SettingScore:
    rows = list(_marks(entries, responses, parser))
    n = len(rows) or 1
    return SettingScore(n=len(rows), tool_acc=sum(r[2] for r in rows) / n, param_acc=sum(r[3] for r in rows) / n,
                        call_acc=sum(r[2] and r[3] for r in rows) / n, invalid_format=sum(not r[1] for r in rows) / n)


def accuracy_by_history_length(entries, responses, setting, parser="reference") -> pd.DataFrame:
    """Same long layout as the real one: kind (history_items | history_length_bin), bucket, lo, n, accuracies."""
    recs = []
    for e, _ok, t, p in _marks(entries, responses, parser):
        items, lo = len(e.history(setting)), (e.history_length or 0) // 10 * 10
        recs.append({"kind": "history_items", "lo": items, "bucket": str(items), "tool": t, "param": p})
        recs.append({"kind": "history_length_bin", "lo": lo, "bucket": f"{lo}-{lo + 9}", "tool": t, "param": p})
    g = pd.DataFrame(recs).groupby(["kind", "lo", "bucket"])
    out = g.agg(n=("tool", "size"), tool_acc=("tool", "mean"), param_acc=("param", "mean")).reset_index()
    out.insert(0, "setting", setting)
    return out
