"""Hand-made PEToolBench entries for the ranker's tests: small enough to compute every answer by hand."""

from __future__ import annotations

import json

from petool_utils.benchmark.data import ApiDoc, CandidateTool, Entry, HistoryItem, ToolCall, ToolParameter, split_api_name


def p(name: str, type_: str = "STRING", default: object = "", desc: str = "") -> ToolParameter:
    return ToolParameter(name=name, type=type_, description=desc, default=default)


def h(tool: str, rating: int | None = None, instruction: str = "Show me something", **params) -> HistoryItem:
    return HistoryItem(instruction=instruction, tool_call=ToolCall(tool_name=tool, parameters=params), rating=rating)


SUNNY = "<Weather>.<SunnyAPI>.<getForecast>"
RAINY = "<Weather>.<RainyAPI>.<getForecast>"
CLOUDY = "<Weather>.<CloudyAPI>.<getForecast>"
TUNES = "<Music>.<Tunes>.<topCharts>"


def forecast(name: str) -> CandidateTool:
    return CandidateTool(tool_name=name, tool_description="Weather forecast for a city",
                         required_parameters=[p("city"), p("days", "NUMBER", "1")])


def weather_entry(histories: dict[str, list[HistoryItem]], entry_id: str = "hand-1", gold: str = RAINY,
                  group: tuple[str, ...] = (SUNNY, RAINY), func: str = "7",
                  query: str = "What is the weather forecast for 'Paris' for the next 3 days?") -> Entry:
    """Candidates: the forecast API of each provider in ``group`` (listed first, in order) and two
    unrelated tools; the reference is ``gold`` with ``{"city": "Paris", "days": 3}``."""
    cands = [forecast(n) for n in group] + [
        CandidateTool(tool_name="<Finance>.<CoinDesk>.<getPrice>", tool_description="Bitcoin price in a currency",
                      required_parameters=[p("currency", default="USD")]),
        CandidateTool(tool_name="<Music>.<Tunes>.<searchSongs>", tool_description="Search songs by title",
                      required_parameters=[p("q")]),
    ]
    same = []
    for n in group:
        cat, tool, api = split_api_name(n)
        same.append(ApiDoc(api_name=api, tool_name=tool, category_name=cat))
    e = Entry(entry_id=entry_id, query=query, func=func,
              apis_candidate=json.dumps([c.model_dump() for c in cands]), apis_same_func=same,
              api_call_ground_truth=ToolCall(tool_name=gold, parameters={"city": "Paris", "days": 3}))
    e.candidates = cands
    e.histories = {s: list(histories.get(s, [])) for s in ("preferred", "ratings", "chronological")}
    return e
