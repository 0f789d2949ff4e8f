"""The construction stages as the notebooks call them: each reads the previous stage's files under
``run_dir``, writes its own (atomically) plus a report fragment ``run_dir/report/<stage>.json``
(``{"title", "order", "html"}``, gathered by the runner's index), and returns what it wrote.
Nothing passes between stages in memory, so any stage can be re-run alone.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from petool_utils import SETTINGS
from petool_utils.construction import BUILTIN_LABELS, BUILTIN_TOOLS_DIR
from petool_utils.construction.candidates import api_document, candidate_names, top_similar
from petool_utils.construction.clustering import (FUNCTIONS_FILE, EpsChoice, choose_eps, eps_sweep, feature_text,
                                                  function_tools, functionality_groups, load_func_labels,
                                                  nearest_distances, read_groups, score_groups, write_groups)
from petool_utils.construction.export import (release_record, split_users, write_benchmark, write_registries,
                                              write_split_exports)
from petool_utils.construction.histories import create_all
from petool_utils.construction.llm_calls import check_json_mode, make_llm
from petool_utils.construction.preferences import DEFAULT_SAMPLING_ORDER, build_users, read_users, write_users
from petool_utils.construction.toolbench import prepare_tools, write_tools, read_tools
from petool_utils.construction.understanding import read_understood, understand_tools, write_understood
from petool_utils.benchmark.data import load_entries, parse_entry
from petool_utils.benchmark.locate import require_input
from petool_utils.models.embeddings import get_embedder
from petool_utils.io import atomic_write_json, read_json
from petool_utils.report.fragments import figure_block, html_block, write_fragment as write_section, table_block
from petool_utils.construction.plots import eps_sweep_figure
from petool_utils.construction.statistics import category_distribution, fidelity_with_release, figure4, table3
from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.scoring import score_files
from petool_utils.params import BUILTIN_CORPUS

def resolve_tools_dir(tools_dir: str | os.PathLike[str] | None) -> Path:
    """``tools_dir`` if given (``"builtin"``: the built-in corpus); else ``$PETOOL_DATA_DIR/toolenv/tools``
    when it exists; else the built-in corpus."""
    if str(tools_dir) == BUILTIN_CORPUS:
        return BUILTIN_TOOLS_DIR
    if tools_dir:
        return Path(tools_dir).expanduser()
    env = os.environ.get("PETOOL_DATA_DIR")
    if env and (Path(env).expanduser() / "toolenv" / "tools").is_dir():
        return Path(env).expanduser() / "toolenv" / "tools"
    return BUILTIN_TOOLS_DIR


def corpus_label(path: Path) -> str:
    return "built-in (petool_utils/resources/toolcorpus)" if Path(path).resolve() == BUILTIN_TOOLS_DIR.resolve() else str(path)


def default_labels_path(tools_dir: Path) -> Path | None:
    """``func_labels_dev.json`` two levels above a ``toolenv/tools`` folder (the shared data layout)."""
    if Path(tools_dir).resolve() == BUILTIN_TOOLS_DIR.resolve():
        return BUILTIN_LABELS
    p = Path(tools_dir).resolve().parent.parent / "func_labels_dev.json"
    return p if p.exists() else None


def write_fragment(run_dir: str | os.PathLike[str], stage: str, title: str, body_html: str,
                   figures: Sequence[Any] = ()) -> Path:
    """The stage's report section (the one writer, :func:`petool_utils.report.fragments.write_fragment`):
    the HTML block, then any plotly figures."""

    return write_section(run_dir, stage, title, [html_block(body_html), *(figure_block(f) for f in figures)])


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, escape=True)


def _counts_html(counts: dict[str, int]) -> str:
    return _table(pd.DataFrame({"reason": list(counts), "dropped": list(counts.values())}))


# -- 01 -------------------------------------------------------------------------------------------------

def stage01_prepare(run_dir: str | os.PathLike[str], tools_dir: str | None = None, min_name_words: int = 2) -> dict[str, Any]:
    src = resolve_tools_dir(tools_dir)
    tools, log = prepare_tools(src, min_name_words=min_name_words)
    write_tools(run_dir, tools, log)
    info = {"tools_dir": corpus_label(src), "labels": str(default_labels_path(src) or ""), "n_apis": log.n_input,
            "n_kept": log.n_kept, "n_tools": len({(t.category, t.tool_name) for t in tools}),
            "n_categories": len({t.category for t in tools})}
    atomic_write_json(Path(run_dir) / "corpus.json", info)
    write_fragment(run_dir, "01_tool_preparation", "Tool preparation: filters",
                   f"<p>Corpus: {html.escape(info['tools_dir'])}. {log.n_input} APIs read, {log.n_kept} kept "
                   f"({info['n_tools']} tools, {info['n_categories']} categories).</p>" + _counts_html(log.counts))
    return {"tools": tools, "log": log, "corpus": info}


# -- 02 -------------------------------------------------------------------------------------------------

def stage02_understand(run_dir: str | os.PathLike[str], llm: str = "offline-standin", seed: int = 0,
                       fault_rate: float = 0.0, max_retries: int = 2, concurrency: int = 16,
                       request_timeout: float = 60.0, batch_size: int = 512, progress: bool = True,
                       json_mode: str = "none") -> dict[str, Any]:
    """Tool understanding; an ``openai:`` llm gets ``concurrency`` requests in flight, ``request_timeout`` s each.
    ``json_mode: schema`` sends each reply's JSON schema to the server (llama.cpp's constrains decoding to it)."""
    run_dir = Path(run_dir)
    json_mode = check_json_mode(llm, json_mode)
    client = make_llm(llm, run_dir / "cache" / "construction_llm.sqlite", seed=seed, fault_rate=fault_rate,
                      concurrency=concurrency, timeout=request_timeout)
    tools, log = understand_tools(read_tools(run_dir), client, run_dir, max_retries, progress, batch_size, json_mode)
    write_understood(run_dir, tools, log)
    write_fragment(run_dir, "02_tool_understanding", f"Tool understanding (generator: {client.name})",
                   f"<p>Generator <b>{html.escape(client.name)}</b>; {log.n_kept} of {log.n_input} APIs understood; "
                   f"JSON retries {log.json_retries} (JSON mode {json_mode}); cache hits {client.hits}, misses {client.misses}.</p>"
                   + _counts_html(log.counts))
    return {"tools": tools, "log": log, "generator": client.name}


# -- 03 -------------------------------------------------------------------------------------------------

def stage03_cluster(run_dir: str | os.PathLike[str], embedder: str = "minilm", eps: float | str = "auto",
                    min_samples: int = 2, io_match: str = "exact", features: str = "name_func",
                    schema_weight: float = 0.0, one_api_per_tool: bool = True, eps_fdr: float = 0.1,
                    eps_values: Sequence[float] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3),
                    labels_path: str | None = "auto") -> dict[str, Any]:
    """Functionality groups (docs/construction.md, "03: clustering"). ``eps="auto"``: the label-free
    radius rule of :func:`~petool_utils.construction.clustering.choose_eps`; a number: that radius."""
    run_dir = Path(run_dir)
    tools = read_understood(run_dir)
    if not tools:  # nothing to cluster: say why (stage 02's drops), not fail on an empty frame further on
        log_path = run_dir / "understanding_log.json"
        log = read_json(log_path) if log_path.exists() else {}
        counts = ", ".join(f"{k} {v}" for k, v in (log.get("counts") or {}).items() if v) or "no log"
        raise ValueError(f"{run_dir / 'tools_understood.jsonl'}: stage 02 kept no API ({log.get('n_input', '?')} in, "
                         f"dropped: {counts}; generator {log.get('generator', '?')}): nothing to cluster. See "
                         f"{log_path} for each reply's problem, or use another llm for 02")
    model = get_embedder(embedder)
    emb = model.embed([feature_text(t, features) for t in tools])
    func_emb = emb if features == "func" else model.embed([t.functionality for t in tools])
    np.save(run_dir / "embeddings.npy", func_emb)  # the functionality texts: stage 05 retrieves with them
    np.save(run_dir / "embeddings_clustering.npy", emb)
    auto = isinstance(eps, str)
    if auto and eps != "auto":
        raise ValueError(f"eps must be a number or 'auto', got {eps!r}")
    choice = choose_eps(emb, tools, eps_fdr, schema_weight) if auto else EpsChoice(eps=float(eps), rule="fixed")
    targets, decoys = nearest_distances(emb, tools, schema_weight)
    groups, functions, stats = functionality_groups(tools, emb, choice.eps, min_samples, io_match, one_api_per_tool,
                                                    schema_weight=schema_weight)
    write_groups(run_dir, groups)
    write_groups(run_dir, functions, FUNCTIONS_FILE)
    stats["functions_before_io_split"] = len(functions)
    if labels_path == "auto":
        labels_path = read_json(require_input(run_dir / "corpus.json")).get("labels") or None
    labels = load_func_labels(labels_path) if labels_path else None
    sweep = eps_sweep(tools, emb, eps_values, min_samples, io_match, labels, one_api_per_tool,
                      schema_weight=schema_weight)
    score = score_groups(groups, labels, [t.full_name for t in tools]).model_dump() if labels else None
    generator = tools[0].generator if tools else ""
    info = {"generator": generator, "embedder": embedder, "features": features, "schema_weight": schema_weight,
            "eps": choice.eps, "eps_rule": choice.model_dump(), "min_samples": min_samples, "io_match": io_match,
            "one_api_per_tool": one_api_per_tool, "stats": stats, "score": score, "labels": labels_path,
            "sweep": sweep}
    atomic_write_json(run_dir / "clustering.json", info)
    how = (f"chosen by the label-free rule ({choice.rule}: estimated false-link share &le; {eps_fdr} from "
           f"{choice.n_decoys} same-tool decoys and {choice.n_targets} nearest links)") if auto else "fixed"
    body = (f"<p>Embedder {embedder} on feature texts '{features}' (schema weight {schema_weight}), texts by "
            f"generator {html.escape(generator)}. DBSCAN eps=<b>{choice.eps}</b> ({how}), min_samples={min_samples}; "
            f"groups within a category, {'one API per tool, ' if one_api_per_tool else ''}"
            f"input-format match '{io_match}'.</p>" + _table(pd.DataFrame([stats])))
    if score:
        body += "<p>Against the functionality labels (they only score, nothing is tuned on them):</p>" \
                + _table(pd.DataFrame([score]).round(4))

    write_fragment(run_dir, "03_tool_clustering", "Tool clustering", body,
                   [eps_sweep_figure(sweep, choice.eps, choice.rule, choice.curve)])
    return {"groups": groups, "embeddings": emb, "tools": tools, "nearest": {"targets": targets, "decoys": decoys},
            **info}


# -- 04 -------------------------------------------------------------------------------------------------

def stage04_preferences(run_dir: str | os.PathLike[str], embedder: str = "minilm", n_users: int = 40,
                        tools_per_user: int | Sequence[int] = (2, 36), top_k: int = 2, seed: int = 0,
                        popularity: str = "retrieval", sampling_order: str | float = DEFAULT_SAMPLING_ORDER,
                        max_attempts: int = 200) -> dict[str, Any]:
    """Users who prefer tools (``tools_per_user``: a number or [min, max], drawn per user). ``popularity:
    uniform`` is the debiased switch (no similarity retrieval, each user's own order): see
    :func:`~petool_utils.construction.preferences.build_users`."""
    run_dir = Path(run_dir)
    tools = read_understood(run_dir)
    nf = get_embedder(embedder).embed([t.non_functional for t in tools])
    np.save(run_dir / "embeddings_nonfunctional.npy", nf)
    order = "per_user" if popularity == "uniform" else sampling_order
    users = build_users(read_groups(run_dir), [t.full_name for t in tools], nf, n_users, tools_per_user, top_k, seed,
                        max_attempts=max_attempts, generator=tools[0].generator if tools else "", embedder=embedder,
                        popularity=popularity, sampling_order=order)
    write_users(run_dir, users)
    write_fragment(run_dir, "04_preference_construction", "Preference construction",
                   _table(pd.DataFrame([users.stats])))
    return {"users": users}


# -- 05 -------------------------------------------------------------------------------------------------

def _ranked(embedder: str, tool_texts: list[str], tool_emb: np.ndarray | None, queries: list[str], k: int,
            noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """For each query, the ``k`` most similar tools (indices, best first); TF-IDF is refitted on tools+queries so
    both share one space. ``noise``: see ``retriever_noise`` of :func:`stage05_create`."""
    rng = np.random.default_rng([seed, 5005])
    if not queries:
        return np.zeros((0, k), dtype=np.int64)
    if embedder == "tfidf":
        m = get_embedder(embedder).embed(tool_texts + queries)
        return top_similar(m[len(tool_texts):], m[: len(tool_texts)], k, noise=noise, rng=rng)
    return top_similar(get_embedder(embedder).embed(queries), tool_emb, k, noise=noise, rng=rng)


def _parsed_once(records: list[dict | None], path: Path):
    """Each record as the loader parses it; the record is let go once parsed (memory at paper scale)."""
    for i in range(len(records)):
        rec, records[i] = records[i], None
        yield parse_entry(rec, path, i)


def stage05_create(run_dir: str | os.PathLike[str], llm: str = "offline-standin", embedder: str = "minilm",
                   queries_per_user: int = 1, liked_share: float = 0.78, max_disliked: int = 5,
                   n_candidates: int = 10, n_retrieved: int = 5, test_fraction: float = 0.5,
                   max_history: int | None = 20, seed: int = 0, fault_rate: float = 0.0, max_retries: int = 2,
                   concurrency: int = 16, request_timeout: float = 60.0, trl: bool = True,
                   progress: bool = True, min_disliked: int = 2, query_source: str = "release",
                   params_source: str = "release", retriever: str | None = None,
                   json_mode: str = "none", hold_rival_groups: bool | float = 0.6, fill_not_from_user: bool = True,
                   apis_per_tool: int | None = None, one_disliked_tool: bool = True,
                   retriever_noise: float = 0.0875, unambiguous_queries: bool = True) -> dict[str, Any]:
    """Histories, new instructions, candidates, the benchmark in the release layout and the SFT/DPO exports.

    ``query_source`` / ``params_source``: ``release`` (the release's provenance: reused tool-use scenarios and
    disliked history instructions, the example's parameters) or ``fresh`` (the LLM's new ones: the debiased
    switches). ``retriever``: the dense retriever of the candidates over the API documents (``minilm``, the
    stand-in for the paper's ToolRetriever; ``tfidf`` for the smoke profile); None: ``embedder``. ``json_mode``:
    as in stage 02. ``hold_rival_groups``: the share of the query tool's other APIs that a competitor of the
    query's group offers too which a query also holds out of the history (True all, False none; 0.6, the
    release's, measured by ``benchmarks/construction_release_rates.py``;
    :func:`~petool_utils.construction.histories.plan_user`). ``one_disliked_tool``: a query only for a group
    where one competitor has ``min_disliked`` usable APIs, so the non-preferred items are one tool's, as in every
    released entry (``plan_user``). ``unambiguous_queries``: no query for a group whose functionality the user
    also has from another of the user's tools, one the input-format split of stage 03 put elsewhere
    (``functions.json``). ``retriever_noise``: the standard deviation of the Gaussian noise on the retriever's
    scores (0.0875: its top 5 then agree with the noiseless top 5 as much as the release's candidates do,
    measured by the same script). The rule grid of ``benchmarks/construction_fidelity.py`` and
    docs/construction.md show what each rule moves.
    ``fill_not_from_user``: the candidates' random fill never takes the user's own tools
    (:mod:`~petool_utils.construction.candidates`). ``apis_per_tool``: a user has used a seeded sample of 1 to
    this many APIs of each preferred tool (None, the default: all of them; see docs/construction.md)."""
    json_mode = check_json_mode(llm, json_mode)
    if not 0 < liked_share < 1:
        raise ValueError(f"liked_share must be in (0, 1), got {liked_share}")
    run_dir = Path(run_dir)
    tools = read_understood(run_dir)
    by_name = {t.full_name: t for t in tools}
    names = [t.full_name for t in tools]
    groups = read_groups(run_dir)
    users = read_users(run_dir)
    client = make_llm(llm, run_dir / "cache" / "construction_llm.sqlite", seed=seed, fault_rate=fault_rate,
                      concurrency=concurrency, timeout=request_timeout)
    offered = function_tools(groups, read_groups(run_dir, FUNCTIONS_FILE)) if unambiguous_queries else None
    data, log = create_all(users.users, by_name, client, queries_per_user, seed, max_history, liked_share,
                           max_disliked, max_retries, min_disliked, query_source, params_source, json_mode,
                           apis_per_tool, hold_rival_groups, one_disliked_tool, offered)
    queries = [(u, qi, q) for u in data for qi, q in enumerate(u.queries)]
    largest = max((len(v) for v in groups.values()), default=0)
    retriever = retriever or embedder
    docs = [api_document(t) for t in tools]
    ranked = _ranked(retriever, docs, None if retriever == "tfidf" else get_embedder(retriever).embed(docs),
                     [q.instruction for _, _, q in queries], n_retrieved + min(largest, n_candidates),
                     retriever_noise, seed)
    train_ids, test_ids = split_users([u.user_id for u in data], test_fraction, seed)
    rng = np.random.default_rng(seed)
    splits: dict[str, list[dict]] = {"train": [], "test": []}
    for i, (u, qi, q) in enumerate(tqdm(queries, desc="05 entries", disable=not progress)):
        cands = candidate_names(q.tool_name, groups[q.group], names, ranked[i], rng, n_candidates, n_retrieved,
                                not_from=set(u.tools) if fill_not_from_user else ())
        rec = release_record(i, u, q, qi, cands, groups[q.group], by_name, max_history, seed)
        rec["generator"] = client.name
        splits["test" if u.user_id in test_ids else "train"].append(rec)
    paths = write_benchmark(run_dir, splits["train"], splits["test"])
    n_entries = {s: len(v) for s, v in splits.items()}
    sizes: dict[str, int] = {}
    for split, records in splits.items():  # parsed as the loader parses them, one entry at a time
        sizes.update(write_split_exports(run_dir, split, _parsed_once(records, paths[split]), SETTINGS, seed, trl,
                                         official=split == "train"))
    del splits
    write_registries(run_dir)
    manifest = {"generator": client.name, "embedder": embedder, "seed": seed,
                "retriever": f"{retriever} dense retriever over the API documents (stand-in for ToolRetriever)",
                "provenance": {"query_source": query_source, "params_source": params_source,
                               "popularity": users.popularity, "sampling_order": users.sampling_order},
                "users": {"train": len(train_ids), "test": len(test_ids)},
                "entries": n_entries,
                "history": {"max_history": max_history, "liked_share": liked_share, "max_disliked": max_disliked,
                            "min_disliked": min_disliked, "queries_per_user": queries_per_user,
                            "apis_per_tool": apis_per_tool, "hold_rival_groups": hold_rival_groups,
                            "one_disliked_tool": one_disliked_tool, "unambiguous_queries": unambiguous_queries},
                "candidates": {"n_candidates": n_candidates, "n_retrieved": n_retrieved,
                               "retriever_noise": retriever_noise,
                               "fill_not_from_user": fill_not_from_user},
                "exports": sizes, "filters": log}
    atomic_write_json(run_dir / "benchmark" / "manifest.json", manifest)
    atomic_write_json(run_dir / "data_filter_log.json", log)
    rows = [{"what": k, **v["counts"], "generated": v["n_generated"], "kept": v["n_kept"], "json_retries": v["json_retries"]}
            for k, v in log.items() if isinstance(v, dict)]
    write_fragment(run_dir, "05_data_creation", f"Data creation (generator: {client.name})",
                   f"<p>Generator <b>{html.escape(client.name)}</b>. Entries: train {n_entries['train']}, test "
                   f"{n_entries['test']}; users train {len(train_ids)}, test {len(test_ids)}.</p>"
                   + _table(pd.DataFrame(rows)) + _table(pd.DataFrame([sizes])))
    if not sum(n_entries.values()):  # the logs are written; say why instead of failing on an empty split later
        drops = "; ".join(f"{k}: " + (", ".join(f"{r} {n}" for r, n in v["counts"].items() if n) or "none")
                          for k, v in log.items() if isinstance(v, dict))
        raise ValueError(f"{run_dir / 'benchmark'}: stage 05 built no entry (generator {client.name}; dropped, "
                         f"{drops}). See {run_dir / 'data_filter_log.json'}, or use another llm for 02 and 05")
    return {"paths": paths, "manifest": manifest}


# -- 06 -------------------------------------------------------------------------------------------------

def stage06_statistics(run_dir: str | os.PathLike[str], released: str | None = None) -> dict[str, Any]:
    """Table 3, Figure 4 and the fidelity table for the constructed benchmark and, if given, a released file."""

    run_dir = Path(run_dir)
    splits = {s: load_entries(run_dir / "benchmark" / f"{s}.json") for s in ("train", "test")}
    out: dict[str, Any] = {"constructed": {"table3": table3(splits),
                                           "categories": category_distribution(splits["train"] + splits["test"])}}
    rel = None
    if released:
        rel = load_entries(released)
        out["released"] = {"table3": table3({"test (released)": rel}), "categories": category_distribution(rel)}
    fid = fidelity_with_release(splits["train"] + splits["test"], rel)
    payload: dict[str, Any] = {k: {"table3": v["table3"].to_dict(orient="records"),
                                   "categories": v["categories"].to_dict(orient="records")} for k, v in out.items()}
    payload["fidelity"] = fid.astype(object).where(fid.notna(), None).to_dict(orient="records")
    atomic_write_json(run_dir / "benchmark_statistics.json", payload)
    generator = (splits["test"] or splits["train"])[0].model_extra.get("generator", "") if splits["test"] or splits["train"] else ""
    body = (f"<h4>Fidelity: how the histories are built (constructed by {html.escape(str(generator))}"
            f"{' beside the released data' if released else ' beside the release&#39;s recorded figures'}; tolerance: how far a "
            f"faithful build may be)</h4>" + _table(fid.drop(columns=["key"])))
    body += "".join(f"<h4>{k}: Table 3</h4>{_table(v['table3'])}<h4>{k}: categories (Figure 4)</h4>{_table(v['categories'])}"
                    for k, v in out.items())
    figs = [figure4(v["categories"], f"Figure 4 ({k}): categories of the reference tools") for k, v in out.items()]
    write_fragment(run_dir, "06_benchmark_statistics", "Benchmark statistics (fidelity, Table 3, Figure 4)", body, figs)
    out["fidelity"] = fid
    return out


def stage06_baselines(run_dir: str | os.PathLike[str], released: str | None = None,
                      baselines: Sequence[str] = ("offline:popularity", "offline:history", "offline:ranker"),
                      baseline_limit: int | None = None) -> pd.DataFrame:
    """The sanity check of the constructed benchmark: offline baselines on its test split beside the released
    data (Tool Acc per setting, in %). A constructed split much easier than the release is a defect.

    Writes ``baseline_check.json`` and a section of the 06 report; predictions go to
    ``run_dir/baseline_check/<benchmark>/``.
    """

    run_dir = Path(run_dir)
    models = [baselines] if isinstance(baselines, str) else list(baselines)
    benches = {"constructed test split": load_entries(run_dir / "benchmark" / "test.json", limit=baseline_limit)}
    if released:
        benches["released"] = load_entries(released, limit=baseline_limit)
    settings = [*SETTINGS, "none"]
    rows = []
    for bname, entries in benches.items():
        if not entries:
            continue
        for spec in models:
            paths = evaluate(spec, entries, settings, run_dir / "baseline_check" / bname.split()[0], progress=False)
            scores = score_files(paths.values(), entries, n_boot=0)
            rows.append({"benchmark": bname, "model": spec, "entries": len(entries),
                         **{s: round(100 * scores[s].tool_acc, 1) for s in [*SETTINGS, "all", "none"] if s in scores},
                         "param all": round(100 * scores["all"].param_acc, 1) if "all" in scores else None})
    df = pd.DataFrame(rows)
    atomic_write_json(run_dir / "baseline_check.json", df.to_dict(orient="records"))
    write_section(run_dir, "06_benchmark_statistics", "Sanity check: offline baselines, constructed beside released",
                  [table_block(df, caption="Tool Acc (%) of offline baselines per setting and Param Acc over the three "
                                           "personalized settings, on the constructed test split and on the released "
                                           "data (popularity: cross-fitted prior); in a faithful build each should be "
                                           "about as high as on the release, in a debiased one popularity near chance")], key="baselines", part=1)
    return df
