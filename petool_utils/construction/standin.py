"""The offline stand-in for the construction LLM: deterministic answers derived from documentation.

It is a :class:`petool_utils.models.base.ChatLLM` named ``offline-standin`` that reads the JSON input block of
a construction prompt (:mod:`.llm_prompts`) and answers in the format the prompt asks for, so the
stages run, are cached and are parsed exactly as with a real model. It is NOT a language model: its
texts are templates over the API documentation, and every artifact it touches says so in its
``generator`` field.

``fault_rate`` makes a seeded share of its replies faulty in the ways real LLM output is (a reply that
is not JSON, a made-up tool, a parameter outside the schema, the tool named in the instruction, a
repeated item), so the JSON retry and every data filter are exercised and counted offline.

Two seeds, so that the stand-in gives the same artifacts in-process and behind an HTTP server (which
never sees ``sample_index``, a local option): the *content* of a reply is drawn from the task alone (the
system and first user message, and the options that would be sent); whether the reply is cut off (not
JSON) is drawn from the whole conversation, retries included. A retry therefore gets a fresh chance to
be valid, and once valid it is the same reply however many bad replies (the stand-in's or a flaky
server's) came before it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Sequence

from petool_utils.construction.llm_prompts import read_task
from petool_utils.models.base import LOCAL_OPTIONS, ChatLLM, ChatRequest, ChatResult, ResultCallback
from petool_utils.models.spec import ModelSpec

STANDIN_NAME = "offline-standin"

_FAULTS = ("invalid_json", "unknown_tool", "invalid_parameters", "tool_name_leaked", "duplicate")

_WORDS = ("alpha", "harbor", "maple", "orbit", "cobalt", "meadow", "summit", "lantern", "willow", "quartz",
          "river", "atlas", "ember", "falcon", "garnet", "juniper")
_CITIES = ("Lisbon", "Osaka", "Denver", "Nairobi", "Oslo", "Lima", "Hanoi", "Porto", "Austin", "Krakow", "Quito",
           "Dakar", "Tallinn", "Perth", "Montreal", "Seville", "Busan", "Accra", "Cusco", "Bergen")
_TOPICS = ("climate", "robotics", "jazz", "football", "startups", "vaccines", "chess", "gardening", "volcanoes",
           "cycling", "opera", "quantum computing", "beekeeping", "archaeology", "sailing", "photography")


def _h(*parts: Any) -> int:
    """A stable 64-bit hash (Python's ``hash`` is salted per process; this must not be)."""
    s = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.sha256(s.encode("utf-8")).digest()[:8], "big")


def humanize(name: str) -> str:
    """``getPetById`` / ``products/v2/detail`` / ``Get_Order`` -> readable words."""
    s = re.sub(r"\{[^}]*\}", " ", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", s)
    s = re.sub(r"[/_\-.]+", " ", s)
    s = re.sub(r"\bv\d+\b", " ", s)
    return re.sub(r"\s+", " ", s).strip() or name.strip()


def first_sentences(text: str, n: int = 1, max_chars: int = 240) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"[*#`]+", " ", text or "")).strip()
    parts = re.split(r"(?<=[.!?])\s+", text)
    out = " ".join(parts[:n]).strip()
    return out[:max_chars].rstrip()


def synth_value(param: dict[str, Any], key: int) -> Any:
    """A plausible value for a parameter: the documented default when there is one, else by type/name."""
    default = param.get("default")
    if default not in (None, "") and (key % 4 == 0):
        return default
    typ = (param.get("type") or "STRING").upper()
    name = (param.get("name") or "").lower()
    if typ in ("NUMBER", "INTEGER", "INT", "FLOAT"):
        if any(w in name for w in ("lat",)):
            return round(-60 + (key % 12000) / 100, 2)
        if any(w in name for w in ("lon", "lng")):
            return round(-170 + (key % 34000) / 100, 2)
        return 1 + key % 50
    if typ == "BOOLEAN":
        return bool(key % 2)
    if "date" in name:
        return f"2024-{1 + key % 12:02d}-{1 + key % 28:02d}"
    if any(w in name for w in ("city", "location", "place", "address", "country", "region")):
        return _CITIES[key % len(_CITIES)]
    if any(w in name for w in ("query", "q", "keyword", "term", "topic", "search", "text")):
        return _TOPICS[key % len(_TOPICS)]
    if "id" in name:
        return str(100 + key % 9000)
    if "email" in name:
        return f"{_WORDS[key % len(_WORDS)]}@example.org"
    return _WORDS[key % len(_WORDS)]


_VERBS = {"get", "find", "search", "translate", "convert", "look", "list", "fetch", "geocode", "retrieve", "create",
          "delete", "update", "check", "download", "upload", "send", "query", "subscribe", "calculate", "generate",
          "log", "turn", "show", "see", "read", "add", "remove", "set", "validate", "verify", "track", "book",
          "perform", "compute", "receive", "obtain", "access", "analyze", "analyse", "detect", "extract", "recognize",
          "predict", "play", "stream", "post", "register", "count", "compare", "estimate", "scrape", "parse",
          "format", "shorten", "resolve", "encode", "decode", "encrypt", "decrypt", "lookup", "fetch", "display"}
