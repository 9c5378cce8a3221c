"""XComs between steps: pulls found in templates and code, where each value comes from, and how the
Python, Bash and pod families wire them (with the run context a step serves)."""

from __future__ import annotations

from airflow2kfp.mapping import MappingContext, MappingOptions, map_task
from airflow2kfp.mapping.base import Fidelity, Interpolated, ParamRef
from airflow2kfp.mapping.xcom import JSON, TEXT, XComText, code_use, simple_pull, source, template_use
from airflow2kfp.model import PythonCallable, SourceSpan, Task, TaskArgs, XComRef
from airflow2kfp.parse.static import read_dag_file
from tests.helpers import dag, task

PY = ("PythonOperator", "airflow.operators.python")
TASKFLOW = ("task", "airflow.decorators")
POD = ("KubernetesPodOperator", "airflow.providers.cncf.kubernetes.operators.pod")
MODULE = """from airflow.models import Variable
from airflow.operators.python import get_current_context
from airflow.hooks.base import BaseHook
"""


def py(task_id: str, source: str, operator=PY, line: int = 10, **args) -> Task:
    name = source.split("def ", 1)[1].split("(", 1)[0]
    callable_ = PythonCallable(name, source, SourceSpan("dag.py", line), module_source=MODULE)
    return Task(
        task_id,
        operator[0],
        operator[1],
        SourceSpan("dag.py", line),
        TaskArgs(args, frozenset(args)),
        python_callable=callable_,
    )


def mapped(tasks, edges, task_id):
    context = MappingContext(dag=dag("d", tasks, edges), options=MappingOptions())
    return map_task(context.dag.task(task_id), context)


def codes(mapping):
    return [d.code for d in mapping.diagnostics]


# -- finding pulls ----------------------------------------------------------------------------


def test_pulls_in_templates_are_read_with_jinjas_parser() -> None:
    use = template_use(
        "{{ ti.xcom_pull(task_ids='a', key='k') }} {{ task_instance.xcom_pull('b')['x'] | int }}"
        "{% for f in ti.xcom_pull(task_ids=['c', 'd']) %}{{ f }}{% endfor %} {{ params.p }}"
    )
    assert [(p.task_ids, p.key, p.many) for p in use.pulls] == [
        (("a",), "k", False),
        (("b",), "return_value", False),
        (("c", "d"), "return_value", True),
    ]
    assert use.names == {"ti", "task_instance", "params"}
    unknown = template_use("{{ ti.xcom_pull(task_ids=params.src) }}").pulls[0]
    assert not unknown.known and template_use("{{ oops(").error


def test_pulls_and_pushes_in_code_with_any_receiver() -> None:
    use = code_use(
        'def f(**context):\n    v = context["ti"].xcom_pull(task_ids="a", key="n")\n'
        '    context["ti"].xcom_push(key="out", value=v)\n    kwargs["ti"].xcom_push("k2", 1)\n'
        "    ti.xcom_pull(task_ids=name)\n"
    )
    assert [(p.task_ids, p.key, p.line) for p in use.pulls] == [(("a",), "n", 2), (None, "return_value", 5)]
    assert [(p.key, p.line) for p in use.pushes] == [("out", 3), ("k2", 4)]


def test_a_simple_pull_is_a_block_that_is_only_the_call() -> None:
    assert simple_pull("ti.xcom_pull(task_ids='a')").task_ids == ("a",)
    assert (
        simple_pull("ti.xcom_pull(task_ids='a')['x']") is None
        and simple_pull("ti.xcom_pull('a') | int") is None
    )


def test_where_a_pulled_value_comes_from() -> None:
    tasks = [
        py("a", "def a():\n    return 1\n"),
        task("b"),
        task("c"),
        task("e", operator=("EmptyOperator", "airflow.operators.empty")),
        task("q", operator=("SQLExecuteQueryOperator", "airflow.providers.x")),
    ]
    graph = dag("d", tasks, [("a", "b"), ("b", "c"), ("e", "c"), ("q", "c")])
    assert source(graph, "c", "a", "return_value") == source(graph, "c", "a", "return_value")
    assert (
        source(graph, "c", "a", "return_value").ref == XComRef("a")
        and source(graph, "c", "a", "x").encoding == JSON
    )
    assert source(graph, "c", "b", "return_value").encoding == TEXT  # a Bash task's last output line
    assert (
        source(graph, "c", "e", "return_value").ref is None
        and source(graph, "c", "e", "return_value").problem is None
    )
    assert source(graph, "c", "q", "return_value").problem[0] == "A2K311"
    assert source(graph, "b", "c", "return_value").problem[0] == "A2K332"  # runs after: None, as in Airflow
    assert source(graph, "c", "zz", "return_value").problem[0] == "A2K331"


# -- the Python family --------------------------------------------------------------------------


