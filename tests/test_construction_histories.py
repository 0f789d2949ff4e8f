"""Stage 05: item filters (every reason), chronological interleaving, candidate sets."""

from __future__ import annotations

import numpy as np
import pytest

from petool_utils.construction.candidates import candidate_names
from petool_utils.construction.histories import FILTER_REASONS, Item, ItemFilter, _interleave, leaked
from petool_utils.construction.understanding import ToolExample, UnderstoodTool
from petool_utils.benchmark.data import ToolParameter

PREF, OTHER = "<Weather>.<SkyCast>.<Forecast>", "<Weather>.<MeteoPro>.<Forecast>"


def _u(name):
    cat, tool, api = name[1:-1].split(">.<")
    return UnderstoodTool(api_id=0, full_name=name, category=cat, tool_name=tool, api_name=api,
                          required_parameters=[ToolParameter(name="city", type="STRING")],
                          optional_parameters=[ToolParameter(name="units", type="STRING")],
                          example=ToolExample(instruction="x"), functionality="f", non_functional="n", generator="t")


ALLOWED = {PREF: _u(PREF), OTHER: _u(OTHER)}


def _item(instr="I want the forecast for Oslo.", tool=PREF, params=None, **kw):
    return {"instruction": instr, "tool_call": {"tool_name": tool, "parameters": params or {"city": "Oslo"}}, **kw}


@pytest.mark.parametrize("raw, reason", [
    ("not an object", "malformed_item"),
    ({"instruction": "x"}, "malformed_item"),
    (_item(tool="<Weather>.<Nowhere>.<Forecast>"), "unknown_tool"),
    (_item(params={"city": "Oslo", "colour": "red"}), "invalid_parameters"),
    (_item(params={"units": "metric"}), "invalid_parameters"),  # required city missing
    (_item(instr="Use SkyCast for the Oslo forecast."), "tool_name_leaked"),
    (_item(instr="Ask meteopro about Oslo."), "tool_name_leaked"),
])
def test_each_bad_item_is_counted_under_its_reason(raw, reason):
    f = ItemFilter()
    assert f.accept(raw, "g", ALLOWED, set(), PREF, with_rating=False) is None
    assert f.counts[reason] == 1 and sum(f.counts.values()) == 1 and f.n_kept == 0


def test_duplicates_and_ratings():
    f, seen = ItemFilter(), set()
    ok = f.accept(_item(rating=1), "g", ALLOWED, seen, PREF, with_rating=True)
    assert isinstance(ok, Item) and ok.rating == 1
    assert f.accept(_item("  i want the FORECAST for oslo. ", rating=1), "g", ALLOWED, seen, PREF, True) is None
    assert f.accept(_item("Rain in Lima?", tool=OTHER, rating=1), "g", ALLOWED, seen, PREF, True) is None  # liked a non-preferred
    assert f.accept(_item("Sun in Rome?", tool=OTHER, rating=0), "g", ALLOWED, seen, PREF, True).rating == 0
    assert dict(f.counts) == {r: 0 for r in FILTER_REASONS} | {"duplicate": 1, "inconsistent_rating": 1}
    assert (f.n_seen, f.n_kept) == (4, 2)


def test_leak_check_ignores_short_names_and_case():
    assert leaked("try SKYCAST", [PREF]) and not leaked("I want it", ["<A>.<It>.<x>"])


def test_interleave_keeps_each_group_in_order():
    per = {"a": [Item(group="a", instruction=f"a{i}", tool_name="t") for i in range(4)],
           "b": [Item(group="b", instruction=f"b{i}", tool_name="t") for i in range(3)]}
    out = _interleave(per, np.random.default_rng(0))
    assert [i.instruction for i in out if i.group == "a"] == ["a0", "a1", "a2", "a3"]
    assert [i.instruction for i in out if i.group == "b"] == ["b0", "b1", "b2"]
    groups_in_order = [i.group for i in out]
    assert groups_in_order not in (list("aaaabbb"), list("bbbaaaa"))  # actually interleaved (seed 0)


def test_candidates_reference_group_retrieved_random():
    names = [f"t{i}" for i in range(30)]
    sims = np.zeros(30)
    sims[[10, 11, 12, 13, 14, 15]] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    group = ["t0", "t1", "t2"]
    c = candidate_names("t1", group, names, sims, np.random.default_rng(0), n_candidates=10, n_retrieved=5)
    assert len(c) == len(set(c)) == 10
    assert set(group) <= set(c) and {"t10", "t11", "t12", "t13", "t14"} <= set(c) and "t15" not in c
    again = candidate_names("t1", group, names, sims, np.random.default_rng(0), n_candidates=10, n_retrieved=5)
    assert c == again
    big = candidate_names("t0", names[:12], names, sims, np.random.default_rng(0), n_candidates=10)
    assert len(big) == 10 and "t0" in big  # a group larger than the set is cut, the reference kept
