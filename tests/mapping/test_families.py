"""Before/after tests per operator family, each with a case the mapping must leave alone."""

from __future__ import annotations

import json

from airflow2kfp.mapping import MappingContext, MappingOptions, family_for, map_task
from airflow2kfp.mapping.base import Fidelity, Interpolated, ParamRef, RunIdRef
from airflow2kfp.mapping.callable_source import standalone
from airflow2kfp.mapping.dag_params import dag_parameters
from airflow2kfp.mapping.templates import translate
from airflow2kfp.model import PythonCallable, SourceSpan, Task, TaskArgs, Unresolved, XComRef
from tests.helpers import dag, task

PY = ("PythonOperator", "airflow.operators.python")
TASKFLOW = ("task", "airflow.decorators")
POD = ("KubernetesPodOperator", "airflow.providers.cncf.kubernetes.operators.pod")
DOCKER = ("DockerOperator", "airflow.providers.docker.operators.docker")
SQL = ("SQLExecuteQueryOperator", "airflow.providers.common.sql.operators.sql")
MODULE = """import json
import pandas as pd
from airflow.models import Variable

LIMIT = 5
CONFIG = Variable.get("config")


def clip(x):
    return min(x, LIMIT)
"""


def context(*tasks: Task, **settings) -> MappingContext:
    return MappingContext(dag=dag("d", tasks, [], settings=settings), options=MappingOptions())


def py_task(
    task_id: str, source: str, name: str, operator=PY, module_source: str | None = MODULE, **args
) -> Task:
    callable_ = PythonCallable(name, source, SourceSpan("dag.py", 1), module_source=module_source)
    return Task(
        task_id,
        operator[0],
        operator[1],
        SourceSpan("dag.py", 1),
        TaskArgs(args, frozenset(args)),
        python_callable=callable_,
    )


def codes(mapping):
    return [d.code for d in mapping.diagnostics]


# -- callables made standalone ----------------------------------------------------------------


def test_callable_carries_the_module_level_names_it_uses_and_nothing_else():
    found = standalone("f", "@task\ndef f(x):\n    return json.dumps(clip(x))\n", MODULE)
    assert found.function.startswith("def f(x):")  # the decorator is gone
    assert found.prelude == ("import json", "LIMIT = 5", "def clip(x):\n    return min(x, LIMIT)")
    assert found.missing == () and found.airflow_names == ()


def test_values_built_from_airflow_at_import_time_are_missing_not_copied():
    found = standalone("f", "def f():\n    return CONFIG, undefined\n", MODULE)
    assert found.prelude == () and found.missing == ("CONFIG", "undefined")


def test_a_self_contained_callable_needs_nothing():
    found = standalone("f", "def f(a, *rest, b=1, **kw):\n    import os\n    return os.sep\n", MODULE)
    assert found.prelude == () and found.missing == ()
    assert [p.kind for p in found.parameters] == [
        "positional",
        "var_positional",
        "keyword_only",
        "var_keyword",
    ]


# -- Python / TaskFlow ------------------------------------------------------------------------


def test_python_operator_becomes_a_function_component_with_typed_inputs():
    t = py_task("t", "def f(x, n):\n    return clip(x) * n\n", "f", op_args=[3], op_kwargs={"n": 2})
    mapping = map_task(t, context(t))
    assert mapping.fidelity is Fidelity.DIRECT and mapping.arguments == {"x": 3, "n": 2}
    code = mapping.component.code
    assert "def t_step(x: int, n: int):" in code and "LIMIT = 5" in code and "f(x, n=n)" in code
    assert "create_component_from_func(t_step, base_image='python:3.11')" in code
    compile(code.replace("components.", "").split("\n\n\nPY_T")[0], "x", "exec")  # valid Python


def test_plain_callable_without_arguments_is_left_simple():
    t = py_task("t", "def f():\n    print('hi')\n", "f", module_source=None)
    mapping = map_task(t, context(t))
    assert mapping.fidelity is Fidelity.DIRECT and mapping.arguments == {} and codes(mapping) == []
    assert "_json" not in mapping.component.code  # no outputs read downstream: nothing encoded


