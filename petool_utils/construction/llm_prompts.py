"""Every prompt of the construction stages, in one place, with its demonstrations.

Each prompt is a system message (the task, the JSON reply format, one or two demonstrations) and a
user message ``TASK: <name>`` followed by the input as a JSON block. The input block is
machine-readable on purpose: a real LLM reads it as documentation, and the offline stand-in
(:mod:`.standin`) reads the same block to derive its answer, so both go through one code path.
"""

from __future__ import annotations

import json
from typing import Any

TASK_MARK = "TASK: "
INPUT_MARK = "INPUT:\n"

TASKS = ("tool_use_example", "tool_description", "new_instructions")

_JSON_ONLY = "Reply with one JSON value only, no prose and no code fences."

TOOL_USE_EXAMPLE = f"""You write realistic usage examples for web APIs.
Given an API's documentation, write one thing a user might ask for that this API serves, as a first-person
instruction ("I want to ..."), and the parameters to call the API with. Use only documented parameter names;
fill every required parameter with a plausible value of its type; prefer documented defaults.
Do not mention the API's or the provider's name in the instruction.
{_JSON_ONLY} Format: {{"instruction": "...", "parameters": {{...}}}}

Demonstration
INPUT: {{"api_name": "Get weather forecast", "api_description": "5-day forecast for a city", "required_parameters": [{{"name": "city", "type": "STRING", "default": "Paris"}}], "optional_parameters": [{{"name": "units", "type": "STRING", "default": "metric"}}]}}
OUTPUT: {{"instruction": "I want to see the 5-day weather forecast for Paris in metric units.", "parameters": {{"city": "Paris", "units": "metric"}}}}
"""

TOOL_DESCRIPTION = f"""You describe web APIs for a tool catalogue.
Given an API's documentation and a usage example, write
- "functionality": one or two sentences on WHAT the API does (its input and output), without the provider's
  name, so that APIs doing the same thing get near-identical descriptions;
- "non_functional": two or three sentences on HOW the provider offers it: usability, integrability,
  accessibility (authentication, pricing, limits), and the provider's ecosystem, without restating the function.
{_JSON_ONLY} Format: {{"functionality": "...", "non_functional": "..."}}

Demonstration
INPUT: {{"tool_name": "SkyCast", "category": "Weather", "tool_description": "Free forecasts, no key, 100 calls/day, part of the SkyCast maps suite.", "api_name": "Get weather forecast", "api_description": "5-day forecast for a city", "example": {{"instruction": "I want the 5-day forecast for Paris.", "parameters": {{"city": "Paris"}}}}}}
OUTPUT: {{"functionality": "Get weather forecast: returns the 5-day weather forecast for a given city.", "non_functional": "Free to use without an API key, limited to 100 calls a day; integrates with the provider's maps suite."}}
"""

NEW_INSTRUCTIONS = f"""You write new user requests for a tool.
Given a tool's documentation, the other tools with the same functionality ("group_tools") and instructions
already written for this tool ("existing", such as its usage example), write "n_items" NEW first-person
instructions this tool serves, each with
the parameters to call it with (documented names, values of the documented types). Word them so that any
tool of the group could serve them, never name a tool or provider, and do not repeat an existing instruction.
{_JSON_ONLY} Format: [{{"instruction": "...", "parameters": {{...}}}}, ...]

Demonstration
INPUT: {{"n_items": 1, "tool": {{"full_name": "<Weather>.<SkyCast>.<Forecast>", "required_parameters": [{{"name": "city", "type": "STRING"}}]}}, "group_tools": [{{"full_name": "<Weather>.<MeteoPro>.<Forecast>", "required_parameters": [{{"name": "city", "type": "STRING"}}]}}], "existing": ["I want the forecast for Lyon this week."]}}
OUTPUT: [{{"instruction": "I want to check tomorrow's weather in Madrid.", "parameters": {{"city": "Madrid"}}}}]
"""

SYSTEM_PROMPTS = {
    "tool_use_example": TOOL_USE_EXAMPLE,
    "tool_description": TOOL_DESCRIPTION,
    "new_instructions": NEW_INSTRUCTIONS,
}

_CALL = {"type": "object", "properties": {"instruction": {"type": "string", "minLength": 1},
                                         "parameters": {"type": "object"}},
         "required": ["instruction", "parameters"]}
REPLY_SCHEMAS: dict[str, dict[str, Any]] = {
    "tool_use_example": _CALL,
    "tool_description": {"type": "object",
                         "properties": {"functionality": {"type": "string", "minLength": 1},
                                        "non_functional": {"type": "string", "minLength": 1}},
                         "required": ["functionality", "non_functional"]},
    "new_instructions": {"type": "array", "items": _CALL, "minItems": 1},
}
"""The JSON schema of each task's reply (the formats the prompts above ask for), for servers that constrain
decoding to it (``json_mode: schema``). The stages still check every reply themselves: a schema gives valid JSON
of the right shape, not a documented parameter name."""

