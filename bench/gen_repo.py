"""Generate a deterministic repository of Airflow DAG files for timing `airflow2kfp convert`.

    python bench/gen_repo.py /tmp/dags200 --dags 200

Each DAG chains BashOperator and EmptyOperator tasks with `>>` (with a fan-out) and imports a
shared helper module, so the cache's helper tracking is exercised too. Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELPER = '''"""Shared settings imported by the DAGs."""
from datetime import datetime

START = datetime(2024, 1, 1)
OWNER = "data-team"
'''

TEMPLATE = '''"""Generated DAG {index}."""
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

from common.settings import START

with DAG(dag_id="generated_{index:04d}", start_date=START, schedule="@daily", catchup=False,
         tags=["generated"]) as dag:
    start = EmptyOperator(task_id="start")
{tasks}
    end = EmptyOperator(task_id="end")
    start >> step_0
{chain}
    [step_{last}, side] >> end
'''


def dag_source(index: int, width: int) -> str:
    steps = [
        f'    step_{i} = BashOperator(task_id="step_{i}", bash_command="echo {index}-{i} && sleep 1", '
        f"retries={i % 3})"
        for i in range(width)
    ]
    steps.append(f'    side = BashOperator(task_id="side", bash_command="echo side {index}")')
    chain = "\n".join(f"    step_{i} >> step_{i + 1}" for i in range(width - 1))
    chain += "\n    step_0 >> side"
    return TEMPLATE.format(index=index, tasks="\n".join(steps), chain=chain, last=width - 1)


def generate(root: Path, dags: int) -> None:
    (root / "common").mkdir(parents=True, exist_ok=True)
    (root / "common" / "__init__.py").write_text("")
    (root / "common" / "settings.py").write_text(HELPER)
    for index in range(dags):
        (root / f"dag_{index:04d}.py").write_text(dag_source(index, width=3 + index % 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--dags", type=int, default=200)
    args = parser.parse_args()
    generate(args.root, args.dags)
    print(f"{args.dags} DAG files in {args.root}")


if __name__ == "__main__":
    main()
