"""Airflow as the user runs it, in the sandbox: timetables, the metadata database, parse-time
Variables and Connections, [core] dags_folder, the --sandbox modes and the cache key.

Each test runs under Airflow 3 and Airflow 2.10 where both apply (AIRFLOW2KFP_AIRFLOW2_PYTHON).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from airflow2kfp.cli import main
from airflow2kfp.model import ParsedFile
from airflow2kfp.parse import sandbox
from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions
from airflow2kfp.parse.sandbox import Support, airflow_environment, read_env_file

BOTH = pytest.mark.parametrize("python_fixture", ["airflow_python", "airflow2_python"])
SANDBOXED = pytest.mark.skipif(
    not sandbox.support().available, reason=f"bubblewrap cannot run here: {sandbox.support().reason}"
)

IMPORTS = """
from datetime import datetime

from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator
"""

CRON_DAG = (
    IMPORTS
    + """
with DAG("nightly_report", schedule="0 2 * * *", start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="report", bash_command="make report DAY={{ ds }}")
"""
)

PARSE_TIME_LOOKUPS = (
    IMPORTS
    + """
try:
    from airflow.sdk import Variable
    from airflow.sdk.bases.hook import BaseHook
except ImportError:  # Airflow 2
    from airflow.hooks.base import BaseHook
    from airflow.models import Variable

ENV = Variable.get("deploy_env")
WAREHOUSE = BaseHook.get_connection("warehouse")

