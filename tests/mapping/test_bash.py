"""BashOperator template files (`bash_command="scripts/run.sh"`): found where Airflow's Jinja loader
finds them, and never read outside the folder being converted (DAG files come from pull requests)."""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow2kfp.mapping import MappingContext, MappingOptions, map_task
from airflow2kfp.mapping.base import Fidelity
from airflow2kfp.model import FileLocation
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, RunSettings, convert_all
from tests.helpers import dag, task

LOAD_SCRIPT = """\
#!/usr/bin/env bash
set -euo pipefail
echo "loading $TABLE for {{ ds }}"
"""

# a helper module of the repository builds the tasks, as factories in real repos do
FACTORY = '''\
from airflow.operators.bash import BashOperator


def load_table(table: str) -> BashOperator:
    """One load task per table; the script is the team's, in the DAG folder's scripts/."""
    return BashOperator(
        task_id=f"load_{table}",
        bash_command="scripts/load.sh",
        env={"TABLE": table},
        append_env=True,
    )
'''

ETL_DAG = '''\
"""Nightly loads: one task per table, built by helpers/tables.py."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator

from helpers.tables import load_table

default_args = {"owner": "data", "retries": 2, "retry_delay": timedelta(minutes=5)}

with DAG(
    dag_id="nightly_loads",
    start_date=datetime(2024, 1, 1),
    schedule="0 2 * * *",
    catchup=False,
    default_args=default_args,
) as dag:
    start = EmptyOperator(task_id="start")
    start >> [load_table("orders"), load_table("customers")]
'''


@dataclass
class Converted:
    records: dict[str, dict[str, Any]]  # conversion.json's DAG entries by dag_id
    out: Path

    def python(self, dag_id: str) -> str:
        return (self.out / self.records[dag_id]["python"]).read_text()

    def task(self, dag_id: str, task_id: str) -> dict[str, Any]:
        return next(t for t in self.records[dag_id]["tasks"] if t["task_id"] == task_id)

    def codes(self, dag_id: str, task_id: str) -> list[str]:
        return [d["code"] for d in self.records[dag_id]["diagnostics"] if d.get("task_id") == task_id]

    def messages(self, dag_id: str, code: str) -> list[str]:
        return [d["message"] for d in self.records[dag_id]["diagnostics"] if d["code"] == code]

    def written(self) -> str:
        """Every file the run wrote, as one text."""
        return "\n".join(p.read_text() for p in sorted(self.out.rglob("*")) if p.is_file())


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def convert(source: Path, out: Path, settings: RunSettings = STATIC) -> Converted:
    result = convert_all([source], out, ConvertOptions(), settings=settings)
    records = json.loads(result.summary_path.read_text())["dags"]
    return Converted({r["dag_id"]: r for r in records}, out)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose DAG folder is `dags/`, the converter run from its root (as in CI)."""
    root = tmp_path / "repo"
    write(
        root,
        {
            "dags/etl.py": ETL_DAG,
            "dags/helpers/__init__.py": "",
            "dags/helpers/tables.py": FACTORY,
            "dags/scripts/load.sh": LOAD_SCRIPT,
            # the old lookup's folder (beside the helper module): Airflow never reads it
            "dags/helpers/scripts/load.sh": "echo 'the helper folder is not searched'\n",
        },
    )
    monkeypatch.chdir(root)
    return root


def test_a_script_named_by_a_task_a_helper_module_builds_is_found_beside_the_dag_file(
    repo: Path, tmp_path: Path
) -> None:
    converted = convert(Path("dags"), tmp_path / "out")
    python = converted.python("nightly_loads")
    assert 'echo "loading $TABLE for {ds}"' in python  # inlined; {{ ds }} is a run parameter
    assert "helper folder" not in python
    for task_id in ("load_orders", "load_customers"):
        record = converted.task("nightly_loads", task_id)
        assert record["mapping"] == "direct", converted.records["nightly_loads"]["diagnostics"]
        assert "script scripts/load.sh inlined" in record["notes"]


def test_a_dag_a_helper_module_builds_searches_the_dag_files_folder(repo: Path, tmp_path: Path) -> None:
    """DagBag sets every DAG's fileloc to the file it loaded, whoever called DAG(...)."""
    write(
        repo,
        {
            "dags/helpers/factory.py": textwrap.dedent(
                """\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.bash import BashOperator


                def build(dag_id: str) -> DAG:
                    with DAG(dag_id=dag_id, start_date=datetime(2024, 1, 1), schedule="@daily") as dag:
                        BashOperator(task_id="load", bash_command="scripts/load.sh", env={"TABLE": dag_id})
                    return dag
                """
            ),
            "dags/billing.py": "# an Airflow DAG made by the factory\nfrom helpers.factory import build\n\n"
            'billing = build("billing")\n',
        },
    )
    converted = convert(Path("dags/billing.py"), tmp_path / "out")
    assert 'echo "loading $TABLE for {ds}"' in converted.python("billing")
    assert converted.task("billing", "load")["mapping"] == "direct"


