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


def test_templates_are_the_authors_verbatim(shared_dir):
    from petool_utils.benchmark import prompts

    official = json.loads((shared_dir / "official_templates.json").read_text(encoding="utf-8"))
    assert prompts.FORMAT_ENTRY_INPUT == official["FORMAT_ENTRY_INPUT"]
    assert prompts.FORMAT_ENTRY_INPUT_WO_HISTORY == official["FORMAT_ENTRY_INPUT_WO_HISTORY"]
    for s in SETTINGS:
        assert prompts.HISTORY_DESCRIPTIONS[s] == official[f"history_description_{s}"]


def test_no_history_prompt_is_the_authors_template_for_every_entry(shared_dir, dev_entries):
    official = json.loads((shared_dir / "official_templates.json").read_text(encoding="utf-8"))
    for e in dev_entries:
        expected = official["FORMAT_ENTRY_INPUT_WO_HISTORY"].format(apis_candidate=e.apis_candidate)
        assert entry_prompt(e, "none") == expected, e.entry_id
    p = entry_prompt(dev_entries[0], "none")
    assert p.startswith("\nYour task is to use a tool that meets real-time user instructions.\nAvailable tools")
    assert "Interaction history" not in p and "preferences" not in p


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
