"""Write notebooks 01-06 (benchmark construction) from the cell texts below, without outputs.

    python scripts/make_construction_notebooks.py

The notebooks are thin: narrative, a ``parameters`` cell (papermill injects the profile's values after
it), calls into ``petool_utils.construction``. Edit the texts here and re-run, so the six stay alike.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parent.parent / "notebooks"

SETUP = """from pathlib import Path
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype+notebook"  # interactive in JupyterLab and in the HTML report
pd.set_option("display.max_colwidth", 120)
Path(run_dir).mkdir(parents=True, exist_ok=True)"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_tool_preparation": [
        ("md", """# 01 · Tool preparation

PEToolBench starts from a ToolBench tool corpus (`toolenv/tools/<Category>/<tool>.json`). This stage
flattens it to **one API per line** (`run_dir/tools.jsonl`) and filters it, logging every API it drops
under a named reason (`run_dir/tools_filter_log.json`):

* **deprecated**: flagged, or described as deprecated / no longer supported;
* **insufficient documentation**: no description *and* a name too short to say what it does
  (`min_name_words`), or a parameter without a type;
* **duplicates**: the same tool name twice in a category, an API name repeated inside a tool, an alias
  endpoint (same description and parameters as another API of the tool).

Copies of a tool under another name are kept on purpose: functionally equivalent tools from different
providers are what personalized tool selection is about.

`tools_dir: null` uses `$PETOOL_DATA_DIR/toolenv/tools` when that exists, else the corpus built into
petool (`petool_utils/resources/toolcorpus`, fictional providers)."""),
        ("params", """run_dir = "runs/offline"
tools_dir = None        # a ToolBench toolenv/tools folder; None: $PETOOL_DATA_DIR/toolenv/tools, else built-in
min_name_words = 2      # an API without a description needs a name of at least this many words"""),
        ("code", SETUP),
        ("code", """from petool_utils.construction.pipeline import stage01_prepare

result = stage01_prepare(run_dir, tools_dir, min_name_words=min_name_words)
log = result["log"]
print(f"corpus: {result['corpus']['tools_dir']}")
print(f"{log.n_input} APIs read, {log.n_kept} kept")
pd.DataFrame({"reason": list(log.counts), "dropped": list(log.counts.values())})"""),
        ("md", "Every dropped API with its reason (nothing is dropped silently):"),
        ("code", """pd.DataFrame([d.model_dump() for d in log.dropped])"""),
        ("code", """pd.DataFrame([t.model_dump(include={"full_name", "api_description"}) for t in result["tools"][:10]])"""),
    ],
    "02_tool_understanding": [
        ("md", """# 02 · Tool understanding

For each API an LLM first writes a **tool-use example** (a user instruction and the parameters to call
the API with), then, from the documentation and that example, a **functionality description** (what the
API does; stage 03 clusters on it) and a separate **non-functional description** (usability,
integrability, accessibility, provider ecosystem; stage 04 builds preferences on it). The prompts, with
their demonstrations, are in `petool_utils/construction/llm_prompts.py`; replies are parsed as JSON and
re-asked once or twice when malformed; every call goes through the SQLite response cache
(`run_dir/cache/construction_llm.sqlite`), so re-running costs nothing.

`llm = "offline-standin"` is **not** a language model: it derives the three fields deterministically from
the documentation (functionality from the API name and description, non-functional from the tool
description, category and provider, the example from documented defaults). Its name is the `generator`
of every record it writes. `llm = "openai:<model>"` uses any OpenAI-compatible server (key and base URL
from the environment)."""),
        ("params", """run_dir = "runs/offline"
llm = "offline-standin"   # or "openai:<model>"
seed = 0
fault_rate = 0.0          # offline stand-in only: share of deliberately faulty replies (exercises retries/filters)
max_retries = 2"""),
        ("code", SETUP),
        ("code", """from petool_utils.construction.pipeline import stage02_understand

result = stage02_understand(run_dir, llm=llm, seed=seed, fault_rate=fault_rate, max_retries=max_retries)
print(f"generator: {result['generator']}; {result['log'].n_kept} of {result['log'].n_input} APIs understood")
result["log"].counts"""),
        ("code", """pd.DataFrame([{"api": t.full_name, "example": t.example.instruction, "functionality": t.functionality,
               "non_functional": t.non_functional, "generator": t.generator} for t in result["tools"][:8]])"""),
    ],
    "03_tool_clustering": [
        ("md", """# 03 · Tool clustering

Functionally equivalent APIs form a **functionality group**. The functionality descriptions are embedded
(all-MiniLM-L6-v2 by default, TF-IDF as the floor) and clustered with DBSCAN (cosine distance). A DBSCAN
cluster is then split by **category** and **input format** (`io_match`: `exact` = same required and
optional parameter names and types), and only parts of at least two APIs are kept: two tools are
interchangeable for a user only if the same call can go to either.

`run_dir/groups.json` is `{"<group id>": ["<Category>.<Tool>.<API>", ...]}`, the same full names as the
benchmark's `tool_name`. When functionality labels are known (the released `func_labels_dev.json` beside
a shared corpus, or the labels of the built-in corpus) the groups are scored against them: adjusted Rand
index and pairwise precision/recall over the labelled APIs."""),
        ("params", """run_dir = "runs/offline"
embedder = "minilm"       # "minilm" | "tfidf"
eps = 0.1                 # DBSCAN radius (cosine distance); see the sweep below
min_samples = 2
io_match = "exact"        # "exact" | "required" | "none"
eps_values = [0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3]
labels_path = "auto"      # functionality labels to score against; "auto": next to the corpus; None: skip
projection = "umap"       # "umap" | "pca" (faster)
seed = 0"""),
        ("code", SETUP),
        ("code", """from petool_utils.construction.pipeline import stage03_cluster
from petool_utils.construction.plots import eps_sweep_figure, group_map_figure, project_2d

result = stage03_cluster(run_dir, embedder=embedder, eps=eps, min_samples=min_samples, io_match=io_match,
                         eps_values=eps_values, labels_path=labels_path)
print(f"texts by generator: {result['generator']}")
pd.DataFrame([result["stats"]])"""),
        ("md", "Agreement with the functionality labels (ARI, pairwise precision and recall over the labelled APIs):"),
        ("code", """pd.DataFrame([result["score"]]) if result["score"] else "no labels for this corpus\""""),
        ("md", "The eps sweep: how many groups, and (with labels) how well they match, as the radius grows."),
        ("code", """eps_sweep_figure(result["sweep"], eps)"""),
        ("code", """pd.DataFrame(result["sweep"])"""),
        ("md", "An interactive map of the embeddings, coloured by group; hover for the API's full name."),
        ("code", """xy = project_2d(result["embeddings"], projection, seed)
group_map_figure(xy, [t.full_name for t in result["tools"]], result["groups"],
                 f"{projection.upper()} of functionality embeddings ({embedder})")"""),
        ("code", """pd.DataFrame([{"group": g, "size": len(m), "members": ", ".join(m)} for g, m in result["groups"].items()]).head(20)"""),
    ],
    "04_preference_construction": [
        ("md", """# 04 · Preference construction

A simulated user's taste is non-functional (a provider's pricing, SDKs, licence, latency...). For each
user: pick a random group and a random tool in it, and take the `top_k` tools with the most similar
non-functional descriptions (embedding similarity) as further preferred tools. A draw whose groups
collide with each other or with an earlier draw is rejected and resampled, so **every group a user
touches has exactly one preferred tool**; the group's other tools are that user's non-preferred ones.
Seeded: the same seed gives the same users. Output: `run_dir/users.json`."""),
        ("params", """run_dir = "runs/offline"
embedder = "minilm"
n_users = 40
groups_per_user = 6
top_k = 2
seed = 0"""),
        ("code", SETUP),
        ("code", """from petool_utils.construction.pipeline import stage04_preferences
from petool_utils.construction.preferences import category_summary, preference_table

users = stage04_preferences(run_dir, embedder=embedder, n_users=n_users, groups_per_user=groups_per_user,
                            top_k=top_k, seed=seed)["users"]
print(f"generator of the descriptions: {users.generator}; embedder: {users.embedder}")
users.stats"""),
        ("md", "Which tool each user prefers in each group:"),
        ("code", """preference_table(users).pivot(index="user_id", columns="group", values="preferred").head(15)"""),
        ("md", "Category → group → tool: how many users prefer each tool."),
        ("code", """category_summary(users)"""),
    ],
    "05_data_creation": [
        ("md", """# 05 · Data creation

Per user, the LLM writes an **interaction history** in the three types of the paper: *preferred-only*
(calls to the preferred tools), *rating-integrated* (calls to preferred tools liked = 1, to others
disliked = 0), *chronological* (oldest first; later calls use the preferred tool). Then **new
instructions** for the user's preferred tools, not in the history and never naming the tool. Every item is
checked and dropped under a counted reason: invalid JSON, unknown tool, parameters outside the schema,
the tool's name in the instruction, duplicates, a rating contradicting the preference.

Each new instruction becomes an entry with **candidate tools**: the reference, its whole functionality
group, 5 tools retrieved by embedding similarity to the instruction, random tools up to 10, shuffled with
the seed. Users are split into train and test. Both splits are written **in the released record layout**
(`run_dir/benchmark/{train,test}.json`, prompts rendered by `petool_utils.prompts`), so `petool eval` and
notebook 07 evaluate a constructed benchmark unchanged. SFT and DPO exports follow (LLaMA-Factory files
with `dataset_info.json`, TRL-ready `datasets`)."""),
        ("params", """run_dir = "runs/offline"
llm = "offline-standin"
embedder = "minilm"
items_per_group = 4       # history items per (user, group, history type)
queries_per_group = 1     # new instructions per (user, group)
n_candidates = 10
n_retrieved = 5
test_fraction = 0.5
max_history = 20          # as released: a prompt embeds at most the 20 most recent items
fault_rate = 0.0
seed = 0"""),
        ("code", SETUP),
        ("code", """from petool_utils.construction.pipeline import stage05_create

result = stage05_create(run_dir, llm=llm, embedder=embedder, items_per_group=items_per_group,
                        queries_per_group=queries_per_group, n_candidates=n_candidates, n_retrieved=n_retrieved,
                        test_fraction=test_fraction, max_history=max_history, seed=seed, fault_rate=fault_rate)
m = result["manifest"]
print(f"generator: {m['generator']}; entries {m['entries']}; users {m['users']}")
pd.DataFrame({k: v["counts"] | {"generated": v["n_generated"], "kept": v["n_kept"], "json_retries": v["json_retries"]}
              for k, v in m["filters"].items() if isinstance(v, dict)})"""),
        ("md", "Export sizes (records = entries × settings):"),
        ("code", """m["exports"]"""),
        ("md", "One constructed test entry, as the evaluation sees it:"),
        ("code", """e = result["entries"]["test"][0] if result["entries"]["test"] else result["entries"]["train"][0]
print("query:", e.query)
print("reference:", e.reference.to_json())
print("group:", e.same_func_names)
print("candidates:", e.candidate_names)
pd.DataFrame([{"instruction": h.instruction, "tool": h.tool_call.tool_name, "rating": h.rating}
              for h in e.history("ratings")]).head(10)"""),
    ],
    "06_benchmark_statistics": [
        ("md", """# 06 · Benchmark statistics

The paper's **Table 3** (instances per setting and split, history lengths) and **Figure 4** (category
distribution) for the constructed benchmark and, beside it, for the released PEToolBench test data when
it is available (`data`, else `$PETOOL_DATA_DIR`, else `../shared/petoolbench`)."""),
        ("params", """run_dir = "runs/offline"
data = None   # a released benchmark file or folder; None: the shared development slice if present"""),
        ("code", SETUP),
        ("code", """from petool_utils.construction.pipeline import find_released, stage06_statistics
from petool_utils.construction.statistics import figure4

released = find_released(data)
print("released benchmark:", released or "not available")
stats = stage06_statistics(run_dir, released=str(released) if released else None)
stats["constructed"]["table3"]"""),
        ("code", """figure4(stats["constructed"]["categories"], "Constructed benchmark: categories of the reference tools")"""),
        ("code", """stats["released"]["table3"] if "released" in stats else "released benchmark not available\""""),
        ("code", """figure4(stats["released"]["categories"], "Released PEToolBench (dev slice): categories") if "released" in stats else None"""),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for kind, text in cells:
        if kind == "md":
            nb.cells.append(new_markdown_cell(text))
        else:
            cell = new_code_cell(text)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
    for i, c in enumerate(nb.cells):  # stable ids: a regenerated notebook is byte-identical
        c["id"] = f"{name[:2]}-{i:02d}"
    return nb


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), OUT / f"{name}.ipynb")
    print(f"wrote {len(NOTEBOOKS)} notebooks to {OUT}")


if __name__ == "__main__":
    main()
