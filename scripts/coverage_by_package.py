"""Coverage of each package of airflow2kfp, from `coverage json`'s report, as a Markdown table.

    python scripts/coverage_by_package.py build/coverage/coverage.json

A package is a folder of airflow2kfp/ (its files together); the modules at the top are one row,
"airflow2kfp/*.py". Covered statements and branches over all of them, as coverage's own total counts.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import PurePosixPath


def package_of(path: str) -> str:
    parts = PurePosixPath(path).parts
    start = parts.index("airflow2kfp")
    return "airflow2kfp/*.py" if len(parts) - start == 2 else "/".join(parts[start : start + 2]) + "/"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as handle:
        report = json.load(handle)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for path, data in report["files"].items():
        summary = data["summary"]
        row = sums[package_of(path)]
        row[0] += summary["num_statements"]
        row[1] += summary["covered_lines"]
        row[2] += summary.get("num_branches", 0)
        row[3] += summary.get("covered_branches", 0)

    def percent(statements: int, covered: int, branches: int, covered_branches: int) -> str:
        total = statements + branches
        return f"{100 * (covered + covered_branches) / total:.1f}%" if total else "-"

    print("| package | statements | branches | covered |")
    print("|---|---:|---:|---:|")
    for package in sorted(sums, key=lambda p: (p == "airflow2kfp/*.py", p)):
        statements, _, branches, _ = sums[package]
        print(f"| `{package}` | {statements} | {branches} | {percent(*sums[package])} |")
    totals = report["totals"]
    print(
        f"| **total** | {totals['num_statements']} | {totals.get('num_branches', 0)} "
        f"| **{totals['percent_covered']:.1f}%** |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
