"""Stage 02: prompts, JSON replies with retry, the offline stand-in, resumable runs."""

from __future__ import annotations

import json

import pytest

from petool_utils.construction.llm_calls import extract_json, make_llm, run_task, run_tasks
from petool_utils.construction.llm_prompts import read_task, task_messages
from petool_utils.construction.standin import OfflineStandinLLM, as_predicate, humanize
from petool_utils.construction.toolbench import ToolRecord
from petool_utils.construction.understanding import api_doc_payload, understand_tool, understand_tools
from petool_utils.benchmark.data import ToolParameter
from petool_utils.models.base import ChatLLM, ChatResult, LLMError


def _tool(i=0, name="Artist albums", desc="Get artist albums"):
    return ToolRecord(api_id=i, full_name=f"<Music>.<Spotify>.<{name}>", category="Music", tool_name="Spotify",
                      tool_description="Spotify data API. Free plan 100 requests/day.", api_name=name, api_description=desc,
                      required_parameters=[ToolParameter(name="id", type="STRING", description="artist id", default="2w9z")],
                      optional_parameters=[ToolParameter(name="limit", type="NUMBER", description="", default=100)])


class Scripted(ChatLLM):
    """A fake LLM replying from a list (None: the request fails), recording each ``chat_many`` call."""

    name = "scripted"

    def __init__(self, replies):
        self.replies, self.calls, self.batches = list(replies), [], []

    def chat_many(self, requests, on_result=None):
        self.batches.append(len(requests))
        out = []
        for r in requests:
            self.calls.append((r.messages, dict(r.options)))
            text = self.replies.pop(0)
            out.append(ChatResult(text) if text is not None else ChatResult(None, error="HTTP 500 after 7 attempts"))
        return out


@pytest.mark.parametrize("text, value", [
    ('{"a": 1}', {"a": 1}),
    ('Sure!\n```json\n[1, 2]\n```', [1, 2]),
    ('Here it is: {"a": {"b": 2}} hope it helps', {"a": {"b": 2}}),
])
def test_extract_json(text, value):
    assert extract_json(text) == value


def test_extract_json_rejects_prose():
    with pytest.raises(ValueError, match="not valid JSON"):
        extract_json("I cannot help with that")


def test_run_task_retries_with_the_problem_stated():
    llm = Scripted(['{"instruction": "I want', '{"instruction": "I want x", "parameters": {}}'])
    res = run_task(llm, "tool_use_example", {"api_name": "x"}, dict, max_retries=2)
    assert res.ok and res.attempts == 2 and res.value["instruction"] == "I want x"
    retry_messages, retry_opts = llm.calls[1]
    assert retry_opts == {"sample_index": 1}  # a different cache key from the failed request, never sent
    assert retry_messages[2] == {"role": "assistant", "content": '{"instruction": "I want'}
    assert "could not be used" in retry_messages[3]["content"]


def test_run_task_gives_up_after_the_retries():
    llm = Scripted(["no", "[1]", "nope"])
    res = run_task(llm, "tool_use_example", {}, dict, max_retries=2)
    assert not res.ok and res.attempts == 3 and "not valid JSON" in res.error


def test_task_messages_round_trip():
    msgs = task_messages("new_instructions", {"b": 1, "a": [1]})
    assert read_task(msgs) == ("new_instructions", {"a": [1], "b": 1})
    with pytest.raises(ValueError):
        task_messages("nope", {})


def test_standin_derives_fields_from_docs():
    llm = make_llm("offline-standin", ":memory:")
    u = understand_tool(llm, _tool())
    assert u.generator == "offline-standin"
    assert u.functionality == "artist albums: Get artist albums"
    # the provider and how it offers the API, never the category (a functional attribute: see standin.py)
    assert u.non_functional == "Offered by the provider Spotify. Spotify data API. Free plan 100 requests/day."
    assert "Music" not in u.non_functional
    assert set(u.example.parameters) == {"id", "limit"} and u.example.parameters["limit"] == 100
    assert u.example.instruction.startswith("I want to get artist albums with id ")
    assert "Spotify" not in u.example.instruction


@pytest.mark.parametrize("name, words", [("getPetById", "get Pet By Id"), ("products/v2/detail", "products detail"),
                                         ("/alerts/active/area/{area}", "alerts active area"), ("Get_Order", "Get Order")])
def test_humanize(name, words):
    assert humanize(name) == words


@pytest.mark.parametrize("text, pred", [("Returns a single pet", "get a single pet"), ("Searches songs", "search songs"),
                                        ("Live scores of a league", "get live scores of a league"),
                                        ("This endpoint will return all news", "get all news")])
def test_as_predicate(text, pred):
    assert as_predicate(text) == pred


def test_standin_faults_are_seeded_and_named():
    msgs = task_messages("tool_use_example", {"api_name": "a", "required_parameters": []})
    convs = [msgs + [{"role": "assistant", "content": f"bad {i}"}, {"role": "user", "content": "again"}] for i in range(60)]
    a = [OfflineStandinLLM(seed=0, fault_rate=0.5).answer(c) for c in convs]
    b = [OfflineStandinLLM(seed=0, fault_rate=0.5).answer(c) for c in convs]
    assert a == b
    assert 0 < sum(not x.endswith("}") for x in a) < 30  # some cut-off (invalid JSON) replies, not all
    assert all(json.loads(OfflineStandinLLM(seed=0).answer(c)) for c in convs[:10])


