import gzip
import json

import pytest

from petool_utils import SETTINGS
from petool_utils.benchmark.data import DataError, load_entries, parse_entry
from petool_utils.io import read_json
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


def test_any_benchmark_loads_typed(bench_entries):
    """What the typed records promise on whatever benchmark is here (the released facts are above)."""
    assert bench_entries
    for e in bench_entries:
        assert e.candidates and e.reference.tool_name in e.candidate_names
        assert all(it.rating in (0, 1) for it in e.history("ratings"))
        assert all(it.rating is None for it in e.history("preferred"))
        assert e.history("none") == []
        assert e.reference.tool_name in e.same_func_names


@pytest.mark.parametrize("setting", SETTINGS)
def test_rendered_prompts_byte_identical_to_release(dev_path, dev_entries, setting):
    raw = json.load(gzip.open(dev_path, "rt", encoding="utf-8"))
    mismatches = [r["entry_id"] for r, e in zip(raw, dev_entries) if entry_prompt(e, setting) != r[f"instruction_{setting}"]]
    assert mismatches == [], f"{len(mismatches)} of {len(raw)} prompts differ, e.g. {mismatches[:5]}"


@pytest.mark.parametrize("setting", SETTINGS)
def test_constructed_split_prompts_are_the_renderers(constructed_path, constructed_entries, setting):
    """The construction writes every ``instruction_*`` with the one renderer, so reading them back renders
    the same bytes (the released-record version of this is above; this one runs in any checkout)."""
    raw = read_json(constructed_path)
    assert [r["entry_id"] for r in raw] == [e.entry_id for e in constructed_entries]
    mismatches = [r["entry_id"] for r, e in zip(raw, constructed_entries) if entry_prompt(e, setting) != r[f"instruction_{setting}"]]
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


def test_messages_are_system_prompt_then_query(bench_entries):
    e = bench_entries[1]
    m = entry_messages(e, "chronological")
    assert [x["role"] for x in m] == ["system", "user"]
    assert m[0]["content"] == e.instruction_chronological and m[1]["content"] == e.query


def test_render_rejects_unknown_setting():
    with pytest.raises(ValueError, match="unknown setting"):
        render_prompt("bogus", [], [])


def test_malformed_record_names_file_entry_and_field(tmp_path, bench_path):
    raw = read_json(bench_path)[:3]
    raw[1]["apis_candidate"] = "[not json"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(DataError) as exc:
        load_entries(p)
    msg = str(exc.value)
    assert str(p) in msg and str(raw[1]["entry_id"]) in msg and "apis_candidate" in msg

    raw = read_json(bench_path)[:2]
    del raw[0]["query"]
    with pytest.raises(DataError, match=r"field 'query'"):
        parse_entry(raw[0], "x.json", 0)