def test_template_searchpath_absolute_entries_are_searched_after_the_dag_folder(
    repo: Path, tmp_path: Path
) -> None:
    write(
        repo,
        {
            "dags/exports.py": textwrap.dedent(
                """\
                from datetime import datetime
                from pathlib import Path

                from airflow import DAG
                from airflow.operators.bash import BashOperator

                INCLUDE = Path(__file__).parent / "include"

                with DAG(
                    dag_id="exports",
                    start_date=datetime(2024, 1, 1),
                    schedule=None,
                    template_searchpath=[str(INCLUDE), "/opt/airflow/include"],
                ) as dag:
                    export = BashOperator(task_id="export", bash_command="export.sh")
                    # in the DAG folder: found before the searchpath, the outside entry never looked at
                    load = BashOperator(task_id="load", bash_command="scripts/load.sh", env={"TABLE": "t"})
                    # in no folder under dags/: Airflow would look in /opt/airflow/include next
                    publish = BashOperator(task_id="publish", bash_command="publish.sh")
                    export >> load >> publish
                """
            ),
            "dags/include/export.sh": 'echo "exporting {{ ds_nodash }}"\n',
        },
    )
    converted = convert(Path("dags/exports.py"), tmp_path / "out")
    python = converted.python("exports")
    assert 'echo "exporting {ds_nodash}"' in python and 'echo "loading $TABLE for {ds}"' in python
    assert converted.task("exports", "export")["mapping"] == "direct"
    assert converted.task("exports", "load")["mapping"] == "direct"
    # the outside folder is refused, not searched: the command stays as written
    assert converted.task("exports", "publish")["mapping"] == "approximated"
    assert "A2K337" in converted.codes("exports", "publish")
    (refused,) = converted.messages("exports", "A2K337")
    assert "'/opt/airflow/include/publish.sh'" in refused and "outside the folder being converted" in refused
    assert 'command="publish.sh"' in python


