"""The size of each profile's report on disk: the whole folder and its biggest files.

    python benchmarks/report_size.py [--profiles smoke,offline] [--write-docs]

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
    args = ap.parse_args()
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
