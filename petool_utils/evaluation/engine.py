"""The evaluation engine: a model spec, entries and settings in; one resumable JSONL per setting out.

``evaluate("openai:gpt-4o-mini", entries, ["preferred", "none"], "runs/x/predictions")`` writes
``runs/x/predictions/openai-gpt-4o-mini/{preferred,none}.jsonl`` and ``manifest.json`` beside them.
Rerunning the same call skips every finished entry and retries the ones that failed; killing it loses
only what was in flight (see :mod:`petool_utils.evaluation.runstore`).

Model specs:

* ``openai:<model>``: an OpenAI-compatible server from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``.
* ``hf:<path>[@<adapter>]``: a local transformers model, optionally with a PEFT adapter.
* ``offline:<name>``: ``random``, ``retrieval``, ``history``, ``ranker`` or ``popularity`` (no model at all);
  ``ranker`` and ``popularity`` take ``@<prior.json>`` or ``@crossfit:K`` (see docs/ranker.md).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from petool_utils import ALL_SETTINGS
from petool_utils.benchmark.data import Entry, load_benchmark
from petool_utils.benchmark.prompts import entry_messages
from petool_utils.evaluation.runstore import PredictionStore, write_manifest

SPEC_FORMS = ("openai:<model>, hf:<path>[@<adapter>] or offline:<random|retrieval|history|ranker|popularity>"
              "[@<prior.json>|@crossfit:K]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse_spec(spec: str) -> tuple[str, str]:
    """``"kind:rest"`` -> (kind, rest); raises ValueError naming the accepted forms."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("openai", "hf", "offline") or not rest:
        raise ValueError(f"bad model spec {spec!r}; expected {SPEC_FORMS}")
    return kind, rest


def model_slug(spec: str) -> str:
    """A filesystem-safe, deterministic folder name for a spec.

    ``offline:ranker`` -> ``offline-ranker``; ``openai:gpt-4o-mini`` -> ``openai-gpt-4o-mini``;
    ``openai:meta-llama/Llama-3.1-8B-Instruct`` -> ``openai-meta-llama-Llama-3.1-8B-Instruct``.
    ``hf:`` specs name local paths, so the slug keeps the last path parts readable and adds 8 hex
    digits of the spec's sha256: two checkpoints called ``final`` in different folders stay apart.
    The same goes for an offline predictor given a file (``offline:ranker@runs/x/prior.json`` ->
    ``offline-ranker-prior-prior-<8 hex>``); ``offline:ranker@crossfit:2`` -> ``offline-ranker-crossfit-2``.
    """
    kind, rest = parse_spec(spec)
    if kind == "hf":
        path, _, adapter = rest.partition("@")
        readable = Path(path.rstrip("/\\")).name + (f"-{Path(adapter.rstrip('/')).name}" if adapter else "")
        digest = hashlib.sha256(spec.encode("utf-8")).hexdigest()[:8]
        return _UNSAFE.sub("-", f"hf-{readable}-{digest}").strip("-")
    name, at, arg = rest.partition("@")
    if kind == "offline" and at and not arg.startswith("crossfit"):
        # offline:ranker@<prior path>: the file's stem stays readable, the digest keeps two priors apart
        digest = hashlib.sha256(spec.encode("utf-8")).hexdigest()[:8]
        stem = Path(arg.rstrip("/\\")).name.removesuffix(".json")
        return _UNSAFE.sub("-", f"offline-{name}-prior-{stem}-{digest}").strip("-.")
    return _UNSAFE.sub("-", f"{kind}-{rest}").strip("-.")


