"""The span binder: which value of the request goes to which parameter, read as a careful person would.

A request states its arguments as value spans (a number, a number word, an ID, a quoted phrase) next
to the words that say what they are ("a maximum price of 800000", "20 items per response", "the
second page"). A parameter is named by its name's parts (``maximumPrice``: maximum, price), which
may be abbreviations of the request's words (``qty`` <- quantity, ``dest`` <- destination, ``lng`` <-
longitude), and by its documented description ("The number of items per response"). So every
(parameter, span) pair gets a score from the cue words around the span: a name part counts 1, a
description word 0.5, less the farther away and less across a comma; a number's cue may follow it
("3 days", "20 items per response"), a text's only precedes it ("keyword 'bikini top'", "user
ab_12": in "'summer' starting from the 5th" the start is the 5th); a span's type must fit the
parameter's (a ``NUMBER`` takes only numbers; a ``BOOLEAN`` takes no span). The pairs are then bound
best first, each span and each parameter once, so "maximum price of 800000" goes to ``maximumPrice``
(two name parts) and not to ``maximumBedrooms`` (one).

The module also writes a value in the format of the API's own example (:func:`format_like`): the case
of a code (``BLACK``, ``us``), a language or country code inside a template (``lang_en`` -> ``lang_fr``),
and a date in the example's field order and separators.

Nothing here is a list of cases from the benchmark: the cue rules are about words, the abbreviation
rule is a subsequence test, the weights are round numbers; the binding threshold and the description
weight were chosen from a small grid by group-disjoint cross-validation on the dev slice, and a
logistic pair model fitted the same way did not beat them on a held-out fold (docs/ranker.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from petool_utils.benchmark.data import ToolParameter
from petool_utils.predictors.ranker.conventions import COUNTRIES, LANGUAGES, NUMBER_WORDS, quoted_phrases
from petool_utils.predictors.ranker.text import STOPWORDS, words

NAME_WEIGHT = 1.0
DESCRIPTION_WEIGHT = 0.5
DISTANCE_DECAY = 0.3
"""A cue ``d`` tokens from the span counts ``1 / (1 + DISTANCE_DECAY * (d - 1))`` of its weight."""
COMMA_FACTOR = 0.5
"""A cue on the other side of a comma or semicolon counts half (another clause, usually another value)."""
WINDOW_BEFORE = 4
WINDOW_AFTER = 3
MIN_SCORE = 0.5
"""A pair is bound only from this score on: one name part up to four tokens away, or one description
word right next to the span (chosen by group-disjoint cross-validation, :func:`~.ablation.select_binder`)."""

GENERIC_DESCRIPTION = frozenset(
    """value field return endpoint json object parameter filter one following separated comma multiple example
    ex default leave empty ignore number pass time type code string id item result data api right this
    in specify specified whether true false only allowed param e g eg""".split())
"""Description words that say nothing about which span is meant (they recur in every description)."""

_TOKEN = re.compile(r"[^\s;()]+")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$", re.I)


@dataclass(frozen=True)
class Span:
    """A value-like piece of the request: ``value`` as it would be sent, tokens ``start``..``end``."""

    value: str
    start: int
    end: int
    numeric: bool


@dataclass(frozen=True)
class _Tok:
    text: str
    words: tuple[str, ...]
    clause: int
    """Index of the comma-separated clause the token is in."""


def abbreviates(part: str, word: str) -> bool:
    """Whether a name part is the word or an abbreviation of it: the same first letter and the part's
    letters in order inside the word (``qty`` quantity, ``dest`` destination, ``num`` number,
    ``lng`` longitude). Parts under three letters must equal the word."""
    if part == word:
        return True
    if len(part) < 3 or len(word) <= len(part) or part[0] != word[0]:
        return False
    it = iter(word)
    return all(ch in it for ch in part)


@lru_cache(maxsize=50_000)
def _tokens(query: str) -> tuple[_Tok, ...]:
    out, clause = [], 0
    for raw in _TOKEN.findall(query):
        text = raw.strip(".,!?'\"‘’“”#:").lstrip("$€£")
        out.append(_Tok(text, words(text), clause))
        if raw.endswith((",", ";")):
            clause += 1
    return tuple(out)


@lru_cache(maxsize=50_000)
def request_spans(query: str) -> tuple[Span, ...]:
    """The value spans of a request, in order: quoted phrases, numbers (digits, ordinals, number
    words), and ID-like tokens (a digit, or mixed case or ``_:/`` inside a word)."""
    toks = _tokens(query)
    spans: list[Span] = []
    taken: set[int] = set()
    for phrase in quoted_phrases(query):
        pw = phrase.split()
        for i in range(len(toks)):
            if [t.text for t in toks[i : i + len(pw)]] == [w.strip(".,!?'\"‘’“”#:") for w in pw] and i not in taken:
                spans.append(Span(phrase.strip(), i, i + len(pw) - 1, False))
                taken.update(range(i, i + len(pw)))
                break
    for i, t in enumerate(toks):
        if i in taken or not t.text:
            continue
        s = t.text.rstrip(",")
        m = _ORDINAL.match(s)
        if m:
            spans.append(Span(m.group(1), i, i, True))
        elif _NUMBER.match(s):
            spans.append(Span(s, i, i, True))
        elif s.lower() in NUMBER_WORDS:
            spans.append(Span(str(NUMBER_WORDS[s.lower()]), i, i, True))
        elif any(ch.isdigit() for ch in s) or re.search(r"[a-z][A-Z]|[_:/]", s):
            spans.append(Span(s, i, i, False))
    return tuple(sorted(spans, key=lambda sp: sp.start))


@lru_cache(maxsize=50_000)
def cue_words(name: str, description: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(name parts, description words) that announce a parameter in a request."""
    parts = {w for w in words(name) if w not in STOPWORDS and len(w) > 1}
    if name.lower().endswith("id") or name.lower() == "ids":
        parts.add("id")
    first = re.split(r"(?<=[.!?])\s|\n|\|", description or "", maxsplit=1)[0]
    desc = {w for w in words(first)[:12] if w not in STOPWORDS and w not in GENERIC_DESCRIPTION and len(w) > 2}
    return frozenset(parts), frozenset(desc - parts)