def test_a_callable_pulling_and_pushing_gets_inputs_outputs_and_its_context() -> None:
    producer = py("push", "def push(ti):\n    ti.xcom_push(key='rows', value=3)\n    return 'ok'\n")
    consumer = py(
        "pull",
        "def pull(ds, params, **context):\n    n = context['ti'].xcom_pull(task_ids='push', "
        "key='rows')\n    return n, context['dag_run'].conf, ds, params\n",
    )
    tasks, edges = [producer, consumer], [("push", "pull")]
    made, used = mapped(tasks, edges, "push"), mapped(tasks, edges, "pull")
    assert "NamedTuple('Outputs', [('rows', str)])" in made.component.code  # pushed: an output
    assert "_json.dumps(_xcom.get('rows'))" in made.component.code and made.fidelity is Fidelity.DIRECT
    assert (
        used.arguments["ds"] == ParamRef("ds")
        and used.arguments["push_rows"] == XComRef("push", "rows")
        and used.arguments["dag_run_conf"] == ParamRef("dag_run_conf")
    )
    code = used.component.code
    assert "_ti = _TaskInstance('d', 'pull', run_id, {('push', 'rows'): push_rows})" in code
    assert (
        "pull(ds=_context['ds'], params=_context['params'], dag_run=_context['dag_run'], ti=_context['ti'])"
        in code
    )
    assert used.fidelity is Fidelity.DIRECT and codes(used) == []


def test_get_current_context_and_variables_are_served_not_imported_from_airflow() -> None:
    t = py(
        "t",
        "def f():\n    ctx = get_current_context()\n    return Variable.get('k', default_var=ctx['ds'])\n",
        TASKFLOW,
    )
    mapping = mapped([t], [], "t")
    code = mapping.component.code
    assert "import get_current_context" not in code and "from airflow" not in code
    assert "def get_current_context():" in code and "class Variable:" in code and "apache-airflow" not in code
    variable = next(d for d in mapping.diagnostics if d.code == "A2K333")
    assert variable.line == 12 and mapping.fidelity is Fidelity.APPROXIMATED  # the line reading it


def test_hooks_are_reported_at_their_line_and_keep_airflow() -> None:
    t = py("t", "def f():\n    return BaseHook.get_connection('db').host\n")
    mapping = mapped([t], [], "t")
    assert [(d.code, d.line) for d in mapping.diagnostics if d.code == "A2K334"] == [("A2K334", 11)]
    assert "apache-airflow" in mapping.component.code and mapping.fidelity is Fidelity.APPROXIMATED


def test_templated_kwargs_needing_the_run_are_rendered_in_the_step() -> None:
    a = py("a", "def a():\n    return {'p': '/x'}\n")
    t = py(
        "t",
        "def f(path, templates_dict=None):\n    return path, templates_dict\n",
        op_kwargs={"path": "{{ ti.xcom_pull(task_ids='a')['p'] }}"},
        templates_dict={"day": "{{ ds }}"},
    )
    mapping = mapped([a, t], [("a", "t")], "t")
    code = mapping.component.code
    assert """f(path=_render("\\x7b\\x7b ti.xcom_pull(task_ids='a')['p'] \\x7d\\x7d", _context)""" in code
    assert (
        "_context['templates_dict'] = {'day': templates_dict_0}" in code
    )  # translated: a pipeline parameter
    assert mapping.arguments["templates_dict_0"] == ParamRef("ds")
    assert "packages_to_install=['jinja2']" in code and mapping.fidelity is Fidelity.DIRECT


def test_taskflow_infers_multiple_outputs_from_a_dict_annotation() -> None:
    a = py("a", "def a() -> dict[str, int]:\n    return {'n': 1}\n", TASKFLOW)
    b = py("b", "def b(n):\n    return n\n", TASKFLOW, op_args=[XComRef("a", "n")])
    mapping = mapped([a, b], [("a", "b")], "a")
    assert "_xcom = dict(_result)" in mapping.component.code and codes(mapping) == []


# -- Bash and pods ------------------------------------------------------------------------------


def test_a_pull_alone_in_a_bash_block_is_the_producers_text_substituted_by_kfp() -> None:
    a = py("a", "def a():\n    return 'x'\n")
    b = task("b", bash_command="echo {{ ti.xcom_pull(task_ids='a') }} on {{ ds }}")
    mapping, producer = mapped([a, b], [("a", "b")], "b"), mapped([a, b], [("a", "b")], "a")
    assert mapping.component.key == "BASH" and mapping.arguments == {
        "command": Interpolated(("echo ", XComText("a"), " on ", ParamRef("ds")))
    }
    assert "('Output_text', str)" in producer.component.code and "str(_result)" in producer.component.code


def test_a_pull_the_producer_runs_after_renders_none_as_jinja_does() -> None:
    b = task("b", bash_command="echo {{ ti.xcom_pull(task_ids='c') }}")
    mapping = mapped([b, task("c")], [("b", "c")], "b")
    assert mapping.arguments == {"command": "echo None"} and codes(mapping) == ["A2K332"]