def test_template_searchpath_relative_entries_are_found_from_the_working_folder_as_airflow_does(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jinja opens `posixpath.join(entry, name)`: a relative entry is relative to the working folder
    of the process (Airflow's worker), not to the DAG file."""
    write(
        repo,
        {
            "dags/reports.py": textwrap.dedent(
                """\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.bash import BashOperator

                with DAG(
                    dag_id="reports",
                    start_date=datetime(2024, 1, 1),
                    schedule="@weekly",
                    template_searchpath="dags/sql",
                ) as dag:
                    BashOperator(task_id="weekly", bash_command="weekly.sh")
                """
            ),
            "dags/sql/weekly.sh": 'echo "weekly report for {{ ds }}"\n',
        },
    )
    from_root = convert(Path("dags/reports.py"), tmp_path / "out")
    assert 'echo "weekly report for {ds}"' in from_root.python("reports")
    record = from_root.task("reports", "weekly")
    assert record["mapping"] == "direct"
    assert any("relative template_searchpath 'dags/sql'" in note for note in record["notes"])

    monkeypatch.chdir(repo / "dags")  # from elsewhere `dags/sql` names nothing, as for Airflow
    elsewhere = convert(repo / "dags" / "reports.py", tmp_path / "out2")
    assert elsewhere.task("reports", "weekly")["mapping"] == "approximated"
    (missing,) = elsewhere.messages("reports", "A2K306")
    assert (
        "in none of the folders Airflow searches: the DAG's folder, template_searchpath 'dags/sql'" in missing
    )


@pytest.fixture
def secret(tmp_path: Path) -> str:
    """A file outside the repository, with a text that must never reach the output."""
    token = "TOKEN-4b1d-never-in-the-output"
    write(tmp_path, {"outside/secret.sh": f"echo {token}\n", "outside/etc/passwd.sh": f"echo {token}\n"})
    return token


def test_templates_outside_the_converted_folder_are_refused_and_never_read(
    repo: Path, tmp_path: Path, secret: str
) -> None:
    outside = tmp_path / "outside"
    (repo / "dags" / "scripts" / "leak.sh").symlink_to(outside / "secret.sh")
    (repo / "dags" / "linked").symlink_to(outside, target_is_directory=True)
    write(
        repo,
        {
            "dags/hostile.py": textwrap.dedent(
                f"""\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.bash import BashOperator

                with DAG(dag_id="hostile", start_date=datetime(2024, 1, 1), schedule=None) as dag:
                    BashOperator(task_id="dotdot", bash_command="../../outside/etc/passwd.sh")
                    BashOperator(task_id="deep", bash_command="scripts/../../../outside/secret.sh")
                    BashOperator(task_id="symlink", bash_command="scripts/leak.sh")
                    BashOperator(task_id="linked_folder", bash_command="linked/secret.sh")
                    BashOperator(task_id="absolute", bash_command="{outside}/secret.sh")

                with DAG(
                    dag_id="hostile_searchpath",
                    start_date=datetime(2024, 1, 1),
                    schedule=None,
                    template_searchpath=["{outside}", "../outside"],
                ) as searchpath_dag:
                    BashOperator(task_id="absolute_entry", bash_command="secret.sh")
                """
            ),
            "dags/hostile_relative.py": textwrap.dedent(
                """\
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.bash import BashOperator

                with DAG(
                    dag_id="hostile_relative",
                    start_date=datetime(2024, 1, 1),
                    schedule=None,
                    template_searchpath="../outside",
                ) as dag:
                    BashOperator(task_id="relative_entry", bash_command="secret.sh")
                """
            ),
        },
    )
    converted = convert(Path("dags"), tmp_path / "out")
    assert secret not in converted.written()
    refused = {
        ("hostile", "dotdot"),
        ("hostile", "deep"),
        ("hostile", "symlink"),
        ("hostile", "linked_folder"),
        ("hostile_searchpath", "absolute_entry"),
        ("hostile_relative", "relative_entry"),
    }
    for dag_id, task_id in refused:
        assert "A2K337" in converted.codes(dag_id, task_id), (dag_id, task_id)
        assert converted.task(dag_id, task_id)["mapping"] == "approximated"
    assert any("refuses '..'" in m for m in converted.messages("hostile", "A2K337"))
    # an absolute command is looked up under each folder, as Jinja drops its leading '/': not found
    assert "A2K306" in converted.codes("hostile", "absolute")
    (dropped,) = converted.messages("hostile", "A2K306")
    assert "drops the leading '/'" in dropped


def test_a_symlink_inside_the_converted_folder_is_followed(repo: Path, tmp_path: Path) -> None:
    (repo / "dags" / "scripts" / "current.sh").symlink_to(repo / "dags" / "scripts" / "load.sh")
    write(
        repo,
        {
            "dags/current.py": "from datetime import datetime\n\nfrom airflow import DAG\n"
            "from airflow.operators.bash import BashOperator\n\n"
            'with DAG(dag_id="current", start_date=datetime(2024, 1, 1), schedule=None):\n'
            '    BashOperator(task_id="load", bash_command="scripts/current.sh", env={"TABLE": "t"})\n'
        },
    )
    converted = convert(Path("dags/current.py"), tmp_path / "out")
    assert 'echo "loading $TABLE for {ds}"' in converted.python("current")
    assert converted.task("current", "load")["mapping"] == "direct"


@pytest.mark.parametrize("interpreter", ["airflow_python", "airflow2_python"])
def test_the_default_mode_finds_the_script_and_a_searchpath_only_airflow_can_compute(
    repo: Path, tmp_path: Path, interpreter: str, request: pytest.FixtureRequest
) -> None:
    airflow_python = request.getfixturevalue(interpreter)
    write(
        repo,
        {
            "dags/computed.py": textwrap.dedent(
                """\
                import os
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.bash import BashOperator

                HERE = os.path.dirname(os.path.abspath(__file__))

                with DAG(
                    dag_id="computed",
                    start_date=datetime(2024, 1, 1),
                    schedule=None,
                    template_searchpath=[os.path.join(HERE, "include")],
                ) as dag:
                    BashOperator(task_id="export", bash_command="export.sh")
                """
            ),
            "dags/include/export.sh": 'echo "exporting {{ ds_nodash }}"\n',
            # built from the import's working folder (the sandbox's): written relative again, and
            # found from the converter's, as Airflow's worker finds it from its own
            "dags/weekly.py": textwrap.dedent(
                """\
                import os
                from datetime import datetime

                from airflow import DAG
                from airflow.operators.bash import BashOperator

                with DAG(
                    dag_id="weekly",
                    start_date=datetime(2024, 1, 1),
                    schedule="@weekly",
                    template_searchpath=[os.path.abspath("dags/sql")],
                ) as dag:
                    BashOperator(task_id="weekly", bash_command="weekly.sh")
                """
            ),
            "dags/sql/weekly.sh": 'echo "weekly report for {{ ds }}"\n',
        },
    )
    # the static reading computes a path from __file__ (parse/data_files.py), not one relative to
    # the working folder of Airflow's process
    static = convert(Path("dags"), tmp_path / "static")
    assert static.messages("computed", "A2K306") == []
    assert static.task("computed", "export")["mapping"] == "direct"
    (unknown,) = static.messages("weekly", "A2K306")
    assert 'template_searchpath os.path.abspath("dags/sql") could not be read' in unknown
    settings = RunSettings(mode="auto", airflow_python=airflow_python)
    converted = convert(Path("dags"), tmp_path / "out", settings)
    assert 'echo "loading $TABLE for {ds}"' in converted.python("nightly_loads")
    assert 'echo "exporting {ds_nodash}"' in converted.python("computed")
    assert converted.task("computed", "export")["mapping"] == "direct"
    assert 'echo "weekly report for {ds}"' in converted.python("weekly")
    assert any(
        "relative template_searchpath 'dags/sql'" in n for n in converted.task("weekly", "weekly")["notes"]
    )
    (mapped_back,) = converted.messages("weekly", "A2K608")
    assert "DAG setting template_searchpath" in mapped_back


def test_the_mapping_reads_templates_where_it_is_told_the_dag_file_lies_and_nowhere_outside(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"dags/scripts/run.sh": "echo ran\n", "secret.sh": "echo secret\n"})
    t = task("b", bash_command="scripts/run.sh")
    d = dag("d", [t], [])
    located = MappingContext(
        d,
        MappingOptions(),
        FileLocation(str(tmp_path / "dags" / "d.py"), os.path.realpath(tmp_path / "dags")),
    )
    mapping = map_task(t, located)
    assert mapping.arguments["command"] == "echo ran\n" and mapping.fidelity is Fidelity.DIRECT
    escaping = task("b", bash_command="secret.sh")
    outside = FileLocation(str(tmp_path / "dags" / "d.py"), os.path.realpath(tmp_path / "dags"))
    searched = dag("d", [escaping], [], settings={"template_searchpath": str(tmp_path)})
    refused = map_task(escaping, MappingContext(searched, MappingOptions(), outside))
    assert refused.arguments["command"] == "secret.sh" and "A2K337" in [d.code for d in refused.diagnostics]


@pytest.mark.parametrize("name", ["scripts/pipe.sh", "scripts/nul\0.sh"])
def test_a_name_no_regular_file_answers_is_not_found_and_nothing_blocks(tmp_path: Path, name: str) -> None:
    """Jinja's loader takes only regular files (os.path.isfile): a FIFO is skipped, never opened."""
    (tmp_path / "dags" / "scripts").mkdir(parents=True)
    os.mkfifo(tmp_path / "dags" / "scripts" / "pipe.sh")
    t = task("b", bash_command=name)
    where = FileLocation(str(tmp_path / "dags" / "d.py"), os.path.realpath(tmp_path / "dags"))
    mapping = map_task(t, MappingContext(dag("d", [t], []), MappingOptions(), where))
    assert mapping.arguments["command"] == name and "A2K306" in [d.code for d in mapping.diagnostics]
    assert mapping.fidelity is Fidelity.APPROXIMATED
