"""How close the constructed benchmark is to the release, in both modes: the fidelity table (every structure
statistic of issues 15 and 24 beside the release's value, with the tolerance a faithful build must meet) and the
offline baselines' Tool and Param Acc (popularity with a cross-fitted prior, history, the ranker), for the
built-in corpus, the shared dev-slice corpus, and the two halves of the shared corpus built apart (a check that
the rows generalise to corpora the defaults were not chosen on). Not part of `make test`.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_fidelity.py [--corpora builtin,shared,halves]
    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_fidelity.py --curve   # the sampling-order curve
    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_fidelity.py --rule-grid   # the stage-05 rules, one build each
    python benchmarks/construction_fidelity.py --from-json   # the docs blocks from the results files (no build)

Modes: ``faithful`` is the offline profile as it is; ``debiased`` turns the three shortcut switches on
(``popularity: uniform``, ``query_source: fresh``, ``params_source: fresh``). Stages 01-03 run once per corpus
(kept under ``--work``, so a rerun resumes), 04-05 once per mode.

Writes benchmarks/results/construction_fidelity.json and the ``fidelity`` block of docs/construction.md
(numbers in the docs come from this run, never by hand).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from petool_utils import SETTINGS
from petool_utils.benchmark.data import load_entries
from petool_utils.construction import pipeline
from petool_utils.construction.clustering import FUNCTIONS_FILE
from petool_utils.construction.statistics import (FIDELITY_ROWS, RELEASE_BASELINES, fidelity, release_figures,
                                                  tolerance_text, within_tolerance)
from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.scoring import score_files
from petool_utils.io import atomic_write_json, read_json
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir
from petool_utils.params import load_profile
from petool_utils.report.docblocks import provenance, write_block, write_blocks

MODELS = ("offline:popularity", "offline:history", "offline:ranker")
MODES = {"faithful": {}, "debiased": {"04_preference_construction": {"popularity": "uniform"},
                                      "05_data_creation": {"query_source": "fresh", "params_source": "fresh"}}}
DOC = REPO_ROOT / "docs" / "construction.md"
COMMAND = "python benchmarks/construction_fidelity.py"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "construction_fidelity.json"
BASELINE_TOLERANCE = 10
"""Points of Tool Acc a faithful build's offline baseline may be from the release's."""
CURVE_RESULTS = RESULTS.with_name("construction_fidelity_curve.json")
RULES_RESULTS = RESULTS.with_name("construction_fidelity_rules.json")


def corpus_slug(corpus: str) -> str:
    """A corpus column's name as a folder under ``--work`` ("shared half A" -> shared_half_A)."""
    return corpus.replace(" ", "_").replace("-", "")


def half_corpus(tools_dir: Path, out: Path, half: int) -> Path:
    """Every other category of a ``toolenv/tools`` folder (sorted names; ``half`` 0 or 1), linked, not copied."""
    out.mkdir(parents=True, exist_ok=True)
    for i, cat in enumerate(sorted(p for p in tools_dir.iterdir() if p.is_dir())):
        if i % 2 == half and not (out / cat.name).exists():
            (out / cat.name).symlink_to(cat.resolve(), target_is_directory=True)
    return out


def build_base(rd: Path, tools_dir: str) -> float:
    """Stages 01-03 with the offline profile's parameters (skipped when their ``groups.json`` and
    ``functions.json`` are there already)."""
    if (rd / "groups.json").exists() and (rd / FUNCTIONS_FILE).exists():
        return 0.0
    params = load_profile("offline").params
    t0 = time.perf_counter()
    pipeline.stage01_prepare(rd, tools_dir=tools_dir, **params["01_tool_preparation"])
    pipeline.stage02_understand(rd, **{**params["02_tool_understanding"], "progress": False})
    pipeline.stage03_cluster(rd, **{k: v for k, v in params["03_tool_clustering"].items() if k != "projection"})
    return round(time.perf_counter() - t0, 1)


def build_mode(base: Path, rd: Path, mode: str, extra: dict | None = None, extra05: dict | None = None) -> float:
    """Stages 04-05 of one mode on a copy of the corpus's 01-03 artifacts (``extra`` / ``extra05``: more stage-04
    / stage-05 values)."""
    params = load_profile("offline").params
    if rd.exists():
        shutil.rmtree(rd)
    shutil.copytree(base, rd)
    over = {**MODES[mode], "04_preference_construction": {**MODES[mode].get("04_preference_construction", {}),
                                                          **(extra or {})}}
    t0 = time.perf_counter()
    pipeline.stage04_preferences(rd, **{**params["04_preference_construction"],
                                        **over.get("04_preference_construction", {})})
    pipeline.stage05_create(rd, **{**params["05_data_creation"], "progress": False, "trl": False,
                                   **over.get("05_data_creation", {}), **(extra05 or {})})
    return round(time.perf_counter() - t0, 1)


