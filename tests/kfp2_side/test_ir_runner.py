"""`verify --target v2`'s run of the IR (airflow2kfp/kfp2_side/ir_runner.py): one test per rule of KFP's
backend it follows (the rule numbers are the module doc's). Pipelines are compiled by kfp 2's own
compiler in the worker and run with real bash steps on this machine."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime

import pytest
import yaml

from airflow2kfp.kfp2.client import compile_v2, find_kfp2_python
from airflow2kfp.kfp2_side.ir_runner import ConditionError, Outcome, _assess, _text, evaluate_condition
from airflow2kfp.verify.argo_local import Phase, WorkflowRun
from airflow2kfp.verify.v2_local import V2LocalOptions, run_ir

needs_kfp2 = pytest.mark.skipif(
    find_kfp2_python() is None, reason="no kfp 2.x interpreter (scripts/setup_kfp2_env.sh)"
)
RUN_AT = datetime(2024, 1, 1, tzinfo=UTC)

HEADER = """
from kfp import compiler, dsl, kubernetes


@dsl.container_component
def sh(script: str):
    return dsl.ContainerSpec(image="bash:5.2", command=["bash", "-c", script])


@dsl.container_component
def say(script: str, output: dsl.OutputPath(str)):
    return dsl.ContainerSpec(image="bash:5.2", command=["bash", "-c", dsl.ConcatPlaceholder([script, ' > "$0"']),
                                                         output])


@dsl.container_component
def items(output: dsl.OutputPath(list)):
    return dsl.ContainerSpec(image="bash:5.2", command=["bash", "-c", 'echo \\'["1", "2", "3"]\\' > "$0"', output])


@dsl.container_component
def gather(values: list, output: dsl.OutputPath(str)):
    return dsl.ContainerSpec(image="bash:5.2", command=["bash", "-c", 'printf %s "$0" > "$1"', values, output])


@dsl.container_component
def records(output: dsl.OutputPath(list)):
    return dsl.ContainerSpec(image="bash:5.2", command=["bash", "-c", 'echo \\'[{"n": 1, "f": 2.5}, {"n": 3, "f": true}]\\' > "$0"',
                                                         output])


@dsl.container_component
def pair(a: str, b: str, output: dsl.OutputPath(str)):
    return dsl.ContainerSpec(image="bash:5.2", command=["bash", "-c", 'printf "%s|%s" "$0" "$1" > "$2"', a, b,
                                                         output])


@dsl.pipeline(name="rules")
def pipeline():
"""
FOOTER = """

def compile_pipeline(path):
    compiler.Compiler().compile(pipeline, path)