def test_taskflow_results_are_outputs_wired_into_inputs():
    a = py_task("a", "@task(multiple_outputs=True)\ndef a():\n    return {'k': 1}\n", "a", TASKFLOW)
    b = py_task(
        "b",
        "@task\ndef b(v, w):\n    return v\n",
        "b",
        TASKFLOW,
        op_args=(XComRef("a", "k"),),
        op_kwargs={"w": XComRef("a")},
    )
    ctx = context(a, b)
    producer, consumer = map_task(a, ctx), map_task(b, ctx)
    assert "NamedTuple('Outputs', [('Output', str), ('k', str)])" in producer.component.code
    assert consumer.arguments == {"v": XComRef("a", "k"), "w": XComRef("a")}
    assert (
        "v_path: InputPath()" in consumer.component.code
        and "v = _json.load(_file)" in consumer.component.code
    )


def test_bash_return_value_is_read_as_text_and_its_producer_writes_it():
    bash = task("sh", bash_command="date")
    t = py_task("t", "def f(v):\n    return v\n", "f", op_args=[XComRef("sh")])
    ctx = context(bash, t)
    mapping, producer = map_task(t, ctx), map_task(bash, ctx)
    assert mapping.arguments == {"v": XComRef("sh")} and mapping.fidelity is Fidelity.DIRECT
    assert "    v = _file.read()" in mapping.component.code  # the last output line, not JSON
    assert producer.component.key == "BASH_XCOM" and producer.component.spec["outputs"] == [
        {"name": "Output", "type": "String"}
    ]


def test_xcom_of_a_task_that_pushes_none_is_none_and_of_an_unmapped_one_is_reported():
    sql = task("q", operator=SQL, sql="select 1")
    quiet = task("sh", bash_command="date", do_xcom_push=False)
    t = py_task("t", "def f(a, b):\n    return a\n", "f", op_args=[XComRef("q"), XComRef("sh")])
    mapping = map_task(t, context(sql, quiet, t))
    assert mapping.arguments == {} and "    f(None, None)\n" in mapping.component.code
    assert codes(mapping) == ["A2K311"] and mapping.fidelity is Fidelity.APPROXIMATED  # only the SQL task's


def test_context_arguments_come_from_pipeline_parameters():
    t = py_task("t", "def f(ds, logical_date, run_id, ti=None):\n    pass\n", "f")
    mapping = map_task(t, context(t))
    assert mapping.arguments == {
        "ds": ParamRef("ds"),
        "logical_date": ParamRef("logical_date"),
        "run_id": RunIdRef(),
    }
    assert "_when = _logical_date(logical_date)" in mapping.component.code
    assert [p.name for p in mapping.parameters] == ["ds", "logical_date"] and codes(mapping) == []


def test_imported_callable_is_packaged_by_reference_with_a_diagnostic():
    t = Task(
        "t",
        *PY,
        SourceSpan("dag.py", 1),
        TaskArgs({}),
        python_callable=PythonCallable("run", None, module="etl.jobs"),
    )
    mapping = map_task(t, context(t))
    assert "from etl.jobs import run" in mapping.component.code and "A2K310" in codes(mapping)
    assert mapping.fidelity is Fidelity.APPROXIMATED


def test_third_party_imports_become_packages_to_install():
    t = py_task("t", "def f():\n    return pd.DataFrame()\n", "f")
    mapping = map_task(t, context(t))
    assert "packages_to_install=['pandas']" in mapping.component.code and "A2K315" in codes(mapping)


def test_virtualenv_requirements_and_python_version():
    t = py_task(
        "t",
        "def f():\n    import requests\n",
        "f",
        ("PythonVirtualenvOperator", "airflow.operators.python"),
        requirements=["requests==2.32.3"],
        python_version="3.10",
    )
    code = map_task(t, context(t)).component.code
    assert "base_image='python:3.10'" in code and "packages_to_install=['requests==2.32.3']" in code


# -- templates and DAG params -----------------------------------------------------------------


def test_macros_become_parameters_and_run_values_unknown_ones_are_kept():
    d = dag("etl", [], [], settings={"params": {"table": "t1"}})
    t = task("load")
    result = translate("{{ ds }}/{{ params.table }}/{{ run_id }}/{{ task.task_id }}/{{ var.value.x }}", t, d)
    assert result.value == Interpolated(
        (ParamRef("ds"), "/", ParamRef("table"), "/", RunIdRef(), "/load/{{ var.value.x }}")
    )
    assert [p.name for p in result.parameters] == ["ds", "table"] and result.kept == ("{{ var.value.x }}",)
    assert result.parameters[0].scheduled_value == "[[ScheduledTime.2006-01-02]]"


