"""The paper's six error types (Table 2), one label per wrong entry.

An entry is wrong when its Tool or its Param is wrong (Call Acc is 0). The first type that applies,
in this order, is its label, so the types partition the wrong entries and their shares add up to 1:

* IF  invalid format: the parser found no call (or there was no response at all);
* TH  tool hallucination: the tool is not among the entry's candidates;
* TFM tool functionality mismatch: a candidate, but outside the reference's functionality group
  (``apis_same_func``) - the model misread the request;
* TPM tool preference mismatch: inside the group, but not the user's preferred (reference) tool -
  the model understood the need and missed the preference, the error personalization is about;
* PNM parameter name mismatch: the right tool, but the parameter names differ;
* PVM parameter value mismatch: the right names, but some value differs.

The order puts the cause before its consequences: a hallucinated tool also has "wrong" parameters,
but the parameters are not the problem.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from petool_utils.benchmark.data import Entry
from petool_utils.evaluation.scoring import response_for, parse_cached

ERROR_TYPES: dict[str, str] = {
    "IF": "invalid format",
    "TH": "tool hallucination",
    "TFM": "tool functionality mismatch",
    "TPM": "tool preference mismatch",
    "PNM": "parameter name mismatch",
    "PVM": "parameter value mismatch",
}
ERROR_TYPE_MEANINGS: dict[str, str] = {
    "IF": "Invalid format: no parsable tool call (or no response: a failed request, a missing entry)",
    "TH": "Tool hallucination: the tool is not among the candidates",
    "TFM": "Tool functionality mismatch: a candidate outside the reference's functionality group",
    "TPM": "Tool preference mismatch: right functionality, not the user's preferred tool",
    "PNM": "Parameter name mismatch: right tool, parameter names differ",
    "PVM": "Parameter value mismatch: right tool and names, values differ",
}
"""The same types as :data:`ERROR_TYPES`, in a sentence each (the report's legend)."""


def classify_error(entry: Entry, response: str | None, parser: str = "reference") -> str | None:
    """The error type of one response (a key of :data:`ERROR_TYPES`), or None when it is right."""
    call = parse_cached(parser, response)
    if not call.ok:
        return "IF"
    ref = entry.api_call_ground_truth
    tool_ok = call.tool_name == ref.tool_name
    if tool_ok and call.parameters == ref.parameters:
        return None
    if call.tool_name not in entry.candidate_names:
        return "TH"
    if call.tool_name not in entry.same_func_names:
        return "TFM"
    if not tool_ok:
        return "TPM"
    if not isinstance(call.parameters, dict) or set(call.parameters) != set(ref.parameters):
        return "PNM"
    return "PVM"


def error_labels(entries: Sequence[Entry], responses: Mapping[Any, str | None], parser: str = "reference") -> list[str | None]:
    """One label (or None for a right answer) per entry, in order; a missing response is IF."""
    return [classify_error(e, response_for(responses, e.entry_id), parser) for e in entries]


def error_table(entries: Sequence[Entry], responses: Mapping[Any, str | None], parser: str = "reference") -> pd.DataFrame:
    """Counts and shares of the six types (all six rows, in the paper's order, zeros included).

    Columns: ``type, description, count, share`` (of the wrong entries; the paper's Table 2 figure)
    and ``share_of_all`` (of every entry scored).
    """
    labels = error_labels(entries, responses, parser)
    wrong = sum(lab is not None for lab in labels)
    rows = []
    for code, desc in ERROR_TYPES.items():
        count = sum(lab == code for lab in labels)
        rows.append({
            "type": code,
            "description": desc,
            "count": count,
            "share": count / wrong if wrong else 0.0,
            "share_of_all": count / len(labels) if labels else 0.0,
        })
    return pd.DataFrame(rows, columns=["type", "description", "count", "share", "share_of_all"])


def _reference_json(entry: Entry) -> str:
    return json.dumps({"tool_name": entry.reference.tool_name, "parameters": entry.reference.parameters}, ensure_ascii=False)


def error_examples(entries: Sequence[Entry], responses: Mapping[Any, str | None], parser: str = "reference",
                   per_type: int = 3, seed: int = 0, max_chars: int = 600) -> pd.DataFrame:
    """A few examples of each type for a report: a seeded sample of the entries carrying that label.

    Columns: ``type, entry_id, query, reference, response`` (the response cut at ``max_chars``).
    """
    labels = error_labels(entries, responses, parser)
    rng = np.random.default_rng(seed)
    rows = []
    for code in ERROR_TYPES:
        idx = [i for i, lab in enumerate(labels) if lab == code]
        if not idx:
            continue
        pick = sorted(rng.choice(idx, size=min(per_type, len(idx)), replace=False).tolist())
        for i in pick:
            e = entries[i]
            resp = response_for(responses, e.entry_id)
            text = "<no response>" if resp is None else resp
            if len(text) > max_chars:
                text = text[:max_chars] + " ..."
            rows.append({"type": code, "entry_id": e.entry_id, "query": e.query, "reference": _reference_json(e), "response": text})
    return pd.DataFrame(rows, columns=["type", "entry_id", "query", "reference", "response"])