def pair_score(query: str, span: Span, p: ToolParameter, description_weight: float = DESCRIPTION_WEIGHT) -> float:
    """How strongly the words around ``span`` announce parameter ``p`` (0 when its type cannot take it)."""
    ptype = (p.type or "").upper()
    if ptype == "BOOLEAN" or (ptype == "NUMBER" and not span.numeric):
        return 0.0
    names, desc = cue_words(p.name, p.description)
    toks = _tokens(query)
    here = toks[span.start].clause
    hits: dict[tuple[str, str], float] = {}
    after = range(span.end + 1, min(len(toks), span.end + 1 + WINDOW_AFTER)) if span.numeric else range(0)
    window = [*range(max(0, span.start - WINDOW_BEFORE), span.start), *after]
    for j in window:
        d = span.start - j if j < span.start else j - span.end
        near = 1.0 / (1.0 + DISTANCE_DECAY * (d - 1))
        if toks[j].clause != here:
            near *= COMMA_FACTOR
        for u in toks[j].words:
            if u in STOPWORDS:
                continue
            for w in names:
                if abbreviates(w, u):
                    hits[("n", w)] = max(hits.get(("n", w), 0.0), NAME_WEIGHT * near)
            if u in desc:
                hits[("d", u)] = max(hits.get(("d", u), 0.0), description_weight * near)
    return sum(hits.values())


def pair_features(query: str, span: Span, p: ToolParameter) -> list[float]:
    """What a learned pair model (:class:`PairModel`) sees of one (parameter, span) pair: the name and
    description cue sums (as :func:`pair_score` counts them), the share of the name's parts found, the
    nearest name cue's closeness, whether every name cue follows the span, and the types."""
    ptype = (p.type or "").upper()
    names, desc = cue_words(p.name, p.description)
    toks = _tokens(query)
    here = toks[span.start].clause
    name_hit: dict[str, float] = {}
    desc_hit: dict[str, float] = {}
    after_only, crossed = True, 0.0
    lo, hi = max(0, span.start - WINDOW_BEFORE), min(len(toks), span.end + 1 + WINDOW_AFTER)
    for j in [*range(lo, span.start), *range(span.end + 1, hi)]:
        d = span.start - j if j < span.start else j - span.end
        near = 1.0 / (1.0 + DISTANCE_DECAY * (d - 1))
        for u in toks[j].words:
            if u in STOPWORDS:
                continue
            for w in names:
                if abbreviates(w, u) and near > name_hit.get(w, 0.0):
                    name_hit[w] = near
                    after_only = after_only and j > span.end
                    crossed = max(crossed, float(toks[j].clause != here))
            if u in desc:
                desc_hit[u] = max(desc_hit.get(u, 0.0), near)
    return [sum(name_hit.values()), sum(desc_hit.values()), len(name_hit) / max(1, len(names)),
            max(name_hit.values(), default=0.0), float(bool(name_hit) and after_only), crossed,
            float(span.numeric), float(ptype == "NUMBER"), float(ptype == "BOOLEAN"),
            float(ptype == "NUMBER" and not span.numeric)]


