"""What (instruction, call) pairs teach the parameter filler: requests seen before and value conventions.

Every interaction history is a list of (instruction, call) pairs: a request in words and the call
that served it. They are the best evidence there is of how this benchmark writes arguments, far
better than rules read off individual test queries:

* **the same request**: a past instruction that is the same text (after :func:`norm_request`) as the
  query, answered by a call of the same API, gives the whole call;
* **a paraphrase**: a past call of the same API whose every informative value the query states (and
  that accounts for every value-like token of the query) gives the call, too;
* **conventions** per API parameter, across all past calls of the API: how often an optional
  parameter is sent at all and with which value when the request says nothing about it (``offset: 0``,
  ``storageName: ""``), whether numbers go as JSON numbers or strings, and the code list of values it
  takes (``type`` in ``albums, artists, tracks``), so a value can be recognised in the text in the
  form the API expects (``for rent`` -> ``for-rent``).

The pairs come from the user's own history (always: it is in the prompt) and, with a fitted prior
(:mod:`.prior`), from other users' histories. A :class:`CallBook` indexes one set of pairs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from petool_utils.benchmark.data import CandidateTool, HistoryItem
from petool_utils.predictors.ranker.text import api_part, norm_api, words

COUNTRIES = {"united states": "US", "usa": "US", "america": "US", "united kingdom": "GB", "uk": "GB",
             "britain": "GB", "england": "GB", "germany": "DE", "france": "FR", "italy": "IT", "spain": "ES",
             "singapore": "SG", "japan": "JP", "china": "CN", "india": "IN", "canada": "CA", "australia": "AU",
             "brazil": "BR", "mexico": "MX", "netherlands": "NL", "sweden": "SE", "russia": "RU",
             "egypt": "EG", "ghana": "GH", "cameroon": "CM", "south korea": "KR", "korea": "KR",
             "indonesia": "ID", "malaysia": "MY", "thailand": "TH", "vietnam": "VN", "philippines": "PH",
             "turkey": "TR", "poland": "PL", "portugal": "PT", "switzerland": "CH", "austria": "AT",
             "belgium": "BE", "ireland": "IE", "new zealand": "NZ", "south africa": "ZA", "argentina": "AR",
             "united arab emirates": "AE", "uae": "AE", "saudi arabia": "SA", "nigeria": "NG", "kenya": "KE"}
"""Country names -> ISO 3166 alpha-2 codes (a fixed code list, not learned from any test query)."""

LANGUAGES = {"english": "en", "german": "de", "french": "fr", "italian": "it", "spanish": "es",
             "japanese": "ja", "chinese": "zh", "russian": "ru", "portuguese": "pt", "arabic": "ar",
             "korean": "ko", "dutch": "nl", "turkish": "tr", "hindi": "hi", "swedish": "sv", "polish": "pl"}
"""Language names -> ISO 639-1 codes."""

NUMBER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
                "eighth": 8, "ninth": 9, "tenth": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "single": 1}

_QUOTED = re.compile(r"""(?:^|[\s(:,])['"‘“]([^'"’”]+?)['"’”](?=$|[\s).,;:!?])""")
_NUM = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w])")
_TOKEN = re.compile(r"[^\s,;()]+")


@lru_cache(maxsize=200_000)
def norm_request(text: str) -> str:
    """A request reduced to its words (case, punctuation and plural forms do not make two requests)."""
    return " ".join(words(text))


def api_key(tool_name: str) -> str:
    """The API a call or candidate serves, whatever provider offers it (``getOrderById`` of any petstore)."""
    return norm_api(api_part(tool_name))


def quoted_phrases(text: str) -> list[str]:
    return [m.group(1) for m in _QUOTED.finditer(text)]


def _strip(tok: str) -> str:
    return tok.strip(".!?'\"‘’“”#").lstrip("$€£")


@lru_cache(maxsize=50_000)
def value_tokens(text: str) -> tuple[str, ...]:
    """What in a request looks like an argument: quoted phrases and tokens holding a digit."""
    out = [q.strip() for q in quoted_phrases(text)]
    inside = " ".join(out)
    for tok in _TOKEN.findall(text):
        t = _strip(tok)
        if any(ch.isdigit() for ch in t) and t not in inside:
            out.append(t)
    return tuple(dict.fromkeys(x for x in out if x))


@lru_cache(maxsize=50_000)
def numbers_in(text: str) -> frozenset[float]:
    """Numbers a request states, in digits ("page 3", "5th") or in words ("first page", "two")."""
    out: set[float] = set()
    for m in _NUM.finditer(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)):
        try:
            out.add(float(m.group(0)))
        except ValueError:
            pass
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in NUMBER_WORDS:
            out.add(float(NUMBER_WORDS[w]))
    return frozenset(out)


def informative(value: Any) -> bool:
    """A value that says something about the request (not empty, not a flag)."""
    return not (value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip())
                or isinstance(value, (list, dict)))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", s):
        return float(s)
    return None


def supported(value: Any, query: str) -> bool:
    """Whether the request states this value, in any of the forms the benchmark writes values:
    verbatim (any case), as a number in digits or words, word by word (``for-rent`` <- "for rent",
    ``5002,6020`` <- "5002 and 6020"), or as the code of a country or language it names."""
    if not informative(value):
        return False
    s = str(value).strip()
    q = query.lower()
    num = _as_number(value)
    if num is not None:
        return num in numbers_in(query)
    if re.search(rf"(?<![\w]){re.escape(s.lower())}(?![\w])", q):
        return True
    parts = [p for p in re.split(r"\s*[,;|]\s*", s) if p]
    if len(parts) > 1:
        return all(supported(p, query) for p in parts)
    vw = words(s)
    if vw and len(s) > 2 and not Counter(vw) - Counter(words(query)):
        return True  # word by word, each word as often as the value has it ("id-ID" needs two "id")
    low = s.lower()
    for table in (COUNTRIES, LANGUAGES):
        for name, code in table.items():
            if code.lower() == low.split("-")[0] and re.search(rf"\b{re.escape(name)}\b", q):
                return True
    return False


def covers(values: Iterable[Any], token: str) -> bool:
    """Whether one of a call's values accounts for a value-like token of the request."""
    t = token.lower()
    tnum = _as_number(token)
    for v in values:
        if not informative(v):
            continue
        s = str(v).lower()
        if t in s or (len(s) > 1 and s in t):
            return True
        if tnum is not None and _as_number(v) == tnum:
            return True
    return False


