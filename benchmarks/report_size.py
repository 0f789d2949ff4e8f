"""The size of each profile's report on disk: the whole folder and its biggest files.

    python benchmarks/report_size.py [--profiles smoke,offline] [--write-docs]
    python benchmarks/report_size.py --run-block small-llm [--note "..."]   # README's <profile>.run block

Reads ``reports/<profile>/`` as the last ``petool run --profile <profile>`` left it (run the profiles
first); ``--write-docs`` writes the table into the ``report.sizes`` blocks of README.md and
docs/reports.md. Targets (issue 27): the offline profile's report under 8 MB, the smoke profile's under 3 MB.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from petool_utils.paths import REPO_ROOT
from petool_utils.report.docblocks import provenance, write_blocks
from petool_utils.params import load_profile

TARGET_MB = {"offline": 8.0, "smoke": 3.0}
PAGES = (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "reports.md")


def run_minutes(run_dir: Path) -> tuple[float | None, str | None]:
    """Minutes the profile's notebooks took (the runner's status.json), and the slowest of them."""
    p = run_dir / "notebooks" / "status.json"
    if not p.exists():
        return None, None
    status = json.loads(p.read_text(encoding="utf-8"))
    times = {k: v.get("duration_s") or 0.0 for k, v in status.items()}
    slowest = max(times, key=times.get) if times else None
    return sum(times.values()) / 60, (f"{slowest} {times[slowest] / 60:.1f} min" if slowest else None)


def run_block(run_dir: Path, profile: str, note: str = "") -> str:
    """README's measured time of one ``make reproduce PROFILE=<profile>`` from the runner's status.json: each
    notebook's minutes (with those of its attempts a kill cut short, which the runner keeps), the total, whether
    every notebook finished, and whether the CPU had bf16 (training under bf16 autocast, or fp32). A notebook not
    run yet is named, so a partial run never reads as a whole one."""
    from petool_utils.models.hf_backend import cpu_has_bf16
    from petool_utils.report.runner import NotebookRun

    prof = load_profile(profile)
    p = run_dir / "notebooks" / "status.json"
    status = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
    done = {k: v for k, v in status.items() if v.get("status") == "ok"}
    missing = [n for n in prof.notebooks if n not in done]
    if not done:
        return f"`make reproduce PROFILE={profile}`: not measured yet."
    runs = {k: NotebookRun.model_validate(v) for k, v in done.items()}  # with the attempts a kill cut short
    parts = ", ".join(f"{k[:2]} {(r.duration_s + r.interrupted_s) / 60:.1f}"
                      + (f" ({r.interrupted_s / 60:.1f} of it in {len(r.interrupted)} interrupted run(s))"
                         if r.interrupted else "") for k, r in sorted(runs.items()))
    total = sum(r.duration_s + r.interrupted_s for r in runs.values()) / 60
    first = min(v.get("started_utc") or "" for v in done.values())
    head = (f"`make reproduce PROFILE={profile}`, **measured**: {total:.0f} min for "
            + (f"all {len(done)} notebooks" if not missing else
               f"{len(done)} of {len(prof.notebooks)} notebooks (not finished: {', '.join(missing)})")
            + f" (minutes each: {parts}); started {first[:16].replace('T', ' ')} UTC, on a CPU "
            + ("with avx512_bf16 (training under bf16 autocast)" if cpu_has_bf16() else
               "without avx512_bf16 (training in fp32)") + ".")
    return head + (f" {note}" if note else "") + "\n\n" + provenance(
        f"python benchmarks/report_size.py --run-block {profile}")


def measure(profile: str) -> dict:
    prof = load_profile(profile)
    d = Path(prof.report_dir)
    minutes, slowest = run_minutes(Path(prof.run_dir))
    files = sorted((p for p in d.glob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
    sizes = {p.name: p.stat().st_size for p in files}
    return {"profile": profile, "folder": str(d.relative_to(REPO_ROOT)) if d.is_relative_to(REPO_ROOT) else str(d),
            "files": len(files), "total_bytes": sum(sizes.values()), "largest": list(sizes.items())[:4],
            "run_minutes": minutes, "slowest": slowest}


def table(rows: list[dict]) -> str:
    lines = ["| profile | report | target | files | largest files | notebooks' run time (slowest) |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        big = ", ".join(f"{n} {b / 1e6:.2f} MB" for n, b in r["largest"])
        target = TARGET_MB.get(r["profile"])
        took = f"{r['run_minutes']:.1f} min ({r['slowest']})" if r["run_minutes"] is not None else ""
        lines.append(f"| {r['profile']} | {r['total_bytes'] / 1e6:.2f} MB | {f'< {target:.0f} MB' if target else ''} | "
                     f"{r['files']} | {big} | {took} |")
    return "\n".join(lines) + "\n\n" + provenance("python benchmarks/report_size.py --write-docs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", default="smoke,offline")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--run-block", metavar="PROFILE", help="write README's <PROFILE>.run block from its status.json")
    ap.add_argument("--note", default="", help="with --run-block: what else the machine did meanwhile")
    args = ap.parse_args()
    if args.run_block:
        body = run_block(Path(load_profile(args.run_block).run_dir), args.run_block, args.note)
        write_blocks(PAGES[0], {f"{args.run_block}.run": body})
        print(body)
        return
    rows = [measure(p) for p in args.profiles.split(",") if p]
    rows = [r for r in rows if r["files"]]
    print(json.dumps(rows, indent=1))
    if args.write_docs and rows:
        body = table(rows)
        for page in PAGES:
            write_blocks(page, {"report.sizes": body})
        print(body)


if __name__ == "__main__":
    main()
