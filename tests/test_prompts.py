import gzip
import json

import pytest

from petool_utils import SETTINGS
from petool_utils.benchmark.data import DataError, load_entries, parse_entry
from petool_utils.benchmark.prompts import entry_messages, entry_prompt, render_prompt


def test_dev_slice_loads_typed(dev_entries):
    assert len(dev_entries) == 514
    e = dev_entries[0]
    assert e.entry_id == 17666
    assert len(e.candidates) == 10
    assert all(it.rating in (0, 1) for it in e.history("ratings"))
    assert all(it.rating is None for it in e.history("preferred"))
    assert e.history("none") == []
    assert e.reference.tool_name == "<Advertising>.<MultipleTeamsCallingTest>.<logoutUser>"
    assert e.reference.tool_name in e.same_func_names


@pytest.mark.parametrize("setting", SETTINGS)
def test_rendered_prompts_byte_identical_to_release(dev_path, dev_entries, setting):
    raw = json.load(gzip.open(dev_path, "rt", encoding="utf-8"))
    mismatches = [r["entry_id"] for r, e in zip(raw, dev_entries) if entry_prompt(e, setting) != r[f"instruction_{setting}"]]
    assert mismatches == [], f"{len(mismatches)} of {len(raw)} prompts differ, e.g. {mismatches[:5]}"


def test_no_history_prompt_drops_history_and_keeps_candidates(dev_entries):
    e = dev_entries[0]
    p = entry_prompt(e, "none")
    assert p.startswith("\nYour task is to use a tool that not only meets real-time user instructions.\nAvailable tools")
    assert "Interaction history" not in p and "preferences" not in p
    full = entry_prompt(e, "preferred")
    assert p.endswith(full[full.index("Available tools") :].split("\n", 1)[1])


def test_messages_are_system_prompt_then_query(dev_entries):
    e = dev_entries[1]
    m = entry_messages(e, "chronological")
    assert [x["role"] for x in m] == ["system", "user"]
    assert m[0]["content"] == e.instruction_chronological and m[1]["content"] == e.query


def test_render_rejects_unknown_setting():
    with pytest.raises(ValueError, match="unknown setting"):
        render_prompt("bogus", [], [])


def test_malformed_record_names_file_entry_and_field(tmp_path, dev_path):
    raw = json.load(gzip.open(dev_path, "rt", encoding="utf-8"))[:3]
    raw[1]["apis_candidate"] = "[not json"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(DataError) as exc:
        load_entries(p)
    msg = str(exc.value)
    assert str(p) in msg and str(raw[1]["entry_id"]) in msg and "apis_candidate" in msg

    raw = json.load(gzip.open(dev_path, "rt", encoding="utf-8"))[:2]
    del raw[0]["query"]
    with pytest.raises(DataError, match=r"field 'query'"):
        parse_entry(raw[0], "x.json", 0)