@dataclass(frozen=True)
class PastCall:
    """One (instruction, call) pair; ``own``: from the user's own history (else from other users')."""

    instruction: str
    tool_name: str
    parameters: Mapping[str, Any]
    count: int = 1
    own: bool = False


@dataclass
class ParamConvention:
    """How the past calls of one API write one parameter."""

    n_calls: int = 0
    """Distinct past calls (instruction and arguments) of the API that could carry the parameter (their
    names all belong to the candidate); a pair repeated in many histories counts once."""
    n_present: int = 0
    values: Counter = field(default_factory=Counter)
    """``repr``-free key of each value -> count (see :func:`value_key`)."""
    examples: dict[str, Any] = field(default_factory=dict)
    n_int: int = 0
    n_str: int = 0

    @property
    def presence(self) -> float:
        return self.n_present / self.n_calls if self.n_calls else 0.0

    def constant(self) -> tuple[bool, Any]:
        """(True, value) when every call that sends the parameter sends the same value."""
        if self.n_present >= 1 and len(self.values) == 1:
            (k,) = self.values
            return True, self.examples[k]
        return False, None

    def modal(self) -> Any:
        k, _ = self.values.most_common(1)[0]
        return self.examples[k]


def value_key(value: Any) -> str:
    return f"{type(value).__name__}:{value}"


