"""Defence in depth against published secrets.

Keys reach the code only through the environment, never through parameters; but a notebook that
prints ``os.environ``, an exception message quoting a header, or a library that logs its client
config would still put a key into the executed notebook and from there into an HTML page that gets
shared. So every artifact the runner writes is scrubbed of the values of secret-looking environment
variables before it lands on disk.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

SECRET_NAME = re.compile(
    r"(?:^|[^a-z0-9])[a-z0-9]*(?:key|token|secrets?|passw(?:or)?d?|credentials?|authori[sz]ation|bearer|cookies?)"
    r"(?:$|[^a-z0-9])", re.I)
"""The one test of whether a *name* denotes a secret: an environment variable (``OPENAI_API_KEY``,
``HF_TOKEN``), a profile parameter (``api_key``: refused before anything runs) or a manifest option
(``Authorization``: dropped). A word of the name (split at ``_``, ``-``, ``.`` and the like) that ends
in key, token, secret, password, credential, authorization, bearer or cookie. ``max_tokens``,
``tokenizer`` and ``TOKENIZERS_PARALLELISM`` are settings, not secrets: the word must *end* there."""


def is_secret_name(name: object) -> bool:
    return bool(SECRET_NAME.search(str(name)))


MIN_SECRET_LEN = 8
"""Shorter values (``TOKENIZERS_PARALLELISM=false``, ``..._KEY=1``) are settings, not secrets, and
replacing them everywhere would corrupt the notebooks."""

SCRUB_SUFFIXES = (".ipynb", ".html", ".json", ".jsonl", ".md", ".txt", ".csv", ".log", ".yaml")


def secret_env_values(environ: Mapping[str, str] | None = None, min_len: int = MIN_SECRET_LEN) -> dict[str, str]:
    """``{name: value}`` of environment variables whose name contains KEY/TOKEN/SECRET (and the like)."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if is_secret_name(k) and len(v.strip()) >= min_len}


def _variants(value: str) -> set[str]:
    # The same key as it appears inside a JSON string or escaped in HTML.
    return {value, json.dumps(value)[1:-1], html.escape(value), html.escape(value, quote=False)}


def redact_text(text: str, secrets: Mapping[str, str]) -> tuple[str, int]:
    """Replace every occurrence of each secret with ``[redacted:$NAME]``; return the text and the count."""
    n = 0
    # Longest first, so a key that contains another key is replaced whole.
    for name, value in sorted(secrets.items(), key=lambda kv: -len(kv[1])):
        for form in sorted(_variants(value), key=len, reverse=True):
            if form and form in text:
                n += text.count(form)
                text = text.replace(form, f"[redacted:${name}]")
    return text, n


def redact_file(path: str | os.PathLike[str], secrets: Mapping[str, str]) -> int:
    """Scrub one text file in place (atomically); returns the number of replacements."""
    from petool_utils.io import atomic_write_text

    path = Path(path)
    if not secrets:
        return 0
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return 0
    new, n = redact_text(text, secrets)
    if n:
        atomic_write_text(path, new)
    return n


def redact_tree(roots: Iterable[str | os.PathLike[str]], secrets: Mapping[str, str],
                suffixes: tuple[str, ...] = SCRUB_SUFFIXES, newer_than: float | None = None) -> dict[Path, int]:
    """Scrub every text artifact under ``roots``; returns ``{file: replacements}`` for files changed.

    ``newer_than`` (a POSIX time) limits the scan to files modified since then: after a notebook,
    only what it wrote needs a look, not gigabytes of earlier stages.
    """
    changed: dict[Path, int] = {}
    if not secrets:
        return changed
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for p in files:
            if p.name.endswith(suffixes) and (newer_than is None or p.stat().st_mtime >= newer_than):
                n = redact_file(p, secrets)
                if n:
                    changed[p] = n
    return changed


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
    from petool_utils.paths import REPO_ROOT

    for prefix, rel in _machine_prefixes(Path(root) if root is not None else REPO_ROOT):
        if rel == ".":
            text = text.replace(prefix + "/", "")  # a file of the project: its path from the root
        text = re.sub(re.escape(prefix) + _PATH_END, rel, text)
    return text
