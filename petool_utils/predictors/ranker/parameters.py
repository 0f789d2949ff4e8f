"""Parameters: fill the chosen API's arguments from the request, the past calls and the documentation.

Benchmark requests are written from an API's example call, and the interaction histories are made of
exactly such (request, call) pairs. So the filler first asks the pairs (:mod:`.conventions`), and
reads values out of the text only when no pair answers:

1. **Same request** (``same_request``): a past call of this API whose instruction is the same request
   (:func:`~.conventions.norm_request`) is repeated; the user's own calls come first, then other users'
   (only with a fitted prior), a call of the very same tool before one of another provider, then the
   most frequent.
2. **Paraphrase** (``paraphrase``): a past call of this API whose every informative value the request
   states (:func:`~.conventions.supported`) and which accounts for every value-like token of the
   request (quoted phrases, numbers, IDs) is repeated; the one stating the most values wins.
3. **Reading the text**:
   a. a value of the parameter's code list (the values past calls gave it, the documented example,
      and the values its description lists, ``documented_codes``) that the request states, in the
      form the calls write it (``code_lists``);
   b. the documented example value, if the request contains it literally;
   c. a country or language name, inside the example's template (``lang_en`` -> ``lang_fr``) or as
      the kind of code the documented example uses; the one date the request states, in the
      example's date format (``example_formats``, :mod:`.binder`);
   d. the span binder (``span_binding``, :func:`~.binder.bind`): the request's remaining value spans
      go to the remaining parameters, every (parameter, span) pair scored by the name parts (or their
      abbreviations) and description words around the span, bound best first; off, the older rule:
      the first value after a word of the name ("page 3", "ID 12345"), or before one ("3 days"), or a
      quoted phrase after one;
   e. a required parameter still without a value takes its documented example, else ``""``.
   An optional parameter without a value is sent when a word of its name is in the request and not
   already taken by a parameter that got a value (``consumed_words``), when this user sent it in a
   past call of the API (``own_habits``), or when most past calls of the API send it
   (``learned_inclusion``: then with the value they agree on, else the documented one). A single
   quoted phrase left over goes to the first required text parameter still on its default.
4. **Types**: a number goes as a JSON number or as a string the way past calls of the API send that
   parameter (``learned_types``), else by the documented type (``NUMBER`` -> integer, decimals
   truncated as the benchmark's own calls do).

Which of the switchable rules are on was chosen by group-disjoint cross-validation on the dev slice
(``benchmarks/ranker_tables.py``); see docs/ranker.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Sequence

from petool_utils.benchmark.data import CandidateTool, ToolParameter
from petool_utils.predictors.ranker.binder import bind, code_in_template, date_like, dates_in, format_like
from petool_utils.predictors.ranker.conventions import (
    COUNTRIES,
    LANGUAGES,
    NUMBER_WORDS,
    CallBook,
    ParamConvention,
    PastCall,
    api_key,
    compatible,
    conventions,
    covers,
    documented_codes,
    informative,
    norm_request,
    quoted_phrases,
    supported,
    value_tokens,
)
from petool_utils.predictors.ranker.text import STOPWORDS, words

ORDINALS = NUMBER_WORDS


@dataclass(frozen=True)
class FillerRules:
    """Switchable rules of the filler (all on by default; ablations and the CV selection turn them off)."""

    same_request: bool = True
    paraphrase: bool = True
    code_lists: bool = True
    learned_inclusion: bool = True
    learned_types: bool = True
    documented_codes: bool = True
    own_habits: bool = True
    span_binding: bool = True
    """Values go to parameters by the span binder (:mod:`.binder`: every (parameter, span) pair scored
    by the name parts, abbreviations and description words around the span, bound best first); off:
    each parameter in documented order takes the first value after a word of its name."""
    span_min_score: float = 0.5
    """``span_binding``: the least pair score that binds (:data:`~.binder.MIN_SCORE`)."""
    span_description_weight: float = 0.5
    """``span_binding``: what a description word next to a span counts (a name part counts 1)."""
    consumed_words: bool = True
    """An optional parameter without a value is sent when a word of its name is in the request and
    not already taken by a parameter that got a value (its name's words or its value's); off: any
    word of its name in the request."""
    example_formats: bool = True
    """Values are written in the format of the documented example (:func:`~.binder.format_like`,
    :func:`~.binder.code_in_template`)."""
    min_calls: int = 3
    """``learned_inclusion``: conventions need at least this many distinct past calls of the API."""
    inclusion_threshold: float = 0.5
    """``learned_inclusion``: send an optional parameter the request is silent on when at least this
    share of the API's past calls send it."""

    def switches(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_RULES = FillerRules()

_TOKEN = re.compile(r"[^\s,;()]+")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_ORDINAL_SUFFIX = re.compile(r"^(\d+)(?:st|nd|rd|th)$", re.I)


def typed(value: Any, p: ToolParameter, conv: ParamConvention | None = None) -> Any:
    """Type a value: as past calls of the API send this parameter (numbers as JSON numbers or as
    strings) when they agree, else by the documented type: ``NUMBER`` values that read as numbers become
    JSON integers (decimals truncated, as the benchmark's own calls send them: longitude ``-73.45``
    goes as ``-73``); everything else stays as it is, strings stripped."""
    if isinstance(value, bool):
        return value
    s = value.strip() if isinstance(value, str) else value
    is_num = isinstance(s, (int, float)) or (isinstance(s, str) and bool(_NUMBER.match(s)))
    if conv is not None and is_num and conv.n_int != conv.n_str:
        if conv.n_str > conv.n_int:
            return s if isinstance(s, str) else str(s)
        return int(float(s))
    if (p.type or "").upper() != "NUMBER":
        return s
    if isinstance(s, (int, float)):
        return int(s)
    if is_num:
        return int(float(s)) if "." in s else int(s)
    return s


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


def code_list_value(query: str, p: ToolParameter, conv: ParamConvention | None, used: set[str],
                    documented: bool = True) -> Any:
    """The longest value of the parameter's code list (past calls' values, the documented example, and
    with ``documented`` the values its description lists) that the request states, in the form the
    calls or the documentation write it."""
    values: list[Any] = []
    if conv is not None:
        values.extend(conv.examples[k] for k, _ in conv.values.most_common())
    if p.default is not None:
        values.append(p.default)
    if documented:
        values.extend(documented_codes(p.description))
    best, best_len = None, 0
    for v in values:
        if not informative(v) or not isinstance(v, str) or str(v) in used:
            continue
        if supported(v, query) and len(v) > best_len:
            best, best_len = v, len(v)
    return best


def find_literal(query: str, p: ToolParameter, formats: bool = True) -> str | None:
    """Rules 3b-3c: the documented example when the request states it literally; else (with
    ``formats``) a country or language the request names inside the example's template (``lang_en``
    -> ``lang_fr``, :func:`~.binder.code_in_template`) or the one date it states in the example's
    date format (:func:`~.binder.date_like`); else a country or language as the kind of code the
    documentation uses."""
    q = query.lower()
    d = p.default
    if d is not None and not isinstance(d, bool) and str(d).strip():
        ds = str(d).strip()
        if len(ds) >= 2 and re.search(rf"(?<![\w]){re.escape(ds.lower())}(?![\w])", q):
            return ds
    if formats:
        c = code_in_template(query, p)
        if c is not None:
            return c
        if d is not None and not isinstance(d, bool):
            found = dates_in(query)
            if len(found) == 1:  # one date stated: written as the example writes dates
                c = date_like(str(d), found[0], query)
                if c is not None:
                    return c
    return code_for(query, p)


def find_near(query: str, p: ToolParameter, quoted: list[str], used: set[str]) -> str | None:
    """Rule 3d without the span binder (``FillerRules(span_binding=False)``): the first value after
    or right before a word of the parameter's name, or a quoted phrase after one."""
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


def _documented(cand: CandidateTool) -> list[tuple[ToolParameter, bool]]:
    return [(p, True) for p in cand.required_parameters] + [(p, False) for p in cand.optional_parameters]


def _pick(calls: Sequence[PastCall], cand: CandidateTool) -> PastCall:
    """Own calls first, then calls of the very same tool, then the most frequent; then the first seen."""
    return max(enumerate(calls), key=lambda ic: (ic[1].own, ic[1].tool_name == cand.tool_name, ic[1].count, -ic[0]))[1]


def same_request_call(query: str, cand: CandidateTool, books: Sequence[CallBook]) -> PastCall | None:
    """Rule 1: a past call of this API made for the same request."""
    hits = [c for b in books for c in b.same_request(query) if compatible(c, cand)]
    return _pick(hits, cand) if hits else None


def paraphrase_call(query: str, cand: CandidateTool, books: Sequence[CallBook]) -> PastCall | None:
    """Rule 2: a past call of this API that states nothing the request does not, and leaves out nothing
    it does (every value-like token of the request is one of the call's values)."""
    tokens = value_tokens(query)
    key = api_key(cand.tool_name)
    best, best_key = None, None
    for b in books:
        for i, c in enumerate(b.of_api(key)):
            if not compatible(c, cand):
                continue
            vals = [v for v in c.parameters.values() if informative(v)]
            if not vals or not all(supported(v, query) for v in vals):
                continue
            if not all(covers(vals, t) for t in tokens):
                continue
            k = (len(vals), c.own, c.tool_name == cand.tool_name, c.count)
            if best_key is None or k > best_key:
                best, best_key = c, k
    return best


def _complete(call: PastCall, cand: CandidateTool) -> dict[str, Any]:
    """A past call's arguments for this candidate; required parameters it lacks take their documented value."""
    out = dict(call.parameters)
    for p in cand.required_parameters:
        if p.name not in out:
            out[p.name] = typed(p.default, p) if p.default is not None else ""
    return out


def fill_parameters(query: str, cand: CandidateTool, history: Sequence = (), use_history: bool = True,
                    population: CallBook | None = None, rules: FillerRules = DEFAULT_RULES,
                    pair_model: Any = None) -> dict[str, Any]:
    """Arguments for ``cand`` (the module docstring gives the rules and their order).

    ``history``: the user's own interaction history in this setting (pairs in the prompt);
    ``population``: other users' pairs from a fitted prior (None: no population); ``pair_model``: a
    :class:`~.binder.PairModel` scoring the binder's pairs instead of the hand-set scores (a design check).
    """
    books: list[CallBook] = []
    if use_history and history:
        books.append(history if isinstance(history, CallBook) else CallBook.from_history(history))
    if population is not None and len(population):
        books.append(population)
    if books and rules.same_request:
        c = same_request_call(query, cand, books)
        if c is not None:
            return _complete(c, cand)
    if books and rules.paraphrase:
        c = paraphrase_call(query, cand, books)
        if c is not None:
            return _complete(c, cand)
    conv = conventions(cand, books) if books else {}
    own_books = [b for b in books if b is not population]
    habit = set()
    if own_books and rules.own_habits:
        key = api_key(cand.tool_name)
        for b in own_books:
            for c in b.of_api(key):
                habit |= set(c.parameters)
    qwords = set(words(query))
    quoted = quoted_phrases(query)
    out: dict[str, Any] = {}
    used: set[str] = set()
    found: dict[str, Any] = {}
    documented = _documented(cand)
    for p, _ in documented:
        v: Any = None
        if rules.code_lists:
            v = code_list_value(query, p, conv.get(p.name), used, rules.documented_codes)
        if v is None:
            v = find_literal(query, p, rules.example_formats)
        if v is None and not rules.span_binding:
            v = find_near(query, p, quoted, used)
        if v is not None:
            used.add(str(v))
            found[p.name] = v
    if rules.span_binding:
        for name, v in bind(query, [p for p, _ in documented if p.name not in found], used,
                            rules.span_min_score, rules.span_description_weight, pair_model).items():
            used.add(v)
            found[name] = v
    free = qwords
    if rules.consumed_words:
        # a word of the request names one parameter: the name words of the parameters that took a
        # value, and the words of their values, name no other one
        byname = {p.name: p for p, _ in documented}
        taken = {w for n, v in found.items() for w in (*_name_words(byname[n].name), *words(str(v)))}
        free = qwords - taken
    for p, required in documented:
        pc = conv.get(p.name)
        tconv = pc if rules.learned_types else None
        if p.name in found:
            v = found[p.name]
            if rules.example_formats and isinstance(v, str):
                v = format_like(v, p.default)
            out[p.name] = typed(v, p, tconv)
            continue
        if rules.learned_inclusion and pc is not None and pc.n_calls >= rules.min_calls and not required:
            if pc.presence >= rules.inclusion_threshold:
                const, cv = pc.constant()
                out[p.name] = cv if const else (typed(p.default, p, tconv) if p.default is not None else "")
                continue
            if pc.n_present == 0 and p.name not in habit:
                continue  # the API's callers never send it: not even when the request names it
        if required or p.name in habit or (_name_words(p.name) & free):
            # required; or optional but named in the request or habitually passed by this user
            out[p.name] = typed(p.default, p, tconv) if p.default is not None else ""
    # "from the first ...", "starting at the beginning": a paging offset at its documented zero
    if re.search(r"\b(first|start\w*|beginning)\b", query, re.I):
        for p in cand.optional_parameters:
            if p.name not in out and p.name.lower() in {"offset", "start", "skip"} and str(p.default).strip() == "0":
                out[p.name] = typed(p.default, p, conv.get(p.name) if rules.learned_types else None)
    # a single remaining quoted phrase belongs to the first required text parameter still on its default
    leftovers = [qs for qs in quoted if qs not in used]
    if len(leftovers) == 1:
        for p in cand.required_parameters:
            if (p.type or "").upper() != "NUMBER" and str(out.get(p.name, "")) == str(p.default or ""):
                out[p.name] = leftovers[0]
                break
    return out
