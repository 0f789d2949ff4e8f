"""Numbers in docs are written by the script that measured them, never by hand.

A docs page marks a generated block with ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``; a benchmark
or report script replaces what lies between with its fresh table, so a page cannot go stale without
the diff showing it.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import subprocess
from pathlib import Path
from typing import Mapping

from petool_utils.io import atomic_write_text


_BLOCK = re.compile(r"<!-- (?P<name>[\w.:-]+):begin -->\n(?P<body>.*?)<!-- (?P=name):end -->", re.S)


def replace_blocks(text: str, blocks: Mapping[str, str]) -> tuple[str, list[str]]:
    """Put each named block's body between its markers; returns the new text and every block name found
    (blocks without new content keep theirs)."""
    found: list[str] = []

    def sub(m: re.Match) -> str:
        name = m.group("name")
        found.append(name)
        if name not in blocks:
            return m.group(0)
        return f"<!-- {name}:begin -->\n{blocks[name].rstrip()}\n<!-- {name}:end -->"

    return _BLOCK.sub(sub, text), found


def write_blocks(path: str | os.PathLike[str], blocks: Mapping[str, str]) -> Path:
    """Replace the named blocks in ``path``. A block without its markers is an error naming the file and
    the block: a script must never append to a page silently or write somewhere nobody reads."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new, found = replace_blocks(text, blocks)
    missing = sorted(set(blocks) - set(found))
    if missing:
        raise ValueError(f"{path}: no '<!-- {missing[0]}:begin -->' ... '<!-- {missing[0]}:end -->' block to write"
                         + (f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""))
    return atomic_write_text(path, new)


def write_block(path: str | os.PathLike[str], name: str, body: str) -> Path:
    """Replace the text between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``."""
    return write_blocks(path, {name: body})


def written_by(command: str) -> str:
    """The first line of a generated block: which command wrote it (so nobody edits it by hand)."""
    return f"_Written by `{command}`; do not edit by hand._\n\n"


def provenance(command: str) -> str:
    """One line saying when, where and from which commit a block was measured."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        # a measurement of code that is not the commit's must not pass for it
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        if commit != "unknown" and dirty:
            commit += " with uncommitted changes"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Measured {when}, commit {commit}, {os.cpu_count()} CPU cores (load average {load:.1f} at the end), "
            f"by `{command}`.")
