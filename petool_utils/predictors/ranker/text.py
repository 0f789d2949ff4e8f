"""Small text utilities shared by the ranker's components: tokens, name parts, tool identities.

API names mix camelCase, snake_case, paths and version suffixes; the same functionality under two
providers differs in exactly those surface forms, so every comparison goes through one normaliser.
"""

from __future__ import annotations

import re
from functools import lru_cache

from petool_utils.benchmark.data import split_api_name

STOPWORDS = frozenset(
    """a an the of to for in on at by with and or from into about as is are be this that these those it its
    i me my we our you your want would like get gets getting please can could will all any some using use
    based given specific which what when where who how do does retrieve return returns list information""".split()
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z0-9]+")


def _stem(w: str) -> str:
    """A deliberately crude stemmer: plural, -ing and -ed forms only (names and queries rarely need more)."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 5 and w.endswith("ed") and not w.endswith("eed"):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


@lru_cache(maxsize=200_000)
def words(text: str) -> tuple[str, ...]:
    """Lower-cased, camelCase-split, stemmed words of a text, stopwords kept (order kept)."""
    out = []
    for w in _WORD.findall(text or ""):
        for part in _CAMEL.split(w):
            if part:
                out.append(_stem(part.lower()))
    return tuple(out)


@lru_cache(maxsize=200_000)
def content_words(text: str) -> frozenset[str]:
    """The set of :func:`words` without stopwords: what lexical overlap is measured on."""
    return frozenset(w for w in words(text) if w not in STOPWORDS)


@lru_cache(maxsize=200_000)
def _name_part(full_name: str, index: int, otherwise: str) -> str:
    """One part of ``<Cat>.<Tool>.<API>`` (``otherwise`` when the name is not in that form); cached,
    since the ranker asks for the parts of the same few thousand names millions of times."""
    try:
        return split_api_name(full_name)[index]
    except ValueError:
        return otherwise


def api_part(full_name: str) -> str:
    """The API part of ``<Cat>.<Tool>.<API>`` (the whole string if it is not in that form)."""
    return _name_part(full_name, 2, full_name)


def category_part(full_name: str) -> str:
    """The category part of ``<Cat>.<Tool>.<API>``."""
    return _name_part(full_name, 0, "")


def tool_part(full_name: str) -> str:
    """The provider (tool) part of ``<Cat>.<Tool>.<API>``: the unit a user prefers or rejects."""
    return _name_part(full_name, 1, full_name)


@lru_cache(maxsize=200_000)
def norm_api(api: str) -> str:
    """API name reduced to its words, so ``getOrderById`` == ``get_order_by_id`` == ``Get Order By Id``."""
    return " ".join(words(api))


_VERSION = re.compile(r"^v\d+$")


@lru_cache(maxsize=200_000)
def name_words(tool: str) -> frozenset[str]:
    """A provider name's distinctive words: version suffixes (``_v2``) and one-letter pieces dropped."""
    return frozenset(w for w in words(tool) if not _VERSION.match(w) and len(w) > 1)
