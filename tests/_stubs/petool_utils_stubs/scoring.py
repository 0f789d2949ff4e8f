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
    recs = [{"n_history": len(e.history(setting)), "tool": t, "param": p}
            for e, _ok, t, p in _marks(entries, responses, parser)]
    df = pd.DataFrame(recs)
    g = df.groupby("n_history")
    return pd.DataFrame({"n": g.size(), "tool_acc": g["tool"].mean(), "param_acc": g["param"].mean()})
