"""The evaluation engine: a model spec, entries and settings in; one resumable JSONL per setting out.

``evaluate("openai:gpt-4o-mini", entries, ["preferred", "none"], "runs/x/predictions")`` writes
``runs/x/predictions/openai-gpt-4o-mini/{preferred,none}.jsonl`` and ``manifest.json`` beside them.
Rerunning the same call skips every finished entry and retries the ones that failed; killing it loses
only what was in flight (see :mod:`petool_utils.evaluation.store`). One loop for every predictor:
the engine asks a predictor only for :meth:`~petool_utils.predictors.base.Predictor.answer_jobs`.

Model specs:

* ``openai:<model>``: an OpenAI-compatible server from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``.
* ``hf:<path>[@<adapter>]``: a local transformers model, optionally with a PEFT adapter.
* ``offline:<name>``: ``random``, ``retrieval``, ``history``, ``ranker`` or ``popularity`` (no model at all);
  ``ranker`` and ``popularity`` take ``@<prior.json>`` or ``@crossfit:K`` (see docs/ranker.md).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from petool_utils import ALL_SETTINGS
from petool_utils.benchmark.data import Entry, load_benchmark
from petool_utils.evaluation.manifest import check_run_folder, write_manifest
from petool_utils.evaluation.reader import read_resolved
from petool_utils.evaluation.store import PredictionStore, RunLock, RunLockedError
from petool_utils.models.spec import ModelSpec
from petool_utils.predictors.base import Predictor
from petool_utils.predictors.registry import make_predictor
from petool_utils.secrets import secret_env_values

__all__ = ["RunLockedError", "check_limit", "check_settings", "evaluate", "summarize"]

def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _loaded_objects_frozen() -> Iterator[None]:
    """Keep the collector off the objects that exist before the requests start (the loaded benchmark,
    the imported libraries) until the run ends.

    The request phase allocates fast, and each full collection it triggers would walk every entry and
    module object: 0.15-0.2 s of stalled requests per collection with 250 entries loaded, measured by
    benchmarks/eval_throughput.py. Objects made during the run are still collected as usual.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, unit="req", dynamic_ncols=True)


def check_settings(settings: Sequence[str] | str) -> list[str]:
    """The settings as a list (one name alone is a one-item list); an unknown name is an error."""
    settings = [settings] if isinstance(settings, str) else list(settings)
    bad = [s for s in settings if s not in ALL_SETTINGS]
    if bad or not settings:
        raise ValueError(f"unknown setting(s) {bad or settings}; choose from {', '.join(ALL_SETTINGS)}")
    return settings


