"""DPO pairs from the SFT model's own samples (the paper's recipe).

For each training instruction, K calls are sampled (temperature > 0) and parsed with the robust parser.
chosen = a sampled call of the user's preferred tool (the reference tool; one with the reference
parameters first), else the reference call itself. rejected = a sampled call of a non-preferred tool,
one from the reference's functionality group first; when no sample is wrong, a call built from a
non-preferred tool of the group (the reference parameters under that tool's name). Every pair records
where its two sides came from, and :func:`count_sources` tallies them for the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from petool_utils.benchmark.data import Entry, ToolCall
from petool_utils.benchmark.parsing import parse_robust
from petool_utils.training.records import dpo_record

CHOSEN_SAMPLED = "sampled_preferred"
CHOSEN_REFERENCE = "reference"
REJECTED_SAMPLED_GROUP = "sampled_same_group"
REJECTED_SAMPLED_OTHER = "sampled_other_tool"
REJECTED_CONSTRUCTED = "constructed_from_group"
NO_PAIR = "no_pair"  # nothing wrong was sampled and the group holds no other tool


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


def choose_pair(entry: Entry, samples: Sequence[SampledCall]) -> tuple[ToolCall, ToolCall, dict[str, str]] | None:
    """(chosen, rejected, sources) for one instruction, or ``None`` when no rejected call exists."""
    ref = entry.reference
    calls = [s.call for s in samples if s.call is not None]
    preferred = [c for c in calls if c.tool_name == ref.tool_name]
    exact = [c for c in preferred if c.parameters == ref.parameters]
    if exact or preferred:
        chosen, chosen_src = (exact or preferred)[0], CHOSEN_SAMPLED
    else:
        chosen, chosen_src = ref, CHOSEN_REFERENCE
    group = [n for n in entry.same_func_names if n != ref.tool_name]
    wrong_group = [c for c in calls if c.tool_name in group]
    wrong_other = [c for c in calls if c.tool_name != ref.tool_name and c.tool_name not in group]
    if wrong_group:
        rejected, rej_src = wrong_group[0], REJECTED_SAMPLED_GROUP
    elif wrong_other:
        rejected, rej_src = wrong_other[0], REJECTED_SAMPLED_OTHER
    elif group:
        rejected, rej_src = ToolCall(tool_name=group[0], parameters=dict(ref.parameters)), REJECTED_CONSTRUCTED
    else:
        return None
    return chosen, rejected, {"chosen": chosen_src, "rejected": rej_src}


def build_pairs(entries: Sequence[Entry], settings: Sequence[str], samples: Sequence[Sequence[str]]) -> tuple[list[dict[str, Any]], Counter]:
    """DPO records for every (entry, setting) in entry-major order; ``samples`` aligned with that order."""
    pairs: list[dict[str, Any]] = []
    counts: Counter = Counter()
    keys = [(e, s) for e in entries for s in settings]
    if len(keys) != len(samples):
        raise ValueError(f"{len(samples)} sample lists for {len(keys)} (entry, setting) prompts")
    for (entry, setting), texts in zip(keys, samples):
        parsed = parse_samples(texts)
        counts["samples"] += len(parsed)
        counts["samples_invalid"] += sum(s.call is None for s in parsed)
        counts["samples_preferred_tool"] += sum(s.call is not None and s.call.tool_name == entry.reference.tool_name for s in parsed)
        got = choose_pair(entry, parsed)
        if got is None:
            counts[f"rejected:{NO_PAIR}"] += 1
            continue
        chosen, rejected, src = got
        counts[f"chosen:{src['chosen']}"] += 1
        counts[f"rejected:{src['rejected']}"] += 1
        pairs.append(dpo_record(entry, setting, chosen, rejected, src))
    counts["pairs"] = len(pairs)
    return pairs, counts


def count_sources(pairs: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many pairs took each side from each source (for a pairs file read back from disk)."""
    c: Counter = Counter()
    for p in pairs:
        c[f"chosen:{p['chosen_source']}"] += 1
        c[f"rejected:{p['rejected_source']}"] += 1
    return dict(sorted(c.items()))


def sample_calls(model, tok, prompts: Sequence[list[dict[str, str]]], k: int, temperature: float, top_p: float = 1.0,
                 max_new_tokens: int = 128, seed: int = 0, batch_size: int = 4, progress: bool = True) -> list[list[str]]:
    """K sampled completions per prompt (``do_sample``, ``num_return_sequences=k``, seeded)."""
    if temperature <= 0:
        raise ValueError("DPO sampling needs temperature > 0")
    from petool_utils.training.modeling import generate

    return generate(model, tok, prompts, max_new_tokens=max_new_tokens, num_return_sequences=k, do_sample=True,
                    temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size, progress=progress)
