"""Stage 01: load a ToolBench ``toolenv/tools`` folder and filter it, one API per record.

Every API that is dropped is dropped for a named reason and counted, so the report can say exactly
what the corpus lost and why (deprecated, insufficiently documented, duplicate).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field

from petool_utils.benchmark.data import DataError, ToolParameter, full_api_name
from petool_utils.benchmark.locate import require_input
from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl

FILTER_REASONS = (
    "deprecated",
    "insufficient_documentation",
    "undocumented_parameters",
    "duplicate_tool",
    "duplicate_api",
    "duplicate_endpoint",
)
"""Reasons an API is dropped in stage 01, in the order the checks run (first match wins)."""

_DEPRECATED = re.compile(r"\bdeprecated\b|\bno longer (supported|maintained|available)\b", re.I)


class ToolRecord(BaseModel):
    """One API of the corpus, with its tool's metadata: a line of ``tools.jsonl``."""

    model_config = ConfigDict(extra="allow")
    api_id: int
    full_name: str
    category: str
    tool_name: str
    tool_description: str = ""
    api_name: str
    api_description: str = ""
    required_parameters: list[ToolParameter] = Field(default_factory=list)
    optional_parameters: list[ToolParameter] = Field(default_factory=list)
    method: str | None = None
    url: str | None = None
    home_url: str | None = None
    pricing: str | None = None
    source_file: str = ""

    @property
    def parameters(self) -> list[ToolParameter]:
        return list(self.required_parameters) + list(self.optional_parameters)


class DroppedApi(BaseModel):
    full_name: str
    reason: str
    detail: str = ""


class FilterLog(BaseModel):
    """What a filtering stage kept and dropped; ``counts`` has every reason, zeros included."""

    stage: str
    generator: str | None = None
    n_input: int
    n_kept: int
    counts: dict[str, int]
    dropped: list[DroppedApi] = Field(default_factory=list)


def _params(raw: Any, file: Path, tool: str, api: str, field: str) -> list[ToolParameter]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise DataError(file, f"{tool}/{api}", field, f"expected a list of parameters, got {type(raw).__name__}")
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise DataError(file, f"{tool}/{api}", f"{field}[{i}]", "a parameter needs a string 'name'")
        out.append(
            ToolParameter(
                name=p["name"],
                type=p.get("type") or None,
                description=p.get("description") if p.get("description") is not None else "",
                default=p.get("default", ""),
            )
        )
    return out


def _text(x: Any) -> str:
    return x if isinstance(x, str) else ""


def load_tool_file(path: Path, root: Path) -> list[dict[str, Any]]:
    """The raw APIs of one ToolBench tool file, flattened (no filtering). Errors name file and field."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except json.JSONDecodeError as exc:
        raise DataError(path, "-", "<root>", f"not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise DataError(path, "-", "<root>", "expected a JSON object (a ToolBench tool)")
    tool = raw.get("tool_name") or raw.get("name")
    if not isinstance(tool, str) or not tool.strip():
        raise DataError(path, "-", "tool_name", "missing or empty")
    category = raw.get("category_name") or path.parent.name
    apis = raw.get("api_list")
    if not isinstance(apis, list):
        raise DataError(path, tool, "api_list", "missing or not a list")
    pricing = raw.get("pricing")
    rows = []
    for i, a in enumerate(apis):
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not a["name"].strip():
            raise DataError(path, tool, f"api_list[{i}].name", "missing or empty")
        name = a["name"]
        rows.append(
            {
                "category": category,
                "tool_name": tool,
                "tool_description": _text(raw.get("tool_description")) or _text(raw.get("description")),
                "api_name": name,
                "api_description": _text(a.get("description")),
                "required_parameters": _params(a.get("required_parameters"), path, tool, name, f"api_list[{i}].required_parameters"),
                "optional_parameters": _params(a.get("optional_parameters"), path, tool, name, f"api_list[{i}].optional_parameters"),
                "method": a.get("method"),
                "url": a.get("url"),
                "home_url": raw.get("home_url") or raw.get("host"),
                "pricing": pricing if isinstance(pricing, str) else (json.dumps(pricing) if pricing else None),
                "source_file": str(path.relative_to(root)),
                "_deprecated_flag": bool(a.get("deprecated") or raw.get("deprecated")),
            }
        )
    return rows


def iter_tool_files(tools_dir: str | os.PathLike[str]) -> list[Path]:
    """``<Category>/<tool>.json`` files in a stable order (sorted paths), so ids are reproducible."""
    root = Path(tools_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"tools_dir {root} is not a folder (expected a ToolBench toolenv/tools layout)")
    files = sorted(p for p in root.glob("*/*.json") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no <Category>/<tool>.json files under {root}")
    return files


def _words(text: str) -> list[str]:
    """Words of a name or description: camelCase, snake_case and paths split."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]