def check_limit(limit: Any) -> int | None:
    """``None`` (every entry) or a whole number >= 1; the same rule for every data layout."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number >= 1 (or None for every entry), got {limit!r}")
    return limit


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
    predictor: Predictor | None = None,
    data_path: str | os.PathLike[str] | None = None,
    predictor_kwargs: Mapping[str, Any] | None = None,
    fit_entries: Sequence[Entry] | None = None,
) -> dict[str, Path]:
    """Predict every (entry, setting) not yet finished under ``out_dir/<model_slug>/``; returns
    ``{setting: path of its JSONL}``.

    ``entries`` may be loaded entries or a benchmark path (then its sha256 goes into the manifest).
    ``gen_opts`` (temperature, max_tokens, top_p...) reach every request of an LLM and its cache key;
    ``cache_path`` defaults to ``out_dir/.cache/responses.sqlite``. ``predictor`` overrides the one
    built from the spec (tests, notebooks holding a model in memory). ``fit_entries``: when given, and
    only then, the predictor is fitted on them first. A predictor that declares ``requires_fit``
    (``offline:ranker@crossfit:K``, ``offline:popularity``: each entry answered with a prior fitted on the
    OTHER functionality groups' histories) is fitted on the whole benchmark given, before ``limit``, so its
    answers do not depend on which entries a run evaluates. Nothing else is ever fitted on evaluated entries.
    The run folder is locked for the whole call: a second evaluation of the same model into the same
    folder is refused (:class:`RunLockedError`).
    """
    settings = check_settings(settings)
    limit = check_limit(limit)
    if int(concurrency) < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if isinstance(entries, (str, os.PathLike)):
        data_path = data_path or entries
        entries = load_benchmark(entries)
    benchmark = list(entries)
    if not benchmark:
        raise ValueError(f"{data_path or 'entries'}: no entries to evaluate (an empty benchmark)")
    entries = benchmark[:limit] if limit is not None else benchmark
    spec = ModelSpec.parse(model_spec)
    out = Path(out_dir) / spec.slug
    started = _now()
    secrets = secret_env_values()
    own = predictor is None
    if predictor is None:
        # Before the run folder exists: an unknown predictor or a missing model folder leaves nothing behind.
        predictor = make_predictor(model_spec, concurrency=concurrency, gen_opts=gen_opts,
                                   cache_path=cache_path or Path(out_dir) / ".cache" / "responses.sqlite",
                                   **dict(predictor_kwargs or {}))
    try:
        with RunLock(out):
            check_run_folder(out, spec.text)
            paths = _run(predictor, model_spec, entries, benchmark, settings, out, secrets, limit=limit,
                         progress=progress, fit_entries=fit_entries, data_path=data_path, started=started)
    finally:
        if own:
            predictor.close()
    return paths


def _run(predictor: Predictor, model_spec: str, entries: Sequence[Entry], benchmark: Sequence[Entry],
         settings: Sequence[str], out: Path, secrets: Sequence[str], *, limit: int | None, progress: bool,
         fit_entries: Sequence[Entry] | None, data_path: Any, started: str) -> dict[str, Path]:
    """The run itself, under the folder's lock: jobs, answers written as they come, the manifest."""
    if fit_entries is None and predictor.requires_fit:
        fit_entries = benchmark
    if fit_entries is not None:
        predictor.fit(list(fit_entries))
    paths = {s: out / f"{s}.jsonl" for s in settings}
    stores = {s: PredictionStore(p, secrets=secrets) for s, p in paths.items()}
    # An entry with no line yet is a job whatever its inputs: its fingerprint is taken when its answer
    # is written, on the writing thread, not before the first request goes out (20 ms per 1,000).
    jobs: list[tuple[Entry, str]] = []
    stale: Counter = Counter()
    for s in settings:
        for e in entries:
            if e.entry_id not in stores[s]:
                jobs.append((e, s))
                continue
            sha = e.input_fingerprint(s)
            stale[s] += stores[s].is_stale(e.entry_id, sha)
            if not stores[s].is_finished(e.entry_id, sha):
                jobs.append((e, s))
    pending = Counter(s for _, s in jobs)
    answer_times: dict[str, list[float]] = {s: [] for s in settings}
    try:
        with _loaded_objects_frozen(), _progress(len(jobs), predictor.name, progress) as bar:
            for j, ans in predictor.answer_jobs(jobs):
                e, s = jobs[j]
                info = dict(ans.info)
                latency = info.pop("latency_s", 0.0)
                stores[s].append(e.entry_id, s, ans.text, latency, ans.error, input_sha=e.input_fingerprint(s),
                                 **info)
                if not info.get("cached"):
                    answer_times[s].append(float(latency))
                bar.update(1)
    finally:
        _close_all(stores.values())
    counts = {}
    for s in settings:
        recs = stores[s].records()
        counts[s] = {"lines": len(recs), "errors": sum(1 for r in recs.values() if r.get("error") is not None),
                     "pending_jobs_this_run": pending.get(s, 0),
                     "asked_again_inputs_changed": stale.get(s, 0)}
        if answer_times[s]:
            counts[s]["answer_time_s"] = time_summary(answer_times[s])
    options: dict[str, Any] = {"limit": limit, "n_entries": len(entries), "predictor": predictor.describe()}
    if fit_entries is not None:
        options["fitted_on_entries"] = len(fit_entries)
    write_manifest(out, model_spec=model_spec, predictor_name=predictor.name, options=options, settings=settings,
                   data_path=data_path, counts=counts, started_at=started, finished_at=_now())
    return paths


def time_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """``{"n", "median", "max"}`` of the answer times of one run (requests sent, cache hits left out): what
    a ``--timeout`` should be sized against."""
    ordered = sorted(seconds)
    n = len(ordered)
    mid = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return {"n": n, "median": round(mid, 4), "max": round(ordered[-1], 4)}


def _close_all(stores: Iterable[PredictionStore]) -> None:
    """Close every store even when one cannot (a full disk): each keeps what it had written; the first
    failure is raised after all were tried (behind any error already on its way out)."""
    failure: BaseException | None = None
    for st in stores:
        try:
            st.close()
        except OSError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def summarize(paths: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """``{setting: {"lines", "errors"}}`` for the files :func:`evaluate` returned (for CLIs and notebooks)."""
    out = {}
    for s, p in paths.items():
        recs = read_resolved(p)
        out[s] = {"lines": len(recs), "errors": sum(1 for r in recs.values() if r.get("error") is not None)}
    return out
