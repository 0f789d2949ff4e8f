"""Starting an OpenAI-compatible server on this machine for ``openai:`` specs: ``transformers serve`` on a
model folder, or llama.cpp's server (``llama-cpp-python[server]``) on a GGUF.

Both are other people's servers; petool only starts them, waits until they answer, and stops them with
their whole process group (a server that forks workers must not outlive a benchmark or a test). The
llama.cpp server lives in its own venv (it is built from source and pins its own FastAPI), so it is
started with that venv's Python, never imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

LLAMACPP_PYTHON_ENV = "PETOOL_LLAMACPP_PYTHON"
"""The Python of a venv holding ``llama-cpp-python[server]`` (opt-in tests and the benchmark read it)."""
DEFAULT_LLAMACPP_PYTHON = Path.home() / ".cache" / "petool" / "llamacpp-venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def transformers_serve_argv(port: int, device: str = "cpu") -> list[str]:
    """``transformers serve`` from the running interpreter's environment; it loads the folder named in
    each request's ``model`` field on demand."""
    return [str(Path(sys.executable).parent / "transformers"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--device", device]


def llamacpp_python() -> Path | None:
    """``$PETOOL_LLAMACPP_PYTHON``, else the default venv's Python, if it exists."""
    p = Path(os.environ.get(LLAMACPP_PYTHON_ENV) or DEFAULT_LLAMACPP_PYTHON).expanduser()
    return p if p.exists() else None


def llamacpp_server_argv(python: str | os.PathLike[str], gguf: str | os.PathLike[str], port: int, *, alias: str,
                         n_ctx: int = 16384, n_threads: int = 2) -> list[str]:
    """llama.cpp's server on a GGUF, answering to ``model=alias``. ``n_ctx`` must hold the longest prompt
    plus the answer: the server does not drop history to fit, it refuses."""
    return [str(python), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(n_threads)]


@contextlib.contextmanager
def running_server(argv: Sequence[str], ready_url: str, *, start_timeout: float = 300.0,
                   log: str | os.PathLike[str] | None = None) -> Iterator[subprocess.Popen]:
    """Run ``argv`` in its own process group until ``ready_url`` answers; stop the group on exit.

    Its output goes to ``log`` (or nowhere); a server that exits or does not answer within
    ``start_timeout`` seconds is an error quoting the end of that log."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + start_timeout
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    tail = Path(log).read_text(errors="replace")[-1500:] if log else ""
                    raise RuntimeError(f"{argv[0]} {' '.join(argv[1:3])} did not answer at {ready_url} "
                                       f"(exit code {proc.poll()}): {tail}")
                time.sleep(0.5)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if log:
            out.close()  # type: ignore[union-attr]