_AS_BASE = {"return": "get", "provide": "get", "give": "get", "this": "get"}


def as_predicate(text: str) -> str:
    """'Returns the X' -> 'get the X'; 'Searches X' -> 'search X'; 'Live scores of X' -> 'get live scores of X'."""
    text = re.sub(r"^(this|the|an?) (endpoint|api|method|service)( will| can| allows you to| lets you)?\s+", "", text, flags=re.I)
    words = text.split()
    if not words:
        return text
    first = words[0].lower().strip(",:;")
    base = first
    if first.endswith(("ches", "shes", "sses", "xes")):
        base = first[:-2]
    elif first.endswith("s") and not first.endswith(("ss", "us", "is")):
        base = first[:-1]
    if base in _AS_BASE:
        return " ".join([_AS_BASE[base]] + words[1:])
    if base in _VERBS:
        return " ".join([base] + words[1:])
    return "get " + text[:1].lower() + text[1:]


def _phrase(doc: dict[str, Any]) -> str:
    """What an API does, as the predicate of 'I want to ...'."""
    desc = first_sentences(doc.get("functionality") or doc.get("api_description") or "")
    desc = re.sub(r"^[^:]{0,80}:\s*", "", desc) if doc.get("functionality") else desc
    text = desc or humanize(doc.get("api_name") or doc.get("full_name", "").rsplit(".<", 1)[-1].rstrip(">"))
    return as_predicate(text.rstrip("."))


def _call_params(doc: dict[str, Any], key: int, with_optional: bool) -> dict[str, Any]:
    params = {p["name"]: synth_value(p, _h(key, p["name"])) for p in doc.get("required_parameters", [])}
    if with_optional:
        for p in doc.get("optional_parameters", []):
            if p.get("default") not in (None, ""):
                params[p["name"]] = p["default"]
    return params


_EXAMPLE_CLOSERS = ("", " for my notes", " for a quick check", " for my dashboard", " for a client", " for a report",
                    " for my app", " this morning", " for a side project", " for my records", " to compare later",
                    " for my research", " before a meeting", " for a demo", " for my newsletter", " for testing")
_OPENERS = ("I want to", "Please", "Could you", "I'd like to", "Help me", "I need to", "Can you", "Let me")
_CLOSERS = ("", " for my project", " right now", " for a report", " before the meeting", " for my team", " today",
            " again")


