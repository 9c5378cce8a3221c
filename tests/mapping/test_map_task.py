"""Before/after tests per mapping family, each with a case the mapping must leave alone."""

from airflow2kfp.mapping import MappingContext, MappingOptions, family_for, map_task
from airflow2kfp.mapping.base import Fidelity, ParamRef
from airflow2kfp.model import Duration, Unresolved
from tests.helpers import EMPTY, dag, task

CONTEXT = MappingContext(dag=dag("d", [], []), options=MappingOptions())


def codes(mapping):
    return [d.code for d in mapping.diagnostics]


def test_bash_command_becomes_the_argument_of_the_bash_component():
    mapping = map_task(task("t", bash_command="echo hi"), CONTEXT)
    assert mapping.fidelity is Fidelity.DIRECT
    assert mapping.component.key == "BASH" and mapping.arguments == {"command": "echo hi"}
    assert mapping.component.spec["implementation"]["container"]["command"][:2] == ["bash", "-c"]
    assert mapping.task_calls == () and codes(mapping) == []


def test_bash_image_is_configurable():
    context = MappingContext(dag=CONTEXT.dag, options=MappingOptions(bash_image="ubuntu:24.04"))
    assert (
        map_task(task("t"), context).component.spec["implementation"]["container"]["image"] == "ubuntu:24.04"
    )


def test_bash_template_needing_the_run_is_rendered_in_the_step():
    mapping = map_task(task("t", bash_command="echo {{ macros.ds_add(ds, 1) }}"), CONTEXT)
    assert mapping.fidelity is Fidelity.DIRECT and codes(mapping) == []
    assert mapping.arguments == {"ds": ParamRef("ds")}
    code = mapping.component.code
    assert "_run_bash(_render('echo \\x7b\\x7b macros.ds_add(ds, 1) \\x7d\\x7d', _context))" in code
    assert "packages_to_install=['jinja2']" in code and "{{" not in code  # Argo reads double braces


def test_bash_template_the_step_cannot_serve_is_a_placeholder_saying_why():
    mapping = map_task(task("t", bash_command="echo {{ prev_ds }}"), CONTEXT)
    assert mapping.fidelity is Fidelity.PLACEHOLDER and codes(mapping) == ["A2K335"]


def test_unresolved_bash_command_is_a_placeholder_not_a_guess():
    mapping = map_task(task("t", bash_command=Unresolved("make_cmd()")), CONTEXT)
    assert mapping.fidelity is Fidelity.PLACEHOLDER and "A2K306" in codes(mapping)


def test_user_class_named_like_airflows_is_not_mapped_as_airflows():
    assert family_for(task("t", operator=("BashOperator", "mycompany.operators"))) is None
    mapping = map_task(task("t", operator=("BashOperator", "mycompany.operators")), CONTEXT)
    assert mapping.component.key == "AIRFLOW_OPERATOR" and codes(mapping) == ["A2K313", "A2K310"]


def test_empty_operator_is_removed():
    mapping = map_task(task("e", operator=EMPTY), CONTEXT)
    assert mapping.fidelity is Fidelity.REMOVED and mapping.component is None


def test_empty_operator_with_a_trigger_rule_is_kept():
    mapping = map_task(task("e", operator=EMPTY, trigger_rule="all_done"), CONTEXT)
    assert mapping.fidelity is not Fidelity.REMOVED and mapping.component.key == "NOOP"


def test_keep_empty_keeps_it_as_a_noop_step():
    context = MappingContext(dag=CONTEXT.dag, options=MappingOptions(keep_empty=True))
    assert (
        map_task(
            task("e", operator=("DummyOperator", "airflow.operators.dummy_operator")), context
        ).component.key
        == "NOOP"
    )


def test_unknown_operator_is_a_marked_placeholder_without_the_fallback():
    context = MappingContext(dag=CONTEXT.dag, options=MappingOptions(operator_fallback=False))
    mapping = map_task(
        task("q", operator=("SQLExecuteQueryOperator", "airflow.providers.common.sql.operators.sql")), context
    )
    assert mapping.fidelity is Fidelity.PLACEHOLDER and codes(mapping) == ["A2K301"]
    assert mapping.arguments["operator"].endswith("SQLExecuteQueryOperator")


def test_retries_use_airflows_default_delay():
    mapping = map_task(task("t", retries=2), CONTEXT)
    assert mapping.task_calls == ('set_retry(2, policy="Always", backoff_duration="300s")',)


def test_retry_delay_backoff_and_timeout():
    mapping = map_task(
        task(
            "t",
            retries=3,
            retry_delay=Duration(90),
            retry_exponential_backoff=True,
            execution_timeout=Duration(600.5),
        ),
        CONTEXT,
    )
    assert mapping.task_calls == (
        'set_retry(3, policy="Always", backoff_duration="90s", backoff_factor=2)',
        "set_timeout(601)",
    )


def test_no_retries_no_calls():
    assert map_task(task("t", retries=0), CONTEXT).task_calls == ()


def test_trigger_rule_is_not_the_operator_mapping_concern():
    # the rule becomes an Argo `depends` (tests/mapping/test_control_flow.py); the operator's mapping stays direct
    mapping = map_task(task("t", trigger_rule="all_done"), CONTEXT)
    assert mapping.fidelity is Fidelity.DIRECT and "A2K305" not in codes(mapping)


def test_settings_without_kfp_equivalent_are_reported_but_defaults_are_not():
    assert "A2K303" in codes(map_task(task("t", pool="db"), CONTEXT))
    assert codes(map_task(task("t", pool="default_pool", priority_weight=1), CONTEXT)) == []
