"""Three fixture runs for the report tests: built from hand-made DAG models, converted for real.

Sources are written under `root/dags/` and named relative to `root`, as `airflow2kfp convert dags`
run from `root` would name them; tests render with source_root=root so the source links resolve.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from airflow2kfp.diagnostics import diag
from airflow2kfp.model import Dag, Duration, SourceSpan, Task, TaskArgs
from airflow2kfp.pipeline import ConvertOptions, convert_dag
from airflow2kfp.results import FileResult, Status
from airflow2kfp.run import write_outputs

BASH = ("BashOperator", "airflow.operators.bash")
EMPTY = ("EmptyOperator", "airflow.operators.empty")
PYTHON = ("PythonOperator", "airflow.operators.python")
HOSTILE = "<script>alert('x')</script>"


def _task(file: str, task_id: str, line: int, operator: tuple[str, str] = BASH, **args) -> Task:
    if operator == BASH:
        args.setdefault("bash_command", f"echo {task_id}")
    return Task(task_id, operator[0], operator[1], SourceSpan(file, line, 4), TaskArgs(args, frozenset(args)))


def seed_dag() -> Dag:
    file = "dags/example_pipeline.py"
    edges = (
        ("task_a", "task_b"),
        ("task_a", "task_c"),
        ("task_a", "task_d"),
        ("task_b", "task_e"),
        ("task_c", "task_e"),
        ("task_d", "task_f"),
        ("task_d", "task_g"),
        ("task_e", "task_g"),
    )
    tasks = tuple(
        _task(file, f"task_{c}", 10 + i, bash_command=f"echo Task {c.upper()}")
        for i, c in enumerate("abcdefg")
    )
    return Dag(
        "example_pipeline",
        SourceSpan(file, 5),
        tasks,
        edges,
        settings={"schedule": None, "catchup": False, "tags": ["example"]},
    )


def etl_dag() -> Dag:
    file = "dags/etl_mixed.py"
    tasks = (
        _task(file, "start", 12, EMPTY),
        _task(
            file,
            "extract",
            13,
            retries=2,
            retry_delay=Duration(60),
            execution_timeout=Duration(600),
            pool="etl_pool",
        ),
        _task(file, "transform", 16, bash_command="python transform.py --date {{ ds }}"),
        _task(file, "load", 17, PYTHON, python_callable="load"),
        _task(file, "notify", 18, trigger_rule="all_done"),
    )
    edges = (("start", "extract"), ("extract", "transform"), ("transform", "load"), ("load", "notify"))
    settings = {
        "schedule": "@daily",
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["etl", "daily"],
        "params": {"env": "prod"},
        "doc_md": "# ETL\nLoads the warehouse.",
        "default_args": {"owner": "data"},
    }
    return Dag("etl_mixed", SourceSpan(file, 8), tasks, edges, settings=settings)


def hostile_dag() -> Dag:
    file = "dags/hostile.py"
    tasks = (
        _task(file, f"x{HOSTILE}", 5, bash_command=f'echo "{HOSTILE}" | tee "a|b" `date`'),
        _task(file, "after_it", 6),
    )
    return Dag(
        "hostile",
        SourceSpan(file, 3),
        tasks,
        ((f"x{HOSTILE}", "after_it"),),
        settings={"schedule": "0 3 * * 1", "doc_md": f"see {HOSTILE}"},
    )


def cyclic_dag() -> Dag:
    file = "dags/cyclic.py"
    tasks = (_task(file, "a", 4), _task(file, "b", 5))
    return Dag("cyclic", SourceSpan(file, 2), tasks, (("a", "b"), ("b", "a")))


def large_dag(regions: int = 10) -> Dag:
    """300 tasks in 10 TaskGroups (one per region), ~550 edges: past Mermaid's 500-edge limit, as a
    warehouse load per region is often written (fetch, clean, load per partition, then publish)."""
    file = "dags/regional_loads.py"
    tasks: list[Task] = []
    edges: list[tuple[str, str]] = []
    line = 10
    for region in range(regions):
        group = f"region_{region}"
        ids = {kind: [f"{group}.{kind}_{part:02d}" for part in range(10)] for kind in ("fetch", "clean")}
        ids["load"] = [f"{group}.load_{part:02d}" for part in range(9)]
        publish = f"{group}.publish"
        for kind, names in ids.items():
            for part, task_id in enumerate(names):
                command = {
                    "fetch": f"gsutil cp gs://raw/{region}/{part}.csv /data/ && echo {{{{ ds }}}}",
                    "clean": f"python clean.py --region {region} --part {part}",
                    "load": f"bq load warehouse.sales_{region} /data/{part}.csv",
                }[kind]
                task = _task(file, task_id, line, bash_command=command, pool="warehouse")
                tasks.append(dataclasses.replace(task, group_id=group))
                line += 1
        tasks.append(
            dataclasses.replace(_task(file, publish, line, bash_command="echo published"), group_id=group)
        )
        line += 1
        edges += list(zip(ids["fetch"], ids["clean"], strict=False))
        edges += list(zip(ids["fetch"][:-1], ids["clean"][1:], strict=False))
        edges += list(zip(ids["clean"], ids["load"], strict=False))
        edges += list(zip(ids["clean"][1:], ids["load"], strict=False))
        edges += [(load, publish) for load in ids["load"]]
        if region:
            edges += [(f"region_{region - 1}.publish", fetch) for fetch in ids["fetch"]]
    return Dag(
        "regional_loads",
        SourceSpan(file, 5),
        tuple(tasks),
        tuple(edges),
        settings={"schedule": "@daily", "catchup": False},
    )


FIXTURES = {"example_pipeline": seed_dag, "etl_mixed": etl_dag, "hostile": hostile_dag}


def _source_text(dag: Dag) -> str:
    lines = [f"# fixture DAG {dag.dag_id}"] * max(t.span.line for t in dag.tasks)
    return "\n".join(lines) + "\n"


def build_run(root: Path, dags: tuple[Dag, ...] | None = None, with_broken_file: bool = True) -> Path:
    """Convert `dags` (default: all fixtures and a cyclic DAG) and write OUT under root; returns OUT."""
    dags = dags if dags is not None else (*(make() for make in FIXTURES.values()), cyclic_dag())
    files = []
    for dag in dags:
        source = root / dag.span.file
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(_source_text(dag))
        result = convert_dag(dag, (), ConvertOptions())
        files.append(FileResult(dag.span.file, result.status, (), (result,)))
    if with_broken_file:
        (root / "dags").mkdir(parents=True, exist_ok=True)
        (root / "dags/broken.py").write_text("def (:\n")
        files.append(
            FileResult(
                "dags/broken.py",
                Status.FAILED,
                (diag("A2K101", "invalid syntax", file="dags/broken.py", line=1, col=4),),
            )
        )
    out = root / "out"
    write_outputs(sorted(files, key=lambda f: f.path), out)
    return out