def test_text_without_templates_is_unchanged():
    assert translate("echo 100% {not jinja}", task("t"), dag("d", [], [])).value == "echo 100% {not jinja}"


def test_dag_params_are_typed_pipeline_parameters():
    d = dag(
        "d",
        [],
        [],
        settings={
            "params": {
                "n": 3,
                "ds": "x",
                "p": Unresolved('Param(5, type="integer", description="rows")'),
                "q": Unresolved("compute()"),
            }
        },
    )
    found = {p.name: (p.annotation, p.default) for p in dag_parameters(d)}
    assert found == {"n": ("int", 3), "param_ds": ("str", "x"), "p": ("int", 5), "q": ("str", "")}


# -- Bash -------------------------------------------------------------------------------------


def test_bash_env_cwd_and_macros():
    t = task("b", bash_command="echo {{ ds_nodash }}", env={"A": "1"}, append_env=True, cwd="/work dir")
    mapping = map_task(t, context(t))
    assert mapping.arguments["command"] == Interpolated(
        ("cd '/work dir' || exit 1\necho ", ParamRef("ds_nodash"))
    )
    assert mapping.task_calls[0] == "add_env_variable(k8s.V1EnvVar(name='A', value='1'))"
    assert mapping.fidelity is Fidelity.DIRECT and codes(mapping) == []


def test_bash_env_without_append_env_is_reported():
    t = task("b", env={"A": "1"})
    assert "A2K303" in codes(map_task(t, context(t)))


def test_missing_script_is_kept_and_reported():
    t = task("b", bash_command="nowhere/run.sh")
    mapping = map_task(t, context(t))
    assert mapping.arguments["command"] == "nowhere/run.sh" and "A2K306" in codes(mapping)


# -- Kubernetes pod ---------------------------------------------------------------------------


def test_pod_settings_become_task_calls():
    t = task(
        "p",
        POD,
        image="busybox",
        cmds=["sh", "-c"],
        arguments=["echo {{ ds }}"],
        env_vars={"X": "1"},
        labels={"team": "a"},
        node_selector={"pool": "gpu"},
        image_pull_policy="Always",
        container_resources=Unresolved(
            'k8s.V1ResourceRequirements(limits={"cpu": "1", "nvidia.com/gpu": "1"})'
        ),
        tolerations=[Unresolved('V1Toleration(key="k", operator="Exists")')],
        volume_mounts=[Unresolved('k8s.V1VolumeMount(name="v", mount_path="/v")')],
    )
    mapping = map_task(t, context(t))
    container = mapping.component.spec["implementation"]["container"]
    assert container == {"image": "busybox", "command": ["sh", "-c"], "args": [{"inputValue": "arg_0"}]}
    assert mapping.arguments == {"arg_0": Interpolated(("echo ", ParamRef("ds")))}
    assert mapping.task_calls == (
        "add_env_variable(k8s.V1EnvVar(name='X', value='1'))",
        "set_cpu_limit('1')",
        "add_resource_limit('nvidia.com/gpu', '1')",
        "add_pod_label('team', 'a')",
        "add_node_selector_constraint('pool', 'gpu')",
        'add_toleration(k8s.V1Toleration(key="k", operator="Exists"))',
        "set_image_pull_policy('Always')",
        'add_volume_mount(k8s.V1VolumeMount(name="v", mount_path="/v"))',
    )
    assert mapping.fidelity is Fidelity.DIRECT


def test_minimal_pod_is_just_the_image():
    t = task("p", POD, image="busybox")
    mapping = map_task(t, context(t))
    assert mapping.component.spec["implementation"]["container"] == {"image": "busybox"}
    assert mapping.task_calls == () and codes(mapping) == []


def test_pod_service_account_is_reported_and_unreadable_objects_too():
    t = task(
        "p", POD, image="busybox", service_account_name="sa", tolerations=Unresolved("make_tolerations()")
    )
    assert set(codes(map_task(t, context(t)))) == {"A2K303", "A2K306"}


def test_old_resources_dict():
    t = task(
        "p",
        ("KubernetesPodOperator", "airflow.contrib.operators.kubernetes_pod_operator"),
        image="x",
        resources={"limit_memory": "1Gi", "request_cpu": "250m"},
    )
    assert map_task(t, context(t)).task_calls == ("set_memory_limit('1Gi')", "set_cpu_request('250m')")


# -- Docker -----------------------------------------------------------------------------------