def _instruction(doc: dict[str, Any], params: dict[str, Any], variant: int | None = None,
                 group: Sequence[dict[str, Any]] = ()) -> str:
    """A first-person request. ``variant`` picks an opening and a closing (None: the plain "I want to ...",
    as the release's tool-use examples read). With ``group`` (the equivalent tools), the wording comes from
    one fixed member, so a request does not betray which tool it was written for; no tool's own name is
    ever written (the prompts forbid it)."""
    phrase_doc = min([doc, *group], key=lambda d: d.get("full_name", "")) if group else doc
    tail = ", ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in list(params.items())[:4])
    opener, closer = ("I want to", "") if variant is None else (
        _OPENERS[variant % len(_OPENERS)], _CLOSERS[(variant // len(_OPENERS)) % len(_CLOSERS)])
    text = f"{opener} {_phrase(phrase_doc)}{closer}" + (f" with {tail}" if tail else "")
    for d in {id(x): x for x in (doc, phrase_doc)}.values():
        tool = d.get("tool_name") or (d["full_name"].split(">.<")[1] if ">.<" in d.get("full_name", "") else "")
        if len(tool.strip()) >= 3:
            text = re.sub(re.escape(tool.strip()), "the service", text, flags=re.I)
    return text + ("?" if opener in ("Could you", "Can you") else ".")


class OfflineStandinLLM(ChatLLM):
    """A deterministic, documentation-derived answerer for the construction prompts (not an LLM)."""

    name = STANDIN_NAME

    @classmethod
    def from_spec(cls, spec: ModelSpec, seed: int = 0, fault_rate: float = 0.0) -> "OfflineStandinLLM":
        if spec.rest:
            raise ValueError(f"{STANDIN_NAME} takes no argument, got {spec.text}")
        return cls(seed=seed, fault_rate=fault_rate)

    def __init__(self, seed: int = 0, fault_rate: float = 0.0):
        self.seed = seed
        self.fault_rate = fault_rate

    def identity(self) -> str:
        return f"{self.name}|seed={self.seed}|faults={self.fault_rate}"

    def describe(self) -> dict[str, Any]:
        return {"backend": STANDIN_NAME, "seed": self.seed, "fault_rate": self.fault_rate,
                "note": "deterministic templates over the API documentation; not a language model"}

    def chat_many(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[ChatResult]:
        out = []
        for i, r in enumerate(requests):
            res = ChatResult(self.answer(r.messages, **dict(r.options)))
            out.append(res)
            if on_result:
                on_result(i, res)
        return out

    def _draw(self, key: int) -> float:
        return (key % 10_000) / 10_000

    def answer(self, messages: list[dict[str, str]], **opts: Any) -> str:
        """The reply to one construction prompt (see the module docstring for what seeds it)."""
        task, payload = read_task(messages)
        sent = {k: v for k, v in opts.items() if k not in LOCAL_OPTIONS}
        conversation = _h(self.seed, "conversation", messages, sent)
        if self._draw(conversation) < self.fault_rate / len(_FAULTS):
            # cut off mid-way; the cut text differs per conversation, so a retry is a new conversation
            return '{"instruction": "I want to ' + format(conversation, "x")[:6]
        key = _h(self.seed, messages[:2], sent)
        fault = None
        if self._draw(key) < self.fault_rate * (len(_FAULTS) - 1) / len(_FAULTS):
            fault = _FAULTS[1 + (key // 10_000) % (len(_FAULTS) - 1)]
        answer = getattr(self, f"_{task}")(payload, key, fault)
        return json.dumps(answer, ensure_ascii=False)

    # -- the four tasks ---------------------------------------------------------------------------
    def _tool_use_example(self, doc: dict[str, Any], key: int, fault: str | None) -> dict[str, Any]:
        # the plain "I want to ..." of the release's examples, with a closing drawn from the request: an LLM
        # asked about two providers with the same documentation (a corpus's clones) words their examples
        # apart, and a parameterless call would otherwise read the same for both, so a query reusing one
        # example would also be the other's disliked history item (the release: 16 of 514 queries are both)
        params = _call_params(doc, key, with_optional=True)
        closer = _EXAMPLE_CLOSERS[(key // 7) % len(_EXAMPLE_CLOSERS)]
        return {"instruction": _instruction(doc, params).rstrip(".") + closer + ".", "parameters": params}

    def _tool_description(self, doc: dict[str, Any], key: int, fault: str | None) -> dict[str, Any]:
        name = re.sub(r"^get\s+", "", humanize(doc["api_name"]).lower()) or humanize(doc["api_name"]).lower()
        desc = first_sentences(doc.get("api_description", ""), n=2)
        functionality = f"{name}: {desc}" if desc else f"{name}."
        tool_desc = first_sentences(doc.get("tool_description", ""), n=2)
        # the provider, not its category: the category is what a tool does (the prompt asks for the non-functional
        # side "without restating the function"), and naming it made a tool's non-functional neighbours tools
        # of its own category (the fidelity table's row "adjacent tools of one category": 0.48 on the dev-slice
        # corpus with the category named, against the release's 0.065; see docs/construction.md)
        bits = [f"Offered by the provider {doc['tool_name'].strip()}."]
        if tool_desc:
            bits.append(tool_desc)
        if doc.get("pricing"):
            bits.append(f"Pricing: {doc['pricing']}.")
        if doc.get("home_url"):
            bits.append(f"Documented at {doc['home_url']}.")
        return {"functionality": functionality, "non_functional": " ".join(bits)}

    def _new_instructions(self, p: dict[str, Any], key: int, fault: str | None) -> list[dict[str, Any]]:
        doc, existing, group = p["tool"], set(p.get("existing", [])), p.get("group_tools", [])
        out: list[dict[str, Any]] = []
        for i in range(int(p["n_items"]) * 4):
            if len(out) == int(p["n_items"]):
                break
            # the release's new requests call an API with the parameters of its tool-use example (477 of the
            # 512 dev-slice references whose API occurs in some history use exactly that parameter set)
            params = _call_params(doc, _h(key, "new", i), with_optional=True)
            text = _instruction(doc, params, _h(key, "text", i) % 64, group)
            if text not in existing and all(text != o["instruction"] for o in out):
                out.append({"instruction": text, "parameters": params})
        items = [{"instruction": o["instruction"], "tool_call": {"tool_name": doc["full_name"], "parameters": o["parameters"]}} for o in out]
        items = self._inject(items, fault, doc)
        return [{"instruction": it["instruction"], "parameters": it["tool_call"]["parameters"], **({"tool_name": it["tool_call"]["tool_name"]} if it["tool_call"]["tool_name"] != doc["full_name"] else {})} for it in items]

    @staticmethod
    def _inject(items: list[dict[str, Any]], fault: str | None, doc: dict[str, Any]) -> list[dict[str, Any]]:
        if not items or fault is None:
            return items
        it = json.loads(json.dumps(items[-1]))
        if fault == "unknown_tool":
            it["tool_call"]["tool_name"] = it["tool_call"]["tool_name"].replace(">.<", ">.<Unknown ", 1)
        elif fault == "invalid_parameters":
            it["tool_call"]["parameters"]["undocumented_option"] = "yes"
        elif fault == "tool_name_leaked":
            tool = doc["full_name"].split(">.<")[1]
            it["instruction"] = it["instruction"].rstrip(".") + f" using {tool}."
        elif fault == "duplicate":
            return items + [items[-1]]
        return items[:-1] + [it]

