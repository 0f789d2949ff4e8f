"""Absolute paths of the machine that ran a report, made relative to the project root.

A report page is shared (mailed, committed, opened elsewhere): it should say where a file is in the
project (``runs/x``, ``../shared/data``, ``~/...``), not on one person's disk. Every page the runner writes
and the entry explorer's data go through :func:`strip_machine_paths`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from petool_utils.paths import REPO_ROOT


def _machine_prefixes(root: Path) -> list[tuple[str, str]]:
    """``(absolute prefix, what replaces it)``: the project root and its ancestors as relative paths
    (``/home/me/petool`` -> ``.``, ``/home/me`` -> ``..``), then the home folder as ``~``; longest first."""
    root = Path(root).resolve()
    ancestors = [root, *root.parents][:-1]  # never "/" itself
    out = [(str(a), "." if k == 0 else "/".join([".."] * k)) for k, a in enumerate(ancestors)]
    home = str(Path.home())
    if home not in {a for a, _ in out} and home != "/":
        out.append((home, "~"))
    return sorted(out, key=lambda pr: -len(pr[0]))


_PATH_END = r"(?=[/\\\"'<>\s,;:)\]}&]|$)"


def strip_machine_paths(text: str, root: str | os.PathLike[str] | None = None) -> str:
    """Absolute paths of the machine that ran a report, made relative to the project root (``runs/x``,
    ``../shared/data``, ``~/...``): a page that is shared should say where a file is in the project, not
    on one person's disk. Only whole path components are replaced (``/work`` never touches ``/workspace``)."""
    for prefix, rel in _machine_prefixes(Path(root) if root is not None else REPO_ROOT):
        if rel == ".":
            text = text.replace(prefix + "/", "")  # a file of the project: its path from the root
        text = re.sub(re.escape(prefix) + _PATH_END, rel, text)
    return text