def make_predictor(spec: str, **kwargs: Any) -> Any:
    """Build the predictor a spec names; ``kwargs`` go to its constructor (concurrency, cache...)."""
    kind, rest = parse_spec(spec)
    if kind == "openai":
        from petool_utils.models.openai_backend import OpenAIChatPredictor

        return OpenAIChatPredictor(rest, **kwargs)
    if kind == "hf":
        from petool_utils.models.hf_backend import HFPredictor

        path, _, adapter = rest.partition("@")
        return HFPredictor(path, adapter or None, **kwargs)
    from petool_utils.predictors.baselines import make_offline_predictor

    pred = make_offline_predictor(rest, **kwargs)
    if "offline" not in getattr(pred, "name", ""):
        # The name reaches every artifact; an offline method must never read as a model.
        try:
            pred.name = f"offline-{getattr(pred, 'name', rest)}"
        except AttributeError:
            pass
    return pred


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, unit="req", dynamic_ncols=True)


def _check_settings(settings: Sequence[str]) -> list[str]:
    settings = list(settings)
    bad = [s for s in settings if s not in ALL_SETTINGS]
    if bad or not settings:
        raise ValueError(f"unknown setting(s) {bad or settings}; choose from {', '.join(ALL_SETTINGS)}")
    return settings


async def _run_async(predictor: Any, jobs: list[tuple[str, Entry]], stores: Mapping[str, PredictionStore],
                     bar: Any) -> None:
    """All pending requests at once under the predictor's semaphore.

    Finished results go through a queue to one writer that appends every line at once (so a kill
    loses only what is in flight) and fsyncs once per group of lines, in a thread: the event loop
    never waits on the disk, and a slow disk does not serialise the requests.
    """
    queue: asyncio.Queue = asyncio.Queue()
    done = object()

    async def one(setting: str, entry: Entry) -> None:
        res = await predictor.acomplete(entry_messages(entry, setting))
        rec = {"entry_id": entry.entry_id, "setting": setting, "response": res.response,
               "latency_s": res.latency_s, "error": res.error, "attempts": res.attempts, "cached": res.cached}
        queue.put_nowait(rec)

    async def writer() -> None:
        finished = False
        while not finished:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            if batch[-1] is done:
                batch.pop()
                finished = True
            by_setting: dict[str, list[dict[str, Any]]] = {}
            for rec in batch:
                by_setting.setdefault(rec["setting"], []).append(rec)
            for setting, recs in by_setting.items():
                await asyncio.to_thread(stores[setting].append_many, recs)
            bar.update(len(batch))

    writer_task = asyncio.create_task(writer())
    try:
        await asyncio.gather(*(one(s, e) for s, e in jobs))
    finally:
        queue.put_nowait(done)
        await writer_task
        await predictor.aclose()


def _run_batched(predictor: Any, jobs: list[tuple[str, Entry]], stores: Mapping[str, PredictionStore],
                 bar: Any, chunk: int) -> None:
    """Synchronous predictors, a chunk at a time (the chunk is the unit a kill can lose)."""
    by_setting: dict[str, list[Entry]] = {}
    for s, e in jobs:
        by_setting.setdefault(s, []).append(e)
    for setting, entries in by_setting.items():
        for start in range(0, len(entries), chunk):
            part = entries[start : start + chunk]
            t0 = time.perf_counter()
            if hasattr(predictor, "predict_with_info"):
                infos = predictor.predict_with_info(part, setting)
                texts = [i.text for i in infos]
                extras = [{"history_dropped": i.history_dropped, "prompt_tokens": i.prompt_tokens,
                           **({"over_limit": True} if i.over_limit else {})} for i in infos]
            else:
                texts = predictor.predict(part, setting)
                extras = [{} for _ in part]
            if len(texts) != len(part):
                raise RuntimeError(f"{predictor.name}: predict returned {len(texts)} responses for {len(part)} entries")
            per = (time.perf_counter() - t0) / max(1, len(part))
            for e, text, extra in zip(part, texts, extras):
                stores[setting].append(e.entry_id, setting, text, per, None, **extra)
            bar.update(len(part))


