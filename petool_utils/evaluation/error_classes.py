"""Finer error classes than the paper's six types: *why* a tool or an argument was wrong.

The paper's types (:mod:`.errors`) say where a call went wrong; these classes say what a method would
have to read better to get it right. They were defined for issue 26 (the ranker's errors on released
entries) and apply to any model's responses: one class per wrong (entry, setting), first match wins.

Tool wrong (the parsed tool is not the reference):

* ``format``: no parsable call; ``hallucination``: not a candidate;
* ``member, history silent``: another member of the reference's functionality group, and the
  setting's history names none of the group's providers (the user's favourite never came up);
* ``member, history names one``: another member, and the history names some provider of the group
  (a rejected or abandoned one, or the right one misread);
* ``outside, same-named API``: outside the group, the same API name (after normalisation) as the
  reference under another provider, e.g. two vendors' SDKs exposing one endpoint;
* ``outside, other``: any other candidate outside the group.

Right tool, wrong arguments:

* ``optional left out or added``: the parameter names differ from the reference's;
* ``case or format only``: the same names, and every differing value is the reference's value up to
  case, punctuation, digits-as-text, word order of a date, or a shortened/full title;
* ``value in request, not bound``: a differing reference value is stated in the request (any form
  :func:`~petool_utils.predictors.ranker.conventions.supported` accepts) but was not given;
* ``another member's example``: the request does not state a differing reference value, and the
  value is the documented example of that parameter in another member of the group: an artefact of
  how the benchmark was built (the reference call was written from a sibling API's example);
* ``other value``: anything else.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import pandas as pd

from petool_utils.benchmark.data import Entry
from petool_utils.evaluation.scoring import parse_cached, response_for
from petool_utils.predictors.ranker.conventions import api_key, supported
from petool_utils.predictors.ranker.text import tool_part

TOOL_CLASSES = ("format", "hallucination", "member, history silent", "member, history names one",
                "outside, same-named API", "outside, other")
PARAM_CLASSES = ("optional left out or added", "case or format only", "value in request, not bound",
                 "another member's example", "other value")
ERROR_CLASSES = TOOL_CLASSES + PARAM_CLASSES
"""Every class, tool classes first, in the order they are tried."""


def _norm_text(value: Any) -> str:
    return re.sub(r"[^0-9a-z]+", " ", str(value).lower()).strip()


def format_only(got: Any, ref: Any) -> bool:
    """Whether two values are the same value written differently: case, punctuation and spacing
    (``New York`` / ``new-york``), a number as text (``5`` / ``"5"`` / ``5.0``), the order of a date's
    fields (``2023-01-15`` / ``15/01/2023``), or one title a shortened form of the other (every word
    of the shorter is in the longer, in order)."""
    if got == ref:
        return True
    a, b = _norm_text(got), _norm_text(ref)
    if not a or not b:
        return False
    if a == b:
        return True
    try:
        if float(str(got)) == float(str(ref)):
            return True
    except ValueError:
        pass
    da, db = re.findall(r"\d+", a), re.findall(r"\d+", b)
    if len(da) >= 2 and sorted(x.lstrip("0") for x in da) == sorted(x.lstrip("0") for x in db) \
            and re.sub(r"\d+", "", a).split() == re.sub(r"\d+", "", b).split():
        return True
    wa, wb = a.split(), b.split()
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if len(short) >= 2 or (short and len(short[0]) >= 4):
        it = iter(long_)
        return all(w in it for w in short)
    return False


def _member_examples(entry: Entry, name: str, own_tool: str) -> list[Any]:
    """The documented examples of parameter ``name`` in the other members of the reference's group."""
    out = []
    for d in entry.apis_same_func:
        if d.full_name == own_tool:
            continue
        for p in (*d.required_parameters, *d.optional_parameters):
            if p.name == name and p.default not in (None, ""):
                out.append(p.default)
    return out


def _providers_of(names: Sequence[str]) -> set[str]:
    return {tool_part(n) for n in names}


def classify_error_class(entry: Entry, response: str | None, setting: str, parser: str = "reference") -> str | None:
    """The class of one response (an item of :data:`ERROR_CLASSES`), or None when tool and arguments
    are both right. ``setting`` names the history the tool classes read (``none``: no history)."""
    call = parse_cached(parser, response)
    if not call.ok:
        return "format"
    ref = entry.api_call_ground_truth
    if call.tool_name != ref.tool_name:
        if call.tool_name not in entry.candidate_names:
            return "hallucination"
        if call.tool_name in entry.same_func_names:
            group = _providers_of(entry.same_func_names)
            named = _providers_of([h.tool_call.tool_name for h in entry.history(setting)]) & group
            return "member, history names one" if named else "member, history silent"
        if api_key(call.tool_name) == api_key(ref.tool_name):
            return "outside, same-named API"
        return "outside, other"
    got = call.parameters if isinstance(call.parameters, dict) else {}
    if got == ref.parameters:
        return None
    if set(got) != set(ref.parameters):
        return "optional left out or added"
    diff = [k for k in ref.parameters if got[k] != ref.parameters[k]]
    if all(format_only(got[k], ref.parameters[k]) for k in diff):
        return "case or format only"
    if any(supported(ref.parameters[k], entry.query) for k in diff):
        return "value in request, not bound"
    if any(ref.parameters[k] in _member_examples(entry, k, ref.tool_name) for k in diff):
        return "another member's example"
    return "other value"


def error_class_counts(entries: Sequence[Entry], responses: Mapping[str, Mapping[Any, str | None]],
                       parser: str = "reference") -> pd.DataFrame:
    """Counts of every class per setting (``responses``: ``{setting: {entry_id: response}}``; a missing
    response counts as ``format``). Columns: ``setting`` and one per class, all classes always present."""
    rows = []
    for setting, resp in responses.items():
        row = {"setting": setting, **{c: 0 for c in ERROR_CLASSES}}
        for e in entries:
            c = classify_error_class(e, response_for(resp, e.entry_id), setting, parser)
            if c is not None:
                row[c] += 1
        rows.append(row)
    return pd.DataFrame(rows, columns=["setting", *ERROR_CLASSES])
