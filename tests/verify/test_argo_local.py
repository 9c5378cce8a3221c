"""The local Argo executor, one rule per test, each quoting the Argo documentation it follows.

Workflows are written by hand (`workflow(...)` below) with `bash` steps, so each test shows the
exact YAML shape it runs; the last tests run a pipeline compiled by the real KFP compiler.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import yaml

from airflow2kfp.verify.argo_local import LocalOptions, Phase, WorkflowRun, run_workflow


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "container": {"image": "bash:5.2", "command": ["bash", "-c", script]}, **extra}


def workflow(tasks: list[dict[str, Any]], *templates: dict[str, Any], **spec: Any) -> str:
    steps = {t["template"] for t in tasks} - {t["name"] for t in templates}
    defaults = [sh(name, "echo " + name) for name in sorted(steps)]
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "t-"},
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates, *defaults],
            **spec,
        },
    }
    return yaml.safe_dump(body)


def phases(run: WorkflowRun) -> dict[str, str]:
    return {n.node: n.phase.value for n in run.nodes}


def node(run: WorkflowRun, name: str):
    return next(n for n in run.nodes if n.node == name)


FAIL = sh("fail", "echo failing; exit 3")


# -- dependencies and depends -------------------------------------------------------------------


def test_dependencies_order_steps():
    # DAG walk-through: "step A runs first, as it has no dependencies. Once A has finished, steps B
    # and C run in parallel. Finally, once B and C have completed, step D runs."
    run = run_workflow(
        workflow(
            [
                {"name": "a", "template": "a"},
                {"name": "b", "template": "b", "dependencies": ["a"]},
                {"name": "c", "template": "c", "dependencies": ["a"]},
                {"name": "d", "template": "d", "dependencies": ["b", "c"]},
            ]
        )
    )
    assert run.phase is Phase.SUCCEEDED and set(phases(run).values()) == {"Succeeded"}
    assert node(run, "d").waited_for == ("a", "b", "c")
    assert node(run, "b").waited_for == ("a",)
    assert node(run, "a").finished <= node(run, "b").started


def test_a_failed_dependency_omits_the_dependant_and_fails_the_dag():
    # Enhanced Depends Logic: `dependencies: [A]` is `depends: A`, and a bare `A` means
    # (A.Succeeded || A.Skipped || A.Daemoned); a task whose depends is false is Omitted.
    # Independent branches still run (the controller schedules every fulfilled task).
    run = run_workflow(
        workflow(
            [
                {"name": "boom", "template": "fail"},
                {"name": "after", "template": "after", "dependencies": ["boom"]},
                {"name": "other", "template": "other"},
            ],
            FAIL,
        )
    )
    assert phases(run) == {"boom": "Failed", "after": "Omitted", "other": "Succeeded"}
    assert run.phase is Phase.FAILED


def test_depends_on_failure_runs_a_cleanup_and_the_handled_failure_does_not_fail_the_dag():
    # Enhanced Depends Logic: `depends: "A.Succeeded || A.Failed"`; assessDAGPhase looks only at
    # the target (leaf) tasks, so a failure followed by a cleanup that succeeded is a success.
    run = run_workflow(
        workflow(
            [
                {"name": "boom", "template": "fail"},
                {"name": "cleanup", "template": "cleanup", "depends": "boom.Succeeded || boom.Failed"},
            ],
            FAIL,
        )
    )
    assert phases(run) == {"boom": "Failed", "cleanup": "Succeeded"}
    assert run.phase is Phase.SUCCEEDED


def test_an_omitted_leaf_inherits_the_failure_of_its_branch():
    # assessDAGPhase: "an omitted task always inherits the phase of its parents, with preference
    # of Failed or Error phases over Succeeded"
    run = run_workflow(
        workflow(
            [
                {"name": "boom", "template": "fail"},
                {"name": "x", "template": "x", "depends": "boom"},
                {"name": "y", "template": "y", "depends": "x"},
            ],
            FAIL,
        )
    )
    assert phases(run) == {"boom": "Failed", "x": "Omitted", "y": "Omitted"}
    assert run.phase is Phase.FAILED


def test_a_skipped_dependency_satisfies_plain_dependencies():
    # Enhanced Depends Logic: a bare task name includes `.Skipped`, unlike Airflow's all_success
    run = run_workflow(
        workflow(
            [
                {"name": "maybe", "template": "maybe", "when": "1 == 2"},
                {"name": "next", "template": "next", "dependencies": ["maybe"]},
                {"name": "strict", "template": "strict", "depends": "maybe.Succeeded"},
            ]
        )
    )
    assert phases(run) == {"maybe": "Skipped", "next": "Succeeded", "strict": "Omitted"}
    assert run.phase is Phase.SUCCEEDED


def test_continue_on_failed_lets_dependants_run():
    # Continue on failed (Argo docs): "continueOn: failed: true" - dependants run, the DAG passes
    run = run_workflow(
        workflow(
            [
                {"name": "boom", "template": "fail", "continueOn": {"failed": True}},
                {"name": "next", "template": "next", "dependencies": ["boom"]},
            ],
            FAIL,
        )
    )
    assert phases(run) == {"boom": "Failed", "next": "Succeeded"} and run.phase is Phase.SUCCEEDED


def test_any_succeeded_and_all_failed_over_loop_iterations():
    # Enhanced Depends Logic: ".AnySucceeded ... .AllFailed" apply to tasks expanded with withItems
    flaky = sh("flaky", 'test "{{inputs.parameters.n}}" = 2', inputs={"parameters": [{"name": "n"}]})
    loop = {
        "name": "loop",
        "template": "flaky",
        "withItems": [1, 2],
        "arguments": {"parameters": [{"name": "n", "value": "{{item}}"}]},
    }
    run = run_workflow(
        workflow(
            [
                loop,
                {"name": "any", "template": "any", "depends": "loop.AnySucceeded"},
                {"name": "all", "template": "all", "depends": "loop.AllFailed"},
            ],
            flaky,
        )
    )
    assert phases(run) == {
        "loop(0:1)": "Failed",
        "loop(1:2)": "Succeeded",
        "any": "Succeeded",
        "all": "Omitted",
    }


# -- when --------------------------------------------------------------------------------------


def test_when_is_evaluated_after_substitution_and_bare_words_are_strings():
    # Conditionals (Argo docs): `when: "{{tasks.flip-coin.outputs.result}} == heads"`
    coin = {
        "name": "coin",
        "container": {"image": "bash:5.2", "command": ["bash", "-c", "echo heads > /tmp/out"]},
        "outputs": {"parameters": [{"name": "side", "valueFrom": {"path": "/tmp/out"}}]},
    }
    run = run_workflow(
        workflow(
            [
                {"name": "flip", "template": "coin"},
                {
                    "name": "heads",
                    "template": "heads",
                    "dependencies": ["flip"],
                    "when": "{{tasks.flip.outputs.parameters.side}} == heads",
                },
                {
                    "name": "tails",
                    "template": "tails",
                    "dependencies": ["flip"],
                    "when": '"{{tasks.flip.outputs.parameters.side}}" == "tails"',
                },
            ],
            coin,
        )
    )
    assert phases(run) == {"flip": "Succeeded", "heads": "Succeeded", "tails": "Skipped"}
    assert node(run, "flip").parameters == {"side": "heads"}


def test_an_invalid_when_is_an_error():
    run = run_workflow(workflow([{"name": "x", "template": "x", "when": "1 < heads"}]))
    assert phases(run) == {"x": "Error"} and run.phase is Phase.ERROR


# -- loops -------------------------------------------------------------------------------------


def test_with_items_expands_maps_into_item_fields():
    # Loops (Argo docs): "withItems" over maps, referenced as {{item.os}}
    show = sh(
        "show",
        "echo {{inputs.parameters.x}} > /tmp/o",
        inputs={"parameters": [{"name": "x"}]},
        outputs={"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
    )
    run = run_workflow(
        workflow(
            [
                {
                    "name": "loop",
                    "template": "show",
                    "withItems": [{"os": "debian"}, {"os": "alpine"}],
                    "arguments": {"parameters": [{"name": "x", "value": "{{item.os}}"}]},
                }
            ],
            show,
        )
    )
    assert [n.parameters["o"] for n in run.nodes] == ["debian", "alpine"]
    assert [n.item for n in run.nodes] == [{"os": "debian"}, {"os": "alpine"}]


def test_with_param_expands_a_json_list_from_an_output():
    # Loops (Argo docs): "withParam" takes a JSON list produced by an earlier step
    gen = {
        "name": "gen",
        "container": {
            "image": "python:3.11",
            "command": ["python3", "-c", "open('/tmp/l','w').write('[1, 2, 3]')"],
        },
        "outputs": {"parameters": [{"name": "l", "valueFrom": {"path": "/tmp/l"}}]},
    }
    use = sh("use", "test {{inputs.parameters.n}} -gt 0", inputs={"parameters": [{"name": "n"}]})
    run = run_workflow(
        workflow(
            [
                {"name": "gen", "template": "gen"},
                {
                    "name": "use",
                    "template": "use",
                    "dependencies": ["gen"],
                    "withParam": "{{tasks.gen.outputs.parameters.l}}",
                    "arguments": {"parameters": [{"name": "n", "value": "{{item}}"}]},
                },
            ],
            gen,
            use,
        )
    )
    assert phases(run) == {
        "gen": "Succeeded",
        "use(0:1)": "Succeeded",
        "use(1:2)": "Succeeded",
        "use(2:3)": "Succeeded",
    }


def test_with_param_that_is_not_a_json_list_is_an_error():
    # the controller: "withParam value could not be parsed as a JSON list"
    run = run_workflow(workflow([{"name": "x", "template": "x", "withParam": "not json"}]))
    assert phases(run) == {"x": "Error"} and "JSON list" in run.nodes[0].message


# -- retries and deadlines -----------------------------------------------------------------------


def test_retry_strategy_retries_a_failed_step_up_to_the_limit(tmp_path):
    # Retries (Argo docs): "limit" is the number of retries; retryPolicy OnFailure is the default
    counter = tmp_path / "count"
    flaky = sh("flaky", f"echo x >> {counter}; test $(wc -l < {counter}) -ge 2", retryStrategy={"limit": 2})
    run = run_workflow(workflow([{"name": "flaky", "template": "flaky"}], flaky))
    assert phases(run) == {"flaky": "Succeeded"} and run.nodes[0].attempts == 2
    always = dict(
        FAIL, retryStrategy={"limit": "1", "retryPolicy": "Always", "backoff": {"duration": "300s"}}
    )
    run = run_workflow(workflow([{"name": "boom", "template": "fail"}], always))
    assert phases(run) == {"boom": "Failed"} and run.nodes[0].attempts == 2


def test_retry_policy_on_error_does_not_retry_a_failure():
    # Retries (Argo docs): "OnError: Retry steps that encounter Argo controller errors"
    on_error = dict(FAIL, retryStrategy={"limit": 3, "retryPolicy": "OnError"})
    run = run_workflow(workflow([{"name": "boom", "template": "fail"}], on_error))
    assert run.nodes[0].attempts == 1


def test_active_deadline_seconds_fails_a_step_that_runs_too_long():
    # Template field activeDeadlineSeconds: "duration in seconds ... before the system actively
    # tries to terminate the pod"
    slow = sh("slow", "sleep 30", activeDeadlineSeconds=1)
    run = run_workflow(workflow([{"name": "slow", "template": "slow"}], slow))
    assert phases(run) == {"slow": "Failed"} and "deadline" in run.nodes[0].message
    assert run.nodes[0].finished < 10


# -- parameters and artifacts ----------------------------------------------------------------------


def test_output_parameters_flow_into_inputs_with_declared_paths_rewritten():
    # Output parameters (Argo docs): "valueFrom: path: /tmp/hello_world.txt" is read after the
    # step; the consumer gets it as {{tasks.<name>.outputs.parameters.<p>}}
    produce = sh(
        "produce",
        "mkdir -p /tmp/outputs/Output && printf 'a b\\n' > /tmp/outputs/Output/data",
        outputs={
            "parameters": [{"name": "produce-Output", "valueFrom": {"path": "/tmp/outputs/Output/data"}}]
        },
    )
    consume = sh("consume", 'test "{{inputs.parameters.v}}" = "a b"', inputs={"parameters": [{"name": "v"}]})
    run = run_workflow(
        workflow(
            [
                {"name": "produce", "template": "produce"},
                {
                    "name": "consume",
                    "template": "consume",
                    "dependencies": ["produce"],
                    "arguments": {
                        "parameters": [
                            {"name": "v", "value": "{{tasks.produce.outputs.parameters.produce-Output}}"}
                        ]
                    },
                },
            ],
            produce,
            consume,
        )
    )
    assert phases(run) == {"produce": "Succeeded", "consume": "Succeeded"}
    assert node(run, "produce").parameters == {"produce-Output": "a b"}


def test_a_missing_output_file_is_an_error():
    produce = sh(
        "produce", "true", outputs={"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/nowhere"}}]}
    )
    run = run_workflow(workflow([{"name": "produce", "template": "produce"}], produce))
    assert phases(run) == {"produce": "Error"}


def test_artifacts_pass_as_files():
    # Artifacts (Argo docs): `from: "{{tasks.generate.outputs.artifacts.hello}}"` into an input
    # artifact's `path`
    make = sh(
        "make",
        "mkdir -p /tmp/outputs/data && echo payload > /tmp/outputs/data/file",
        outputs={"artifacts": [{"name": "data", "path": "/tmp/outputs/data/file"}]},
    )
    read = sh(
        "read",
        "grep -q payload /tmp/inputs/data/file",
        inputs={"artifacts": [{"name": "in", "path": "/tmp/inputs/data/file"}]},
    )
    run = run_workflow(
        workflow(
            [
                {"name": "make", "template": "make"},
                {
                    "name": "read",
                    "template": "read",
                    "dependencies": ["make"],
                    "arguments": {
                        "artifacts": [{"name": "in", "from": "{{tasks.make.outputs.artifacts.data}}"}]
                    },
                },
            ],
            make,
            read,
        )
    )
    assert phases(run) == {"make": "Succeeded", "read": "Succeeded"}
    assert node(run, "make").artifacts == {"data": "payload"}


def test_workflow_parameters_reach_the_entrypoint():
    # Parameters (Argo docs): spec.arguments.parameters, as {{workflow.parameters.x}} and inputs
    echo = sh(
        "echo",
        'test "{{inputs.parameters.x}}" = "{{workflow.parameters.x}}" && test "{{inputs.parameters.x}}" = 7',
        inputs={"parameters": [{"name": "x"}]},
    )
    text = workflow(
        [
            {
                "name": "e",
                "template": "echo",
                "arguments": {"parameters": [{"name": "x", "value": "{{inputs.parameters.x}}"}]},
            }
        ],
        echo,
        arguments={"parameters": [{"name": "x", "value": "5"}]},
    )
    text = text.replace("- dag:", "- inputs: {parameters: [{name: x}]}\n    dag:", 1)
    assert run_workflow(text, LocalOptions(parameters={"x": "7"})).phase is Phase.SUCCEEDED


# -- exit handlers --------------------------------------------------------------------------------


def test_the_workflow_exit_handler_runs_after_a_failure_with_the_status():
    # Exit handlers (Argo docs): "invoked at the end of the workflow, irrespective of the
    # success, failure, or error"; {{workflow.status}} is available to it
    report = sh("report", 'test "{{workflow.status}}" = Failed')
    run = run_workflow(workflow([{"name": "boom", "template": "fail"}], FAIL, report, onExit="report"))
    assert phases(run) == {"boom": "Failed", "onExit": "Succeeded"}
    assert node(run, "onExit").waited_for == ("boom",) and run.phase is Phase.FAILED


def test_a_task_exit_handler_runs_before_dependants():
    # DAG task `onExit` (lifecycle hook): the controller does not proceed to dependants until the
    # onExit node is fulfilled
    run = run_workflow(
        workflow(
            [
                {"name": "a", "template": "a", "onExit": "bye"},
                {"name": "b", "template": "b", "dependencies": ["a"]},
            ],
            sh("bye", "echo bye"),
        )
    )
    assert phases(run) == {"a": "Succeeded", "a.onExit": "Succeeded", "b": "Succeeded"}
    assert node(run, "b").waited_for == ("a", "a.onExit")


# -- nested DAGs and what cannot run ------------------------------------------------------------------


def test_a_skipped_nested_dag_skips_every_step_inside():
    inner = {
        "name": "inner",
        "dag": {
            "tasks": [{"name": "x", "template": "x"}, {"name": "y", "template": "y", "dependencies": ["x"]}]
        },
    }
    run = run_workflow(
        workflow(
            [{"name": "group", "template": "inner", "when": "a == b"}],
            inner,
            sh("x", "echo x"),
            sh("y", "echo y"),
        )
    )
    assert phases(run) == {"group.x": "Skipped", "group.y": "Skipped"}


def test_steps_that_need_a_pod_are_not_verifiable_and_never_pass():
    # an image that must be pulled cannot run here; its dependants run on the assumption it
    # succeeded (and say so), and a step that needs its output cannot run either
    pod = {
        "name": "pod",
        "container": {"image": "gcr.io/project/tool:1", "command": ["tool"]},
        "outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
    }
    use = sh("use", "echo {{inputs.parameters.v}}", inputs={"parameters": [{"name": "v"}]})
    run = run_workflow(
        workflow(
            [
                {"name": "pod", "template": "pod"},
                {"name": "after", "template": "after", "dependencies": ["pod"]},
                {
                    "name": "use",
                    "template": "use",
                    "dependencies": ["pod"],
                    "arguments": {
                        "parameters": [{"name": "v", "value": "{{tasks.pod.outputs.parameters.o}}"}]
                    },
                },
            ],
            pod,
            use,
        )
    )
    assert phases(run) == {"pod": "NotVerifiable", "after": "Succeeded", "use": "NotVerifiable"}
    assert "could not run: pod" in node(run, "after").message
    assert not node(run, "pod").ran


def test_a_step_timeout_of_the_verifier_applies_too():
    run = run_workflow(
        workflow([{"name": "slow", "template": "slow"}], sh("slow", "sleep 30")),
        LocalOptions(task_timeout=0.5),
    )
    assert phases(run) == {"slow": "Failed"}


# -- what KFP compiles ------------------------------------------------------------------------------

KFP_PIPELINE = '''
from typing import NamedTuple
import kfp
from kfp import dsl
from kfp.components import create_component_from_func, load_component_from_text

def produce(n: int) -> str:
    import json
    return json.dumps([n, n + 1])

def pair() -> NamedTuple("Outputs", [("word", str), ("number", int)]):
    return ("hi", 3)

def consume(x: str, y: int) -> int:
    return len(x) + y

bash = load_component_from_text("""
name: bash
inputs: [{name: command, type: String}]
implementation: {container: {image: 'bash:5.2', command: [bash, -c, {inputValue: command}]}}
""")
produce_op = create_component_from_func(produce, base_image="python:3.11")
pair_op = create_component_from_func(pair, base_image="python:3.11")
consume_op = create_component_from_func(consume, base_image="python:3.11", packages_to_install=["pyyaml"])

@dsl.pipeline(name="demo")
def pipeline(n: int = 3):
    with dsl.ExitHandler(bash("echo cleanup")):
        p = produce_op(n)
        q = pair_op()
        with dsl.Condition(q.outputs["word"] == "hi"):
            consume_op(p.output, q.outputs["number"])
        with dsl.Condition(q.outputs["word"] == "bye"):
            bash("echo never")
        with dsl.ParallelFor(p.output) as item:
            consume_op(item, 1)
'''


def test_a_kfp_compiled_pipeline_runs_with_lightweight_components(tmp_path):
    source = tmp_path / "pipeline.py"
    source.write_text(KFP_PIPELINE)
    import runpy

    import kfp

    namespace = runpy.run_path(str(source))

    kfp.compiler.Compiler().compile(namespace["pipeline"], str(tmp_path / "p.yaml"))
    run = run_workflow((tmp_path / "p.yaml").read_text())
    assert run.phase is Phase.SUCCEEDED, run
    assert phases(run) == {
        "exit-handler-1.produce": "Succeeded",
        "exit-handler-1.pair": "Succeeded",
        "exit-handler-1.condition-2.consume": "Succeeded",
        "exit-handler-1.condition-3.bash-2": "Skipped",
        "exit-handler-1.for-loop-4(0:3).consume-2": "Succeeded",
        "exit-handler-1.for-loop-4(1:4).consume-2": "Succeeded",
        "onExit": "Succeeded",
    }
    assert node(run, "exit-handler-1.produce").parameters == {"produce-Output": "[3, 4]"}
    assert node(run, "exit-handler-1.condition-2.consume").artifacts == {
        "consume-Output": "9"
    }  # len("[3, 4]") + 3
    assert node(run, "exit-handler-1.for-loop-4(1:4).consume-2").artifacts == {"consume-2-Output": "2"}


# -- loop output aggregation ---------------------------------------------------------------------

# a step that writes its input `x` to its output `o` (through the environment: any text is safe)
ECHO = {
    "name": "echo",
    "inputs": {"parameters": [{"name": "x"}]},
    "container": {
        "image": "bash:5.2",
        "command": ["bash", "-c", 'printf "%s" "$X" > /tmp/o'],
        "env": [{"name": "X", "value": "{{inputs.parameters.x}}"}],
    },
    "outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
}


def fan_in(loop: dict[str, Any], value: str, *templates: dict[str, Any], **options: Any) -> WorkflowRun:
    """`loop`, then a step `all` that receives `value` (a reference to the loop's outputs)."""
    collect = dict(ECHO, name="collect")
    return run_workflow(
        workflow(
            [
                loop,
                {
                    "name": "all",
                    "template": "collect",
                    "depends": f"{loop['name']}.Succeeded || {loop['name']}.Failed",
                    "arguments": {"parameters": [{"name": "x", "value": value}]},
                },
            ],
            ECHO,
            collect,
            *templates,
        ),
        LocalOptions(**options),
    )


def test_a_loop_s_output_is_the_json_list_of_its_iterations_values_in_item_order():
    # argoproj/argo-workflows#4374 (per-output parameter aggregation): "{{tasks.<TASKNAME>.outputs.
    # parameters.<NAME>}} ... is replaced with JSON-serialized list of parameter values";
    # processAggregateNodeOutputs sorts the iterations by their index "so that the order of outputs
    # are preserved" and json.Marshals the []string (Go: no spaces, <, > and & escaped)
    items = ["b", "a<&>", '{"k": 1}', "3"]
    loop = {
        "name": "loop",
        "template": "echo",
        "withItems": items,
        "arguments": {"parameters": [{"name": "x", "value": "{{item}}"}]},
    }
    run = fan_in(loop, "{{tasks.loop.outputs.parameters.o}}")
    assert node(run, "all").parameters["o"] == '["b","a\\u003c\\u0026\\u003e","{\\"k\\": 1}","3"]'
    assert json.loads(node(run, "all").parameters["o"]) == items
    # {{tasks.<loop>.outputs.parameters}}: "JSON-serialized list of parameter value maps"
    run = fan_in(loop, "{{tasks.loop.outputs.parameters}}")
    assert json.loads(node(run, "all").parameters["o"]) == [{"o": item} for item in items]


def test_argo_3_6_keeps_json_objects_and_arrays_as_json_when_every_value_is_one():
    # argoproj/argo-workflows#13513 (v3.6): "Conditionally Marshal the outputs.params, avoiding it if
    # the parameter isn't enclosed in { or [ ... falling back to old behaviour if this fails"
    objects = {
        "name": "loop",
        "template": "echo",
        "withItems": ['{"b": 2, "a": 1}', "[1, 2.50]"],
        "arguments": {"parameters": [{"name": "x", "value": "{{item}}"}]},
    }
    run = fan_in(objects, "{{tasks.loop.outputs.parameters.o}}", aggregate_json=True)
    assert node(run, "all").parameters["o"] == '[{"a":1,"b":2},[1,2.5]]'
    mixed = dict(objects, withItems=['{"a": 1}', "7"])
    run = fan_in(mixed, "{{tasks.loop.outputs.parameters.o}}", aggregate_json=True)
    assert node(run, "all").parameters["o"] == '["{\\"a\\": 1}","7"]'


def test_an_iteration_without_outputs_is_left_out_of_the_aggregate():
    # processAggregateNodeOutputs: `if node.Outputs == nil ... continue` (a failed step saves none)
    maybe = dict(
        ECHO,
        name="maybe",
        container=dict(
            ECHO["container"], command=["bash", "-c", 'test "$X" != bad || exit 1; printf "%s" "$X" > /tmp/o']
        ),
    )
    loop = {
        "name": "loop",
        "template": "maybe",
        "withItems": ["x", "bad", "z"],
        "arguments": {"parameters": [{"name": "x", "value": "{{item}}"}]},
    }
    run = fan_in(loop, "{{tasks.loop.outputs.parameters.o}}", maybe)
    assert node(run, "loop(1:bad)").phase is Phase.FAILED
    assert node(run, "all").parameters["o"] == '["x","z"]'


def test_a_loop_over_a_dag_aggregates_the_outputs_the_dag_declares():
    # KFP's ParallelFor: the loop runs a DAG template per item; a DAG's outputs come from its tasks
    # (`valueFrom.parameter`), set once the DAG succeeded (executeDAG), and are aggregated the same way
    body = {
        "name": "for-loop-1",
        "inputs": {"parameters": [{"name": "x"}]},
        "outputs": {
            "parameters": [{"name": "o", "valueFrom": {"parameter": "{{tasks.inner.outputs.parameters.o}}"}}]
        },
        "dag": {
            "tasks": [
                {
                    "name": "inner",
                    "template": "echo",
                    "arguments": {"parameters": [{"name": "x", "value": "{{inputs.parameters.x}}"}]},
                }
            ]
        },
    }
    loop = {
        "name": "for-loop-1",
        "template": "for-loop-1",
        "withItems": [3, 1, 2],
        "arguments": {"parameters": [{"name": "x", "value": "{{item}}"}]},
    }
    run = fan_in(loop, "{{tasks.for-loop-1.outputs.parameters.o}}", body)
    assert node(run, "all").parameters["o"] == '["3","1","2"]'


def test_an_output_from_inside_a_condition_is_the_condition_dag_s_output():
    # a DAG template's outputs: `valueFrom.parameter` over its tasks' outputs (Argo's "DAG outputs");
    # the consumer outside reads `{{tasks.condition-1.outputs.parameters.o}}`
    condition = {
        "name": "condition-1",
        "outputs": {
            "parameters": [{"name": "o", "valueFrom": {"parameter": "{{tasks.inner.outputs.parameters.o}}"}}]
        },
        "dag": {
            "tasks": [
                {
                    "name": "inner",
                    "template": "echo",
                    "arguments": {"parameters": [{"name": "x", "value": "inside"}]},
                }
            ]
        },
    }
    run = run_workflow(
        workflow(
            [
                {"name": "condition-1", "template": "condition-1", "when": '"a" == "a"'},
                {
                    "name": "show",
                    "template": "echo",
                    "dependencies": ["condition-1"],
                    "arguments": {
                        "parameters": [{"name": "x", "value": "{{tasks.condition-1.outputs.parameters.o}}"}]
                    },
                },
            ],
            condition,
            ECHO,
        )
    )
    assert node(run, "show").parameters == {"o": "inside"}


def test_kfp_v1_compiles_an_output_used_outside_its_condition_into_a_workflow_argo_cannot_run(tmp_path):
    # KFP v1 gives the condition's DAG template an output `valueFrom: {parameter: {{tasks.produce...}}}`
    # but declares `produce-Output` on `produce` as an artifact only: Argo's getTemplateOutputsFromScope
    # cannot resolve it and errors the condition's node ("Unable to resolve"); so does verify
    source = tmp_path / "nested.py"
    source.write_text(
        "from kfp import dsl\n"
        "from kfp.components import create_component_from_func\n"
        "def produce(n: int) -> str:\n    return 'v%d' % n\n"
        "def flag() -> str:\n    return 'yes'\n"
        "def show(x: str) -> str:\n    return x + '!'\n"
        "ops = [create_component_from_func(f, base_image='python:3.11') for f in (produce, flag, show)]\n"
        "@dsl.pipeline(name='nested')\n"
        "def pipeline():\n"
        "    f = ops[1]()\n"
        "    with dsl.Condition(f.output == 'yes'):\n"
        "        p = ops[0](7)\n"
        "    ops[2](p.output)\n"
    )
    import runpy

    import kfp

    kfp.compiler.Compiler().compile(runpy.run_path(str(source))["pipeline"], str(tmp_path / "n.yaml"))
    run = run_workflow((tmp_path / "n.yaml").read_text())
    assert run.phase is Phase.ERROR
    assert run.message == (
        "unable to resolve {{tasks.produce.outputs.parameters.produce-Output}} for output produce-Output "
        "of condition-1"
    )
    assert phases(run) == {
        "flag": "Succeeded",
        "condition-1.produce": "Succeeded",
        "condition-1": "Error",
        "show": "Omitted",
    }


# -- the run KFP starts ------------------------------------------------------------------------------


def test_kfp_run_macros_are_formatted_for_a_run_created_at_run_at():
    # KFP's API server formats a new run's parameters (NewRunParameterFormatter(runUUID, runAt)):
    # [[RunUUID]], [[CurrentTime]] (layout 20060102150405) and [[CurrentTime.<Go layout>]];
    # [[ScheduledTime...]] is left alone outside recurring runs
    show = sh(
        "show",
        "echo '{{workflow.parameters.ds}} {{workflow.parameters.now}} {{workflow.parameters.sched}} "
        "{{workflow.parameters.run}} {{workflow.creationTimestamp}}' > /tmp/o",
        outputs={"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
    )
    arguments = {
        "parameters": [
            {"name": "ds", "value": "[[CurrentTime.2006-01-02]]"},
            {"name": "now", "value": "[[CurrentTime]]"},
            {"name": "sched", "value": "[[ScheduledTime.2006-01-02]]"},
            {"name": "run", "value": "run-[[RunUUID]]"},
        ]
    }
    run = run_workflow(
        workflow([{"name": "show", "template": "show"}], show, arguments=arguments),
        LocalOptions(run_at=datetime(2024, 1, 1, tzinfo=UTC), run_uuid="abc"),
    )
    assert node(run, "show").parameters["o"] == (
        "2024-01-01 20240101000000 [[ScheduledTime.2006-01-02]] run-abc 2024-01-01T00:00:00Z"
    )


def test_a_kept_jinja_template_reaches_the_container_but_an_unresolved_argo_variable_is_an_error():
    # validate.go resolves only variables under Argo's roots (GlobalVarValidWorkflowVariablePrefix:
    # item., steps., inputs., outputs., pod., workflow., tasks.); "Skip the custom variable references"
    jinja = sh(
        "jinja",
        "echo '{{ ds }} {{ params.team }}' > /tmp/o",
        outputs={"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
    )
    run = run_workflow(workflow([{"name": "jinja", "template": "jinja"}], jinja))
    assert node(run, "jinja").parameters["o"] == "{{ ds }} {{ params.team }}"
    broken = sh("broken", "echo {{inputs.parameters.nope}}")
    run = run_workflow(workflow([{"name": "broken", "template": "broken"}], broken))
    assert phases(run) == {"broken": "Error"} and "{{inputs.parameters.nope}}" in run.nodes[0].message