def evaluate(
    model_spec: str,
    entries: Sequence[Entry] | str | os.PathLike[str],
    settings: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    concurrency: int = 16,
    limit: int | None = None,
    gen_opts: Mapping[str, Any] | None = None,
    cache_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
    predictor: Any = None,
    data_path: str | os.PathLike[str] | None = None,
    predictor_kwargs: Mapping[str, Any] | None = None,
    fit_entries: Sequence[Entry] | None = None,
) -> dict[str, Path]:
    """Predict every (entry, setting) not yet finished under ``out_dir/<model_slug>/``; returns
    ``{setting: path of its JSONL}``.

    ``entries`` may be loaded entries or a benchmark path (then its sha256 goes into the manifest).
    ``gen_opts`` (temperature, max_tokens...) go to the OpenAI predictor and into its cache key;
    ``cache_path`` defaults to ``out_dir/.cache/responses.sqlite`` (openai only). ``predictor``
    overrides the one built from the spec (tests, notebooks holding a model in memory).
    ``fit_entries``: when given, ``predictor.fit(fit_entries)`` is called once before predicting (never
    otherwise): ``offline:ranker@crossfit:K`` and ``offline:popularity`` need the whole benchmark here.
    """
    settings = _check_settings(settings)
    if isinstance(entries, (str, os.PathLike)):
        data_path = data_path or entries
        entries = load_benchmark(entries)
    entries = list(entries)[:limit] if limit is not None else list(entries)
    kind, _ = parse_spec(model_spec)
    out = Path(out_dir) / model_slug(model_spec)
    out.mkdir(parents=True, exist_ok=True)
    started = _now()

    if predictor is None:
        kw: dict[str, Any] = dict(predictor_kwargs or {})
        if kind == "openai":
            from petool_utils.models.openai_backend import open_cache

            cache = open_cache(cache_path or Path(out_dir) / ".cache" / "responses.sqlite")
            kw.setdefault("concurrency", concurrency)
            kw.setdefault("cache", cache)
            kw.setdefault("gen_opts", dict(gen_opts or {}))
        predictor = make_predictor(model_spec, **kw)

    if fit_entries is not None:
        # Only when the caller says so: e.g. the whole benchmark for a cross-fitted predictor, which
        # answers each entry with a prior fitted on the other functionality groups' histories.
        predictor.fit(list(fit_entries))

    paths = {s: out / f"{s}.jsonl" for s in settings}
    stores = {s: PredictionStore(p) for s, p in paths.items()}
    try:
        jobs = [(s, e) for s in settings for e in entries if not stores[s].is_finished(e.entry_id)]
        with _progress(len(jobs), f"{predictor.name}", progress) as bar:
            if jobs and hasattr(predictor, "acomplete"):
                from petool_utils.models.openai_backend import run_sync

                run_sync(_run_async(predictor, jobs, stores, bar))
            elif jobs:
                # The chunk is what a kill can lose: a few model batches, or 64 entries of a cheap baseline.
                bs = getattr(predictor, "batch_size", None)
                chunk = 4 * int(bs) if bs else 64
                _run_batched(predictor, jobs, stores, bar, chunk)
    finally:
        for st in stores.values():
            st.close()

    counts = {}
    for s in settings:
        recs = stores[s].records()
        counts[s] = {"lines": len(recs), "errors": sum(1 for r in recs.values() if r.get("error") is not None),
                     "pending_jobs_this_run": sum(1 for js, _ in jobs if js == s)}
    options: dict[str, Any] = {"concurrency": concurrency, "limit": limit, "n_entries": len(entries),
                               "gen_opts": dict(gen_opts or {})}
    if hasattr(predictor, "describe"):
        options["predictor"] = predictor.describe()
    write_manifest(out, model_spec=model_spec, predictor_name=predictor.name, options=options, settings=settings,
                   data_path=data_path, counts=counts, started_at=started, finished_at=_now())
    return paths


def summarize(paths: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """``{setting: {"lines", "errors"}}`` for the files :func:`evaluate` returned (for CLIs and notebooks)."""
    from petool_utils.evaluation.runstore import load_predictions

    out = {}
    for s, p in paths.items():
        recs = load_predictions(p)
        out[s] = {"lines": len(recs), "errors": sum(1 for r in recs.values() if r.get("error") is not None)}
    return out
