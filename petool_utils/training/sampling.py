"""DPO pairs from the SFT model's own samples, by the paper's rule.

For each training instruction, K calls are sampled (temperature > 0) through the LLM seam: the hf
backend's ``chat_many`` behind the one response cache, one request per sample (``sample_index``
0..K-1), each prompt fitted to the context the way evaluation fits it. The samples are parsed with the
robust parser, and a pair is chosen by :func:`choose_pair`:

* **chosen**: a sample that matches the reference call exactly (tool and parameters), else the
  reference call itself. A call of the preferred tool with wrong parameters is never chosen: it would
  teach wrong parameters.
* **rejected**: a sampled call of a non-preferred tool of the reference's functionality group (the
  most frequent one), else, with ``sampling.build_rejected`` (on by default, an explicit option), one
  built from the group: a non-preferred group tool (drawn with the seed) called with the reference
  parameters. With it off, such an instruction gives no pair.
* **other tools** only when ``sampling.other_tools: true`` asks for them, and only where the paper's
  rule gives no pair (the group has no other tool): then a sampled call of another candidate tool may be
  the rejected call. A tool that is not among the candidates (a made-up name) is never used.

Every pair records where its two sides came from, and :func:`build_pairs` counts them for the report,
with the share of rejected calls that were sampled and that were built (:func:`rejected_shares`): a
run whose rejected calls are mostly built teaches "not this rival" more than "not your own mistake".
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from petool_utils.benchmark.data import Entry, ToolCall
from petool_utils.benchmark.parsing import parse_robust
from petool_utils.training.records import dpo_record, entry_settings
from petool_utils.predictors.llm import entry_request

CHOSEN_EXACT = "sampled_exact"
CHOSEN_REFERENCE = "reference"
REJECTED_SAMPLED_GROUP = "sampled_same_group"
REJECTED_CONSTRUCTED = "constructed_from_group"
REJECTED_SAMPLED_OTHER = "sampled_other_tool"  # only with sampling.other_tools
NO_PAIR = "no_pair"  # nothing usable: the group has no other tool (and no other tool was allowed or sampled)


@dataclass(frozen=True)
class SampledCall:
    text: str
    call: ToolCall | None  # None: the sample did not parse (counted as invalid, never used)


def parse_samples(texts: Sequence[str]) -> list[SampledCall]:
    out = []
    for t in texts:
        p = parse_robust(t)
        call = ToolCall(tool_name=p.tool_name, parameters=p.parameters) if p.ok and p.tool_name else None
        out.append(SampledCall(t, call))
    return out


def _most_common(calls: Sequence[ToolCall]) -> ToolCall:
    """The call sampled most often (ties: the first sampled): the model's strongest mistake."""
    counts = Counter(c.to_json() for c in calls)
    best = max(counts.values())
    return next(c for c in calls if counts[c.to_json()] == best)


def choose_pair(entry: Entry, samples: Sequence[SampledCall], *, other_tools: bool = False, seed: int = 0,
                setting: str = "", build_rejected: bool = True) -> tuple[ToolCall, ToolCall, dict[str, str]] | None:
    """(chosen, rejected, sources) for one instruction by the rule in the module docstring, or ``None``."""
    ref = entry.reference
    calls = [s.call for s in samples if s.call is not None]
    exact = [c for c in calls if c.tool_name == ref.tool_name and c.parameters == ref.parameters]
    chosen, chosen_src = (exact[0], CHOSEN_EXACT) if exact else (ref, CHOSEN_REFERENCE)
    rivals = sorted({n for n in entry.same_func_names if n != ref.tool_name})
    same_group = [c for c in calls if c.tool_name in rivals]
    if same_group:
        return chosen, _most_common(same_group), {"chosen": chosen_src, "rejected": REJECTED_SAMPLED_GROUP}
    if rivals and build_rejected:
        tool = random.Random(f"{seed}:{entry.entry_id}:{setting}").choice(rivals)
        return chosen, ToolCall(tool_name=tool, parameters=dict(ref.parameters)), {"chosen": chosen_src, "rejected": REJECTED_CONSTRUCTED}
    if other_tools:
        candidates = set(entry.candidate_names) - {ref.tool_name}
        others = [c for c in calls if c.tool_name in candidates]
        if others:
            return chosen, _most_common(others), {"chosen": chosen_src, "rejected": REJECTED_SAMPLED_OTHER}
    return None


def prompt_keys(entries: Sequence[Entry], settings: Sequence[str]) -> list[tuple[Entry, str]]:
    """Every (entry, setting) that gets samples, entry-major: the order of samples and pairs."""
    return [(e, s) for e in entries for s in entry_settings(e, settings)]