"""


def compiled(body: str) -> str:
    source = HEADER + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n" + FOOTER
    result = compile_v2(source, find_kfp2_python())
    assert result.yaml_text is not None, result.error
    return result.yaml_text


def run(ir: str) -> WorkflowRun:
    return run_ir(ir, V2LocalOptions(run_at=RUN_AT, task_timeout=20, run_timeout=120))


def states(result: WorkflowRun) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for node in result.nodes:
        found.setdefault(node.display_name or node.task, []).append(node.phase.value)
    return {name: ", ".join(phases) for name, phases in found.items()}


@needs_kfp2
def test_rule1_a_failed_upstream_omits_its_dependants_and_others_run_on() -> None:
    result = run(
        compiled("""
        a = sh(script="exit 3").set_display_name("a")
        b = sh(script="true").set_display_name("b").after(a)
        c = sh(script="true").set_display_name("c").after(b)
        x = sh(script="true").set_display_name("x")
    """)
    )
    assert states(result) == {"a": "Failed", "b": "Omitted", "c": "Omitted", "x": "Succeeded"}
    assert result.phase is Phase.FAILED
    c = next(n for n in result.nodes if n.display_name == "c")
    assert "Succeeded" in c.message  # depends '...Succeeded' not met


@needs_kfp2
def test_rule1_a_skipped_upstream_blocks_a_dependant() -> None:
    # KFP's DSL refuses such an edge; the backend's depends (x.Succeeded) would still block it
    ir = compiled("""
        flag = say(script="echo no").set_display_name("flag")
        with dsl.If(flag.output == "yes"):
            sh(script="true").set_display_name("inside")
        sh(script="true").set_display_name("after")
    """)
    documents = list(yaml.safe_load_all(ir))
    tasks = documents[0]["root"]["dag"]["tasks"]
    after = next(key for key, task in tasks.items() if task["taskInfo"]["name"] == "after")
    tasks[after]["dependentTasks"] = ["condition-1"]
    result = run(yaml.safe_dump_all(documents))
    assert states(result) == {"flag": "Succeeded", "inside": "Skipped", "after": "Omitted"}
    assert result.phase is Phase.SUCCEEDED  # an omitted target inherits its branch's (succeeded) phase


@needs_kfp2
def test_rule2_a_false_condition_skips_every_step_inside_and_else_runs() -> None:
    result = run(
        compiled("""
        flag = say(script="echo no").set_display_name("flag")
        with dsl.If(flag.output == "yes"):
            one = sh(script="true").set_display_name("one")
            sh(script="true").set_display_name("two").after(one)
        with dsl.Else():
            sh(script="true").set_display_name("other")
    """)
    )
    assert states(result) == {"flag": "Succeeded", "one": "Skipped", "two": "Skipped", "other": "Succeeded"}
    assert result.phase is Phase.SUCCEEDED


@needs_kfp2
def test_rule3_ignore_upstream_failure_runs_as_the_exit_hook_of_a_step_that_failed() -> None:
    result = run(
        compiled("""
        a = sh(script="exit 1").set_display_name("a")
        sh(script="true").set_display_name("cleanup").after(a).ignore_upstream_failure()
    """)
    )
    assert states(result) == {"a": "Failed", "cleanup": "Succeeded"}
    assert result.phase is Phase.FAILED


@needs_kfp2
def test_rule3_no_exit_hook_fires_for_an_upstream_that_did_not_run() -> None:
    result = run(
        compiled("""
        a = sh(script="exit 1").set_display_name("a")
        b = sh(script="true").set_display_name("b").after(a)
        sh(script="true").set_display_name("cleanup").after(b).ignore_upstream_failure()
    """)
    )
    assert states(result) == {"a": "Failed", "b": "Omitted", "cleanup": "Omitted"}


@needs_kfp2
def test_rule3_an_exit_handler_runs_its_task_after_the_group_whatever_it_ended_in() -> None:
    result = run(
        compiled("""
        cleanup = sh(script="true").set_display_name("cleanup")
        with dsl.ExitHandler(cleanup):
            a = sh(script="exit 1").set_display_name("a")
            sh(script="true").set_display_name("b").after(a)
    """)
    )
    assert states(result) == {"a": "Failed", "b": "Omitted", "cleanup": "Succeeded"}
    assert result.phase is Phase.FAILED  # the body's phase: the exit hook does not count
    nodes = {n.display_name: n for n in result.nodes}
    assert {nodes["a"].node, nodes["b"].node} <= set(nodes["cleanup"].waited_for)


@needs_kfp2
def test_rule3_an_upstream_has_one_exit_hook_the_last_by_name() -> None:
    ir = compiled("""
        a = sh(script="true").set_display_name("a")
        sh(script="true").set_display_name("first").after(a).ignore_upstream_failure()
        sh(script="true").set_display_name("second").after(a).ignore_upstream_failure()
    """)
    tasks = yaml.safe_load(ir)["root"]["dag"]["tasks"]
    last = max(key for key, task in tasks.items() if task["taskInfo"]["name"] in ("first", "second"))
    kept = tasks[last]["taskInfo"]["name"]
    result = run(ir)
    assert states(result)[kept] == "Succeeded"
    assert states(result)[{"first": "second", "second": "first"}[kept]] == "Omitted"


@needs_kfp2
def test_rule3_an_exit_hook_runs_once_per_upstream_and_its_failure_does_not_fail_the_run() -> None:
    result = run(
        compiled("""
        a = sh(script="true").set_display_name("a")
        b = sh(script="true").set_display_name("b")
        sh(script="exit 1").set_display_name("hook").after(a, b).ignore_upstream_failure()
    """)
    )
    assert states(result) == {"a": "Succeeded", "b": "Succeeded", "hook": "Failed, Failed"}
    assert result.phase is Phase.SUCCEEDED


@needs_kfp2
def test_rule3_the_dependants_of_an_upstream_wait_for_its_exit_hook() -> None:
    result = run(
        compiled("""
        a = sh(script="true").set_display_name("a")
        sh(script="true").set_display_name("hook").after(a).ignore_upstream_failure()
        sh(script="true").set_display_name("next").after(a)
    """)
    )
    nodes = {n.display_name: n for n in result.nodes}
    assert nodes["hook"].node in nodes["next"].waited_for


@needs_kfp2
def test_rule3_a_task_waiting_for_an_exit_hook_task_is_rejected() -> None:
    result = run(
        compiled("""
        a = sh(script="true").set_display_name("a")
        hook = sh(script="true").set_display_name("hook").after(a).ignore_upstream_failure()
        sh(script="true").set_display_name("late").after(hook)
    """)
    )
    assert result.phase is Phase.ERROR and not result.nodes
    assert "rejects" in result.message and "'late' waits for 'hook'" in result.message


@needs_kfp2
def test_rule3_a_loop_gets_no_exit_hook() -> None:
    result = run(
        compiled("""
        with dsl.ParallelFor(["1", "2"]) as item:
            loop = sh(script="true").set_display_name("loop")
        sh(script="true").set_display_name("hook").after(loop).ignore_upstream_failure()
    """)
    )
    assert states(result) == {"loop": "Succeeded, Succeeded", "hook": "Omitted"}


@needs_kfp2
def test_rule4_a_loop_runs_each_item_in_order_and_collects_the_outputs() -> None:
    result = run(
        compiled("""
        listed = items().set_display_name("listed")
        with dsl.ParallelFor(listed.output) as item:
            each = say(script=f"printf item-{item}").set_display_name("each")
        gather(values=dsl.Collected(each.output)).set_display_name("all")
    """)
    )
    each = [n for n in result.nodes if n.display_name == "each"]
    assert [n.parameters["Output"] for n in each] == ["item-1", "item-2", "item-3"]
    collected = next(n for n in result.nodes if n.display_name == "all")
    assert collected.parameters["Output"].replace(" ", "") == '["item-1","item-2","item-3"]'
    assert all(n.node in collected.waited_for for n in each)


@needs_kfp2
def test_rule4_a_failed_iteration_fails_the_loop() -> None:
    result = run(
        compiled("""
        with dsl.ParallelFor(["0", "3"]) as code:
            loop = sh(script=f"exit {code}").set_display_name("loop")
        sh(script="true").set_display_name("after").after(loop)
    """)
    )
    assert states(result) == {"loop": "Succeeded, Failed", "after": "Omitted"}
    assert result.phase is Phase.FAILED


@needs_kfp2
def test_rule4_an_inner_loop_gets_the_outer_loops_item_and_the_body_an_upstreams_output() -> None:
    """As the backend's iteration driver: only the item input is the item. kfp.local's iteration
    helper gave the inner item to the outer item's input (`*-loop-item`) and the outer item to every
    upstream output the loop passes on."""
    result = run(
        compiled("""
        listed = items().set_display_name("listed")
        day = say(script="printf 2024-01-01").set_display_name("day")
        with dsl.ParallelFor(listed.output) as number, dsl.ParallelFor(["a", "b"]) as letter:
            pair(a=number, b=letter).set_display_name("nested")
        with dsl.ParallelFor(listed.output) as number:
            pair(a=number, b=day.output).set_display_name("dated")
    """)
    )
    outputs = {
        name: [n.parameters["Output"] for n in result.nodes if n.display_name == name]
        for name in ("nested", "dated")
    }
    assert outputs == {
        "nested": ["1|a", "1|b", "2|a", "2|b", "3|a", "3|b"],
        "dated": ["1|2024-01-01", "2|2024-01-01", "3|2024-01-01"],
    }


def test_rule5_a_dag_phase_is_its_targets_failure_first() -> None:
    deps = {"a": [], "b": ["a"], "c": [], "d": ["c"]}
    ran = {
        "a": Outcome("Failed"),
        "b": Outcome("Omitted"),
        "c": Outcome("Succeeded"),
        "d": Outcome("Skipped"),
    }
    assert _assess(list(deps), deps, ran) == "Failed"  # b inherits a's failure
    fine = dict(ran, a=Outcome("Succeeded"))
    assert _assess(list(deps), deps, fine) == "Succeeded"  # a skipped target inherits success
    assert _assess(["a"], {"a": []}, {"a": Outcome("NotVerifiable")}) == "Succeeded"


@needs_kfp2
def test_rule6_a_failed_step_is_retried(tmp_path) -> None:
    counter = tmp_path / "attempts"
    result = run(
        compiled(f"""
        script = 'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ "$n" -ge 1 ]'
        sh(script=script).set_display_name("flaky").set_retry(num_retries=2)
    """)
    )
    node = next(n for n in result.nodes if n.display_name == "flaky")
    assert (node.phase, node.attempts) == (Phase.SUCCEEDED, 2)


@needs_kfp2
def test_rule7_a_step_past_its_deadline_fails() -> None:
    result = run(
        compiled("""
        slow = sh(script="sleep 10").set_display_name("slow")
        kubernetes.set_timeout(slow, 1)
    """)
    )
    node = next(n for n in result.nodes if n.display_name == "slow")
    assert node.phase is Phase.FAILED and "deadline" in node.message


@needs_kfp2
def test_rule8_the_run_time_placeholders_are_the_run_creation_time() -> None:
    result = run(
        compiled("""
        say(script=f"printf %s {dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER}").set_display_name("created")
    """)
    )
    assert (
        next(n for n in result.nodes if n.display_name == "created").parameters["Output"]
        == "2024-01-01T00:00:00Z"
    )


@needs_kfp2
def test_rule9_a_string_input_given_a_number_gets_its_text_and_json_keeps_integers() -> None:
    result = run(
        compiled("""
        with dsl.ParallelFor(records().output) as item:  # each field selected as its JSON value
            pair(a=item.n, b=item.f).set_display_name("fields")
        gather(values=[1, 2.5, {"k": 3}]).set_display_name("numbers")
    """)
    )
    fields = [n.parameters["Output"] for n in result.nodes if n.display_name == "fields"]
    assert fields == ["1|2.5", "3|true"]  # the driver's PbValueToText, not 1.0
    numbers = next(n for n in result.nodes if n.display_name == "numbers").parameters["Output"]
    assert json.loads(numbers) == [1, 2.5, {"k": 3}] and "1.0" not in numbers


def test_rule9_values_become_text_as_the_drivers_pbvaluetotext_writes_them() -> None:
    assert [_text(v) for v in (1.0, 2.5, 1e-7, 1e21, True, [1, "a"], {"k": None})] == [
        "1",
        "2.5",
        "0.0000001",
        "1000000000000000000000",
        "true",
        '[1,"a"]',
        '{"k":null}',
    ]


def test_conditions_read_the_cel_kfp_writes() -> None:
    values = {"pipelinechannel--a-out": "true", "pipelinechannel--n": 3, "p'q": "x"}
    assert evaluate_condition("inputs.parameter_values['pipelinechannel--a-out'] == 'true'", values)
    assert not evaluate_condition("!(inputs.parameter_values['pipelinechannel--a-out'] == 'true')", values)
    assert evaluate_condition(
        "inputs.parameter_values['pipelinechannel--n'] >= 2 && "
        "inputs.parameter_values['pipelinechannel--n'] != 4",
        values,
    )
    assert evaluate_condition("int(inputs.parameter_values['pipelinechannel--n']) == 3 || false", values)
    assert evaluate_condition('inputs.parameter_values["p\'q"] == "x"', values)
    assert not evaluate_condition("inputs.parameter_values['pipelinechannel--n'] == '3'", values)  # typed
    for bad in ("inputs.parameter_values['missing'] == 1", "__import__('os')", "1 +", "'a' < 1", "'a'"):
        with pytest.raises(ConditionError):
            evaluate_condition(bad, values)
