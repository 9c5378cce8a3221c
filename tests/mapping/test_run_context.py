"""The context shim, run as a step runs it: its parts copied out of run_context.py and executed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from airflow2kfp.mapping.run_context import REQUIRES, shim_lines, with_requirements


def shim(*parts: str) -> dict:
    namespace: dict = {}
    exec("\n".join(shim_lines(set(parts))), namespace)  # noqa: S102 - our own module's text
    return namespace


def test_each_step_gets_only_the_parts_it_asks_for_in_file_order() -> None:
    assert with_requirements({"render", "ti"}) == ["ti", "render"]
    assert set(shim("dates")) - {"__builtins__"} == {"_logical_date"}
    assert set(REQUIRES) == {"dates", "ti", "dag_run", "variables", "macros", "render", "bash"}
    for part in REQUIRES:  # each part alone is valid, standard-library Python
        shim(part)


def test_the_logical_date_parameter_is_read_as_airflow_3_gives_it() -> None:
    when = shim("dates")["_logical_date"]("2024-01-01 00:00:00+00:00")  # [[CurrentTime...]] as substituted
    assert when.isoformat() == "2024-01-01T00:00:00+00:00" and str(when) == "2024-01-01 00:00:00+00:00"
    assert shim("dates")["_logical_date"]("2024-01-01").tzinfo is not None  # naive: UTC, as Airflow
    with pytest.raises(SystemExit, match="not an ISO 8601 date"):
        shim("dates")["_logical_date"]("[[CurrentTime.2006-01-02 15:04:05-07:00]]")  # not substituted


def test_xcom_pull_answers_from_the_values_passed_in_and_push_collects_outputs() -> None:
    ti = shim("ti")["_TaskInstance"]("d", "t", "run-1", {("a", "return_value"): 1, ("b", "n"): None})
    assert ti.xcom_pull(task_ids="a") == 1 and ti.xcom_pull("a") == 1
    assert ti.xcom_pull(task_ids=["a", "a"]) == [1, 1]
    assert ti.xcom_pull(task_ids="b", key="n", default=7) == 7  # Airflow's default for a missing value
    with pytest.raises(LookupError, match="was not passed into this step"):
        ti.xcom_pull(task_ids="c")
    ti.xcom_push(key="rows", value=3)
    assert ti.pushed == {"rows": 3} and (ti.dag_id, ti.task_id, ti.run_id, ti.map_index) == (
        "d",
        "t",
        "run-1",
        -1,
    )


def test_variables_come_from_the_environment_as_airflows_backend_serves_them(monkeypatch) -> None:
    variable = shim("variables")["Variable"]
    monkeypatch.setenv("AIRFLOW_VAR_LIMIT", "5")
    monkeypatch.setenv("AIRFLOW_VAR_CONFIG", '{"a": 1}')
    assert variable.get("limit") == "5" and variable.get("config", deserialize_json=True) == {"a": 1}
    assert variable.get("missing", default_var="d") == "d" and variable.get("missing", default="d") == "d"
    assert variable.get("missing", None) is None
    with pytest.raises(KeyError, match="Variable missing does not exist"):
        variable.get("missing")


def test_templates_render_as_airflow_renders_them() -> None:
    parts = shim("render", "ti", "macros", "variables", "dates")
    ti = parts["_TaskInstance"]("d", "t", "r", {("extract", "return_value"): {"rows": [{"n": 2}, {"n": 3}]}})
    when = parts["_logical_date"]("2024-01-31T00:00:00+00:00")
    context = {
        "ti": ti,
        "ds": "2024-01-31",
        "logical_date": when,
        "macros": parts["_macros"](),
        "params": {"region": "eu"},
    }
    render = parts["_render"]
    assert render("{{ ti.xcom_pull(task_ids='extract')['rows'] | sum(attribute='n') }}", context) == "5"
    assert render("{{ ti.xcom_pull(task_ids='extract') }}", context) == "{'rows': [{'n': 2}, {'n': 3}]}"
    assert render(
        "{{ macros.ds_add(ds, 1) }} {{ logical_date | ds_nodash }} {{ params.region }}", context
    ) == ("2024-02-01 20240131 eu")
    assert render({"k": ["{{ ds }}", 1]}, context) == {"k": ["2024-01-31", 1]}  # containers, as Airflow
    assert render("{{ ti.xcom_pull(task_ids='extract')['rows'][0] }}", context, native=True) == {"n": 2}
    assert render("line\n", context) == "line"  # jinja drops one trailing newline, as in Airflow
    with pytest.raises(Exception, match="is undefined"):
        render("{{ prev_ds }}", context)  # what the step does not serve fails, as Airflow's StrictUndefined


def test_bash_runs_as_bashoperator_and_returns_the_last_line(tmp_path) -> None:
    program = "\n".join(
        [
            *shim_lines({"bash"}),
            textwrap.dedent("""
        import json, sys
        print(json.dumps(_run_bash(sys.argv[1], env={"NAME": "kfp"} if sys.argv[2] == "env" else None)))
    """),
        ]
    )

    def run(command: str, env: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", program, command, env],
            capture_output=True,
            text=True,
            env={**os.environ, "OUTER": "yes"},
            cwd=tmp_path,
            timeout=60,
            check=False,
        )

    done = run("echo one; echo two >&2; echo '  three  '")
    assert done.stdout.splitlines() == ["one", "two", "  three", '"  three"']  # stderr in, rstripped
    assert json.loads(run('echo "$NAME-${OUTER:-none}"', "env").stdout.splitlines()[-1]) == "kfp-none"
    failed = run("echo partial; exit 3")
    assert failed.returncode == 3 and "non-zero exit code 3" in failed.stderr


def test_kfps_run_macros_give_airflows_values_for_a_local_run() -> None:
    import datetime

    from airflow2kfp.mapping.templates import TIME_MACROS, substitute_run_macros

    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)  # noqa: UP017
    airflow = {
        "ds": "2024-01-01",
        "ds_nodash": "20240101",
        "ts": "2024-01-01T00:00:00+00:00",
        "ts_nodash": "20240101T000000",
        "ts_nodash_with_tz": "20240101T000000+0000",
        "logical_date": "2024-01-01 00:00:00+00:00",
        "execution_date": "2024-01-01 00:00:00+00:00",
    }
    for macro, (_, layout, _) in TIME_MACROS.items():
        assert substitute_run_macros(f"[[CurrentTime.{layout}]]", when) == airflow[macro]
        assert substitute_run_macros(f"at [[ScheduledTime.{layout}]].", when) == f"at {airflow[macro]}."
    assert substitute_run_macros("[[CurrentTime.Z07:00]] [[Other]]", when) == "Z [[Other]]"