def build_pairs(entries: Sequence[Entry], settings: Sequence[str], samples: Sequence[Sequence[str]], *,
                other_tools: bool = False, seed: int = 0, build_rejected: bool = True) -> tuple[list[dict[str, Any]], Counter]:
    """DPO records for every (entry, setting) of :func:`prompt_keys`; ``samples`` aligned with them."""
    pairs: list[dict[str, Any]] = []
    counts: Counter = Counter()
    keys = prompt_keys(entries, settings)
    if len(keys) != len(samples):
        raise ValueError(f"{len(samples)} sample lists for {len(keys)} (entry, setting) prompts")
    for (entry, setting), texts in zip(keys, samples):
        parsed = parse_samples(texts)
        counts["samples"] += len(parsed)
        counts["samples_invalid"] += sum(s.call is None for s in parsed)
        counts["samples_exact"] += sum(s.call is not None and s.call.tool_name == entry.reference.tool_name
                                       and s.call.parameters == entry.reference.parameters for s in parsed)
        counts["samples_preferred_tool"] += sum(s.call is not None and s.call.tool_name == entry.reference.tool_name for s in parsed)
        got = choose_pair(entry, parsed, other_tools=other_tools, seed=seed, setting=setting, build_rejected=build_rejected)
        if got is None:
            counts[f"rejected:{NO_PAIR}"] += 1
            continue
        chosen, rejected, src = got
        counts[f"chosen:{src['chosen']}"] += 1
        counts[f"rejected:{src['rejected']}"] += 1
        pairs.append(dpo_record(entry, setting, chosen, rejected, src))
    counts["pairs"] = len(pairs)
    return pairs, counts


def count_sources(pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How many pairs took each side from each source (for a pairs file read back from disk)."""
    c: Counter = Counter()
    for p in pairs:
        c[f"chosen:{p['chosen_source']}"] += 1
        c[f"rejected:{p['rejected_source']}"] += 1
    c["pairs"] = len(pairs)
    return {**dict(sorted(c.items())), "rejected_shares": rejected_shares(c)}


SAMPLED_REJECTED = (REJECTED_SAMPLED_GROUP, REJECTED_SAMPLED_OTHER)


def rejected_shares(counts) -> dict[str, float | None]:
    """Of the pairs' rejected calls, the share sampled from the model (``sampled_same_group``,
    ``sampled_other_tool``), built from the group (``constructed_from_group``) and taken from the
    authors' released pairs; None when there is no pair."""
    pairs = int(counts.get("pairs", 0))
    if not pairs:
        return {"sampled": None, "built": None, "released": None}
    sampled = sum(int(counts.get(f"rejected:{s}", 0)) for s in SAMPLED_REJECTED)
    return {"sampled": round(sampled / pairs, 4),
            "built": round(int(counts.get(f"rejected:{REJECTED_CONSTRUCTED}", 0)) / pairs, 4),
            "released": round(int(counts.get("rejected:released", 0)) / pairs, 4)}


def sample_requests(keys: Sequence[tuple[Entry, str]], num_samples: int, options: dict[str, Any]):
    """K requests per prompt (``sample_index`` 0..K-1), each able to shed its oldest history items."""

    if float(options.get("temperature", 0)) <= 0.1:
        raise ValueError("DPO sampling needs temperature > 0.1 (the hf backend decodes greedily at or below 0.1)")
    return [entry_request(e, s, {**options, "sample_index": i}) for e, s in keys for i in range(num_samples)]


def sample_calls(llm, keys: Sequence[tuple[Entry, str]], num_samples: int, options: dict[str, Any]) -> tuple[list[list[str]], dict[str, int]]:
    """K sampled completions per prompt through ``llm.chat_many`` (one generation loop, one cache).

    A failed request counts as an empty (invalid) sample. Returns the samples and what the backend
    reported: history items dropped to fit the context, failures, cache hits.
    """
    requests = sample_requests(keys, num_samples, options)
    results = llm.chat_many(requests)
    stats = Counter()
    texts: list[str] = []
    for r in results:
        texts.append(r.text if r.ok else "")
        stats["requests"] += 1
        stats["failed"] += 0 if r.ok else 1
        stats["cached"] += int(r.cached)
        stats["requests_shortened"] += int(bool(r.info.get("history_dropped")) or r.info.get("description_cap") is not None)
    out = [texts[i * num_samples: (i + 1) * num_samples] for i in range(len(keys))]
    return out, dict(stats)
