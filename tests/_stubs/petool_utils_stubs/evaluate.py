"""TEST-ONLY stub of petool_utils.evaluate: writes the run-store layout with trivial offline answers.

``offline:ranker`` raises ImportError, as the real engine does while the ranker branch is unmerged,
so the notebooks' "skipped, not a crash" path is exercised.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from petool_utils.io import atomic_write_json


def model_slug(spec: str) -> str:
    return spec.replace(":", "-").replace("/", "_").replace("@", "+")


def _answer(spec, entry, setting, rng):
    if spec == "offline:ranker":
        try:
            import petool_utils.ranker  # noqa: F401  (absent until merged)
        except ImportError as exc:  # wrapped the way the real engine wraps it
            raise ValueError(f"offline predictor 'ranker' needs petool_utils.ranker which cannot be imported: {exc}") from exc
    if spec not in ("offline:random", "offline:history", "offline:ranker"):
        raise ValueError(f"unknown offline predictor {spec!r}")
    cands = entry.candidates
    if spec == "offline:history" and setting != "none":
        used = [h.tool_call.tool_name for h in entry.history(setting)]
        pick = next((c for c in cands if c.tool_name in used), cands[0])
    else:
        pick = rng.choice(cands)
    if pick.tool_name == entry.reference.tool_name:
        params = dict(entry.reference.parameters)
    else:
        params = {p.name: p.default for p in pick.required_parameters}
    return json.dumps({"tool_name": pick.tool_name, "parameters": params}, ensure_ascii=False)


def evaluate(model_spec, entries, settings, out_dir, *, concurrency=16, limit=None, gen_opts=None,
             cache_path=None, progress=True):
    out = Path(out_dir) / model_slug(model_spec)
    rng = random.Random(0)
    lines = {s: [json.dumps({"entry_id": e.entry_id, "setting": s, "response": _answer(model_spec, e, s, rng),
                             "latency_s": 0.0, "error": None}) for e in entries[:limit]] for s in settings}
    paths = {}
    for s, ls in lines.items():
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{s}.jsonl").write_text("".join(x + "\n" for x in ls), encoding="utf-8")
        paths[s] = out / f"{s}.jsonl"
    env_keys = sorted(k for k in os.environ if "KEY" in k)  # names only, as a real manifest may list
    atomic_write_json(out / "manifest.json", {"model": model_spec, "options": gen_opts or {}, "stub": True,
                                              "env_seen": env_keys})
    return paths
