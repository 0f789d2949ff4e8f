"""Enough benchmark entries for a test that needs many (fault injection, resume, intervals), whatever
the data source: the dev slice has 514 entries, the split a fresh clone constructs at smoke size only a
handful. Copies are new users: a new id and query (so every prompt differs), and the functionality group
of the entry they copy tagged with the block of ``GROUP_ROUNDS`` rounds of copying they belong to, so the
groups keep a size like the released ones (tens of entries) instead of collapsing into a few huge ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from petool_utils.benchmark.data import Entry

COPY_ID_BASE = 1_000_000
GROUP_ROUNDS = 8


def at_least(entries: Sequence[Entry], n: int) -> list[Entry]:
    """The first ``n`` entries, topped up with copies when there are fewer."""
    if len(entries) >= n:
        return list(entries[:n])
    out = list(entries)
    for i in range(len(entries), n):
        e, r = entries[i % len(entries)], i // len(entries)
        out.append(e.model_copy(update={"entry_id": COPY_ID_BASE + i, "query": f"{e.query} (copy {r})",
                                        "func": f"{e.func}-copies{r // GROUP_ROUNDS}"}))
    return out


def write_release(entries: Sequence[Entry], path: Path) -> Path:
    """The entries as a benchmark file in the release's record layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([e.release_record() for e in entries], ensure_ascii=False), encoding="utf-8")
    return path


def file_with_at_least(bench_path: Path, entries: Sequence[Entry], n: int, folder: Path) -> Path:
    """A benchmark file with at least ``n`` entries: ``bench_path`` itself when ``entries`` (read from it)
    are enough, else the topped-up entries written into ``folder``."""
    if len(entries) >= n:
        return bench_path
    return write_release(at_least(entries, n), folder / "user_entries_test.json")