JSON_MODES = ("none", "schema")
REPLY_MAX_TOKENS = {"tool_use_example": 384, "tool_description": 512, "new_instructions": 384}
"""Tokens a reply may take in ``json_mode: schema`` (per item for a list): a grammar bounds the shape, not the
length, and a small model can fill one string until the server's context ends (seen with SmolLM2 on
llama.cpp: one reply generating for minutes). A reply cut at the bound is not JSON and is re-asked."""


def reply_options(task: str, json_mode: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """The options a task's request carries in ``json_mode: schema``: its ``response_format`` and ``max_tokens``
    (:data:`REPLY_MAX_TOKENS`, per item of a list reply); none otherwise."""
    fmt = response_format(task, json_mode, payload)
    if fmt is None:
        return {}
    return {"response_format": fmt, "max_tokens": REPLY_MAX_TOKENS[task] * _n_items(payload)}


def _n_items(payload: dict[str, Any] | None) -> int:
    """The items a list reply is asked for (1 when the payload does not say)."""
    n = (payload or {}).get("n_items", 1)
    return max(1, n) if isinstance(n, int) else 1


def response_format(task: str, json_mode: str | None, payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The ``response_format`` an OpenAI-compatible server gets for a task: ``schema`` sends the task's reply
    schema in the form llama.cpp's server reads (``{"type": "json_object", "schema": ...}``: a grammar built
    from the schema constrains decoding, so a small model cannot write prose or code instead of the reply);
    ``none`` (or None) sends nothing. OpenAI's own JSON mode is not offered: it allows only an object at the
    top, and ``new_instructions`` replies with a list.

    A call's ``parameters`` are the API's own (:func:`parameters_schema`, from the payload's documentation), so
    the grammar cannot write a parameter the API lacks. A list reply is bounded by the ``n_items`` asked (``maxItems``): a grammar with no bound lets a model that
    never closes the list write items until the server's context is full (measured with SmolLM2: one request
    past 4,096 tokens, and a stage 05 of 10 requests taking 15 minutes)."""
    if json_mode in (None, "none"):
        return None
    if json_mode not in JSON_MODES:
        raise ValueError(f"json_mode must be one of {JSON_MODES}, got {json_mode!r}")
    if task not in REPLY_SCHEMAS:
        raise ValueError(f"unknown construction task {task!r}; expected one of {TASKS}")
    schema = REPLY_SCHEMAS[task]
    params = parameters_schema(payload.get("tool", payload)) if payload and task != "tool_description" else None
    if params is not None:
        call = {**_CALL, "properties": {**_CALL["properties"], "parameters": params}}
        schema = call if schema.get("type") == "object" else {**schema, "items": call}
    if schema.get("type") == "array" and payload and isinstance(payload.get("n_items"), int):
        schema = {**schema, "maxItems": _n_items(payload)}
    return {"type": "json_object", "schema": schema}


_JSON_TYPES = {"STRING": "string", "NUMBER": "number", "INTEGER": "integer", "INT": "integer", "FLOAT": "number",
               "BOOLEAN": "boolean"}


def parameters_schema(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The call's ``parameters`` object as the API documents it: only its parameter names, every required one,
    values of the documented type where ToolBench's type maps to JSON's (any value otherwise). None when the
    payload documents no parameters at all (the generic object schema stays)."""
    if "required_parameters" not in doc and "optional_parameters" not in doc:
        return None

    def named(key: str) -> list[dict[str, Any]]:
        return [p for p in doc.get(key, []) if isinstance(p, dict) and "name" in p]

    properties = {}
    for p in named("required_parameters") + named("optional_parameters"):
        kind = _JSON_TYPES.get(str(p.get("type", "")).upper())
        properties[p["name"]] = {"type": kind} if kind else {}
    return {"type": "object", "properties": properties, "required": [p["name"] for p in named("required_parameters")],
            "additionalProperties": False}


RETRY_MESSAGE = "Your reply could not be used ({problem}). Reply again with valid JSON only, in the format asked."


def task_messages(task: str, payload: dict[str, Any]) -> list[dict[str, str]]:
    """The chat messages of a construction task; the payload is serialised canonically (sorted keys)."""
    if task not in SYSTEM_PROMPTS:
        raise ValueError(f"unknown construction task {task!r}; expected one of {TASKS}")
    body = TASK_MARK + task + "\n" + INPUT_MARK + json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return [{"role": "system", "content": SYSTEM_PROMPTS[task]}, {"role": "user", "content": body}]


def read_task(messages: list[dict[str, str]]) -> tuple[str, dict[str, Any]]:
    """Inverse of :func:`task_messages` on the first user message (what the stand-in reads)."""
    user = next(m["content"] for m in messages if m["role"] == "user")
    head, _, rest = user.partition("\n")
    if not head.startswith(TASK_MARK) or not rest.startswith(INPUT_MARK):
        raise ValueError("not a construction task message")
    return head[len(TASK_MARK):], json.loads(rest[len(INPUT_MARK):])
