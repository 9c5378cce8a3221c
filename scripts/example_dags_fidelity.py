"""How much of Airflow's own example DAGs converts to runnable steps: the share of tasks mapped
"direct" or "approximated" (not "placeholder"; "removed" EmptyOperators are left out of the share).

Usage (any Airflow installation provides the examples; they are copied, never committed):
    python scripts/example_dags_fidelity.py [--airflow-python .venv-airflow/bin/python] [--keep DIR]

The examples are copied from the Airflow interpreter's site-packages (`airflow/example_dags` and
every `airflow/providers/**/example_dags`) into a temporary folder, converted statically with the
converter, and counted from conversion.json. Exit 0 when the share is at least --target.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIND = (
    "import airflow, pathlib; root = pathlib.Path(airflow.__file__).parent; "
    "print('\\n'.join(str(p) for p in sorted(root.rglob('example_dags')) if p.is_dir()))"
)


def example_folders(airflow_python: str) -> list[Path]:
    out = subprocess.run([airflow_python, "-c", FIND], capture_output=True, text=True, check=True, timeout=120)
    return [Path(line) for line in out.stdout.splitlines() if line.strip()]


def copy_examples(folders: list[Path], target: Path) -> None:
    for index, folder in enumerate(folders):
        # keep each folder's relative layout: .sh / .sql templates are looked up next to the DAGs
        name = f"{index:02d}_{'_'.join(folder.parts[-3:])}"
        shutil.copytree(folder, target / name, ignore=shutil.ignore_patterns("__pycache__"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--airflow-python", default=str(ROOT.parent / "main" / ".venv-airflow" / "bin" / "python"))
    parser.add_argument("--keep", type=Path, default=None, help="write the conversion here instead of a temp dir")
    parser.add_argument("--target", type=float, default=0.95)
    args = parser.parse_args(argv)

    from converter.pipeline import ConvertOptions
    from converter.run import convert_all

    with tempfile.TemporaryDirectory(prefix="airflow-examples-") as tmp:
        dags_dir = Path(tmp) / "dags"
        copy_examples(example_folders(args.airflow_python), dags_dir)
        out = args.keep or Path(tmp) / "out"
        convert_all([dags_dir], out, ConvertOptions())
        summary = json.loads((out / "conversion.json").read_text())

    counts: Counter[str] = Counter()
    placeholders: Counter[str] = Counter()
    for dag in summary["dags"]:
        for task in dag["tasks"]:
            counts[task["mapping"]] += 1
            if task["mapping"] == "placeholder":
                placeholders[task["operator"]] += 1
    statuses = Counter(dag["status"] for dag in summary["dags"])
    runnable = counts["direct"] + counts["approximated"]
    considered = runnable + counts["placeholder"]
    share = runnable / considered if considered else 0.0
    print(f"DAGs: {len(summary['dags'])} ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})")
    print("tasks by mapping: " + ", ".join(f"{k} {counts[k]}" for k in ("direct", "approximated", "placeholder", "removed")))
    print(f"runnable share (direct + approximated) / (all but removed): {runnable}/{considered} = {share:.1%}")
    for operator, count in placeholders.most_common(10):
        print(f"  placeholder: {count} x {operator}")
    return 0 if share >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
