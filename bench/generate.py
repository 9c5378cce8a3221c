"""Generate a synthetic, realistic Airflow DAG repository, deterministic from a seed.

    python bench/generate.py /tmp/dags --dags 300 [--seed 7]
    python bench/generate.py /tmp/big --single 2000     # one DAG of exactly 2,000 tasks

The repo looks like a team's DAG folder: `<team>/<dag>.py` files importing the shared helper
package `common/` (callables, settings) as Airflow allows (the DAG folder is on sys.path), with
Airflow 3 imports. Each DAG mixes Bash, Python, TaskFlow, KubernetesPod and Empty tasks,
TaskGroups and loops over literals, wired in a main line with side branches; it has 5 to 60 tasks,
about 25 on average. Same seed and sizes, same bytes.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path

TEAMS = ("finance", "growth", "ml", "ops", "platform")
MIN_TASKS, MAX_TASKS, MODE_TASKS = 5, 60, 10  # triangular(5, 60, 10): mean 25
REGIONS = ("eu", "us", "apac", "latam", "mea", "anz", "nordics", "dach")

CALLABLES = '''"""Python callables shared by the DAGs (PythonOperator targets)."""


def extract(source: str, **context) -> dict:
    return {"source": source, "rows": 100}


def validate(table: str, **context) -> bool:
    return bool(table)


def publish(target: str, **context) -> None:
    print(f"publishing {target}")
'''

SETTINGS = '''"""Settings shared by the DAGs."""
from datetime import datetime, timedelta

START = datetime(2024, 1, 1)
NAMESPACE = "data-jobs"
DEFAULT_ARGS = {"owner": "data-team", "retries": 2, "retry_delay": timedelta(minutes=5)}
'''

HEADER = '''"""{dag_id}: generated DAG with {tasks} tasks (seed {seed})."""
from datetime import datetime, timedelta

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup, task

from common.callables import extract, publish, validate
from common.settings import NAMESPACE

default_args = {{"owner": "{team}", "retries": {retries}, "retry_delay": timedelta(minutes={delay})}}

with DAG(
    dag_id="{dag_id}",
    start_date=datetime(2024, 1, 1),
    schedule="{schedule}",
    catchup=False,
    default_args=default_args,
    tags=["{team}", "generated"],
) as dag:
    start = EmptyOperator(task_id="start")
'''


@dataclass
class _Dag:
    """The body being written: lines, and the variables of segment ends no one depends on yet."""

    rng: random.Random
    lines: list[str] = field(default_factory=list)
    ends: list[str] = field(default_factory=list)  # segment exits, in order
    leaves: list[str] = field(default_factory=list)  # exits without a downstream segment yet
    count: int = 0

    def upstream(self) -> str:
        # mostly a main line; now and then a branch from an earlier segment
        if len(self.ends) > 2 and self.rng.random() < 0.25:
            chosen = self.rng.choice(self.ends[:-1])
        else:
            chosen = self.ends[-1]
        if chosen in self.leaves:
            self.leaves.remove(chosen)
        return chosen

    def finish(self, exit_var: str) -> None:
        self.ends.append(exit_var)
        self.leaves.append(exit_var)


def _bash(d: _Dag, k: int, size: int) -> None:
    up = d.upstream()
    d.lines.append(
        f'    bash_{k} = BashOperator(task_id="bash_{k}", '
        f'bash_command="run_job.sh --step {k} --date {{{{ ds }}}}", retries={k % 3})'
    )
    d.lines.append(f"    {up} >> bash_{k}")
    d.finish(f"bash_{k}")


def _python(d: _Dag, k: int, size: int) -> None:
    up = d.upstream()
    func = d.rng.choice(("extract", "validate", "publish"))
    arg = {"extract": "source", "validate": "table", "publish": "target"}[func]
    d.lines.append(
        f'    python_{k} = PythonOperator(task_id="python_{k}", python_callable={func}, '
        f'op_kwargs={{"{arg}": "table_{k}"}})'
    )
    d.lines.append(f"    {up} >> python_{k}")
    d.finish(f"python_{k}")


def _pod(d: _Dag, k: int, size: int) -> None:
    up = d.upstream()
    d.lines += [
        f"    pod_{k} = KubernetesPodOperator(",
        f'        task_id="pod_{k}",',
        f'        name="pod-{k}",',
        "        namespace=NAMESPACE,",
        f'        image="registry.example.com/jobs/step:{k % 7}.0",',
        '        cmds=["python", "-m", "jobs.run"],',
        f'        arguments=["--step", "{k}", "--date", "{{{{ ds }}}}"],',
        "    )",
        f"    {up} >> pod_{k}",
    ]
    d.finish(f"pod_{k}")


def _taskflow(d: _Dag, k: int, size: int) -> None:
    """A chain of `size` TaskFlow tasks passing data along."""
    up = d.upstream()
    for i in range(size):
        d.lines += [
            "",
            "    @task",
            f"    def step_{k}_{i}(value=None):",
            f'        return {{"step": {i}, "previous": value}}',
        ]
    d.lines.append("")
    d.lines.append(f"    flow_{k}_0 = step_{k}_0()")
    for i in range(1, size):
        d.lines.append(f"    flow_{k}_{i} = step_{k}_{i}(flow_{k}_{i - 1})")
    d.lines.append(f"    {up} >> flow_{k}_0")
    d.finish(f"flow_{k}_{size - 1}")


def _group(d: _Dag, k: int, size: int) -> None:
    """A TaskGroup with a loop over literal regions (Bash) and a closing Empty task."""
    up = d.upstream()
    regions = list(REGIONS[: size - 1]) + [f"part{i}" for i in range(max(0, size - 1 - len(REGIONS)))]
    d.lines += [
        f'    with TaskGroup("load_{k}", tooltip="Load step {k} per region") as group_{k}:',
        f'        done_{k} = EmptyOperator(task_id="done")',
        f"        for region in {regions!r}:",
        '            load = BashOperator(task_id=f"load_{region}", '
        f'bash_command=f"load.sh --region {{region}} --step {k}")',
        f"            load >> done_{k}",
        f"    {up} >> group_{k}",
    ]
    d.finish(f"group_{k}")


def _fanout(d: _Dag, k: int, size: int) -> None:
    """A loop over a literal list creating parallel Python tasks, joined by an Empty task."""
    up = d.upstream()
    items = [f"shard_{i}" for i in range(size - 1)]
    d.lines += [
        f'    join_{k} = EmptyOperator(task_id="join_{k}")',
        f"    for shard in {items!r}:",
        f'        check = PythonOperator(task_id=f"check_{k}_{{shard}}", python_callable=validate, '
        'op_kwargs={"table": shard})',
        f"        {up} >> check >> join_{k}",
    ]
    d.finish(f"join_{k}")


# kind -> (writer, smallest size, largest size, weight)
_SEGMENTS = {
    "bash": (_bash, 1, 1, 5),
    "python": (_python, 1, 1, 3),
    "pod": (_pod, 1, 1, 2),
    "taskflow": (_taskflow, 2, 4, 2),
    "group": (_group, 3, 9, 2),
    "fanout": (_fanout, 3, 8, 1),
}


def task_count(rng: random.Random) -> int:
    return round(rng.triangular(MIN_TASKS, MAX_TASKS, MODE_TASKS))


def dag_source(dag_id: str, team: str, tasks: int, seed: int) -> str:
    """One DAG file with exactly `tasks` tasks (at least 2: start and end)."""
    rng = random.Random(f"{seed}:{dag_id}")
    d = _Dag(rng, ends=["start"])
    budget = tasks - 2  # start and end
    kinds, weights = list(_SEGMENTS), [spec[3] for spec in _SEGMENTS.values()]
    k = 0
    while budget > 0:
        writer, low, high, _ = _SEGMENTS[rng.choices(kinds, weights)[0]]
        if low > budget:
            writer, low, high = _bash, 1, 1
        size = min(rng.randint(low, high), budget)
        writer(d, k, size)
        budget -= size
        k += 1
    leaves = d.leaves or ["start"]
    d.lines.append(
        '    end = EmptyOperator(task_id="end", trigger_rule="all_done")'
        if rng.random() < 0.2
        else '    end = EmptyOperator(task_id="end")'
    )
    d.lines.append(f"    [{', '.join(leaves)}] >> end" if len(leaves) > 1 else f"    {leaves[0]} >> end")
    header = HEADER.format(
        dag_id=dag_id,
        tasks=tasks,
        seed=seed,
        team=team,
        retries=rng.randint(0, 3),
        delay=rng.choice((1, 5, 10)),
        schedule=rng.choice(("@daily", "@hourly", "0 3 * * *")),
    )
    return header + "\n".join(d.lines) + "\n"


def write_helpers(root: Path) -> None:
    (root / "common").mkdir(parents=True, exist_ok=True)
    (root / "common" / "__init__.py").write_text("")
    (root / "common" / "callables.py").write_text(CALLABLES)
    (root / "common" / "settings.py").write_text(SETTINGS)


def generate(root: Path, dags: int, seed: int = 7) -> dict[str, int]:
    """Write `dags` DAG files under `root`; returns {relative path: task count}."""
    write_helpers(root)
    counts = random.Random(seed)
    written: dict[str, int] = {}
    for index in range(dags):
        team = TEAMS[index % len(TEAMS)]
        dag_id = f"{team}_pipeline_{index:04d}"
        tasks = task_count(counts)
        relative = f"{team}/{dag_id}.py"
        (root / team).mkdir(exist_ok=True)
        (root / relative).write_text(dag_source(dag_id, team, tasks, seed))
        written[relative] = tasks
    return written


def generate_single(root: Path, tasks: int, seed: int = 7) -> Path:
    """One DAG of exactly `tasks` tasks (plus the helpers it imports)."""
    write_helpers(root)
    path = root / f"big_{tasks}.py"
    path.write_text(dag_source(f"big_{tasks}", "platform", tasks, seed))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--dags", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--single", type=int, metavar="TASKS", help="write one DAG of this many tasks instead"
    )
    args = parser.parse_args(argv)
    if args.single:
        print(generate_single(args.root, args.single, args.seed))
    else:
        counts = generate(args.root, args.dags, args.seed)
        print(f"{len(counts)} DAG files, {sum(counts.values())} tasks in {args.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
