"""How long each parser takes on adversarial 1 MB responses (issue 9 item 2 asks for at most 1 s).

The inputs are the test suite's (``tests/test_parsers_property.py::ADVERSARIAL_1MB``): repeated
``{"tool_name": "x", `` (the authors' regex under ``re`` took 73 s on 20 KB of it), 1 MB of ``{``, deeply
nested braces, runs of quotes, an unclosed fence before a megabyte of whitespace, and more. For contrast,
Python's ``re`` with the authors' pattern on the first input cut to 5 KB.

    python benchmarks/parser_adversarial.py                # print the table
    python benchmarks/parser_adversarial.py --write-docs   # and put it into docs/scoring.md
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from petool_utils.benchmark.parsing import REFERENCE_PATTERN, parse_reference, parse_robust  # noqa: E402
from petool_utils.report.docblocks import provenance, write_block  # noqa: E402
from test_parsers_property import ADVERSARIAL_1MB  # noqa: E402

DOCS = ROOT / "docs" / "scoring.md"
BLOCK = "parser-timings"


def best_of(fn, text: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn(text)
        times.append(time.process_time() - t0)
    return min(times)


def table() -> str:
    rows = ["| input (1 MiB) | reference (s) | robust (s) |", "| --- | ---: | ---: |"]
    worst = {"reference": 0.0, "robust": 0.0}
    for name, text in ADVERSARIAL_1MB.items():
        ref, rob = best_of(parse_reference, text), best_of(parse_robust, text)
        worst["reference"], worst["robust"] = max(worst["reference"], ref), max(worst["robust"], rob)
        rows.append(f"| {name} | {ref:.3f} | {rob:.3f} |")
    rows.append(f"| **worst** | **{worst['reference']:.3f}** | **{worst['robust']:.3f}** |")
    five_kb = ADVERSARIAL_1MB["repeated tool_name prefix"][:5 * 1024]
    t0 = time.process_time()
    REFERENCE_PATTERN.search(five_kb)
    naive = time.process_time() - t0
    return "\n".join(rows) + (
        f"\n\nFor contrast, Python's `re` with the authors' pattern takes {naive:.2f} s on the first input cut to "
        f"5 KiB (and grows roughly with the cube of the length). CPU seconds, best of 3 "
        f"({platform.python_implementation()} {platform.python_version()}). "
        + provenance("python benchmarks/parser_adversarial.py --write-docs"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-docs", action="store_true", help=f"replace the table in {DOCS.relative_to(ROOT)}")
    args = ap.parse_args()
    out = table()
    print(out)
    if args.write_docs:
        print(f"wrote {write_block(DOCS, BLOCK, out)}")


if __name__ == "__main__":
    main()