def accuracy(entries, out: Path) -> dict[str, dict[str, float]]:
    """Tool and Param Acc (%) over the three personalized settings ("all") per offline baseline."""
    res = {}
    for spec in MODELS:
        paths = evaluate(spec, entries, list(SETTINGS), out, progress=False)
        s = score_files(paths.values(), entries, n_boot=1000)["all"]
        res[spec] = {"tool": round(100 * s.tool_acc, 1), "param": round(100 * s.param_acc, 1),
                     "tool_ci": [round(100 * x, 1) for x in s.tool_ci] if s.tool_ci else None}
    return res


def _acc_text(a: dict) -> str:
    """Tool Acc [its group-clustered 95% interval] / Param Acc: a build of 100-odd test entries in 20-odd groups
    pins Tool Acc only to within that interval."""
    ci = a.get("tool_ci")
    return f"{a['tool']}" + (f" [{ci[0]:g}, {ci[1]:g}]" if ci else "") + f" / {a['param']}"


def _fmt(v) -> str:
    if v != v:
        return "–"
    return f"{v:.3g}" if isinstance(v, float) and not float(v).is_integer() else f"{v:g}"


def markdown(result: dict) -> str:
    rel_name = result["release"]["name"]
    cols = list(result["fidelity"])
    lines = [f"| statistic | {rel_name} | tolerance | " + " | ".join(cols) + " |",
             "| --- | --- | --- |" + " --- |" * len(cols)]
    for key, label in FIDELITY_ROWS.items():
        rel = result["release"]["fidelity"][key]
        cells = []
        for c in cols:
            v = result["fidelity"][c][key]
            ok = within_tolerance(key, v, rel) if c.endswith("faithful") else None
            cells.append(_fmt(v) + (" ✗" if ok is False else ""))
        lines.append(f"| {label} | {_fmt(rel)} | {tolerance_text(key)} | " + " | ".join(cells) + " |")
    acc_cols = [rel_name, *result["accuracy_cols"]]
    lines += ["", "Offline baselines, mean of the three personalized settings, Tool Acc [group-clustered 95% "
              "interval] / Param Acc (%), on each build's test split and on the released entries (tolerance for a "
              "faithful build: "
              f"± {BASELINE_TOLERANCE} points of "
              "Tool Acc):", "",
              "| baseline | " + " | ".join(acc_cols) + " |", "| --- |" + " --- |" * len(acc_cols)]
    for spec in MODELS:
        cells = []
        for c in acc_cols:
            a = result["accuracy"][c][spec]
            ok = (abs(a["tool"] - result["accuracy"][rel_name][spec]["tool"]) <= BASELINE_TOLERANCE) if c.endswith("faithful") else None
            cells.append(_acc_text(a) + (" ✗" if ok is False else ""))
        lines.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    lines += ["", "Entries (train + test; test): " + ", ".join(f"{c}: {n[0]}; {n[1]}" for c, n in result["entries"].items())
              + ".", "", "✗: a faithful value outside its tolerance. " + result["provenance"]]
    return "\n".join(lines)


CURVE = (0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0)


def curve(work: Path, shared: Path | None, no_docs: bool) -> None:
    """Concentration and the popularity baseline against ``sampling_order`` (faithful otherwise), shared corpus:
    the curve the default was read from."""
    if shared is None:
        raise SystemExit("the curve needs the shared corpus (../shared/petoolbench)")
    base = work / "shared" / "base"
    build_base(base, str(shared / "toolenv" / "tools"))
    rel = load_entries(shared / DEV_SLICE_NAME)
    rows = []
    for share in CURVE:
        rd = work / "shared" / f"curve_{share}"
        build_mode(base, rd, "faithful", {"sampling_order": share})
        entries = [e for s in ("train", "test") for e in load_entries(rd / "benchmark" / f"{s}.json")]
        f = fidelity(entries)
        paths = evaluate("offline:popularity", entries, list(SETTINGS), rd / "eval", progress=False)
        acc = score_files(paths.values(), entries, n_boot=0)["all"]
        rows.append((share, f["popularity_concentration"], f["tool_comb_modal_agreement"], f["tool_comb_shared_prefix"],
                     100 * acc.tool_acc, f["ref_tool_in_preferred_history"]))
        print(rows[-1], flush=True)
    f = fidelity(rel)
    paths = evaluate("offline:popularity", rel, list(SETTINGS), work / "eval_released_curve", progress=False)
    acc = score_files(paths.values(), rel, n_boot=0)["all"]
    lines = ["| `sampling_order` | concentration | tool_comb modal agreement | tool_comb run of the common order (median) "
             "| `offline:popularity` Tool Acc (train + test) | the reference's tool in the preferred history |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {s:g} | {c:.3f} | {a:.3f} | {w:g} | {p:.1f} | {r:.3f} |" for s, c, a, w, p, r in rows]
    lines += [f"| released dev slice ({len(rel)} entries) | {f['popularity_concentration']:.3f} | "
              f"{f['tool_comb_modal_agreement']:.3f} | {f['tool_comb_shared_prefix']:g} | {100 * acc.tool_acc:.1f} | "
              f"{f['ref_tool_in_preferred_history']:.3f} |",
              "", provenance(COMMAND + " --curve")]
    table = "\n".join(lines)
    print(table)
    atomic_write_json(CURVE_RESULTS, {"rows": rows, "table": table})
    if not no_docs:
        write_block(DOC, "fidelity_curve", table)