class CallBook:
    """An index of (instruction, call) pairs: by request text and by API."""

    def __init__(self, calls: Iterable[PastCall] = ()):
        self.calls: list[PastCall] = list(calls)
        self._by_request: dict[str, list[PastCall]] = {}
        self._by_api: dict[str, list[PastCall]] = {}
        for c in self.calls:
            self._by_request.setdefault(norm_request(c.instruction), []).append(c)
            self._by_api.setdefault(api_key(c.tool_name), []).append(c)

    @classmethod
    def from_history(cls, history: Sequence[HistoryItem], own: bool = True) -> "CallBook":
        return cls(PastCall(h.instruction, h.tool_call.tool_name, h.tool_call.parameters, 1, own) for h in history)

    def __len__(self) -> int:
        return len(self.calls)

    def same_request(self, query: str) -> list[PastCall]:
        return self._by_request.get(norm_request(query), [])

    def of_api(self, key: str) -> list[PastCall]:
        return self._by_api.get(key, [])


def compatible(call: PastCall, cand: CandidateTool) -> bool:
    """A past call whose parameter names all belong to this candidate's API (same API, same signature)."""
    names = {p.name for p in cand.required_parameters} | {p.name for p in cand.optional_parameters}
    return api_key(call.tool_name) == api_key(cand.tool_name) and set(call.parameters) <= names


def conventions(cand: CandidateTool, books: Sequence[CallBook]) -> dict[str, ParamConvention]:
    """Per documented parameter of ``cand``: how the compatible past calls write it."""
    names = [p.name for p in cand.required_parameters] + [p.name for p in cand.optional_parameters]
    out = {n: ParamConvention() for n in names}
    key = api_key(cand.tool_name)
    seen: set[tuple[str, str]] = set()
    for book in books:
        for c in book.of_api(key):
            ident = (norm_request(c.instruction), repr(sorted(c.parameters.items(), key=lambda kv: kv[0])))
            if ident in seen or not compatible(c, cand):
                continue
            seen.add(ident)
            for n in names:
                conv = out[n]
                conv.n_calls += 1
                if n in c.parameters:
                    v = c.parameters[n]
                    conv.n_present += 1
                    k = value_key(v)
                    conv.values[k] += 1
                    conv.examples.setdefault(k, v)
                    if isinstance(v, int) and not isinstance(v, bool):
                        conv.n_int += 1
                    elif isinstance(v, str) and _as_number(v) is not None:
                        conv.n_str += 1
    return out


_LIST_CUE = re.compile(r"one of|accepted values|supported values|possible values|allowed values|available values|\|", re.I)


@lru_cache(maxsize=50_000)
def documented_codes(description: str | None) -> tuple[str, ...]:
    """The code list a parameter's description spells out ("One of the following : a|b|c",
    "`multi` or one of these: - albums - artists", "ACCEPTED VALUES: album artist track"): single
    tokens of 3 to 30 characters, in the order written. Empty when the description lists nothing."""
    if not description or not _LIST_CUE.search(description):
        return ()
    m = _LIST_CUE.search(description)
    body = description[m.start():] if m.group(0) != "|" else description
    body = re.sub(r"(?i)one of( the following)?( these)?|accepted values|supported values|possible values|allowed values|available values", " ", body)
    out = []
    for tok in re.split(r"[|\n,;:]+|\s-\s|\s+or\s+", body):
        first = [w.strip("-*`'\" .()") for w in tok.split()]
        first = [w for w in first if w and w.lower() not in STOP_CODES]
        t = first[0] if first else ""
        if 3 <= len(t) <= 30 and re.fullmatch(r"[A-Za-z0-9_.+-]+", t) and t.lower() not in STOP_CODES:
            out.append(t)
    return tuple(dict.fromkeys(out))


STOP_CODES = frozenset("the and for not are with this that from you your can will default value values one following "
                       "these other example separated multiple options are is".split())
