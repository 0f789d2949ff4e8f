"""Stage 02: tool understanding. Per API, a tool-use example, then a functionality and a separate
non-functional description written from the docs and that example.

The functionality text is what stage 03 clusters on; the non-functional text is what stage 04 builds
preferences on, and the tool-use example is what stage 05 puts in the interaction histories. The requests
of a batch of APIs go out together through ``ChatLLM.chat_many`` (concurrently on a server), and progress is
appended to a partial file batch by batch, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from petool_utils.construction.llm_calls import run_tasks
from petool_utils.construction.toolbench import DroppedApi, FilterLog, ToolRecord
from petool_utils.benchmark.locate import require_input
from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl, repair_torn_tail
from petool_utils.models.base import ChatLLM, LLMError


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


class UnderstandingLog(FilterLog):
    """``understanding_log.json``: the filter log plus the JSON retries (replies re-asked), as stage 05 counts them."""

    json_retries: int = 0
    json_mode: str = "none"


def _example(value: Any) -> ToolExample | None:
    if not isinstance(value, dict) or not isinstance(value.get("instruction"), str) \
            or not isinstance(value.get("parameters", {}), dict):
        return None
    return ToolExample(instruction=value["instruction"], parameters=value.get("parameters", {}))


def understand_batch(llm: ChatLLM, tools: Sequence[ToolRecord], max_retries: int = 2,
                     json_mode: str = "none") -> list[dict[str, Any] | None]:
    """Progress rows for a batch of APIs, both LLM calls of every API sent together (see ``run_tasks``).

    A row is ``{"full_name", "generator", "json_retries", "tool": <UnderstoodTool>}`` or, for a reply never
    usable, ``{..., "failed": <why>}``; None where a request got no reply at all (asked again on a rerun).
    """
    docs = [api_doc_payload(t) for t in tools]
    rows: list[dict[str, Any] | None] = [None] * len(tools)

    def row(i: int, retries: int, **what: Any) -> dict[str, Any]:
        return {"full_name": tools[i].full_name, "generator": llm.name, "json_mode": json_mode,
                "json_retries": retries, **what}

    examples: dict[int, tuple[ToolExample, int]] = {}
    for i, res in enumerate(run_tasks(llm, [("tool_use_example", d, dict) for d in docs], max_retries,
                                         json_mode)):
        if res.request_failed:
            continue
        ex = _example(res.value) if res.ok else None
        if ex is None:
            rows[i] = row(i, res.json_retries, failed=f"tool_use_example: {res.error or 'missing instruction/parameters'}")
        else:
            examples[i] = (ex, res.json_retries)
    order = sorted(examples)
    asked = [("tool_description", dict(docs[i], example=examples[i][0].model_dump()), dict) for i in order]
    for i, res in zip(order, run_tasks(llm, asked, max_retries, json_mode)):
        if res.request_failed:
            continue
        ex, retries = examples[i]
        retries += res.json_retries
        f, nf = (res.value or {}).get("functionality"), (res.value or {}).get("non_functional")
        if not res.ok or not isinstance(f, str) or not isinstance(nf, str) or not f.strip():
            rows[i] = row(i, retries, failed=f"tool_description: {res.error or 'missing functionality/non_functional'}")
            continue
        tool = UnderstoodTool(**tools[i].model_dump(), example=ex, functionality=f.strip(), non_functional=nf.strip(),
                              generator=llm.name)
        rows[i] = row(i, retries, tool=tool.model_dump(mode="json"))
    return rows


def understand_tool(llm: ChatLLM, t: ToolRecord, max_retries: int = 2,
                    json_mode: str = "none") -> UnderstoodTool | str:
    """The understood record, or the reason it could not be understood (a reply never valid)."""
    row = understand_batch(llm, [t], max_retries, json_mode)[0]
    if row is None:
        raise LLMError(f"{llm.name}: no reply for {t.full_name}")
    return row["failed"] if "failed" in row else UnderstoodTool.model_validate(row["tool"])


def understand_tools(tools: list[ToolRecord], llm: ChatLLM, run_dir: str | os.PathLike[str],
                     max_retries: int = 2, progress: bool = True,
                     batch_size: int = 512, json_mode: str = "none") -> tuple[list[UnderstoodTool], UnderstandingLog]:
    """Stage 02 over a corpus, ``batch_size`` APIs at a time, resumable through ``tools_understood.partial.jsonl``.

    Each batch's rows are appended to the progress file when the batch is answered; a killed run loses at
    most one batch (whose answers the response cache still holds). APIs whose requests got no reply are
    not recorded: the stage raises :class:`LLMError` after the others are saved, and a rerun asks them again.
    """
    run_dir = Path(run_dir)
    partial = run_dir / "tools_understood.partial.jsonl"
    run_dir.mkdir(parents=True, exist_ok=True)
    repair_torn_tail(partial)
    # rows of another generator or JSON mode (changed since the interrupted run) are redone, not reused
    done: dict[str, dict[str, Any]] = {r["full_name"]: r for r in iter_jsonl(partial)
                                       if r.get("generator") == llm.name and ("tool" in r or "failed" in r)
                                       and r.get("json_mode", "none") == json_mode}
    todo = [t for t in tools if t.full_name not in done]
    unanswered: list[str] = []
    with open(partial, "a", encoding="utf-8") as out, \
            tqdm(total=len(tools), initial=len(tools) - len(todo), desc="02 tool understanding", disable=not progress) as bar:
        for start in range(0, len(todo), max(1, batch_size)):
            batch = todo[start : start + max(1, batch_size)]
            for t, row in zip(batch, understand_batch(llm, batch, max_retries, json_mode)):
                if row is None:
                    unanswered.append(t.full_name)
                    continue
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                done[t.full_name] = row
            out.flush()
            bar.update(len(batch))
    if unanswered:
        raise LLMError(f"{llm.name}: {len(unanswered)} API(s) got no reply after the backend's retries "
                       f"(first: {unanswered[0]}); the others are saved in {partial}: run the stage again to resume")
    kept, dropped = [], []
    for t in tools:
        row = done[t.full_name]
        if "failed" in row:
            dropped.append(DroppedApi(full_name=t.full_name, reason="llm_reply_unusable", detail=row["failed"]))
        else:
            kept.append(UnderstoodTool.model_validate(row["tool"]))
    counts = Counter({"llm_reply_unusable": 0})
    counts.update(d.reason for d in dropped)
    log = UnderstandingLog(stage="02_tool_understanding", generator=llm.name, n_input=len(tools), n_kept=len(kept),
                           counts=dict(counts), dropped=dropped, json_mode=json_mode,
                           json_retries=sum(int(done[t.full_name].get("json_retries", 0)) for t in tools))
    return kept, log


def write_understood(run_dir: str | os.PathLike[str], tools: list[UnderstoodTool], log: UnderstandingLog) -> None:
    run_dir = Path(run_dir)
    atomic_write_jsonl(run_dir / "tools_understood.jsonl", [t.model_dump(mode="json") for t in tools])
    atomic_write_json(run_dir / "understanding_log.json", log.model_dump(mode="json"))
    (run_dir / "tools_understood.partial.jsonl").unlink(missing_ok=True)


def read_understood(run_dir: str | os.PathLike[str]) -> list[UnderstoodTool]:
    path = require_input(Path(run_dir) / "tools_understood.jsonl")
    return [UnderstoodTool.model_validate(r) for r in iter_jsonl(path, tolerate_torn_tail=False)]
