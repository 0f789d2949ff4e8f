"""``petool eval``, ``petool prompts`` and ``petool download``: the evaluation engine from the shell."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.models.openai_backend import DEFAULT_MAX_REPLY_BYTES

HF_DATASET_REPO = "travisxu/PEToolBench"
DEFAULT_SETTINGS = ",".join(SETTINGS)


def parse_settings(text: str) -> list[str]:
    """``"preferred,none"`` -> ``["preferred", "none"]``; unknown names are a usage error."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in ALL_SETTINGS]
    if bad or not items:
        raise typer.BadParameter(f"unknown setting(s) {bad or text!r}; choose from {', '.join(ALL_SETTINGS)}")
    return items


def _load(data: Optional[str], limit: Optional[int]):
    """Entries and the path they came from (a file for the manifest's sha256 when there is one)."""
    from petool_utils.benchmark.data import DataError, load_benchmark
    from petool_utils.benchmark.locate import locate_benchmark

    try:
        p = locate_benchmark(data)  # a file, or a folder in the per-setting layout
        entries = load_benchmark(p, limit=limit)
    except (FileNotFoundError, DataError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return entries, p


def _positive(value: float | None) -> float | None:
    """A positive, finite number of seconds (``inf`` would be no deadline at all, ``nan`` none either)."""
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise typer.BadParameter(f"must be a positive, finite number of seconds, got {value}")
    return value


def eval_cmd(
    model: str = typer.Option(..., "--model", help="openai:<model> | hf:<path>[@<adapter>] | offline:<random|retrieval|history|ranker|popularity>[@<prior.json>|@crossfit:K]"),
    data: Optional[str] = typer.Option(None, "--data", help="benchmark file or folder (default: PETOOL_DATA_DIR, then data/)"),
    settings: str = typer.Option(DEFAULT_SETTINGS, "--settings", help="comma-separated: preferred,ratings,chronological,none"),
    out: Path = typer.Option(Path("runs/cli/predictions"), "--out", help="predictions go to OUT/<model>/<setting>.jsonl"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="first N entries only (N >= 1)"),
    concurrency: int = typer.Option(16, "--concurrency", min=1, help="requests in flight (openai specs)"),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, help="default 0.1 (greedy on hf models)"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="default 256"),
    timeout: float = typer.Option(60.0, "--timeout", callback=_positive,
                                  help="deadline in seconds for a whole reply (openai specs), > 0 and finite; "
                                       "a timed-out request is retried once at twice the deadline"),
    max_reply_bytes: int = typer.Option(DEFAULT_MAX_REPLY_BYTES, "--max-reply-bytes", min=1,
                                        help="a longer reply is a failed request (ReplyTooLargeError), not stored"),
    max_retries: int = typer.Option(6, "--max-retries", min=0, help="retries after the first try on 429/5xx/timeouts"),
    cache: Optional[Path] = typer.Option(None, "--cache", help="SQLite response cache (default OUT/.cache/responses.sqlite)"),
    autocast: str = typer.Option("none", "--autocast", help="hf specs: none | bf16 | auto (bf16 where the CPU/GPU has it)"),
    max_context: Optional[int] = typer.Option(None, "--max-context", min=1,
                                              help="hf specs: prompt tokens allowed before the oldest history is "
                                                   "dropped (default: the adapter's trained budget, else 4000)"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Predict every entry in each setting; rerun the same command to resume or retry failures.

    The server and key of openai specs come from OPENAI_BASE_URL / OPENAI_API_KEY, never from flags.
    """
    from petool_utils.evaluation.engine import RunLockedError, evaluate, summarize
    from petool_utils.models.base import FatalLLMError
    from petool_utils.models.spec import ModelSpec

    chosen = parse_settings(settings)
    try:
        ModelSpec.parse(model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc
    entries, path = _load(data, None)
    gen_opts = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    kw: dict = {}
    if model.startswith("openai:"):
        from petool_utils.models.openai_backend import RetryPolicy

        kw = {"timeout": timeout, "retry": RetryPolicy(max_retries=max_retries), "max_reply_bytes": max_reply_bytes}
    elif model.startswith("hf:"):
        kw = {"autocast": autocast, **({"max_context": max_context} if max_context is not None else {})}
    elif autocast != "none":
        raise typer.BadParameter("only hf: models take --autocast", param_hint="--autocast")
    elif max_context is not None:
        raise typer.BadParameter("only hf: models take --max-context (a server fits nothing: it refuses)",
                                 param_hint="--max-context")
    try:
        paths = evaluate(model, entries, chosen, out, concurrency=concurrency, limit=limit, gen_opts=gen_opts,
                         cache_path=cache, progress=progress, data_path=path, predictor_kwargs=kw)
    except FatalLLMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except Exception as exc:  # a configuration problem (no server, no model, a held lock) is reported, not dumped
        from petool_utils.models.openai_backend import ConfigurationError

        if isinstance(exc, (ConfigurationError, RunLockedError, ValueError, FileNotFoundError, OSError)):
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        raise
    summary = summarize(paths)
    failed = 0
    for s, p in paths.items():
        n, e = summary[s]["lines"], summary[s]["errors"]
        failed += e
        typer.echo(f"{s:14s} {n:6d} predictions  {e:4d} failed  {p}")
    if failed:
        typer.echo(f"{failed} request(s) failed after all retries; run the same command again to retry them.", err=True)
        raise typer.Exit(1)


def prompts_cmd(
    data: Optional[str] = typer.Option(None, "--data", help="benchmark file or folder"),
    settings: str = typer.Option(DEFAULT_SETTINGS, "--settings", help="comma-separated settings"),
    out: Path = typer.Option(Path("requests.jsonl"), "--out", help="OpenAI Batch API input file"),
    model: str = typer.Option("gpt-4o-mini", "--model", help="model name written into each request body"),
    temperature: float = typer.Option(0.1, "--temperature"),
    max_tokens: int = typer.Option(256, "--max-tokens"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="first N entries only (N >= 1)"),
) -> None:
    """Write the exact evaluation requests as OpenAI Batch API lines (custom_id = <entry_id>:<setting>)."""
    from petool_utils.evaluation.batch_requests import batch_lines
    from petool_utils.io import atomic_write_jsonl

    chosen = parse_settings(settings)
    entries, _ = _load(data, limit)
    rows = list(batch_lines(entries, chosen, model=model, temperature=temperature, max_tokens=max_tokens))
    atomic_write_jsonl(out, rows)
    typer.echo(f"{len(rows)} requests -> {out}")


def download_cmd(
    dest: Optional[Path] = typer.Option(None, "--dest", help="target folder (default: PETOOL_DATA_DIR, then data/)"),
    revision: Optional[str] = typer.Option(None, "--revision", help="a branch, tag or commit of the dataset repo"),
) -> None:
    """Fetch the PEToolBench release from the Hugging Face hub (dataset travisxu/PEToolBench)."""
    from petool_utils.benchmark.locate import resolve_data_dir

    target = Path(dest) if dest else resolve_data_dir(None)
    try:
        from huggingface_hub import snapshot_download

        local = snapshot_download(repo_id=HF_DATASET_REPO, repo_type="dataset", local_dir=str(target), revision=revision)
    except Exception as exc:  # offline, unreachable, auth, missing repo: all end the same way for a user
        typer.echo(
            f"error: could not download the dataset {HF_DATASET_REPO} from the Hugging Face hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}).\n"
            f"If you have the files already, point petool at them: set PETOOL_DATA_DIR=/path/to/petoolbench "
            f"or pass --data PATH. To download, unset HF_HUB_OFFLINE and check your network.",
            err=True,
        )
        raise typer.Exit(2) from exc
    typer.echo(f"{HF_DATASET_REPO} -> {local}")
    typer.echo(f"use it with: --data {local}   (or export PETOOL_DATA_DIR={local})")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
    app.command("prompts")(prompts_cmd)
    app.command("download")(download_cmd)


__all__ = ["register", "parse_settings", "HF_DATASET_REPO"]