def test_docker_command_is_the_containers_args_and_environment_is_env():
    t = task(
        "d", DOCKER, image="img:1", command="run --out /o/{{ ds }} --day {{ ds }}", environment={"A": "b"}
    )
    mapping = map_task(t, context(t))
    container = mapping.component.spec["implementation"]["container"]
    assert container == {
        "image": "img:1",
        "args": ["run", "--out", {"inputValue": "arg_0"}, "--day", {"inputValue": "arg_1"}],
    }
    assert mapping.arguments == {"arg_0": Interpolated(("/o/", ParamRef("ds"))), "arg_1": ParamRef("ds")}
    assert mapping.task_calls == ("add_env_variable(k8s.V1EnvVar(name='A', value='b'))",)


def test_docker_plain_command_is_split_like_docker_py():
    t = task("d", DOCKER, image="img:1", command="echo 'a b'")
    mapping = map_task(t, context(t))
    assert mapping.component.spec["implementation"]["container"]["args"] == ["echo", "a b"]
    assert mapping.fidelity is Fidelity.DIRECT


# -- fallback ---------------------------------------------------------------------------------


def test_provider_operator_runs_in_an_airflow_image_with_its_arguments():
    t = task("q", SQL, conn_id="db", sql="select {{ ds }}", retries=2, hook_params=Unresolved("make()"))
    mapping = map_task(t, context(t))
    assert mapping.fidelity is Fidelity.APPROXIMATED and family_for(t) is None
    assert mapping.component.key == "AIRFLOW_OPERATOR"
    assert mapping.arguments["arguments"] == '{"conn_id": "db", "sql": "select {{ ds }}"}'
    assert (
        mapping.arguments["operator"] == "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator"
    )
    assert codes(mapping)[:2] == ["A2K313", "A2K311"]
    assert mapping.task_calls[0].startswith("set_retry(2")  # scheduling settings stay KFP settings


def test_the_fallback_image_follows_the_dag_s_airflow_major_version_unless_one_is_set():
    t = task("q", SQL, conn_id="db", sql="select 1")

    def image(version: str | None, **options) -> str:
        mapping = map_task(
            t, MappingContext(dag("d", [t], [], airflow_version=version), MappingOptions(**options))
        )
        return mapping.component.spec["implementation"]["container"]["image"]

    assert image(None) == "apache/airflow:2.10.5-python3.11"  # unknown: Airflow 2, as before
    assert (
        image("3") == image("3.3.2") == "apache/airflow:3.3.2-python3.11"
    )  # airflow.sdk, or read by Airflow 3
    assert image("2.10.5") == "apache/airflow:2.10.5-python3.11"
    assert image("3.1.0", airflow_image="registry/team-airflow:1") == "registry/team-airflow:1"


def test_the_fallback_passes_dag_params_and_literal_values_and_returns_the_operator_s_result():
    t = task(
        "g",
        ("GreetingOperator", "team_operators.greetings"),
        name="{{ params.team }}",
        params=Unresolved("{'team': 'analytics', 'n': 2}"),
        when=Unresolved("make_time()"),
    )
    mapping = map_task(
        t,
        MappingContext(
            dag("d", [t], [], settings={"params": {"team": "x", "env": "prod"}}), MappingOptions()
        ),
    )
    assert json.loads(mapping.arguments["arguments"]) == {
        "name": "{{ params.team }}",
        "params": {"team": "analytics", "n": 2, "env": "prod"},
    }
    assert codes(mapping) == ["A2K313", "A2K311", "A2K310"]  # `when` is not data; the module is the team's
    assert mapping.component.spec["outputs"] == [{"name": "Output", "type": "String"}]
    assert mapping.component.spec["implementation"]["container"]["command"][-1] == {"outputPath": "Output"}


def test_a_class_defined_in_the_dag_file_is_a_placeholder_that_says_why():
    # Airflow imports DAG files under a module name no image can import
    t = task("g", ("GreetOperator", "unusual_prefix_0123abcd_my_dag"), name="x")
    mapping = map_task(t, context(t))
    assert mapping.fidelity is Fidelity.PLACEHOLDER and codes(mapping) == ["A2K301"]
    assert "defined in the DAG file itself" in mapping.diagnostics[0].message


def test_dedented_command_is_read():
    t = task("b", bash_command=Unresolved('textwrap.dedent("""\n    echo {{ ds }}\n""")'))
    mapping = map_task(t, context(t))
    assert mapping.arguments["command"] == Interpolated(("\necho ", ParamRef("ds"), "\n"))
