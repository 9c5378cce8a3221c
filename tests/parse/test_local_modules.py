"""Names imported from the repository's own modules are read statically, as Airflow's import would
find them: the DAG folder (and the file's folder) on sys.path, packages with or without
`__init__.py`, relative imports inside a package. Tasks and groups built in a helper module carry
that module's file and lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

from airflow2kfp.model import ParsedFile, XComRef
from airflow2kfp.parse.static import read_dag_file
from tests.parse.helpers import only_dag, task_ids

COMMON_TASKS = """\
from airflow.decorators import task

from .config import TABLES


@task
def extract(table: str) -> dict:
    return {"table": table, "rows": len(TABLES)}


@task(retries=3)
def load(payload: dict) -> None:
    print(payload)
"""

COMMON_CONFIG = """\
from datetime import timedelta

TABLES = ["orders", "customers"]
DEFAULT_ARGS = {"owner": "data", "retries": 1, "retry_delay": timedelta(minutes=5)}
"""

FACTORY = """\
from airflow.operators.bash import BashOperator
from airflow.utils.task_group import TaskGroup


def make_bash(task_id, command):
    return BashOperator(task_id=task_id, bash_command=command)


def make_group(name, tables):
    with TaskGroup(group_id=name) as group:
        previous = None
        for table in tables:
            step = BashOperator(task_id=f"copy_{table}", bash_command=f"copy {table}")
            if previous is not None:
                previous >> step
            previous = step
    return group
"""

ETL_DAG = """\
from datetime import datetime

from airflow import DAG

import common.config as cfg
from common.tasks import extract, load
from utils.factory import make_bash, make_group

with DAG("etl", start_date=datetime(2024, 1, 1), schedule=None, default_args=cfg.DEFAULT_ARGS) as dag:
    orders = extract.override(task_id="extract_orders")("orders")
    customers = extract.override(task_id="extract_customers")("customers")
    copies = make_group("copies", cfg.TABLES)
    done = make_bash("done", "echo done")
    [load(orders), load(customers)] >> copies >> done
