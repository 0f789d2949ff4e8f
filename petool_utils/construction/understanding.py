"""Stage 02: tool understanding. Per API, a tool-use example, then a functionality and a separate
non-functional description written from the docs and that example.

The functionality text is what stage 03 clusters on; the non-functional text is what stage 04 builds
preferences on. Progress is appended to a partial file so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from petool_utils.construction.llm_calls import run_task
from petool_utils.construction.toolbench import DroppedApi, FilterLog, ToolRecord
from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl, repair_torn_tail
from petool_utils.models.base import ChatLLM


class ToolExample(BaseModel):
    instruction: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class UnderstoodTool(ToolRecord):
    """A ``tools.jsonl`` record plus what stage 02 wrote about it (a line of ``tools_understood.jsonl``)."""

    example: ToolExample
    functionality: str
    non_functional: str
    generator: str


def api_doc_payload(t: ToolRecord) -> dict[str, Any]:
    """The documentation the LLM sees (and the stand-in reads)."""
    return {
        "full_name": t.full_name,
        "category": t.category,
        "tool_name": t.tool_name,
        "tool_description": t.tool_description,
        "api_name": t.api_name,
        "api_description": t.api_description,
        "required_parameters": [p.model_dump(mode="json") for p in t.required_parameters],
        "optional_parameters": [p.model_dump(mode="json") for p in t.optional_parameters],
        "method": t.method,
        "url": t.url,
        "pricing": t.pricing,
        "home_url": t.home_url,
    }


def understand_tool(llm: ChatLLM, t: ToolRecord, max_retries: int = 2) -> UnderstoodTool | str:
    """The understood record, or the reason it could not be understood (a reply never valid)."""
    doc = api_doc_payload(t)
    ex = run_task(llm, "tool_use_example", doc, dict, max_retries)
    if not ex.ok or not isinstance(ex.value.get("instruction"), str) or not isinstance(ex.value.get("parameters", {}), dict):
        return f"tool_use_example: {ex.error or 'missing instruction/parameters'}"
    example = ToolExample(instruction=ex.value["instruction"], parameters=ex.value.get("parameters", {}))
    desc = run_task(llm, "tool_description", dict(doc, example=example.model_dump()), dict, max_retries)
    f, nf = (desc.value or {}).get("functionality"), (desc.value or {}).get("non_functional")
    if not desc.ok or not isinstance(f, str) or not isinstance(nf, str) or not f.strip():
        return f"tool_description: {desc.error or 'missing functionality/non_functional'}"
    return UnderstoodTool(**t.model_dump(), example=example, functionality=f.strip(), non_functional=nf.strip(),
                          generator=llm.name)


def understand_tools(tools: list[ToolRecord], llm: ChatLLM, run_dir: str | os.PathLike[str],
                     max_retries: int = 2, progress: bool = True) -> tuple[list[UnderstoodTool], FilterLog]:
    """Stage 02 over a corpus, resumable through ``tools_understood.partial.jsonl``."""
    run_dir = Path(run_dir)
    partial = run_dir / "tools_understood.partial.jsonl"
    run_dir.mkdir(parents=True, exist_ok=True)
    repair_torn_tail(partial)
    # rows of another generator (the llm changed since the interrupted run) are redone, not reused
    done: dict[str, dict[str, Any]] = {r["full_name"]: r for r in iter_jsonl(partial) if r.get("generator") == llm.name}
    with open(partial, "a", encoding="utf-8") as out:
        for t in tqdm(tools, desc="02 tool understanding", disable=not progress):
            if t.full_name in done:
                continue
            res = understand_tool(llm, t, max_retries)
            row = ({"full_name": t.full_name, "failed": res, "generator": llm.name} if isinstance(res, str)
                   else res.model_dump(mode="json"))
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            done[t.full_name] = row
    kept, dropped = [], []
    for t in tools:
        row = done[t.full_name]
        if "failed" in row:
            dropped.append(DroppedApi(full_name=t.full_name, reason="llm_reply_unusable", detail=row["failed"]))
        else:
            kept.append(UnderstoodTool.model_validate(row))
    counts = Counter({"llm_reply_unusable": 0})
    counts.update(d.reason for d in dropped)
    log = FilterLog(stage="02_tool_understanding", generator=llm.name, n_input=len(tools), n_kept=len(kept),
                    counts=dict(counts), dropped=dropped)
    return kept, log


def write_understood(run_dir: str | os.PathLike[str], tools: list[UnderstoodTool], log: FilterLog) -> None:
    run_dir = Path(run_dir)
    atomic_write_jsonl(run_dir / "tools_understood.jsonl", [t.model_dump(mode="json") for t in tools])
    atomic_write_json(run_dir / "understanding_log.json", log.model_dump(mode="json"))
    (run_dir / "tools_understood.partial.jsonl").unlink(missing_ok=True)


def read_understood(run_dir: str | os.PathLike[str]) -> list[UnderstoodTool]:
    path = Path(run_dir) / "tools_understood.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run 02_tool_understanding first")
    return [UnderstoodTool.model_validate(r) for r in iter_jsonl(path, tolerate_torn_tail=False)]