class PairModel:
    """A logistic regression over :func:`pair_features`, fitted on (request, call) pairs: a pair is
    positive when the call gives the parameter the span's value. Used by :func:`bind` in place of
    :func:`pair_score` (its probability against ``min_score``); the ranker ships the hand-set scores,
    and the study checks this model against them on held-out folds (docs/ranker.md)."""

    def __init__(self, seed: int = 0):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)

    def fit(self, examples: Sequence[tuple[str, ToolParameter, object]]) -> "PairModel":
        """``examples``: (request, parameter, the value the call gives it, or None when it gives none)."""
        X, y = [], []
        for query, p, value in examples:
            for s in request_spans(query):
                X.append(pair_features(query, s, p))
                y.append(value is not None and _same_value(s.value, value))
        if len(set(y)) < 2:
            raise ValueError("a pair model needs positive and negative pairs")
        self.model.fit(X, y)
        return self

    def __call__(self, query: str, span: Span, p: ToolParameter) -> float:
        return float(self.model.predict_proba([pair_features(query, span, p)])[0, 1])


def _same_value(span_value: str, value: object) -> bool:
    if str(value).strip() == span_value:
        return True
    try:
        return float(str(value)) == float(span_value)
    except ValueError:
        return False


def bind(query: str, params: Sequence[ToolParameter], used: set[str] = frozenset(),
         min_score: float = MIN_SCORE, description_weight: float = DESCRIPTION_WEIGHT,
         scorer: "PairModel | None" = None) -> dict[str, str]:
    """``{parameter name: value}`` for the parameters a span of the request is bound to: every pair
    scored, then bound best first (ties: the earlier parameter, then the earlier span), each span and
    each parameter at most once; a span whose value is in ``used``, or is one item of a used list
    value (``5002`` of ``"5002,6020"``), is already taken."""
    parts = {x for u in used for x in re.split(r"[,;|\s]+", str(u)) if x}
    spans = [s for s in request_spans(query) if s.value not in used and s.value not in parts]
    pairs = []
    for i, p in enumerate(params):
        for s in spans:
            sc = round(scorer(query, s, p) if scorer is not None else pair_score(query, s, p, description_weight), 6)
            if sc >= min_score:
                pairs.append((-sc, i, s.start, p, s))
    pairs.sort(key=lambda t: t[:3])
    out: dict[str, str] = {}
    taken: set[int] = set()
    for _, _, _, p, s in pairs:
        if p.name in out or s.start in taken:
            continue
        out[p.name] = s.value
        taken.add(s.start)
    return out


# ----------------------------------------------------------------------------- formats

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), start=1)}
_ISO = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})$")


def _month(word: str) -> int | None:
    w = word.lower().strip(".,")
    for name, i in _MONTHS.items():
        if len(w) >= 3 and name.startswith(w):
            return i
    return None