"""


def write_repo(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def read(root: Path, name: str, **kwargs: object) -> ParsedFile:
    return read_dag_file(root / name, display_path=name, dag_folder=root, **kwargs)  # type: ignore[arg-type]


def repo(tmp_path: Path, **extra: str) -> Path:
    write_repo(
        tmp_path,
        {
            "common/__init__.py": "",
            "common/tasks.py": COMMON_TASKS,
            "common/config.py": COMMON_CONFIG,
            "utils/factory.py": FACTORY,  # a namespace package: no __init__.py
            "etl.py": ETL_DAG,
            **extra,
        },
    )
    return tmp_path


def test_taskflow_tasks_groups_and_factories_from_helper_modules(tmp_path: Path) -> None:
    parsed = read(repo(tmp_path), "etl.py")
    dag = only_dag(parsed)
    assert task_ids(dag) == [
        "extract_orders",
        "extract_customers",
        "copies.copy_orders",
        "copies.copy_customers",
        "done",
        "load",
        "load__1",
    ]
    assert set(dag.edges) == {
        ("extract_orders", "load"),
        ("extract_customers", "load__1"),
        ("copies.copy_orders", "copies.copy_customers"),
        ("load", "copies.copy_orders"),
        ("load__1", "copies.copy_orders"),
        ("copies.copy_customers", "done"),
    }
    assert [d for d in parsed.diagnostics if d.code == "A2K203"] == []
    tasks = {t.task_id: t for t in dag.tasks}
    # a TaskFlow task is where the DAG calls it; its callable is the helper's function, with its text
    assert (tasks["extract_orders"].span.file, tasks["extract_orders"].span.line) == ("etl.py", 10)
    callable_ = tasks["extract_orders"].python_callable
    assert callable_ is not None and callable_.span is not None
    assert (callable_.span.file, callable_.span.line) == ("common/tasks.py", 7)  # its `def`
    # the module's text, its relative imports made absolute: the step carries what the callable uses
    assert callable_.module_source == COMMON_TASKS.replace("from .config", "from common.config")
    assert callable_.source is not None and callable_.source.startswith("@task\ndef extract(")
    assert tasks["extract_orders"].args.get("op_args") == ("orders",)
    assert tasks["load"].args.get("op_args") == (XComRef("extract_orders"),)
    assert tasks["load"].args.get("retries") == 3  # the decorator's, over default_args from the config module
    assert tasks["extract_orders"].args.get("retries") == 1
    # tasks a helper function builds are where the helper builds them
    assert (tasks["copies.copy_orders"].span.file, tasks["copies.copy_orders"].span.line) == (
        "utils/factory.py",
        13,
    )
    assert (tasks["done"].span.file, tasks["done"].span.line) == ("utils/factory.py", 6)
    assert tasks["done"].operator_module == "airflow.operators.bash"


def test_display_paths_follow_the_dag_files_name(tmp_path: Path) -> None:
    root = repo(tmp_path / "dags")
    parsed = read_dag_file(root / "etl.py", display_path="dags/etl.py", dag_folder=root)
    spans = {t.task_id: t.span.file for t in only_dag(parsed).tasks}
    assert spans["done"] == "dags/utils/factory.py"


def test_without_following_the_helpers_are_doubts(tmp_path: Path) -> None:
    """The same DAG with its helper modules missing: the calls are what the reader cannot see."""
    write_repo(tmp_path, {"etl.py": ETL_DAG})
    parsed = read(tmp_path, "etl.py")
    assert any(d.code == "A2K203" for d in parsed.diagnostics)


def test_task_group_decorator_and_local_operator_class(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        **{
            "plugins/__init__.py": "",
            "plugins/operators/__init__.py": "from .pods import TeamPodOperator\n",
            "plugins/operators/pods.py": """\
                from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator


                class TeamPodOperator(KubernetesPodOperator):
                    def __init__(self, **kwargs):
                        super().__init__(namespace="team", **kwargs)
            """,
            "groups/__init__.py": "",
            "groups/process.py": """\
                from airflow.decorators import task, task_group


                @task
                def clean(value):
                    return value


                @task
                def score(value):
                    return value * 2


                @task_group
                def process(value):
                    return score(clean(value))
            """,
            "pods.py": """\
                from datetime import datetime

                from airflow.decorators import dag

                from groups.process import process
                from plugins.operators import TeamPodOperator


                @dag(start_date=datetime(2024, 1, 1), schedule=None)
                def pods():
                    first = process(1)
                    second = process(2)
                    run = TeamPodOperator(task_id="run", image="busybox", cmds=["true"])
                    [first, second] >> run


                pods()
            """,
        },
    )
    parsed = read(root, "pods.py")
    dag = only_dag(parsed)
    assert task_ids(dag) == [
        "process.clean",
        "process.score",
        "process__1.clean",
        "process__1.score",
        "run",
    ]
    assert set(dag.edges) == {
        ("process.clean", "process.score"),
        ("process__1.clean", "process__1.score"),
        ("process.score", "run"),
        ("process__1.score", "run"),
    }
    run = next(t for t in dag.tasks if t.task_id == "run")
    assert run.operator == "TeamPodOperator"
    assert run.operator_module == "plugins.operators.pods"
    assert "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator" in run.operator_bases
    assert (run.span.file, run.span.line) == ("pods.py", 13)
    assert [d for d in parsed.diagnostics if d.code == "A2K203"] == []


def test_module_attribute_access_and_the_files_own_folder(tmp_path: Path) -> None:
    """`import helpers` beside a DAG file in a sub-folder: the file's folder is searched too."""
    write_repo(
        tmp_path,
        {
            "team/helpers.py": """\
                from airflow.operators.empty import EmptyOperator

                STEPS = ["a", "b", "c"]


                def chain_of(steps):
                    tasks = [EmptyOperator(task_id=s) for s in steps]
                    for up, down in zip(tasks, tasks[1:]):
                        up >> down
                    return tasks
            """,
            "team/dag.py": """\
                from datetime import datetime

                from airflow import DAG

                import helpers

                with DAG("team", start_date=datetime(2024, 1, 1), schedule=None):
                    helpers.chain_of(helpers.STEPS)
            """,
        },
    )
    dag = only_dag(read(tmp_path, "team/dag.py"))
    assert task_ids(dag) == ["a", "b", "c"]
    assert set(dag.edges) == {("a", "b"), ("b", "c")}
    assert {t.span.file for t in dag.tasks} == {"team/helpers.py"}


def test_an_import_cycle_reads_as_python_imports_it(tmp_path: Path) -> None:
    """a imports b, b imports a: b sees a half-defined (what a defined before importing b)."""
    write_repo(
        tmp_path,
        {
            "lib/__init__.py": "",
            "lib/a.py": """\
                from airflow.operators.empty import EmptyOperator

                PREFIX = "step"

                from lib.b import make


                def build():
                    return make(PREFIX)
            """,
            "lib/b.py": """\
                from airflow.operators.empty import EmptyOperator

                from lib import a


                def make(name):
                    return EmptyOperator(task_id=f"{name}_{a.PREFIX}")
            """,
            "cycle.py": """\
                from datetime import datetime

                from airflow import DAG

                from lib.a import build

                with DAG("cycle", start_date=datetime(2024, 1, 1), schedule=None):
                    build()
            """,
        },
    )
    parsed = read(tmp_path, "cycle.py")
    assert not [d for d in parsed.diagnostics if d.code in ("A2K107", "A2K108", "A2K110")]
    assert task_ids(only_dag(parsed)) == ["step_step"]


