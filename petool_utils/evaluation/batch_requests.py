"""The evaluation requests as OpenAI Batch API input lines, so any runner can answer them.

Each line is ``{"custom_id": "<entry_id>:<setting>", "method": "POST", "url": "/v1/chat/completions",
"body": {"model", "messages": [system prompt, user query], "temperature", "max_tokens"}}``: the same
messages :mod:`petool_utils.evaluation.engine` sends, so answers collected elsewhere score identically.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from petool_utils.benchmark.data import Entry
from petool_utils.benchmark.prompts import entry_messages


def custom_id(entry_id: Any, setting: str) -> str:
    return f"{entry_id}:{setting}"


def split_custom_id(value: str) -> tuple[str, str]:
    """Inverse of :func:`custom_id` (the setting never contains ``:``; an entry id might)."""
    eid, _, setting = value.rpartition(":")
    return eid, setting


def batch_lines(entries: Sequence[Entry], settings: Sequence[str], *, model: str = "gpt-4o-mini",
                temperature: float = 0.1, max_tokens: int = 256) -> Iterator[dict[str, Any]]:
    """One request per (setting, entry), settings outermost (the order ``petool eval`` uses)."""
    for setting in settings:
        for e in entries:
            yield {
                "custom_id": custom_id(e.entry_id, setting),
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": model, "messages": entry_messages(e, setting), "temperature": temperature,
                         "max_tokens": max_tokens},
            }