def test_an_xcomarg_as_the_bash_command_runs_in_a_python_step() -> None:
    a = py("a", "def a():\n    return 'echo hi'\n")
    b = task("b", bash_command=XComRef("a"))
    mapping = mapped([a, b], [("a", "b")], "b")
    assert mapping.arguments == {"a": XComRef("a")} and "_run_bash(a)" in mapping.component.code


def test_a_pod_pushing_its_xcom_writes_the_sidecars_file() -> None:
    pod = task("p", operator=POD, image="img:1", arguments=["--day", "{{ ds }}"], do_xcom_push=True)
    mapping = mapped([pod], [], "p")
    container = mapping.component.spec["implementation"]["container"]
    assert container["fileOutputs"] == {"Output": "/airflow/xcom/return.json"}
    assert mapping.component.spec["outputs"] == [{"name": "Output", "type": "String"}]
    assert any("mount_path='/airflow/xcom'" in call for call in mapping.task_calls)


def test_a_pull_of_a_pods_other_keys_gets_none_not_a_missing_output() -> None:
    # the pod's step writes only return.json (Output); pod_name and kin are not passed (a compile KeyError before)
    pod = task("p", operator=POD, image="img:1", do_xcom_push=True)
    graph = dag("d", [pod, task("c")], [("p", "c")])
    assert source(graph, "c", "p", "return_value").ref == XComRef("p")
    pulled = source(graph, "c", "p", "pod_name")
    assert pulled.ref is None and pulled.problem[0] == "A2K311"


# -- reading -------------------------------------------------------------------------------------


def test_an_xcomarg_in_an_f_string_reads_as_the_template_airflow_makes_of_it(tmp_path) -> None:
    (tmp_path / "dag.py").write_text("""
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
    a = BashOperator(task_id="a", bash_command="echo 1")
    b = BashOperator(task_id="b", bash_command=f"echo {a.output}!")
""")
    (graph,) = read_dag_file(tmp_path / "dag.py").dags
    assert graph.task("b").args.get("bash_command") == (
        "echo {{ task_instance.xcom_pull(task_ids='a', dag_id='d', key='return_value') }}!"
    )
    assert graph.edges == ()  # str() of an XComArg adds no dependency in Airflow either


def test_context_keys_are_what_the_callable_reads_from_its_context() -> None:
    from airflow2kfp.mapping.step_context import context_keys

    text = (
        'def f(x, **context):\n    d = {"conf": 1}\n    ctx = get_current_context()\n'
        '    return context["ti"], context.get("ds"), ctx["params"], d["conf"]\n'
    )
    assert context_keys(text, {"conf", "ti", "ds", "params"}) == {"ti", "ds", "params"}  # not d["conf"]
    passed_on = 'def f(**context):\n    return helper(**context), "dag_run"\n'
    assert context_keys(passed_on, {"dag_run"}) == {"dag_run"}  # a helper reads it: every literal counts


def test_keys_pushed_under_names_computed_at_run_time_come_from_the_pushes() -> None:
    a = py(
        "a",
        "def a(name, ti):\n    ti.xcom_push(key=f'{name}_n', value=1)\n    return 0\n",
        op_kwargs={"name": "x"},
    )
    b = task("b", bash_command="echo {{ ti.xcom_pull(task_ids='a', key='x_n') }}")
    mapping = mapped([a, b], [("a", "b")], "a")
    assert (
        "_xcom = _ti.pushed" in mapping.component.code and "str(_xcom.get('x_n'))" in mapping.component.code
    )
    assert [d.code for d in mapping.diagnostics] == ["A2K331"]  # the key is not known before the run


def test_a_template_reading_only_ids_of_dag_and_task_renders_in_the_step() -> None:
    b = task("b", bash_command="echo {{ dag.dag_id }}/{{ task.task_id }}/{{ macros.ds_add(ds, 1) }}")
    mapping = mapped([b], [], "b")
    assert mapping.fidelity is Fidelity.DIRECT and "'dag': {'dag_id': 'd'}" in mapping.component.code
    owner = mapped([task("b", bash_command="echo {{ task.owner }} {{ macros.ds_add(ds, 1) }}")], [], "b")
    assert owner.fidelity is Fidelity.PLACEHOLDER and [d.code for d in owner.diagnostics] == ["A2K335"]
    constant = mapped([task("b", bash_command="echo {{ 1 + 1 }}")], [], "b")
    assert "_context = {}" in constant.component.code  # rendered with an empty context


def test_a_python_task_whose_template_the_step_cannot_serve_is_a_placeholder() -> None:
    t = py("t", "def f(day):\n    return day\n", op_kwargs={"day": "{{ prev_ds }}"})
    mapping = mapped([t], [], "t")
    assert mapping.fidelity is Fidelity.PLACEHOLDER and codes(mapping) == ["A2K335"]
