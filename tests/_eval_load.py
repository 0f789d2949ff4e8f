"""The load check shared by ``make test`` (2,000 requests) and benchmarks/eval_load.py (20,000): many requests
at high concurrency against the loopback server with 5% faults of every kind, and what must hold after.

The faults, 1% each, drawn per (prompt, attempt) so a rerun meets the same ones: a 429 with ``Retry-After: 1``,
a 500, a connection reset half-way through the body, a slow reply (inside the deadline) and a reply slower
than the deadline (a timeout). What is checked, from the prediction files and the server's own counters:

* every (entry, setting) has exactly one line, answered with the reply meant for its prompt or recorded
  failed (an error set, no response);
* no duplicate requests beyond retries: the server saw no distinct prompt more often than its line's
  ``attempts`` says, and none that no line answers (an attempt abandoned at its deadline before the server
  read it is counted apart, as not reaching the server);
* resident memory: sampled as answers arrive; the peak, and the growth from the first to the last 10%.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Sequence

from openai_server import expected_answer, request_key

from petool_utils import ALL_SETTINGS
from petool_utils.benchmark.data import Entry
from petool_utils.benchmark.prompts import entry_messages
from petool_utils.evaluation.engine import evaluate, make_predictor
from petool_utils.models.openai_backend import RetryPolicy
from petool_utils.predictors.base import Predictor

LOAD_FAULTS: dict[str, Any] = {"latency": 0.25, "rate_429": 0.01, "retry_after": "1", "rate_500": 0.01, "rate_reset": 0.01,
                               "rate_slow": 0.01, "slow_reply_delay": 0.5, "rate_timeout": 0.01, "slow_delay": 6.0}
"""Every reply takes 250 ms (so 128 requests really are in flight at once); 5% meet a fault; a timed-out reply
comes after 6 s, past the 2 s deadline and its 4 s retry."""
TIMEOUT_S = 2.0
RETRY = RetryPolicy(max_retries=6, base_delay=0.05, max_delay=2.0)


def rss_bytes() -> int:
    """This process's resident set now (``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Metered(Predictor):
    """A predictor passed through, with the resident set sampled every ``every`` answers."""

    def __init__(self, inner: Predictor, every: int):
        self.inner, self.every, self.name = inner, max(1, every), inner.name
        self.samples: list[tuple[int, int]] = []

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        return self.inner.predict(entries, setting)

    def answer_jobs(self, jobs: Sequence[tuple[Entry, str]]) -> Iterator[tuple[int, Any]]:
        self.samples.append((0, rss_bytes()))
        for k, item in enumerate(self.inner.answer_jobs(jobs), 1):
            if k % self.every == 0:
                self.samples.append((k, rss_bytes()))
            yield item

    def close(self) -> None:
        self.inner.close()


def server_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/_stats", timeout=30) as resp:
        return json.loads(resp.read())


def run_load(entries: Sequence[Entry], base_url: str, work: Path, concurrency: int = 128) -> dict[str, Any]:
    """Evaluate ``entries`` in the four settings through ``openai:load-model`` at ``base_url`` (the loopback
    server with :data:`LOAD_FAULTS`, fresh counters); check what must hold (AssertionError otherwise) and
    return the figures."""
    n_jobs = len(entries) * len(ALL_SETTINGS)
    before = server_stats(base_url)
    assert not before["per_key"], "the server must start with fresh counters"
    inner = make_predictor("openai:load-model", concurrency=concurrency, cache_path=work / "cache.sqlite",
                           timeout=TIMEOUT_S, retry=RETRY)
    metered = Metered(inner, every=max(1, n_jobs // 200))
    t0 = time.perf_counter()
    try:
        paths = evaluate("openai:load-model", entries, ALL_SETTINGS, work / "out", concurrency=concurrency,
                         progress=False, predictor=metered)
    finally:
        metered.close()
    wall = time.perf_counter() - t0
    stats = server_stats(base_url)

    # exactly one line per (entry, setting), answered right or recorded failed
    attempts_by_key: dict[str, int] = {}
    answered = failed = 0
    errors: Counter = Counter()
    for setting, path in paths.items():
        recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        by_id = {r["entry_id"]: r for r in recs}
        assert len(recs) == len(by_id) == len(entries), f"{setting}: {len(recs)} lines, {len(by_id)} ids"
        for e in entries:
            r = by_id[e.entry_id]
            messages = entry_messages(e, setting)
            if r["error"] is None:
                assert r["response"] == expected_answer(messages), (setting, e.entry_id)
                answered += 1
            else:
                assert r["response"] is None
                failed += 1
                errors[r["error"].split(":")[0]] += 1
            key = request_key(messages)
            # identical prompts (one user's query with no history) are sent once and share one line's count
            assert attempts_by_key.setdefault(key, r["attempts"]) == r["attempts"]
    # no duplicate requests beyond retries: the server saw no prompt more often than its line's attempts say,
    # and none that no line answers. (It may have seen one less often: an attempt abandoned at its deadline
    # before the server had read it, which a server kept busy by 128 clients on 2 cores can do.)
    seen = stats["per_key"]
    extra = {k: (n, attempts_by_key.get(k)) for k, n in seen.items() if n > attempts_by_key.get(k, 0)}
    assert not extra, f"requests beyond retries (server count, attempts): {dict(list(extra.items())[:5])}"
    unseen = sum(n - seen.get(k, 0) for k, n in attempts_by_key.items())
    sent = sum(seen.values())
    samples = metered.samples
    tenth = max(1, len(samples) // 10)
    first = sum(r for _, r in samples[:tenth]) / tenth
    last = sum(r for _, r in samples[-tenth:]) / tenth
    return {
        "requests": n_jobs, "distinct_prompts": len(attempts_by_key), "concurrency": concurrency,
        "wall_s": round(wall, 2), "requests_per_s": round(n_jobs / wall, 1),
        "sent": sent, "retries": sum(attempts_by_key.values()) - len(attempts_by_key),
        "attempts_not_reaching_the_server": unseen, "answered": answered, "failed": failed,
        "failed_by_kind": dict(errors), "server_outcomes": stats["outcomes"], "max_inflight": stats["max_inflight"],
        "peak_rss_mb": round(max(r for _, r in samples) / 2**20, 1),
        "rss_first_10pct_mb": round(first / 2**20, 1), "rss_last_10pct_mb": round(last / 2**20, 1),
        "rss_growth_mb": round((last - first) / 2**20, 1),
    }
