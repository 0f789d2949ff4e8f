"""How requests reach an OpenAI-compatible server: streamed (the first answers arrive before the last
prompt is rendered), deduplicated within a stream, bounded in flight, and with the collector kept off
the loaded benchmark while they run. Against the loopback server, not a mock of the client."""

from __future__ import annotations

import gc
from typing import Any, Iterator, Sequence

import pytest
from hypothesis import given, strategies as st

from petool_utils.evaluation.engine import evaluate
from petool_utils.models.base import ChatRequest, ChatResult
from petool_utils.models.cache import CachedLLM
from petool_utils.models.openai_backend import OpenAIBackend, RetryPolicy, completion_text
from petool_utils.predictors.base import Answer, Predictor
from openai_server import Faults, LoopbackServer, expected_answer

FAST_RETRY = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def srv(monkeypatch):
    server = LoopbackServer(Faults(latency=0.03)).start()
    for var in ("PETOOL_OPENAI_BASE_URL", "PETOOL_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-streaming")
    yield server
    server.stop()


def _messages(tag: str) -> list[dict[str, str]]:
    """A prompt whose expected answer is the first candidate, ``<t>.<tag>``; distinct per tag."""
    system = ("Available tools you can call with input parameters are listed here:\n"
              f'[{{"tool_name": "<t>.<{tag}>"}}]\n\nGenerate your tool call')
    return [{"role": "system", "content": system}, {"role": "user", "content": tag}]


class Logged(Sequence[ChatRequest]):
    """Requests built only when asked for, logging ("render", i) as each is built."""

    def __init__(self, tags: list[str], log: list[tuple[str, int]]):
        self.tags, self.log = tags, log

    def __len__(self) -> int:
        return len(self.tags)

    def __getitem__(self, i: int) -> ChatRequest:  # type: ignore[override]
        if not 0 <= i < len(self.tags):
            raise IndexError(i)
        self.log.append(("render", i))
        return ChatRequest(_messages(self.tags[i]), {"temperature": 0.0})


def test_the_first_answers_arrive_before_the_last_prompt_is_rendered(srv, tmp_path):
    log: list[tuple[str, int]] = []
    tags = [f"api{i}" for i in range(12)]
    llm = CachedLLM(OpenAIBackend("m", concurrency=2, retry=FAST_RETRY), tmp_path / "c.sqlite")
    got = llm.chat_many(Logged(tags, log), on_result=lambda i, r: log.append(("answer", i)))
    assert [r.text for r in got] == [expected_answer(_messages(t)) for t in tags]
    first_answer = next(k for k, ev in enumerate(log) if ev[0] == "answer")
    last_render = log.index(("render", 11))
    assert first_answer < last_render, log  # streamed, not rendered all up front
    # at most the two requests in flight plus one rendered ahead are ever waiting for an answer
    for k in range(len(log)):
        rendered = sum(1 for ev in log[: k + 1] if ev[0] == "render")
        answered = sum(1 for ev in log[: k + 1] if ev[0] == "answer")
        assert rendered - answered <= 3, log[: k + 1]
    assert srv.stats.max_inflight <= 2
    assert sorted(i for ev, i in log if ev == "answer") == list(range(12))  # each answered once


def test_identical_requests_in_a_stream_are_sent_once_and_each_answered(srv, tmp_path):
    # index 1 arrives while its twin (0) is in flight; index 3 after it was answered
    tags = ["a", "a", "b", "a", "c", "b"]
    answered: list[int] = []
    llm = CachedLLM(OpenAIBackend("m", concurrency=1, retry=FAST_RETRY), tmp_path / "c.sqlite")
    got = llm.chat_many(Logged(tags, []), on_result=lambda i, r: answered.append(i))
    assert [r.text for r in got] == [expected_answer(_messages(t)) for t in tags]
    assert sorted(answered) == list(range(len(tags)))
    assert srv.stats.total == 3 and (llm.misses, llm.hits) == (3, 0)
    again = llm.chat_many(Logged(tags, []))  # now every one is a cache hit: nothing is sent
    assert [r.cached for r in again] == [True] * len(tags) and srv.stats.total == 3


class _Probe(Predictor):
    """Records the collector's frozen-object count while it answers."""

    name = "offline:probe"

    def __init__(self) -> None:
        self.frozen_while_answering: list[int] = []

    def predict(self, entries, setting):  # pragma: no cover - answer_jobs is what the engine calls
        raise NotImplementedError

    def answer_jobs(self, jobs) -> Iterator[tuple[int, Answer]]:
        for j in range(len(jobs)):
            self.frozen_while_answering.append(gc.get_freeze_count())
            yield j, Answer('{"tool_name": "x", "parameters": {}}')


def test_the_loaded_benchmark_is_kept_from_the_collector_only_while_requests_run(bench_entries, tmp_path):
    before = gc.get_freeze_count()
    probe = _Probe()
    evaluate("offline:probe", bench_entries[:3], ["preferred"], tmp_path, predictor=probe, progress=False)
    assert len(probe.frozen_while_answering) == 3
    assert min(probe.frozen_while_answering) > before  # the entries and modules were frozen
    assert gc.get_freeze_count() == before  # and given back to the collector afterwards


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(
                         ["choices", "message", "content", "role"]), kids, max_size=3), max_leaves=12)


@given(body=_json)
def test_completion_text_is_the_content_or_a_retryable_error(body: Any):
    try:
        text = completion_text(body)
    except ValueError:
        return
    assert text == body["choices"][0]["message"]["content"] and isinstance(text, str)


def test_completion_text_of_a_real_completion():
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": '{"tool_name": "x"}'}}]}
    assert completion_text(body) == '{"tool_name": "x"}'
    for bad in ("<html>busy</html>", {"error": {"message": "overloaded"}}, {"choices": []},
                {"choices": [{"message": {"content": None}}]}):
        with pytest.raises(ValueError, match="malformed completion"):
            completion_text(bad)


def test_a_backend_without_streaming_still_gets_every_request(tmp_path):
    """The default ``chat_stream`` drains the stream and calls ``chat_many`` (here: one that never
    calls back), so the cache's deduplication works for every backend."""
    from petool_utils.models.base import ChatLLM

    class Echo(ChatLLM):
        name = "echo"
        calls: list[int] = []

        def chat_many(self, requests, on_result=None):
            self.calls.append(len(requests))
            return [ChatResult(r.messages[-1]["content"]) for r in requests]

    backend = Echo()
    got = CachedLLM(backend, tmp_path / "c.sqlite").chat_many(Logged(["x", "y", "x"], []))
    assert [r.text for r in got] == ["x", "y", "x"] and backend.calls == [2]
