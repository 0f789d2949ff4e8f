"""The ranker's fitted prior: what other users' interaction histories teach, as a versioned artifact.

A prior is learned from *training* entries' interaction histories only (never from a reference call)
and written to a JSON file, so the population a ranker used is a thing one can name, hash, ship and
inspect instead of whatever batch happened to be evaluated. It holds two things:

* ``votes``: per setting and provider, how many users' histories like it and how many reject it
  (:data:`VOTE_RULE` says exactly how a history votes). This is the population prior that decides
  when a user's own history is silent; the popularity audit (:mod:`petool_utils.evaluation.ranker_audit`) measures how much of the
  benchmark it alone solves.
* ``calls``: the de-duplicated (instruction, call) pairs of those histories. The parameter filler
  learns value conventions from them (which optional parameters a call carries, how values are
  written) and recognises a request that other users made before (:mod:`.conventions`).

``petool ranker fit --data TRAIN... --out prior.json`` writes one; ``offline:ranker@prior.json``
reads it. A missing or malformed file is an error naming the file and the field.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from pydantic import BaseModel, Field, ValidationError

from petool_utils import SETTINGS, __version__
from petool_utils.benchmark.data import Entry
from petool_utils.io import atomic_write_json
from petool_utils.predictors.ranker.preference import provider_evidence
from petool_utils.predictors.ranker.text import tool_part
from petool_utils.benchmark.locate import locate_benchmark, per_setting_files
from petool_utils.benchmark.data import load_benchmark
from petool_utils.io import file_sha256

SCHEMA_VERSION = 1
PRIOR_KIND = "petool-ranker-prior"

VOTE_RULE = (
    "One vote per (user, setting, provider), read from that setting's interaction history alone: the ranker's "
    "own-history evidence (preference.provider_evidence: preferred, a used provider is liked; ratings, +1 per "
    "liked and -3 per disliked call; chronological, a provider last used in the oldest third of the history is "
    "abandoned) is computed for every provider the history names; a positive score is a like, a negative one a "
    "dislike. A user is one entry (entry_id); reference calls are never read."
)


class ProviderVotes(BaseModel):
    """Users whose history likes / rejects one provider in one setting."""

    likes: int = Field(0, ge=0)
    dislikes: int = Field(0, ge=0)

    @property
    def net(self) -> int:
        return self.likes - self.dislikes


class PriorSource(BaseModel):
    """One file the prior was fitted on: its path as given, its sha256, how many entries it held."""

    path: str
    sha256: str | None = None
    n_entries: int = Field(ge=0)


class HistoryCall(BaseModel):
    """One (instruction, call) pair of the training histories, with how many history items carried it."""

    instruction: str
    tool_name: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(1, ge=1)


class RankerPrior(BaseModel):
    """The artifact ``petool ranker fit`` writes (schema version 1)."""

    kind: Literal["petool-ranker-prior"] = PRIOR_KIND
    schema_version: Literal[1] = SCHEMA_VERSION
    petool_version: str = __version__
    vote_rule: str = VOTE_RULE
    sources: list[PriorSource] = Field(default_factory=list)
    n_users: dict[str, int] = Field(default_factory=dict)
    """Users (entries) with a non-empty history, per setting."""
    votes: dict[str, dict[str, ProviderVotes]] = Field(default_factory=dict)
    """setting -> provider (the ``<Tool>`` of ``<Cat>.<Tool>.<API>``) -> votes."""
    calls: list[HistoryCall] = Field(default_factory=list)

    def net_votes(self, setting: str) -> dict[str, int]:
        """``provider -> likes - dislikes`` for one setting (empty for ``none`` or an unknown setting)."""
        return {p: v.net for p, v in self.votes.get(setting, {}).items()}

    def summary(self) -> dict[str, Any]:
        """What a manifest records about the prior (small; never the calls themselves)."""
        return {"schema_version": self.schema_version, "petool_version": self.petool_version,
                "sources": [s.model_dump() for s in self.sources], "n_users": dict(self.n_users),
                "n_providers": {s: len(v) for s, v in self.votes.items()}, "n_calls": len(self.calls)}


def fit_prior(entries: Iterable[Entry], settings: Sequence[str] = SETTINGS,
              sources: Sequence[PriorSource] = ()) -> RankerPrior:
    """Count the votes and collect the (instruction, call) pairs of these entries' histories.

    Deterministic: the same entries give the same file byte for byte (providers and calls sorted).
    A user seen twice (the same ``entry_id``) votes once.
    """
    seen: set[tuple[str, str]] = set()
    votes: dict[str, dict[str, list[int]]] = {s: {} for s in settings}
    n_users = {s: 0 for s in settings}
    calls: dict[tuple[str, str, str], int] = {}
    for e in entries:
        for s in settings:
            key = (s, str(e.entry_id))
            if key in seen:
                continue
            seen.add(key)
            hist = e.history(s)
            if not hist:
                continue
            n_users[s] += 1
            for provider, score in provider_evidence(hist, s).score.items():
                counts = votes[s].setdefault(provider, [0, 0])
                counts[0 if score > 0 else 1] += score != 0
            for h in hist:
                k = (h.instruction, h.tool_call.tool_name, json.dumps(h.tool_call.parameters, sort_keys=True, ensure_ascii=False))
                calls[k] = calls.get(k, 0) + 1
    return RankerPrior(
        sources=list(sources),
        n_users=n_users,
        votes={s: {p: ProviderVotes(likes=c[0], dislikes=c[1]) for p, c in sorted(v.items())} for s, v in votes.items()},
        calls=[HistoryCall(instruction=i, tool_name=t, parameters=json.loads(p), count=n)
               for (i, t, p), n in sorted(calls.items())],
    )


def write_prior(prior: RankerPrior, path: str | os.PathLike[str]) -> Path:
    """Write the artifact atomically (a reader never sees half a prior)."""
    return atomic_write_json(path, prior.model_dump(mode="json"), indent=1)


def read_prior(path: str | os.PathLike[str]) -> RankerPrior:
    """Read and validate a prior; every problem names the file, and a bad field its location."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: ranker prior not found (write one with `petool ranker fit --data TRAIN --out {path}`)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a ranker prior: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: not a ranker prior: expected a JSON object, got {type(raw).__name__}")
    if raw.get("kind") != PRIOR_KIND:
        raise ValueError(f"{path}: not a ranker prior: field 'kind' is {raw.get('kind')!r}, expected {PRIOR_KIND!r}")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: field 'schema_version' is {raw.get('schema_version')!r}; this petool reads "
                         f"version {SCHEMA_VERSION} (refit the prior with `petool ranker fit`)")
    try:
        return RankerPrior.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ValueError(f"{path}: field '{where}': {err['msg']}") from exc


def benchmark_sources(data: str | os.PathLike[str]) -> list[Path]:
    """The files a ``--data`` argument stands for: the file itself, the benchmark file a folder holds,
    or the release's three per-setting files."""

    p = locate_benchmark(data)
    per = per_setting_files(p) if p.is_dir() else None
    return sorted(per.values()) if per else [p]


def fit_prior_files(data: Sequence[str | os.PathLike[str]], settings: Sequence[str] = SETTINGS) -> RankerPrior:
    """``petool ranker fit``: load each training benchmark, fit one prior over all of them, record
    every source file with its sha256."""

    entries: list[Entry] = []
    sources: list[PriorSource] = []
    for d in data:
        loaded = load_benchmark(d)
        files = benchmark_sources(d)
        for f in files:
            sources.append(PriorSource(path=str(f), sha256=file_sha256(f), n_entries=len(loaded) if len(files) == 1 else 0))
        entries.extend(loaded)
    return fit_prior(entries, settings, sources)


def provider_of(tool_name: str) -> str:
    """The voting unit of a tool name (its provider); re-exported so callers need one import."""
    return tool_part(tool_name)