with DAG(f"load_{ENV}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="load", bash_command=f"load --host {WAREHOUSE.host} --schema {WAREHOUSE.schema}")
"""
)

DATA_FILE_DAG = (
    IMPORTS
    + """
import json
import os

from airflow.configuration import conf

# the way real repos find their config files: relative to the DAG folder Airflow is configured with
with open(os.path.join(conf.get("core", "dags_folder"), "config", "tables.json")) as handle:
    TABLES = json.load(handle)

with DAG("copy_tables", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    for table in TABLES:
        BashOperator(task_id=f"copy_{table}", bash_command=f"copy {table}")
"""
)

SUBDAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.subdag import SubDagOperator


def section(parent: str, child: str, args: dict) -> DAG:
    with DAG(f"{parent}.{child}", default_args=args, schedule="@daily") as sub:
        EmptyOperator(task_id="inner")
    return sub


args = {"owner": "airflow", "start_date": datetime(2024, 1, 1)}
with DAG("with_subdag", default_args=args, schedule="@daily", catchup=False) as dag:
    start = EmptyOperator(task_id="start")
    start >> SubDagOperator(task_id="section", subdag=section("with_subdag", "section", args))
"""


def dag_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "dags"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def read(python: str, folder: Path, name: str, **options: object) -> ParsedFile:
    with AirflowReader(python, ReaderOptions(timeout=20, sandbox="require", **options)) as reader:  # type: ignore[arg-type]
        return reader.read(str(folder / name), name, dag_folder=str(folder))


@SANDBOXED
@BOTH
def test_cron_schedules_are_the_installed_airflows_own(
    python_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """No unit-test mode: Airflow 3 makes a cron string a CronTriggerTimetable, Airflow 2 a data interval."""
    python = request.getfixturevalue(python_fixture)
    folder = dag_folder(tmp_path, {"nightly.py": CRON_DAG})
    (dag,) = read(python, folder, "nightly.py").dags
    expected = "CronDataIntervalTimetable" if python_fixture == "airflow2_python" else "CronTriggerTimetable"
    assert dag.settings["timetable"] == expected
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        main(
            [
                "convert",
                str(folder),
                "--out",
                str(tmp_path / "out"),
                "--no-cache",
                "--airflow-python",
                python,
                "--sandbox",
                "require",
                "--fail-on",
                "never",
                "-v",
            ]
        )
    # only the data-interval timetable puts the logical date one period before the firing time
    assert ("one period later" in printed.getvalue()) == (python_fixture == "airflow2_python")


@SANDBOXED
def test_operators_that_query_the_database_while_parsed_load(airflow2_python: str, tmp_path: Path) -> None:
    """SubDagOperator (Airflow 2) looks up its pool in the metadata database when it is created."""
    folder = dag_folder(tmp_path, {"with_subdag.py": SUBDAG})
    parsed = read(airflow2_python, folder, "with_subdag.py")
    assert parsed.diagnostics == ()
    dags = {dag.dag_id: dag for dag in parsed.dags}
    # the sub-DAG's tasks are inlined as the group `section`, after `start` as Airflow orders them
    assert {task.task_id for task in dags["with_subdag"].tasks} == {"start", "section.inner"}


@SANDBOXED
@BOTH
def test_parse_time_variables_and_connections_are_only_what_is_handed_in(
    python_fixture: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = request.getfixturevalue(python_fixture)
    folder = dag_folder(tmp_path, {"load.py": PARSE_TIME_LOOKUPS})
    # the user's own environment holds them too: it must not reach the import
    monkeypatch.setenv("AIRFLOW_VAR_DEPLOY_ENV", "from-the-users-shell")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://leak@leak/leak")
    (missing,) = read(python, folder, "load.py").diagnostics
    assert missing.code == "A2K601" and "deploy_env" in missing.message
    handed = airflow_environment(
        [("deploy_env", "prod")], [("warehouse", "postgres://etl:pw@db.internal:5432/analytics")]
    )
    (dag,) = read(python, folder, "load.py", extra_env=handed).dags
    assert dag.dag_id == "load_prod"
    assert dag.task("load").args.get("bash_command") == "load --host db.internal --schema analytics"


@SANDBOXED
def test_variables_reach_the_import_from_flags_env_files_and_settings(
    airflow_python: str, tmp_path: Path
) -> None:
    folder = dag_folder(tmp_path, {"load.py": PARSE_TIME_LOOKUPS})
    env_file = tmp_path / "airflow.env"
    env_file.write_text(
        "# parse-time values\nAIRFLOW_VAR_DEPLOY_ENV=staging\n"
        "AIRFLOW_CONN_WAREHOUSE=postgres://etl:pw@staging-db:5432/analytics\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.airflow2kfp]\nairflow-vars = { deploy_env = "from-settings" }\n'
    )

    def dag_ids(*flags: str) -> list[str]:
        out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(
                [
                    "convert",
                    str(folder),
                    "--out",
                    str(out),
                    "--mode",
                    "airflow",
                    "--airflow-python",
                    airflow_python,
                    "--sandbox",
                    "require",
                    "--fail-on",
                    "never",
                    "--config",
                    str(tmp_path / "pyproject.toml"),
                    "--cache-dir",
                    str(tmp_path / "cache"),
                    *flags,
                ]
            )
        return [dag["dag_id"] for dag in json.loads((out / "conversion.json").read_text())["dags"]]

    assert dag_ids("--airflow-env-file", str(env_file)) == ["load_from-settings"]  # the settings' table wins
    assert dag_ids("--airflow-env-file", str(env_file), "--airflow-var", "deploy_env=prod") == ["load_prod"]
    # the cache key covers the values handed in: another value converts again, and differently
    assert dag_ids("--airflow-env-file", str(env_file), "--airflow-var", "deploy_env=qa") == ["load_qa"]


def test_env_files_hold_parse_time_variables_only(tmp_path: Path) -> None:
    env_file = tmp_path / "airflow.env"
    env_file.write_text("AIRFLOW_VAR_A=1\n\n# comment\nAIRFLOW_CONN_DB='postgres://x'\n")
    assert read_env_file(env_file) == {
        "AIRFLOW_VAR_A": "1",
        "AIRFLOW_CONN_DB": "'postgres://x'",
    }  # literal, as docker
    for text in ("AWS_SECRET_ACCESS_KEY=x\n", "AIRFLOW_VAR_A\n", "export AIRFLOW_VAR_A=1\n"):
        env_file.write_text(text)
        with pytest.raises(ValueError):
            read_env_file(env_file)
    with pytest.raises(ValueError):
        airflow_environment([("bad name", "x")])
    assert airflow_environment([("env", "prod")], [("db", "sqlite://")]) == (
        ("AIRFLOW_CONN_DB", "sqlite://"),
        ("AIRFLOW_VAR_ENV", "prod"),
    )


@SANDBOXED
@BOTH
def test_dag_files_find_their_data_through_dags_folder(
    python_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    python = request.getfixturevalue(python_fixture)
    folder = dag_folder(tmp_path, {"copy.py": DATA_FILE_DAG, "config/tables.json": '["orders", "users"]'})
    (dag,) = read(python, folder, "copy.py").dags
    assert sorted(task.task_id for task in dag.tasks) == ["copy_orders", "copy_users"]


def run_quietly(*argv: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(list(argv))
    return code, printed.getvalue()


def test_without_bubblewrap_auto_warns_require_fails_and_off_says_so(
    airflow_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = dag_folder(tmp_path, {"nightly.py": CRON_DAG})
    monkeypatch.setattr(sandbox, "support", lambda: Support(None, "bubblewrap (`bwrap`) is not installed"))
    common = [
        "convert",
        str(folder),
        "--airflow-python",
        airflow_python,
        "-v",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]

    code, printed = run_quietly(*common, "--out", str(tmp_path / "auto"))
    assert "A2K610" in printed and code == 0
    document = json.loads((tmp_path / "auto" / "conversion.json").read_text())
    assert document["dags"][0]["source_mode"].startswith("airflow")  # imported, unsandboxed, and said so
    code, printed = run_quietly(*common, "--out", str(tmp_path / "auto"))  # from the cache: said again
    assert "A2K610" in printed and "1 from cache" in printed

    code, printed = run_quietly(*common, "--out", str(tmp_path / "require"), "--sandbox", "require")
    assert "A2K611" in printed and code == 1
    document = json.loads((tmp_path / "require" / "conversion.json").read_text())
    assert document["dags"][0]["source_mode"] == "static"  # nothing was imported

    code, printed = run_quietly(*common, "--out", str(tmp_path / "off"), "--sandbox", "off")
    assert "A2K613" in printed and code == 0


def test_an_unknown_sandbox_mode_or_assignment_is_a_usage_error(tmp_path: Path) -> None:
    folder = dag_folder(tmp_path, {"nightly.py": CRON_DAG})
    assert run_quietly("convert", str(folder), "--out", str(tmp_path / "o"), "--sandbox", "maybe")[0] == 2
    code, printed = run_quietly(
        "convert", str(folder), "--out", str(tmp_path / "o"), "--airflow-var", "novalue"
    )
    assert code == 2 and "NAME=VALUE" in printed
    (tmp_path / "bad.env").write_text("HOME=/root\n")
    code, printed = run_quietly(
        "convert", str(folder), "--out", str(tmp_path / "o"), "--airflow-env-file", str(tmp_path / "bad.env")
    )
    assert code == 2 and "AIRFLOW_VAR_" in printed


def test_the_sandbox_shows_every_folder_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files from several folders: each worker's sandbox binds them all when it starts, so no
    worker restarts (re-importing Airflow) to see one more."""
    import sys

    from airflow2kfp.parse import readers

    seen: list[ReaderOptions] = []

    class Recorder:
        def __init__(self, python: str, options: ReaderOptions) -> None:
            seen.append(options)
            self.version = "fake"
            self.seconds: dict[str, float] = {}  # what the import stream reads for --timings
            self.cpu = 0.0

        def __enter__(self) -> Recorder:  # noqa: PYI034 - as the classes it stands in for
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def read_many(self, items: list[tuple[str, str]], dag_folder: str | None = None) -> list[ParsedFile]:
            return [ParsedFile(path=display) for _, display in items]

    monkeypatch.setattr(readers, "AirflowReader", Recorder)
    files = [
        (tmp_path / "team_a" / "etl.py", "team_a/etl.py"),
        (tmp_path / "team_b" / "ml" / "train.py", "team_b/ml/train.py"),
    ]
    readers.prepare_reader(readers.Mode.AIRFLOW, files, [], airflow_python=sys.executable, sandbox="auto")
    (options,) = seen
    assert {str(tmp_path / "team_a"), str(tmp_path / "team_b" / "ml")} <= set(options.folders)
