"""Stage 01: loading a ToolBench corpus and the counted filters."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from petool_utils.construction import BUILTIN_LABELS, BUILTIN_TOOLS_DIR
from petool_utils.construction.toolbench import FILTER_REASONS, prepare_tools
from petool_utils.benchmark.data import DataError


def _write(root, rel, obj):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return p


def _api(name, desc="Does a thing.", req=None, opt=None, **kw):
    return {"name": name, "description": desc, "required_parameters": req or [], "optional_parameters": opt or [], **kw}


def test_builtin_corpus_counts_every_filter_reason():
    tools, log = prepare_tools(BUILTIN_TOOLS_DIR)
    # 10 shared functionalities of 2-4 providers (CORE_GROUP_SIZES: 26 APIs) and 60 more of 2-6 providers (194
    # labelled APIs in all), 100 + 38 functions of one provider only (30 of the 100 in 20 SIBLING tools), 5 older
    # extras, 8 bad, and 226 APIs in the 69 UNGROUPED tools: 89 of the 167 tools offer no group
    assert (log.n_input, log.n_kept, len(tools)) == (571, 563, 563)
    assert log.counts == {r: 1 for r in FILTER_REASONS} | {"deprecated": 2, "duplicate_tool": 2}
    by_reason = {d.full_name: d.reason for d in log.dropped}
    assert by_reason["<Travel>.<Nimbus Flights>.<v2>"] == "insufficient_documentation"
    assert by_reason["<Finance>.<Pocketly Markets>.<Quote legacy>"] == "deprecated"  # by flag
    assert by_reason["<Weather>.<Brightwave Weather>.<Weather v1>"] == "deprecated"  # by description
    assert by_reason["<Sports>.<Quillstone Scores>.<Live scores>"] == "duplicate_tool"
    assert sum(log.counts.values()) == log.n_input - log.n_kept  # nothing dropped silently
    # ids are dense and stable, names are the release's full names
    assert [t.api_id for t in tools] == list(range(563))
    # every tool has 1 to 6 APIs (a grouped tool: 1-4 shared functionalities, 1-2 of its own; an ungrouped one 1-6)
    sizes = {}
    for t in tools:
        sizes[(t.category, t.tool_name)] = sizes.get((t.category, t.tool_name), 0) + 1
    assert len(sizes) == 167 and set(sizes.values()) == {1, 2, 3, 4, 5, 6}
    labels = json.loads(BUILTIN_LABELS.read_text())
    assert len(labels) == 194 and all(k in {t.full_name for t in tools} for k in labels)
    # 70 functionality groups, most of two or three providers (the release's 56 groups with an entry: 28 of two,
    # 19 of three, 5 of four, 4 of five or six)
    group_sizes = sorted(Counter(Counter(labels.values()).values()).items())
    assert group_sizes == [(2, 32), (3, 27), (4, 7), (5, 3), (6, 1)] and len({t.category for t in tools}) == 28


def test_filters_on_a_handmade_corpus(tmp_path):
    typed = {"name": "id", "type": "STRING", "description": "", "default": ""}
    _write(tmp_path, "Pets/a.json", {"tool_name": "Pet A", "category_name": "Pets", "tool_description": "",
                                     "api_list": [_api("logoutUser", ""), _api("ping", ""), _api("getPet", req=[typed]),
                                                  _api("getPet"), _api("getPetAlias", req=[typed]),
                                                  _api("old", "DEPRECATED: use getPet"),
                                                  _api("untyped", req=[{"name": "x"}])]})
    # a copy of the same API under another tool name is NOT a duplicate (an equivalent tool)
    _write(tmp_path, "Pets/b.json", {"tool_name": "Pet B", "category_name": "Pets", "api_list": [_api("getPet", req=[typed])]})
    _write(tmp_path, "Pets/c.json", {"tool_name": "pet a ", "category_name": "Pets", "api_list": [_api("x")]})
    tools, log = prepare_tools(tmp_path)
    assert [t.full_name for t in tools] == ["<Pets>.<Pet A>.<logoutUser>", "<Pets>.<Pet A>.<getPet>", "<Pets>.<Pet B>.<getPet>"]
    assert {d.full_name.split(".<")[-1]: d.reason for d in log.dropped} == {
        "ping>": "insufficient_documentation", "getPet>": "duplicate_api", "getPetAlias>": "duplicate_endpoint",
        "old>": "deprecated", "untyped>": "undocumented_parameters", "x>": "duplicate_tool"}


@pytest.mark.parametrize("content, field", [
    ("{not json", "<root>"),
    ({"tool_name": "T", "category_name": "C"}, "api_list"),
    ({"tool_name": "T", "api_list": [{"description": "no name"}]}, "api_list[0].name"),
    ({"tool_name": "T", "api_list": [_api("a", req=[{"type": "STRING"}])]}, "api_list[0].required_parameters[0]"),
])
def test_bad_tool_files_name_file_and_field(tmp_path, content, field):
    path = _write(tmp_path, "Cat/bad.json", content)
    with pytest.raises(DataError) as err:
        prepare_tools(tmp_path)
    assert err.value.field == field and str(path) in str(err.value)


def test_shared_corpus_keeps_every_labelled_api(shared_dir):
    tools, log = prepare_tools(shared_dir / "toolenv" / "tools")
    assert (log.n_input, log.n_kept) == (770, 756)
    assert log.counts["insufficient_documentation"] == 7 and log.counts["duplicate_endpoint"] == 7
    labels = json.loads((shared_dir / "func_labels_dev.json").read_text())
    kept = {t.full_name for t in tools}
    assert all(k in kept for k in labels)