def dates_in(query: str) -> list[tuple[int, int, int]]:
    """(year, month, day) of every date the request writes: ``2023-01-15``, ``01/15/2023`` (month
    first unless the first field exceeds 12), ``January 15, 2023``, ``15 January 2023``."""
    out = []
    toks = [t.strip(",.;()") for t in query.split()]
    for i, t in enumerate(toks):
        m = _ISO.match(t)
        if m:
            out.append((int(m.group(1)), int(m.group(3)), int(m.group(4))))
            continue
        m = _DMY.match(t)
        if m:
            a, b = int(m.group(1)), int(m.group(3))
            month, day = (b, a) if a > 12 else (a, b)
            out.append((int(m.group(4)), month, day))
            continue
        mo = _month(t) if t.isalpha() else None
        if mo is not None:
            nxt = toks[i + 1 : i + 3]
            prev = toks[i - 1] if i else ""
            day = re.sub(r"(st|nd|rd|th)$", "", nxt[0]) if nxt else ""
            if day.isdigit() and len(nxt) > 1 and re.fullmatch(r"\d{4}", nxt[1]):
                out.append((int(nxt[1]), mo, int(day)))
            elif re.sub(r"(st|nd|rd|th)$", "", prev).isdigit() and nxt and re.fullmatch(r"\d{4}", nxt[0]):
                out.append((int(nxt[0]), mo, int(re.sub(r"(st|nd|rd|th)$", "", prev))))
    return out


def date_like(example: str, date: tuple[int, int, int], query: str = "") -> str | None:
    """``date`` written as the example writes dates (fields order, separator, zero padding); None when
    the example is not a date, or when ``query`` already writes a date in the example's shape (the
    request's own field order then stands: ``28/01/2021`` after the example ``02/01/2021``, whose
    order the example cannot tell)."""
    y, m, d = date
    e = example.strip()
    shape = re.sub(r"\d", "0", re.sub(r"\d+", lambda mm: "0" * min(len(mm.group(0)), 4), e))
    if query and any(re.sub(r"\d", "0", t.strip(",.;()")) == shape for t in query.split()):
        return None
    iso = re.match(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(.*)$", e)
    if iso:
        sep, rest = iso.group(2), iso.group(5)
        if rest and not re.fullmatch(r"[T ]\d{2}:\d{2}(:\d{2})?Z?", rest):
            return None
        return f"{y:04d}{sep}{m:02d}{sep}{d:02d}{rest}"
    dmy = re.match(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})$", e)
    if dmy:
        sep = dmy.group(2)
        day_first = int(dmy.group(1)) > 12
        a, b = (d, m) if day_first else (m, d)
        return f"{a:02d}{sep}{b:02d}{sep}{y:04d}"
    return None


def _code_tables(name: str) -> list[dict[str, str]]:
    n = name.lower()
    if "lang" in n or "locale" in n or n in {"hl", "lr"}:
        return [LANGUAGES]
    if "country" in n or n in {"gl", "region", "market", "cc"}:
        return [COUNTRIES]
    return []


_ALL_CODES = frozenset(c.lower() for t in (COUNTRIES, LANGUAGES) for c in t.values())


def code_in_template(query: str, p: ToolParameter) -> str | None:
    """A language or country the request names, written in the template of the documented example:
    the one code inside it swapped (``lang_en`` -> ``lang_fr``, ``us`` -> ``ca``), in the example's
    case. None when the example carries no code, or two (a locale like ``de-DE``: which country goes
    with the language the request names is not the example's to say)."""
    example = str(p.default or "").strip()
    tables = _code_tables(p.name)
    if not example or not tables:
        return None
    q = query.lower()
    for table in tables:
        codes = {c.lower() for c in table.values()}
        pieces = re.split(r"([_-])", example)
        at = [i for i, piece in enumerate(pieces) if piece.lower() in codes]
        if len(at) != 1 or any(pc.lower() in _ALL_CODES for k, pc in enumerate(pieces) if k != at[0]):
            return None  # no code, or a locale (``de-DE``) whose country part the request may not give
        for key in sorted(table, key=len, reverse=True):
            if re.search(rf"\b{re.escape(key)}\b", q):
                code = table[key]
                i = at[0]
                new = code.lower() if pieces[i].islower() else code.upper()
                if new.lower() == pieces[i].lower():
                    return example
                pieces[i] = new
                return "".join(pieces)
    return None


def format_like(value: str, example: object) -> str:
    """A one-word value in the case of a documented example that is a code: all capitals (``black``
    -> ``BLACK`` after the example ``WHITE``), or a lower-case code of at most three letters (``US`` ->
    ``us``). Free text keeps the request's case (a keyword example in lower case says nothing)."""
    e = str(example or "").strip()
    if not e or not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]+", value) or not re.fullmatch(r"[A-Za-z_]+", e):
        return value
    if e.isupper() and len(e) >= 2:
        return value.upper()
    if e.islower() and len(e) <= 3 and len(value) <= 3:
        return value.lower()
    return value
