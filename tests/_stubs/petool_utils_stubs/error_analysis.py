"""TEST-ONLY stub of petool_utils.error_analysis: the six types, first that applies."""

from __future__ import annotations

from petool_utils.parsing import get_parser


def classify_error(entry, response, parser="reference"):
    p = get_parser(parser)(response)
    ref = entry.reference
    if not p.ok:
        return "IF"
    if p.tool_name == ref.tool_name and p.parameters == ref.parameters:
        return None
    if p.tool_name not in entry.candidate_names:
        return "TH"
    if p.tool_name not in entry.same_func_names:
        return "TFM"
    if p.tool_name != ref.tool_name:
        return "TPM"
    if set(p.parameters or {}) != set(ref.parameters):
        return "PNM"
    return "PVM"
