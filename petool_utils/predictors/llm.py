"""``LLMPredictor``: the benchmark prompt for any :class:`~petool_utils.models.base.ChatLLM`.

Every LLM is evaluated the same way: the authors' message layout (system = the setting's prompt, user =
the query), the same generation options (the paper's temperature 0.1 and 256 new tokens unless told
otherwise), each request able to shed its oldest history items when a backend knows its context
limit. Answers stream out as the backend finishes them, so the engine writes each one at once and a
killed run loses only the requests in flight.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Mapping, Sequence

from petool_utils.benchmark.data import Entry
from petool_utils.benchmark.prompts import entry_messages, trim_descriptions
from petool_utils.models.base import ChatLLM, ChatRequest, ChatResult, LLMError
from petool_utils.predictors.base import Answer, Predictor

DEFAULT_GEN_OPTS: dict[str, Any] = {"temperature": 0.1, "max_tokens": 256}
"""The paper's decoding for evaluation (greedy at 0.1 on local models, see the hf backend)."""


DESCRIPTION_CAPS = (1000, 500, 250, 120, 60, 0)
"""Characters each candidate description keeps, step by step, once the whole history is gone and the
prompt is still over budget (``benchmark.prompts.trim_descriptions``)."""


def shrink_info(k: int, history_items: int) -> dict[str, Any]:
    """What shrink step ``k`` of :func:`entry_request` did: history items dropped, and the description cap
    (None: descriptions whole)."""
    cap = DESCRIPTION_CAPS[k - history_items - 1] if k > history_items else None
    return {"history_dropped": min(k, history_items), "description_cap": cap}


def entry_request(entry: Entry, setting: str, options: Mapping[str, Any]) -> ChatRequest:
    """The chat request of one entry in one setting, able to shrink to fit a budget.

    Shrink step ``k`` drops the ``k`` oldest history items; past the whole history, each further step
    cuts every candidate's descriptions to the next of :data:`DESCRIPTION_CAPS`. The query, the
    candidates' names and parameters, and the answer are never cut. The one rule of training, DPO
    sampling and evaluation (``models.context.fit_history`` picks the fewest steps that fit).
    """
    history = entry.history(setting)
    n = len(history)

    def shrink(k: int) -> list[dict[str, str]]:
        if k <= n:
            return entry_messages(entry, setting, history=history[k:])
        cap = DESCRIPTION_CAPS[k - n - 1]
        return entry_messages(entry, setting, history=[], candidates=trim_descriptions(entry.candidates, cap))

    return ChatRequest(
        messages=entry_messages(entry, setting),
        options=dict(options),
        shrink=shrink,
        max_drop=n + len(DESCRIPTION_CAPS),
        describe=lambda k: shrink_info(k, n),
    )


class _RenderedOnDemand(Sequence[ChatRequest]):
    """The jobs' requests, each rendered when the backend reaches it: a streaming backend has its first
    requests on the wire while the later prompts are still to be rendered (a few hundred microseconds
    each, which for a thousand prompts was a tenth of a fast run)."""

    def __init__(self, jobs: Sequence[tuple[Entry, str]], options: Mapping[str, Any]):
        self.jobs, self.options = jobs, options
        self.cancelled = False

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, i: int) -> ChatRequest:  # type: ignore[override]
        if self.cancelled:  # ends a streaming backend's iteration: nothing more is sent
            raise IndexError(i)
        entry, setting = self.jobs[i]
        return entry_request(entry, setting, self.options)


class LLMPredictor(Predictor):
    """Any chat backend as a predictor. ``gen_opts`` are merged over :data:`DEFAULT_GEN_OPTS` and sent
    with every request (they are part of each request's cache key)."""

    def __init__(self, llm: ChatLLM, gen_opts: Mapping[str, Any] | None = None):
        self.llm = llm
        self.gen_opts = {**DEFAULT_GEN_OPTS, **dict(gen_opts or {})}
        self.name = llm.name

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "gen_opts": dict(self.gen_opts), "llm": self.llm.describe()}

    def answer_jobs(self, jobs: Sequence[tuple[Entry, str]]) -> Iterator[tuple[int, Answer]]:
        """Every request at once through the backend (in a worker thread); each answer is handed over as
        its callback fires, so the caller can write it at once."""
        if not jobs:
            return
        requests = _RenderedOnDemand(jobs, self.gen_opts)
        q: queue.Queue = queue.Queue()
        done = object()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.llm.chat_many(requests, on_result=lambda i, r: q.put((i, r)))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)
            finally:
                q.put(done)

        worker = threading.Thread(target=work, name=f"{self.name}-requests", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    break
                i, res = item
                yield i, _answer(res)
        finally:
            # the caller stopped early (a write the disk refused, an interrupt): send nothing more
            requests.cancelled = True
        worker.join()
        if failure:
            raise failure[0]

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        """Raw responses in entry order; a request that failed after all retries raises :class:`LLMError`."""
        out: list[str | None] = [None] * len(entries)
        for i, ans in self.answer_jobs([(e, setting) for e in entries]):
            if ans.error is not None:
                raise LLMError(f"{self.name}: entry {entries[i].entry_id}: {ans.error}")
            out[i] = ans.text
        return [x or "" for x in out]

    def close(self) -> None:
        self.llm.close()


def _answer(res: ChatResult) -> Answer:
    info = {"latency_s": res.latency_s, "attempts": res.attempts, "cached": res.cached, **res.info}
    return Answer(res.text if res.error is None else None, res.error, info)