RULE_ROWS = {"ref_tool_in_preferred_history": "the reference's tool in the preferred history",
             "disliked_per_entry": "disliked items per history (mean)",
             "disliked_one_tool": "the disliked items are one tool's",
             "group_members_same_name": "group members with the reference's API name",
             "history_length_median": "history_length median"}


def release_side(shared: Path | None, work: Path) -> tuple[list | None, str, dict, dict]:
    """The release's column: its entries (None without ../shared), name, fidelity figures and offline baselines
    (scored on its entries, else the recorded figures)."""
    released = load_entries(shared / DEV_SLICE_NAME) if shared is not None else None
    rel_name, rel_fid = release_figures(released)
    rel_acc = accuracy(released, work / "eval_released") if released is not None else RELEASE_BASELINES
    return released, rel_name, rel_fid, rel_acc


RULE_CONFIGS = {
    "before (hold all twins)": {"hold_rival_groups": True, "one_disliked_tool": False, "unambiguous_queries": False,
                                "retriever_noise": 0.0},
    "defaults": {},
    "defaults, one_disliked_tool off": {"one_disliked_tool": False},
    "defaults, unambiguous_queries off": {"unambiguous_queries": False},
    "defaults, hold every twin": {"hold_rival_groups": True},
    "defaults, retriever_noise 0": {"retriever_noise": 0.0},
}
"""The stage-05 history and candidate rules the grid compares (values over the offline profile's): the defaults
were chosen as the configuration with the fewest rows outside tolerance over the four corpora."""


def misses(f: dict, acc: dict, rel_fid: dict, rel_acc: dict) -> list[str]:
    """The faithful rows (statistics and baselines) of one build outside their tolerance."""
    out = [k for k in FIDELITY_ROWS if within_tolerance(k, f[k], rel_fid[k]) is False]
    return out + [m for m in MODELS if abs(acc[m]["tool"] - rel_acc[m]["tool"]) > BASELINE_TOLERANCE]


