"""The one redaction rule, for every artifact: files, the response cache, run manifests, prediction
lines, reports, and the error texts of failed requests.

Keys reach the code only through the environment, never through parameters; but a notebook that
prints ``os.environ``, an exception message quoting a header, a library that logs its client config,
or a server that echoes the key would still put it into an artifact that gets shared.

The rule: a value is a secret when an environment variable whose *name* says so (:data:`SECRET_NAME`)
holds at least :data:`MIN_SECRET_LEN` characters; it is replaced by ``[redacted:$NAME]`` wherever it
occurs as a *whole token* (not inside a longer run of letters, digits, ``_`` or ``-``), in its plain,
JSON-escaped and HTML-escaped forms. There were three rules before (``***`` at two places, this one at
a third), and the backend's replaced its key however short: with ``OPENAI_API_KEY=a`` every "a" of
every answer became ``***`` and Tool Acc fell to 0.

A model's answer text is never changed in memory: when it holds a secret, :func:`warn_if_echoed` says
"the server echoed your key", and only the stored copies (cache, prediction line) are redacted by the
same rule. Cache entries written before this rule are not trusted: :data:`REDACTION_RULE` is part of
every cache key (:func:`petool_utils.models.base.request_key`), so they are asked again.
"""

from __future__ import annotations

import html
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping

from petool_utils.io import atomic_write_text

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
"""Shorter values (``TOKENIZERS_PARALLELISM=false``, ``..._KEY=1``, a local server's dummy key ``a``) are
settings, not secrets, and replacing them everywhere would corrupt notebooks and answers."""

REDACTION_RULE = "whole-token>=8"
"""Names the rule in cache keys: an entry stored under another rule is a miss."""

_TOKEN_CHAR = r"A-Za-z0-9_\-"

SCRUB_SUFFIXES = (".ipynb", ".html", ".json", ".jsonl", ".md", ".txt", ".csv", ".log", ".yaml")


def secret_env_values(environ: Mapping[str, str] | None = None, min_len: int = MIN_SECRET_LEN) -> dict[str, str]:
    """``{name: value}`` of environment variables whose name contains KEY/TOKEN/SECRET (and the like)."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if is_secret_name(k) and len(v.strip()) >= min_len}


def _variants(value: str) -> set[str]:
    # The same key as it appears inside a JSON string or escaped in HTML.
    return {value, json.dumps(value)[1:-1], html.escape(value), html.escape(value, quote=False)}


Secrets = Mapping[str, str]
"""``{environment variable name: value}``, as :func:`secret_env_values` gives them."""


def _usable(secrets: Secrets) -> list[tuple[str, str]]:
    # Longest first, so a key that contains another key is replaced whole.
    return sorted(((k, v) for k, v in secrets.items() if v and len(v.strip()) >= MIN_SECRET_LEN),
                  key=lambda kv: -len(kv[1]))


def _token(form: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![{_TOKEN_CHAR}]){re.escape(form)}(?![{_TOKEN_CHAR}])")


def redact_text(text: str, secrets: Secrets) -> tuple[str, int]:
    """Replace each secret (and its JSON/HTML forms) where it stands as a whole token with
    ``[redacted:$NAME]``; return the text and the count. Values shorter than :data:`MIN_SECRET_LEN`
    are left alone."""
    n = 0
    for name, value in _usable(secrets):
        for form in sorted(_variants(value), key=len, reverse=True):
            if form and form in text:
                text, k = _token(form).subn(f"[redacted:${name}]", text)
                n += k
    return text, n


def secrets_in(text: str | None, secrets: Secrets) -> list[str]:
    """Names of the secrets that :func:`redact_text` would replace in ``text``."""
    if not text:
        return []
    return [name for name, value in _usable(secrets)
            if any(form in text and _token(form).search(text) for form in _variants(value) if form)]


class SecretEchoWarning(UserWarning):
    """A model's answer holds a secret: the server echoed the key it was sent."""


def warn_if_echoed(text: str | None, secrets: Secrets, who: str = "the model") -> bool:
    """Warn "the server echoed your key" when an answer holds a secret; the answer itself is left as it
    came (its stored copies are redacted by :func:`redact_text`). True when it warned."""
    names = secrets_in(text, secrets)
    if names:
        warnings.warn(f"{who}: the server echoed your key (${', $'.join(names)}) in an answer; the answer is "
                      "kept as sent, its stored copies (cache, prediction file) are redacted",
                      SecretEchoWarning, stacklevel=2)
    return bool(names)


def redact_obj(obj: Any, secrets: Secrets) -> Any:
    """A JSON-able tree with keys that name a secret dropped and every string redacted by the rule
    (run manifests, prediction lines)."""
    if isinstance(obj, Mapping):
        return {k: redact_obj(v, secrets) for k, v in obj.items() if not is_secret_name(k)}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v, secrets) for v in obj]
    if isinstance(obj, str):
        return redact_text(obj, secrets)[0]
    return obj


def redact_file(path: str | os.PathLike[str], secrets: Secrets) -> int:
    """Scrub one text file in place (atomically); returns the number of replacements."""
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


def redact_tree(roots: Iterable[str | os.PathLike[str]], secrets: Secrets,
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
