"""The entry explorer: one self-contained HTML page to read a run entry by entry.

A table of accuracies says how often a model was right; the explorer shows *which* tool it chose for
*this* user, beside the user's three histories, the candidates (the reference's functionality group
marked) and the reference call. The page must open from a mail attachment or ``file://`` (no server,
no network), and stay quick at 12,000 entries x 6 models, so:

* the data is one JSON document, gzip-compressed and base64-encoded inside the page, decoded by the
  browser's own ``DecompressionStream``;
* rows are rendered lazily, 100 at a time as the reader scrolls (an ``IntersectionObserver`` on the
  end of the table), and a row's details only when it is opened;
* filters, search and the opened row live in the URL's fragment (``#type=TPM&model=...&open=...``),
  so a view can be linked, and a headless browser can be pointed at one.

This module only formats what it is given (the payload of
:func:`petool_utils.evaluation.samples.explorer_payload`); the script and the style sheet are package
resources under ``petool_utils/resources/explorer/``.
"""

from __future__ import annotations

import base64
import gzip
import html as _html
import json
import os
from pathlib import Path
from typing import Any, Mapping

from petool_utils.io import atomic_write_text
from petool_utils.report.machine_paths import strip_machine_paths
from petool_utils.secrets import redact_text, secret_env_values

EXPLORER_FILE = "entries.html"
_RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "explorer"


def encode_payload(payload: Mapping[str, Any]) -> str:
    """The payload as gzip + base64 text (what the page's script decodes); ``mtime=0`` keeps it reproducible.

    Compressed text is out of reach of the runner's scrub of finished pages, so the JSON is scrubbed
    here, the same way: secret values from the environment and the machine's absolute paths."""
    text, _ = redact_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), secret_env_values())
    raw = strip_machine_paths(text).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def decode_payload(blob: str) -> dict[str, Any]:
    """Inverse of :func:`encode_payload` (for tests and for reading a page's data back in Python)."""
    return json.loads(gzip.decompress(base64.b64decode(blob)).decode("utf-8"))


def page_payload(page: str) -> dict[str, Any]:
    """The data blob of a written explorer page."""
    start = page.index('<script id="petool-data" type="application/octet-stream">') + len(
        '<script id="petool-data" type="application/octet-stream">')
    return decode_payload(page[start:page.index("</script>", start)].strip())


def render_explorer(payload: Mapping[str, Any]) -> str:
    title = _html.escape(str(payload.get("title") or "entries"))
    css = (_RESOURCES / "explorer.css").read_text(encoding="utf-8")
    js = (_RESOURCES / "explorer.js").read_text(encoding="utf-8")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{css}</style></head>
<body>
<header><h1>{title}</h1>
<p class="meta">One row per entry; one cell per (model, setting), coloured by the paper's error type. Click a row
for its histories, candidates, raw answers and parsed calls. <a href="index.html">Back to the report</a>.</p>
<div id="filters"></div><div id="legend"></div></header>
<p id="status">Loading the data…</p>
<div class="table-scroll"><table id="entries"><thead></thead><tbody></tbody></table></div>
<div id="more"></div>
<script id="petool-data" type="application/octet-stream">{encode_payload(payload)}</script>
<script>{js}</script>
</body></html>
"""


def write_explorer(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> Path:
    """Write the explorer page (atomically, with the mode a plain ``open`` gives: a page is shared)."""
    return atomic_write_text(Path(path), render_explorer(payload))


__all__ = ["EXPLORER_FILE", "decode_payload", "encode_payload", "page_payload", "render_explorer", "write_explorer"]