def rule_grid(work: Path, shared: Path | None, no_docs: bool) -> None:
    """The stage-05 rules of :data:`RULE_CONFIGS` (faithful otherwise), on the built-in corpus, the shared one and
    its two halves: the rows they move, the offline baselines, and how many rows of the whole fidelity table
    fall outside tolerance. What the defaults were chosen from."""
    corpora = {"built-in": "builtin"}
    if shared:
        corpora["shared"] = str(shared / "toolenv" / "tools")
        for h in (0, 1):
            corpora[f"shared half {'AB'[h]}"] = str(half_corpus(shared / "toolenv" / "tools", work / f"corpus_half{h}", h))
    released, rel_name, rel_fid, rel_acc = release_side(shared, work)
    rows = []
    for corpus, tools_dir in corpora.items():
        base = work / corpus_slug(corpus) / "base"
        build_base(base, tools_dir)
        for ci, (label, extra05) in enumerate(RULE_CONFIGS.items()):
            rd = work / corpus_slug(corpus) / f"rules_{ci}"
            build_mode(base, rd, "faithful", extra05=extra05)
            train, test = (load_entries(rd / "benchmark" / f"{s}.json") for s in ("train", "test"))
            f = fidelity(train + test)
            acc = accuracy(test, rd / "eval")
            rows.append({"corpus": corpus, "config": label, "entries": len(train) + len(test),
                         **{k: f[k] for k in RULE_ROWS}, **{m: acc[m]["tool"] for m in MODELS},
                         "misses": misses(f, acc, rel_fid, rel_acc)})
            print(rows[-1], flush=True)

    def cell(key, v):
        ok = within_tolerance(key, v, rel_fid[key])
        return _fmt(v) + (" ✗" if ok is False else "")

    head = ["corpus", "rules", "entries", *RULE_ROWS.values(), *(f"`{m}` Tool Acc" for m in MODELS),
            "rows outside tolerance (all of the fidelity table)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines.append(f"| {rel_name} | | {len(released) if released is not None else '–'} | "
                 + " | ".join(_fmt(rel_fid[k]) for k in RULE_ROWS) + " | "
                 + " | ".join(f"{rel_acc[m]['tool']}" for m in MODELS) + " | |")
    for r in rows:
        accs = [f"{r[m]}" + (" ✗" if abs(r[m] - rel_acc[m]["tool"]) > BASELINE_TOLERANCE else "") for m in MODELS]
        lines.append(f"| {r['corpus']} | {r['config']} | {r['entries']} | "
                     + " | ".join(cell(k, r[k]) for k in RULE_ROWS) + " | " + " | ".join(accs)
                     + f" | {len(r['misses'])} |")
    totals = {label: sum(len(r["misses"]) for r in rows if r["config"] == label) for label in RULE_CONFIGS}
    lines += ["", "Rows outside tolerance, summed over the corpora: "
              + ", ".join(f"{label} **{n}**" for label, n in totals.items()) + ".",
              "", "✗: outside the faithful tolerance of the fidelity table. " + provenance(COMMAND + " --rule-grid")]
    table = "\n".join(lines)
    print(table)
    atomic_write_json(RULES_RESULTS, {"rows": rows, "totals": totals, "configs": RULE_CONFIGS, "table": table})
    if not no_docs:
        write_block(DOC, "fidelity_rules", table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", default="builtin,shared,halves")
    ap.add_argument("--work", default=str(REPO_ROOT / "runs" / "construction_fidelity"))
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--curve", action="store_true",
                    help="only the sampling-order curve on the shared corpus (block fidelity_curve)")
    ap.add_argument("--rule-grid", action="store_true",
                    help="only the stage-05 rule configurations on the four corpora (block fidelity_rules)")
    ap.add_argument("--from-json", action="store_true",
                    help="write the docs block from the last run's results file (no build)")
    args = ap.parse_args()
    if args.from_json:  # the blocks from the last runs' results files (what --no-docs left unwritten)
        blocks = {"fidelity": markdown(read_json(RESULTS))} if RESULTS.exists() else {}
        if CURVE_RESULTS.exists():
            blocks["fidelity_curve"] = read_json(CURVE_RESULTS)["table"]
        if RULES_RESULTS.exists():
            blocks["fidelity_rules"] = read_json(RULES_RESULTS)["table"]
        write_blocks(DOC, blocks)
        print(f"-> {DOC}: {', '.join(blocks)}")
        return
    work = Path(args.work)
    shared = shared_petoolbench_dir()
    if args.curve:
        return curve(work, shared, args.no_docs)
    if args.rule_grid:
        return rule_grid(work, shared, args.no_docs)
    corpora: dict[str, str] = {}
    for c in args.corpora.split(","):
        if c == "builtin":
            corpora["built-in"] = "builtin"
        elif shared is None:
            print(f"{c}: the shared corpus is absent, skipped")
        elif c == "shared":
            corpora["shared"] = str(shared / "toolenv" / "tools")
        elif c == "halves":
            for h in (0, 1):
                corpora[f"shared half {'AB'[h]}"] = str(half_corpus(shared / "toolenv" / "tools", work / f"corpus_half{h}", h))
    _, rel_name, rel_fid, rel_acc = release_side(shared, work)
    result: dict = {"release": {"name": rel_name, "fidelity": rel_fid}, "fidelity": {},
                    "accuracy": {rel_name: rel_acc}, "accuracy_cols": [], "entries": {}, "stage_s": {}}
    for corpus, tools_dir in corpora.items():
        slug = corpus_slug(corpus)
        base = work / slug / "base"
        result["stage_s"][corpus] = {"01-03": build_base(base, tools_dir)}
        for mode in MODES if not corpus.startswith("shared half") else ("faithful",):
            rd = work / slug / mode
            result["stage_s"][corpus][mode] = build_mode(base, rd, mode)
            train, test = (load_entries(rd / "benchmark" / f"{s}.json") for s in ("train", "test"))
            name = f"{corpus}, {mode}"
            result["fidelity"][name] = fidelity(train + test)
            result["accuracy"][name] = accuracy(test, rd / "eval")
            result["accuracy_cols"].append(name)
            result["entries"][name] = [len(train) + len(test), len(test)]
            print(name, result["stage_s"][corpus], result["accuracy"][name], flush=True)
    result["provenance"] = provenance(COMMAND)
    atomic_write_json(RESULTS, result)
    table = markdown(result)
    print(table)
    if not args.no_docs:
        write_block(DOC, "fidelity", table)
        print(f"-> {DOC}")


if __name__ == "__main__":
    main()
