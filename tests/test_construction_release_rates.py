"""The release rates stage 05's defaults are read from (benchmarks/construction_release_rates.py), on hand-made
entries whose answers are counted by hand, and the retriever's document in ToolBench's layout."""

from __future__ import annotations

import json
import math

from _ranker_entries import RAINY, SUNNY, h, weather_entry

from petool_utils.benchmark.data import ToolParameter
from petool_utils.construction.candidates import api_document
from petool_utils.construction.statistics import twin_shown_rates
from petool_utils.construction.toolbench import ToolRecord

# Rainy (the reference tool) has its forecast and three more APIs; Sunny (the disliked tool) offers two of them
APIS = {"<Weather>.<RainyAPI>": [RAINY, "<Weather>.<RainyAPI>.<getAlerts>", "<Weather>.<RainyAPI>.<get_uv_index>",
                                 "<Weather>.<RainyAPI>.<getRadar>"],
        "<Weather>.<SunnyAPI>": [SUNNY, "<Weather>.<SunnyAPI>.<get alerts>", "<Weather>.<SunnyAPI>.<getUvIndex>"]}


def _entry(shown: list[str], entry_id: str, disliked: tuple[str, ...] = ("<Weather>.<SunnyAPI>.<get alerts>",)):
    ratings = [h(a, 1) for a in shown] + [h(d, 0) for d in disliked]
    return weather_entry({"preferred": [h(a) for a in shown], "ratings": ratings}, entry_id=entry_id)


def test_twin_shown_rates_counts_twins_by_the_disliked_tools_api_names():
    """Twins of Rainy: getAlerts and get_uv_index (Sunny has both, by name in words); its other API: getRadar.
    Entry 1 shows getAlerts and getRadar, entry 2 shows get_uv_index only, entry 3 has two disliked tools (skipped).
    Twins shown 2 of 4, others 1 of 2: hold share 1 - 0.5 / 0.5 = 0."""
    es = [_entry(["<Weather>.<RainyAPI>.<getAlerts>", "<Weather>.<RainyAPI>.<getRadar>"], "e1"),
          _entry(["<Weather>.<RainyAPI>.<get_uv_index>"], "e2"),
          _entry(["<Weather>.<RainyAPI>.<getRadar>"], "e3", ("<Weather>.<SunnyAPI>.<get alerts>",
                                                            "<Weather>.<CloudyAPI>.<getForecast>"))]
    r = twin_shown_rates(es, APIS)
    assert (r["twins_shown"], r["twins"], r["others_shown"], r["others"]) == (2, 4, 1, 2)
    assert r["hold_share"] == 0.0
    # a history that shows the other API but no twin: 0 of 2 twins, 1 of 1 other -> every twin held
    r = twin_shown_rates([_entry(["<Weather>.<RainyAPI>.<getRadar>"], "e4")], APIS)
    assert (r["twin_rate"], r["other_rate"], r["hold_share"]) == (0.0, 1.0, 1.0)
    assert math.isnan(twin_shown_rates([], APIS)["hold_share"])


def test_api_document_is_toolbench_retrieval_corpus_layout():
    """ToolBench's ``process_retrieval_ducoment``: category, tool, API, description, the parameters and the
    response schema as JSON, comma separated."""
    t = ToolRecord(api_id=0, full_name="<Weather>.<RainyAPI>.<getForecast>", category="Weather", tool_name="RainyAPI",
                   api_name="getForecast", api_description="Forecast for a city",
                   required_parameters=[ToolParameter(name="city", type="STRING", description="City")])
    doc = api_document(t)
    assert doc.startswith("Weather, RainyAPI, getForecast, Forecast for a city, required_params: [")
    assert doc.endswith(', optional_params: [], return_schema: ""')
    req = json.loads(doc.split("required_params: ")[1].split(", optional_params")[0])
    assert req == [{"name": "city", "type": "STRING", "description": "City"}]


def test_stage05_defaults_are_the_recorded_release_rates():
    """The defaults of stage 05 and of notebook 05's parameters are the rates the last run of
    benchmarks/construction_release_rates.py recorded (hold share to one decimal, the chosen noise)."""
    import inspect

    from petool_utils.construction.pipeline import stage05_create
    from petool_utils.paths import REPO_ROOT

    rec = json.loads((REPO_ROOT / "benchmarks" / "results" / "construction_release_rates.json").read_text())
    hold, noise = round(rec["twins"]["all"]["hold_share"], 1), rec["retriever"]["all"]["noise"]
    sig = inspect.signature(stage05_create).parameters
    assert sig["hold_rival_groups"].default == hold and sig["retriever_noise"].default == noise
    nb = json.loads((REPO_ROOT / "notebooks" / "05_data_creation.ipynb").read_text())
    cell = next("".join(c["source"]) for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {line.split("=")[0].strip(): line.split("=")[1].split("#")[0].strip() for line in cell.splitlines()
              if "=" in line}
    assert float(values["hold_rival_groups"]) == hold and float(values["retriever_noise"]) == noise


def test_tool_comb_adjacent_same_category_counts_pairs_by_hand():
    """Categories come from the names the entries show: RainyAPI and SunnyAPI are Weather, CoinDesk Finance,
    Tunes Music; "Nowhere" is shown by no entry, so its pairs are left out. List 1: Sunny-CoinDesk,
    CoinDesk-Rainy, Rainy-Tunes (0 of 3; Tunes-Nowhere left out); list 2: Rainy-Sunny (same), Sunny-CoinDesk:
    1 of 5 in all. A tool name shown in two categories is left out too."""
    from petool_utils.construction.statistics import tool_comb_adjacent_same_category

    e1, e2 = _entry([], "c1"), _entry([], "c2")
    e1.tool_comb = ["SunnyAPI", "CoinDesk ", "RainyAPI", "Tunes", "Nowhere"]
    e2.tool_comb = ["RainyAPI", "SunnyAPI", "CoinDesk"]
    assert tool_comb_adjacent_same_category([e1, e2]) == 0.2
    e3 = weather_entry({}, entry_id="c3", group=("<Sports>.<SunnyAPI>.<getForecast>", RAINY))
    e3.tool_comb = []
    assert tool_comb_adjacent_same_category([e1, e2, e3]) == 0.0  # SunnyAPI is ambiguous now: only CoinDesk-Rainy, Rainy-Tunes
    assert math.isnan(tool_comb_adjacent_same_category([_entry([], "c4")]))