def test_a_module_that_cannot_be_read_leaves_a_doubt(tmp_path: Path) -> None:
    """A helper over the size limit is not read: calling it in the DAG is a doubt, as before."""
    root = repo(tmp_path, **{"utils/factory.py": FACTORY + "\n" + "#" * 5000 + "\n"})
    parsed = read(root, "etl.py", max_bytes=4000)
    dag = only_dag(parsed)
    assert "copies.copy_orders" not in task_ids(dag)
    doubts = [d for d in parsed.diagnostics if d.code == "A2K203"]
    assert doubts and all(d.file == "etl.py" for d in doubts)
    assert {d.line for d in doubts} & {12, 13}


def test_a_helper_that_is_itself_a_dag_file_adds_no_dag(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            "shared.py": """\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.empty import EmptyOperator

                with DAG("shared_dag", start_date=datetime(2024, 1, 1), schedule=None):
                    EmptyOperator(task_id="x")
                    undefined_helper(1)

                SCHEDULE = "@daily"
            """,
            "user.py": """\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.empty import EmptyOperator

                from shared import SCHEDULE

                with DAG("user", start_date=datetime(2024, 1, 1), schedule=SCHEDULE):
                    EmptyOperator(task_id="y")
            """,
        },
    )
    parsed = read(tmp_path, "user.py")
    dag = only_dag(parsed)
    assert dag.dag_id == "user"
    assert dag.settings["schedule"] == "@daily"
    assert all(d.file == "user.py" for d in parsed.diagnostics)


def test_nothing_outside_the_dag_folder_is_read(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            "outside/evil.py": FACTORY,
            "dags/dag.py": """\
                from datetime import datetime

                from airflow import DAG

                from evil import make_bash

                with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
                    make_bash("t", "echo")
            """,
        },
    )
    (tmp_path / "dags" / "evil.py").symlink_to(tmp_path / "outside" / "evil.py")
    parsed = read_dag_file(tmp_path / "dags" / "dag.py", display_path="dag.py", dag_folder=tmp_path / "dags")
    assert task_ids(only_dag(parsed)) == []
    assert any(d.code == "A2K203" for d in parsed.diagnostics)


def test_standard_library_names_are_never_the_repositorys(tmp_path: Path) -> None:
    """A folder named like a standard module (`json/`) is not what `import json` finds."""
    write_repo(
        tmp_path,
        {
            "json/__init__.py": "from airflow.operators.empty import EmptyOperator\nloads = EmptyOperator\n",
            "dag.py": """\
                from datetime import datetime
                from json import loads

                from airflow import DAG

                with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
                    loads("{}")
            """,
        },
    )
    assert task_ids(only_dag(read(tmp_path, "dag.py"))) == []


def test_steps_in_helper_modules_count_against_the_budget(tmp_path: Path) -> None:
    from airflow2kfp.parse.budget import ReadingLimits

    write_repo(
        tmp_path,
        {
            "heavy.py": "total = 0\nfor i in range(100000):\n    total += i\n",
            "dag.py": """\
                from datetime import datetime

                from airflow import DAG

                import heavy

                with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
                    pass
            """,
        },
    )
    parsed = read(tmp_path, "dag.py", limits=ReadingLimits(steps=50_000))
    assert [d.code for d in parsed.diagnostics] == ["A2K110"]
    assert (parsed.diagnostics[0].file, parsed.diagnostics[0].line) == ("heavy.py", 3)


def test_editing_a_followed_helper_module_reconverts_the_dag_that_imports_it(tmp_path: Path) -> None:
    """The cache key of a DAG file covers the modules the static reading follows (local_imports.py)."""
    from airflow2kfp.pipeline import ConvertOptions
    from airflow2kfp.run import RunSettings, convert_all

    dags = repo(tmp_path / "dags")
    settings = RunSettings(mode="static", cache_dir=tmp_path / "cache")

    def tasks() -> list[str]:
        result = convert_all([dags], tmp_path / "out", ConvertOptions(), settings=settings)
        (dag,) = [d for f in result.files for d in f.dags]
        return sorted(t.task_id for t in dag.tasks)

    assert "copies.copy_orders" in tasks()
    config = dags / "common" / "config.py"
    config.write_text(COMMON_CONFIG.replace('"customers"]', '"customers", "invoices"]'), encoding="utf-8")
    assert "copies.copy_invoices" in tasks()


def test_a_module_handed_over_as_a_value_is_its_name(tmp_path: Path) -> None:
    write_repo(
        tmp_path,
        {
            "settings.py": "NAME = 'x'\n",
            "dag.py": """\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.python import PythonOperator

                import settings

                def run(config):
                    print(config)

                with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
                    PythonOperator(task_id="t", python_callable=run, op_args=[settings, settings.NAME])
            """,
        },
    )
    (task,) = only_dag(read(tmp_path, "dag.py")).tasks
    assert [getattr(a, "source", a) for a in task.args.get("op_args")] == ["settings", "x"]
