"""The entry explorer at the issue's scale: 12,000 entries x 6 models x 4 settings (288,000 answers).

    python benchmarks/explorer_scale.py [--entries 12000] [--models 6] [--out /tmp/explorer_scale.html]

Builds a payload by repeating the entries of a real run (``runs/smoke``'s samples.jsonl and benchmark,
re-keyed so every entry is distinct), writes the page, and times headless Chromium from load to the
first rows drawn (``data-ready`` on the status line) and a filter by one error type (through the URL).
Reports the page size. Needs a finished smoke run and ``chromium``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from petool_utils.evaluation import samples as S
from petool_utils.report.explorer import write_explorer

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def scaled_payload(run_dir: Path, n_entries: int, n_models: int) -> dict:
    runs = S.from_run_dir(run_dir)
    entries = {bm.label: bm.entries() for bm in runs}
    base = S.explorer_payload(runs, S.read_samples(run_dir), title="scale", entries=entries)
    k = len(base["entries"])
    models = [f"{m}#{j}" for j in range(-(-n_models // len(base["models"]))) for m in base["models"]][:n_models]
    out_entries, out_samples = [], []
    for i in range(n_entries):
        e = list(base["entries"][i % k])
        e[1] = f"{e[1]}-{i}"
        out_entries.append(e)
    by_entry: dict[int, list] = {}
    for s in base["samples"]:
        by_entry.setdefault(s[0], []).append(s)
    for i in range(n_entries):
        for s in by_entry.get(i % k, []):
            for j in range(-(-len(models) // len(base["models"]))):
                m = j * len(base["models"]) + s[1]
                if m < len(models):
                    out_samples.append([i, m, *s[2:]])
    return {**base, "models": models, "labels": models, "short": models, "entries": out_entries,
            "samples": out_samples}


def chromium_ms(url: str, profile: Path) -> float:
    """The page's own clock from navigation start to the first rows drawn (the status line's ``data-ms``)."""
    import re

    out = subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=60000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=600)
    m = re.search(r'data-ms="([0-9.]+)"', out.stdout)
    assert m and 'data-ready="1"' in out.stdout, out.stderr[-1000:]
    return float(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="runs/smoke")
    ap.add_argument("--entries", type=int, default=12_000)
    ap.add_argument("--models", type=int, default=6)
    ap.add_argument("--out", default="/tmp/explorer_scale.html")
    ap.add_argument("--write-docs", action="store_true", help="write the result into docs/reports.md's explorer.scale block")
    args = ap.parse_args()
    t0 = time.monotonic()
    payload = scaled_payload(Path(args.run_dir), args.entries, args.models)
    page = write_explorer(args.out, payload)
    built = time.monotonic() - t0
    prof = Path("/tmp/explorer_scale_chrome")
    load = chromium_ms(page.as_uri(), prof)
    filt = chromium_ms(page.as_uri() + "#type=TPM", prof)
    r = {"entries": len(payload["entries"]), "models": len(payload["models"]), "answers": len(payload["samples"]),
         "page_mb": round(page.stat().st_size / 1e6, 2), "build_s": round(built, 1),
         "chromium_load_and_first_rows_ms": round(load), "chromium_filter_by_type_ms": round(filt)}
    print(json.dumps(r, indent=1))
    if args.write_docs:
        from petool_utils.paths import REPO_ROOT
        from petool_utils.report.docblocks import provenance, write_block

        body = (f"{r['entries']:,} entries x {r['models']} models ({r['answers']:,} answers): a {r['page_mb']} MB page, "
                f"built in {r['build_s']} s; headless Chromium, navigation start to the first rows drawn: "
                f"{r['chromium_load_and_first_rows_ms'] / 1000:.1f} s (filtered by one error type through the "
                f"address: {r['chromium_filter_by_type_ms'] / 1000:.1f} s).\n\n"
                + provenance("python benchmarks/explorer_scale.py --write-docs"))
        write_block(REPO_ROOT / "docs" / "reports.md", "explorer.scale", body)


if __name__ == "__main__":
    main()