def test_standin_content_comes_from_the_task_not_from_the_retries():
    """So that it answers the same in-process and behind a server (which never sees ``sample_index``) and
    however many bad replies came first: every valid reply to a task is the same reply."""
    msgs = task_messages("new_instructions", {"n_items": 1, "tool": {"full_name": "<A>.<B>.<C>", "required_parameters": [
        {"name": "city", "type": "STRING"}]}, "group_tools": [], "existing": []})
    llm = OfflineStandinLLM(seed=0, fault_rate=1.0)  # a fifth of the replies cut off
    first = OfflineStandinLLM(seed=0).answer(msgs)
    replies = {llm.answer(msgs + [{"role": "assistant", "content": f"oops {i}"}, {"role": "user", "content": "again"}],
                          sample_index=i) for i in range(40)}
    valid = {r for r in replies if r.endswith("]")}
    assert len(valid) == 1 and replies - valid  # one valid reply, and some cut-off ones
    assert OfflineStandinLLM(seed=0).answer(msgs, sample_index=5) == first


def test_run_tasks_sends_each_round_at_once_and_equals_one_by_one():
    llm = Scripted(['{"a": 1}', "oops", '{"c": 3}', '{"b": 2}'])
    res = run_tasks(llm, [("tool_use_example", {"i": i}, dict) for i in range(3)], max_retries=2)
    assert llm.batches == [3, 1] and [r.value for r in res] == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert [r.json_retries for r in res] == [0, 1, 0] and llm.calls[3][1] == {"sample_index": 1}
    tasks = [("tool_use_example", {"api_name": f"a{i}", "required_parameters": []}, dict) for i in range(40)]
    faulty = OfflineStandinLLM(seed=2, fault_rate=0.6)
    batched = run_tasks(faulty, tasks, max_retries=3)
    single = [run_task(faulty, *t, max_retries=3) for t in tasks]
    assert [(r.value, r.attempts, r.error) for r in batched] == [(r.value, r.attempts, r.error) for r in single]
    assert sum(r.json_retries for r in batched) > 0


def test_a_request_without_reply_is_not_an_unusable_reply(tmp_path):
    res = run_tasks(Scripted([None]), [("tool_use_example", {}, dict)], max_retries=2)[0]
    assert res.request_failed and res.json_retries == 0 and "HTTP 500" in res.error
    tools = [_tool(i, f"API {i}", f"Does thing {i}") for i in range(2)]
    good = make_llm("offline-standin", tmp_path / "c.sqlite")
    ex0 = good.chat(task_messages("tool_use_example", api_doc_payload(tools[0])))
    with pytest.raises(LLMError, match="1 API"):
        understand_tools(tools, Scripted([ex0, None, json.dumps({"functionality": "f", "non_functional": "n"})]),
                         tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "tools_understood.partial.jsonl").read_text().splitlines()]
    assert [r["full_name"] for r in rows] == [tools[0].full_name]  # the unanswered API is asked again on a rerun


def test_understand_tools_resumes_and_caches(tmp_path):
    tools = [_tool(i, f"API {i}", f"Does thing {i}") for i in range(4)]
    llm = make_llm("offline-standin", tmp_path / "cache.sqlite")
    first, log = understand_tools(tools[:2], llm, tmp_path, progress=False)
    assert llm.misses == 4 and log.n_kept == 2  # two calls per API
    again, _ = understand_tools(tools, llm, tmp_path, progress=False)  # resumes: only the two new APIs are asked
    assert llm.misses == 8 and [t.full_name for t in again] == [t.full_name for t in tools]
    fresh = make_llm("offline-standin", tmp_path / "cache.sqlite")
    (tmp_path / "tools_understood.partial.jsonl").unlink()
    third, _ = understand_tools(tools, fresh, tmp_path, progress=False)
    assert fresh.misses == 0 and fresh.hits == 8 and third == again


def test_unusable_replies_are_counted_not_crashing(tmp_path):
    llm = Scripted(["nope"] * 3)
    kept, log = understand_tools([_tool()], llm, tmp_path, max_retries=2, progress=False)
    assert kept == [] and log.counts == {"llm_reply_unusable": 1} and "not valid JSON" in log.dropped[0].detail
    assert log.json_retries == 2  # counted as stage 05 counts them


def test_json_retries_are_counted_across_a_resumed_run(tmp_path):
    tools = [_tool(i, f"API {i}", f"Does thing {i}") for i in range(60)]
    llm = make_llm("offline-standin", tmp_path / "c.sqlite", fault_rate=0.5)
    _, log = understand_tools(tools, llm, tmp_path / "a", progress=False)
    _, part = understand_tools(tools[:30], make_llm("offline-standin", tmp_path / "d.sqlite", fault_rate=0.5),
                               tmp_path / "b", progress=False)
    _, resumed = understand_tools(tools, make_llm("offline-standin", tmp_path / "e.sqlite", fault_rate=0.5),
                                  tmp_path / "b", progress=False, batch_size=7)
    assert log.json_retries > 0 and resumed.json_retries == log.json_retries


def test_unknown_llm_spec_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="offline-standin"):
        make_llm("gpt4", tmp_path / "c.sqlite")


def test_partial_rows_of_another_generator_are_redone(tmp_path):
    tools = [_tool()]
    partial = tmp_path / "tools_understood.partial.jsonl"
    partial.write_text(json.dumps({"full_name": tools[0].full_name, "failed": "x", "generator": "openai:old"}) + "\n")
    kept, log = understand_tools(tools, make_llm("offline-standin", tmp_path / "c.sqlite"), tmp_path, progress=False)
    assert len(kept) == 1 and log.counts == {"llm_reply_unusable": 0}
