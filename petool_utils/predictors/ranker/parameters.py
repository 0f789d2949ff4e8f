"""Parameters: fill the chosen API's arguments from the instruction, the documentation and the history.

Benchmark instructions are written from an API's example call, so most argument values are spelled
out in the instruction: quoted strings, numbers, IDs, dates, codes. Where the instruction names a value
that is also the documented example value, the documented form wins (``Italy`` -> ``it``). The user's
own past calls are the best guide of all: the same request made before is answered the same way.

Rules, in order, for each parameter of the chosen API:

1. **Past call**: a past instruction that is the same request (normalised text) whose call used this
   parameter name gives its value.
2. **Documented value in the text**: the documented default appears literally in the instruction.
3. **Extracted value**: a value found next to a word of the parameter's name ("page 3", "ID 12345",
   "limit of 24", "3 days", "first page" -> 1), a quoted string after a word of the name, a country
   or language name mapped to the code form of the documented default.
4. **Required parameters** not found fall back to the documented default (typed), else ``""``.
5. **Paging from the start**: an instruction that says "first" or "starting" keeps an optional
   ``offset``/``start``/``skip`` whose documented value is 0.

Optional parameters are included when rules 1-3 give a value, when the instruction names the
parameter without a value ("the default storage" -> ``storageName: ""``), or when this user passed
it in a past call of the same API. Values are typed by the documented
type: ``NUMBER`` values that are integers become JSON numbers, everything else stays a string.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from petool_utils.benchmark.data import CandidateTool, HistoryItem, ToolParameter
from petool_utils.predictors.ranker.text import STOPWORDS, words

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
            "eighth": 8, "ninth": 9, "tenth": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
            "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}

COUNTRIES = {"united states": "US", "usa": "US", "america": "US", "united kingdom": "GB", "uk": "GB",
             "britain": "GB", "england": "GB", "germany": "DE", "france": "FR", "italy": "IT", "spain": "ES",
             "singapore": "SG", "japan": "JP", "china": "CN", "india": "IN", "canada": "CA", "australia": "AU",
             "brazil": "BR", "mexico": "MX", "netherlands": "NL", "sweden": "SE", "russia": "RU",
             "egypt": "EG", "ghana": "GH", "cameroon": "CM", "south korea": "KR", "korea": "KR",
             "indonesia": "ID", "malaysia": "MY", "thailand": "TH", "vietnam": "VN", "philippines": "PH",
             "turkey": "TR", "poland": "PL", "portugal": "PT", "switzerland": "CH", "austria": "AT",
             "belgium": "BE", "ireland": "IE", "new zealand": "NZ", "south africa": "ZA", "argentina": "AR"}

LANGUAGES = {"english": "en", "german": "de", "french": "fr", "italian": "it", "spanish": "es",
             "japanese": "ja", "chinese": "zh", "russian": "ru", "portuguese": "pt", "arabic": "ar",
             "korean": "ko", "dutch": "nl", "turkish": "tr", "hindi": "hi", "swedish": "sv", "polish": "pl"}

_QUOTED = re.compile(r"""(?:^|[\s(:,])['"‘“]([^'"’”]+?)['"’”](?=$|[\s).,;:!?])""")
_TOKEN = re.compile(r"[^\s,;()]+")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")


def typed(value: Any, p: ToolParameter) -> Any:
    """Type a value by the documented type. ``NUMBER`` values that read as numbers become JSON integers
    (decimals truncated, as the benchmark's own calls send them: longitude ``-73.45`` goes as ``-73``);
    everything else stays as it is, strings as strings."""
    t = (p.type or "").upper()
    if isinstance(value, bool) or t != "NUMBER":
        return value if not isinstance(value, str) else value.strip()
    if isinstance(value, (int, float)):
        return int(value)
    s = str(value).strip()
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", s):
        return int(float(s)) if "." in s else int(s)
    return s


def _norm(text: str) -> str:
    return " ".join(words(text))


_ORDINAL_SUFFIX = re.compile(r"^(\d+)(?:st|nd|rd|th)$", re.I)


def _clean_token(tok: str) -> str:
    """Strip sentence punctuation and quotes, a leading ``#``/currency sign, an ordinal suffix (5th -> 5)."""
    tok = tok.strip(".!?'\"‘’“”#").lstrip("$€£")
    m = _ORDINAL_SUFFIX.match(tok)
    return m.group(1) if m else tok


def _name_words(name: str) -> set[str]:
    ws = {w for w in words(name) if w not in STOPWORDS and len(w) > 1}
    if name.lower().endswith("id") or name.lower() == "ids":
        ws.add("id")
    return ws


def _is_value_token(tok: str) -> bool:
    """A token that looks like an argument: it has a digit, or it is an ID-like mixed-case/symbol token."""
    if not tok:
        return False
    if any(ch.isdigit() for ch in tok):
        return True
    return bool(re.search(r"[a-z][A-Z]|[A-Z].*[a-z].*[A-Z]|[_:/]", tok))


def value_after_name(query: str, name: str, used: set[str] = frozenset()) -> str | None:
    """The first unused value-like token within four words after a word of the parameter's name
    ("page 3", "ID 12345", "limit of 24")."""
    toks = [_clean_token(t) for t in _TOKEN.findall(query)]
    nw = _name_words(name)
    if not nw:
        return None
    for i, t in enumerate(toks):
        if set(words(t)) & nw:
            for u in toks[i + 1 : i + 5]:
                if u.lower() in ORDINALS and str(ORDINALS[u.lower()]) not in used:
                    return str(ORDINALS[u.lower()])
                if _is_value_token(u) and u not in used:
                    return u
    return None


def value_before_name(query: str, name: str, used: set[str] = frozenset()) -> str | None:
    """``first page`` -> 1, ``3 days`` -> 3: an ordinal, number word or number right before a word of
    the parameter's name."""
    toks = [_clean_token(t).lower() for t in _TOKEN.findall(query)]
    nw = _name_words(name)
    for i, t in enumerate(toks[1:], start=1):
        if not set(words(t)) & nw:
            continue
        prev = toks[i - 1]
        v = str(ORDINALS[prev]) if prev in ORDINALS else prev if _NUMBER.match(prev) else None
        if v is not None and v not in used:
            return v
    return None


def code_for(query: str, p: ToolParameter) -> str | None:
    """Country/language names in the text, written in the case of the documented default's code."""
    name = p.name.lower()
    q = query.lower()
    table = LANGUAGES if ("lang" in name or "locale" in name or "hl" == name) else COUNTRIES if (
        "country" in name or name in {"gl", "region", "market", "cc"}) else None
    if table is None:
        return None
    for k in sorted(table, key=len, reverse=True):
        if re.search(rf"\b{re.escape(k)}\b", q):
            code = table[k]
            d = str(p.default or "")
            if d and d.islower():
                return code.lower()
            if d and "-" in d and len(d) == 5 and d[:2].lower() == code.lower():
                return d
            return code
    return None


def past_values(query: str, history: Sequence[HistoryItem]) -> dict[str, Any]:
    """Arguments of past calls made for the same request (normalised instruction text)."""
    key = _norm(query)
    out: dict[str, Any] = {}
    for h in history:
        if _norm(h.instruction) == key:
            out.update(h.tool_call.parameters)
    return out


def find_value(query: str, p: ToolParameter, quoted: list[str], used: set[str]) -> str | None:
    """Rules 2-3 for one parameter; ``used`` holds values already given to earlier parameters."""
    q = query.lower()
    d = p.default
    if d is not None and str(d).strip() and len(str(d).strip()) >= 1 and not isinstance(d, bool):
        ds = str(d).strip()
        if len(ds) >= 2 and re.search(rf"(?<![\w]){re.escape(ds.lower())}(?![\w])", q):
            return ds
    c = code_for(query, p)
    if c is not None:
        return c
    v = value_after_name(query, p.name, used)
    if v is not None:
        return v
    v = value_before_name(query, p.name, used)
    if v is not None:
        return v
    # a quoted phrase right after a word of the name ("topic 'compute'", "keyword 'bikini top'")
    nw = _name_words(p.name)
    for qs in quoted:
        if qs in used:
            continue
        idx = query.find(qs)
        before = set(words(query[max(0, idx - 40) : idx]))
        if before & nw:
            return qs
    return None


def habitual_optionals(cand: CandidateTool, history: Sequence[HistoryItem]) -> set[str]:
    """Optional parameters this user passed when calling the same API (any provider) before."""
    from petool_utils.predictors.ranker.text import api_part, norm_api

    api = norm_api(api_part(cand.tool_name))
    names = {p.name for p in cand.optional_parameters}
    out: set[str] = set()
    for h in history:
        if norm_api(api_part(h.tool_call.tool_name)) == api:
            out |= names & set(h.tool_call.parameters)
    return out


def fill_parameters(query: str, cand: CandidateTool, history: Sequence[HistoryItem], use_history: bool = True) -> dict[str, Any]:
    """Arguments for ``cand`` (see the module docstring for the rules and their order)."""
    past = past_values(query, history) if use_history else {}
    habit = habitual_optionals(cand, history) if use_history else set()
    qwords = set(words(query))
    quoted = [m.group(1) for m in _QUOTED.finditer(query)]
    out: dict[str, Any] = {}
    used: set[str] = set()
    params = [(p, True) for p in cand.required_parameters] + [(p, False) for p in cand.optional_parameters]
    for p, required in params:
        if p.name in past:
            out[p.name] = past[p.name]
            continue
        v = find_value(query, p, quoted, used)
        if v is not None:
            used.add(v)
            out[p.name] = typed(v, p)
        elif required or p.name in habit or (_name_words(p.name) & qwords):
            # required; or optional but named in the request or habitually passed by this user
            out[p.name] = typed(p.default, p) if p.default is not None else ""
    # "from the first ...", "starting at the beginning": a paging offset at its documented zero
    if re.search(r"\b(first|start\w*|beginning)\b", query, re.I):
        for p in cand.optional_parameters:
            if p.name not in out and p.name.lower() in {"offset", "start", "skip"} and str(p.default).strip() == "0":
                out[p.name] = typed(p.default, p)
    # a single remaining quoted phrase belongs to the first required text parameter still on its default
    leftovers = [qs for qs in quoted if qs not in used]
    if len(leftovers) == 1:
        for p in cand.required_parameters:
            if p.name not in past and (p.type or "").upper() != "NUMBER" and str(out.get(p.name, "")) == str(p.default or ""):
                out[p.name] = leftovers[0]
                break
    return out
