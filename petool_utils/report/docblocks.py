"""Numbers in docs are written by the script that measured them, never by hand.

A docs page marks a generated block with ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; a benchmark
or report script replaces what lies between with its fresh table, so a page cannot go stale without
the diff showing it.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from pathlib import Path

from petool_utils.io import atomic_write_text


def write_block(path: str | os.PathLike[str], name: str, body: str) -> Path:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``.

    Missing markers are an error naming the file and the block: a script must never append to a page
    silently or write somewhere nobody reads.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"{path}: no '{begin}' ... '{end}' block to write")
    new = text[: i + len(begin)] + "\n" + body.rstrip() + "\n" + text[j:]
    return atomic_write_text(path, new)


def provenance(command: str) -> str:
    """One line saying when, where and from which commit a block was measured."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Measured {when}, commit {commit}, {os.cpu_count()} CPU cores (load average {load:.1f} at the end), "
            f"by `{command}`.")
