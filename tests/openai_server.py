"""A loopback OpenAI-compatible chat server for tests and benchmarks, with seeded fault injection.

``POST /v1/chat/completions`` answers with a deterministic tool call: the first candidate listed in the
system prompt, with empty parameters (see :func:`expected_answer`); a construction prompt (``TASK: ...``)
is answered by the offline stand-in's own generator (``standin=``), so the artifacts of a construction run
over HTTP are known: those of the in-process ``offline-standin`` run. ``POST /v1/embeddings`` returns
deterministic vectors (a hashed bag of words, :func:`hashed_embedding`). Faults (429 with Retry-After, 500, a
reply slower than the client's timeout, a slow reply inside it, a reply trickled a few bytes at a time, a
connection dropped mid-body, a huge reply, a malformed body, a 400, a reply that is not JSON) are drawn per
request from a hash of (seed, request key, attempt number for that key), so a given prompt meets the same faults in the same
order whatever the arrival order of concurrent requests. The request key is a hash of the messages; the
server counts requests per key, outcomes per kind and the largest number of requests in flight.

Run standalone (the benchmark does): ``python tests/openai_server.py --latency 0.1`` prints the port.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request  # module level: FastAPI resolves the handler's annotations here
from fastapi.responses import JSONResponse, Response, StreamingResponse

FAKE_KEY = "sk-test-XXXXXXXXXXXXXXXXXXXXXXXX"
"""The key tests send (and look for in every artifact: it must be in none)."""
CANDIDATES_MARK = "Available tools you can call with input parameters are listed here:\n"
FORMAT_MARK = "\n\nGenerate your tool call"


def request_key(messages: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:20]


def expected_answer(messages: list[dict[str, Any]]) -> str:
    """The reply for these messages: the first candidate of the system prompt, no parameters."""
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    try:
        i = system.index(CANDIDATES_MARK) + len(CANDIDATES_MARK)
        cands = json.loads(system[i : system.index(FORMAT_MARK, i)])
        name = cands[0]["tool_name"]
    except (ValueError, KeyError, IndexError, TypeError):
        name = "<none>"
    return json.dumps({"tool_name": name, "parameters": {}})


@dataclass
class Faults:
    """Rates (0..1) of each injected fault; the rest are normal replies after ``latency`` seconds."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    rate_malformed: float = 0.0
    rate_400: float = 0.0
    rate_401: float = 0.0
    rate_404: float = 0.0
    rate_non_json: float = 0.0
    """A 200 reply whose content is prose, not the JSON asked for (goes down the construction's JSON retry)."""
    rate_reset: float = 0.0
    """Headers and half the body, then the connection is dropped (a reset mid-body)."""
    rate_slow: float = 0.0
    """A normal reply after ``slow_reply_delay`` seconds (slow, but inside the client's deadline)."""
    rate_trickle: float = 0.0
    """A normal reply sent a few bytes every ``trickle_interval`` seconds (never idle long enough for a
    per-read timeout, so only a deadline on the whole reply stops it)."""
    rate_huge: float = 0.0
    """A 200 reply whose content is ``huge_bytes`` long (a runaway generation)."""
    echo_auth: bool = False
    """Append the request's Authorization header to every reply (a server that leaks the key)."""
    latency: float = 0.0
    slow_delay: float = 3.0
    slow_reply_delay: float = 0.5
    retry_after: str = "0"
    """The Retry-After header of a 429 (seconds)."""
    trickle_interval: float = 0.2
    huge_bytes: int = 1 << 20
    huge_streamed: bool = False
    """Send the huge reply chunked, without a Content-Length, so only counting what arrives can stop it."""
    seed: int = 0

    def draw(self, key: str, attempt: int) -> str:
        h = hashlib.sha256(f"{self.seed}:{key}:{attempt}".encode()).digest()
        u = int.from_bytes(h[:8], "big") / 2**64
        for kind, rate in (("429", self.rate_429), ("500", self.rate_500), ("timeout", self.rate_timeout),
                           ("malformed", self.rate_malformed), ("400", self.rate_400), ("401", self.rate_401),
                           ("404", self.rate_404), ("non_json", self.rate_non_json), ("reset", self.rate_reset),
                           ("slow", self.rate_slow), ("trickle", self.rate_trickle), ("huge", self.rate_huge)):
            if u < rate:
                return kind
            u -= rate
        return "ok"


@dataclass
class Stats:
    per_key: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    auth: Counter = field(default_factory=Counter)
    inflight: int = 0
    max_inflight: int = 0
    options: list = field(default_factory=list)
    """Each request body without its messages (what generation options reached the server)."""

    @property
    def total(self) -> int:
        return sum(self.per_key.values())


TASK_MARK = "TASK: "
NON_JSON_REPLY = "Sorry, I cannot produce that right now. Could you rephrase the request?"
EMBED_DIM = 64


def hashed_embedding(text: str, dim: int = EMBED_DIM) -> list[float]:
    """A deterministic unit vector: each lower-cased word adds +-1 at a hashed position."""
    v = [0.0] * dim
    for w in text.lower().split():
        h = hashlib.sha256(w.encode()).digest()
        v[h[0] % dim] += 1.0 if h[1] % 2 else -1.0
    n = sum(x * x for x in v) ** 0.5 or 1.0
    return [x / n for x in v]


class MidBodyReset(Exception):
    """Raised inside a streamed reply to drop the connection half-way (uvicorn aborts it)."""