def signature(required: Iterable[ToolParameter], optional: Iterable[ToolParameter]) -> tuple:
    """Input format of an API: the sets of (name, type) of its required and optional parameters."""
    def key(ps: Iterable[ToolParameter]) -> tuple:
        return tuple(sorted((p.name, (p.type or "").upper()) for p in ps))

    return key(required), key(optional)


def filter_reason(row: dict[str, Any], min_name_words: int = 2) -> tuple[str, str] | None:
    """Why a single API is unusable on its own (deprecated or underdocumented), or None.

    Insufficient documentation: no API description and a name too short to say what it does (fewer
    than ``min_name_words`` words; ``logoutUser`` says enough, ``v2`` does not). The released corpus
    keeps description-less APIs whose names are self-explaining, so an empty description alone is not
    a reason. A parameter without a type cannot be filled in reliably: ``undocumented_parameters``.
    """
    text = f"{row['api_name']} {row['api_description']}"
    if row["_deprecated_flag"] or _DEPRECATED.search(text):
        return "deprecated", "flagged or described as deprecated"
    if not row["api_description"].strip() and len(_words(row["api_name"])) < min_name_words:
        return "insufficient_documentation", "no description and a non-descriptive name"
    untyped = [p.name for p in row["required_parameters"] + row["optional_parameters"] if not p.type]
    if untyped:
        return "undocumented_parameters", f"parameters without a type: {untyped}"
    return None


def tool_record(row: dict[str, Any], api_id: int) -> ToolRecord:
    """One raw row of :func:`load_tool_file` as a ``tools.jsonl`` record (its private flags dropped)."""
    return ToolRecord(api_id=api_id, full_name=full_api_name(row["category"], row["tool_name"], row["api_name"]),
                      **{k: v for k, v in row.items() if not k.startswith("_")})


def prepare_tools(tools_dir: str | os.PathLike[str], min_name_words: int = 2) -> tuple[list[ToolRecord], FilterLog]:
    """Load and filter a corpus. Duplicates keep the first occurrence in sorted path order.

    Duplicate rules: a tool whose (category, case-folded name) was seen already (``duplicate_tool``);
    an API name repeated inside one tool (``duplicate_api``); an API of a tool that repeats another
    API of the same tool, same non-empty description and same parameters under another name
    (``duplicate_endpoint``, an alias). Copies of a tool under another name are NOT duplicates: they
    are exactly the functionally equivalent tools the benchmark is about.
    """
    root = Path(tools_dir)
    rows = [r for f in iter_tool_files(root) for r in load_tool_file(f, root)]
    counts = Counter({r: 0 for r in FILTER_REASONS})
    dropped: list[DroppedApi] = []
    kept: list[ToolRecord] = []
    seen_tools: dict[tuple[str, str], str] = {}
    seen_api: set[tuple[str, str]] = set()
    seen_endpoint: set[tuple] = set()
    for r in rows:
        name = full_api_name(r["category"], r["tool_name"], r["api_name"])
        tool_key = (r["category"].casefold(), r["tool_name"].strip().casefold())
        reason: tuple[str, str] | None = None
        if seen_tools.setdefault(tool_key, r["source_file"]) != r["source_file"]:
            reason = ("duplicate_tool", f"same category and tool name as {seen_tools[tool_key]}")
        if reason is None:
            reason = filter_reason(r, min_name_words)
        if reason is None and (r["source_file"], r["api_name"].casefold()) in seen_api:
            reason = ("duplicate_api", "API name repeated in the same tool")
        ep = (r["source_file"], r["api_description"].strip(), signature(r["required_parameters"], r["optional_parameters"]))
        if reason is None and r["api_description"].strip() and ep in seen_endpoint:
            reason = ("duplicate_endpoint", "same description and parameters as another API of the tool")
        if reason is not None:
            counts[reason[0]] += 1
            dropped.append(DroppedApi(full_name=name, reason=reason[0], detail=reason[1]))
            continue
        seen_api.add((r["source_file"], r["api_name"].casefold()))
        seen_endpoint.add(ep)
        kept.append(tool_record(r, len(kept)))
    log = FilterLog(stage="01_tool_preparation", n_input=len(rows), n_kept=len(kept), counts=dict(counts), dropped=dropped)
    return kept, log


def write_tools(run_dir: str | os.PathLike[str], tools: list[ToolRecord], log: FilterLog) -> None:
    run_dir = Path(run_dir)
    atomic_write_jsonl(run_dir / "tools.jsonl", [t.model_dump(mode="json") for t in tools])
    atomic_write_json(run_dir / "tools_filter_log.json", log.model_dump(mode="json"))


def read_tools(run_dir: str | os.PathLike[str], name: str = "tools.jsonl") -> list[ToolRecord]:
    path = require_input(Path(run_dir) / name)
    return [ToolRecord.model_validate(r) for r in iter_jsonl(path, tolerate_torn_tail=False)]