class _QuietResets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], MidBodyReset))


async def _stream(kind: str, data: bytes, faults: Faults):
    """The body of a streamed reply: half then a reset, a trickle of 16-byte pieces, or 64 KiB chunks."""
    if kind == "reset":
        yield data[: len(data) // 2]
        await asyncio.sleep(0)
        raise MidBodyReset("connection dropped mid-body (injected)")
    step = 16 if kind == "trickle" else 1 << 16
    for i in range(0, len(data), step):
        if kind == "trickle":
            await asyncio.sleep(faults.trickle_interval)
        yield data[i : i + step]


def build_app(faults: Faults, stats: Stats, standin: Any = None):
    app = FastAPI()

    @app.get("/v1/_stats")
    async def stats_view():
        """The counters, for a client in another process (the load benchmark)."""
        return JSONResponse({"per_key": dict(stats.per_key), "outcomes": dict(stats.outcomes),
                             "max_inflight": stats.max_inflight})

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        body = await request.json()
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        stats.outcomes["embeddings"] += 1
        return JSONResponse({"object": "list", "model": body.get("model", "loopback"),
                             "data": [{"object": "embedding", "index": i, "embedding": hashed_embedding(t)}
                                      for i, t in enumerate(texts)],
                             "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        messages = body.get("messages", [])
        key = request_key(messages)
        stats.per_key[key] += 1
        stats.auth[request.headers.get("authorization", "")] += 1
        stats.options.append({k: v for k, v in body.items() if k != "messages"})
        kind = faults.draw(key, stats.per_key[key])
        stats.outcomes[kind] += 1
        stats.inflight += 1
        stats.max_inflight = max(stats.max_inflight, stats.inflight)
        try:
            if faults.latency:
                await asyncio.sleep(faults.latency)
            if kind == "429":
                return JSONResponse({"error": {"message": "rate limited", "type": "rate_limit"}}, status_code=429,
                                    headers={"retry-after": faults.retry_after})
            if kind == "500":
                return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, status_code=500)
            if kind == "400":
                return JSONResponse({"error": {"message": "bad request", "type": "invalid_request"}}, status_code=400)
            if kind == "401":
                return JSONResponse({"error": {"message": "Incorrect API key provided", "type": "invalid_api_key"}},
                                    status_code=401)
            if kind == "404":
                return JSONResponse({"error": {"message": "The model does not exist", "type": "not_found"}},
                                    status_code=404)
            if kind == "malformed":
                return Response('{"id": "chatcmpl-x", "choices": [{"mess', media_type="application/json")
            if kind == "timeout":
                # Slower than the client's timeout; stop early once the client has hung up.
                end = time.monotonic() + faults.slow_delay
                while time.monotonic() < end:
                    await asyncio.sleep(0.05)
                    if await request.is_disconnected():
                        return Response(status_code=499)
            if kind == "slow":
                await asyncio.sleep(faults.slow_reply_delay)
            user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
            if kind == "huge":
                content = "x" * faults.huge_bytes
            elif kind == "non_json":
                content = NON_JSON_REPLY
            elif standin is not None and user.startswith(TASK_MARK):
                content = standin.answer(messages)
            else:
                content = expected_answer(messages)
            if faults.echo_auth:
                content += " (you sent " + request.headers.get("authorization", "") + ")"
            reply = {
                "id": f"chatcmpl-{key}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "loopback"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            if kind in ("reset", "trickle") or (kind == "huge" and faults.huge_streamed):
                return StreamingResponse(_stream(kind, json.dumps(reply).encode(), faults), media_type="application/json")
            return JSONResponse(reply)
        finally:
            stats.inflight -= 1

    return app


_QUIET_RESETS = _QuietResets()


class LoopbackServer:
    """uvicorn in a daemon thread on 127.0.0.1, random free port. ``base_url`` ends in ``/v1``."""

    def __init__(self, faults: Faults | None = None, standin: Any = None):
        self.faults = faults or Faults()
        self.standin = standin
        self.stats = Stats()
        self._server = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LoopbackServer":
        import uvicorn

        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP; without it every
        # reply waits ~40 ms for a delayed ACK (Nagle), which would dominate any throughput measurement
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(build_app(self.faults, self.stats, self.standin), log_level="warning", access_log=False,
                                timeout_graceful_shutdown=1, backlog=2048)
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_QUIET_RESETS)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("loopback server did not start")
            time.sleep(0.02)
        return self

    def reset_stats(self) -> None:
        self.stats.per_key.clear()
        self.stats.outcomes.clear()
        self.stats.auth.clear()
        self.stats.options.clear()
        self.stats.max_inflight = 0

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--standin-seed", type=int, default=None,
                    help="answer construction prompts with OfflineStandinLLM(seed=...)")
    ap.add_argument("--standin-fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="", help="Faults fields as JSON, e.g. '{\"rate_429\": 0.01, \"slow_delay\": 5}'")
    args = ap.parse_args(argv)
    standin = None
    if args.standin_seed is not None:
        from petool_utils.construction.standin import OfflineStandinLLM

        standin = OfflineStandinLLM(seed=args.standin_seed, fault_rate=args.standin_fault_rate)
    faults = Faults(**{"latency": args.latency, "seed": args.seed, **(json.loads(args.faults) if args.faults else {})})
    srv = LoopbackServer(faults, standin=standin).start()
    print(srv.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
