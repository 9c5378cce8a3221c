"""Run a compiled KFP v2 pipeline (its IR) as KFP's backend runs it, step by step, on this machine.

Runs in the kfp 2 worker (never in the converter's process): the standard library and kfp 2.17 only.
What a step gets and gives is kfp.local's own code (`kfp.local` 2.17.3): its IOStore for values,
`make_task_arguments` for inputs, `construct_executor_input` and `replace_placeholders` for the
command, `get_outputs_for_task` for outputs, and its nested-DAG argument helper. Not its loop
iteration helper, which gives the item to more inputs than the item input (rule 4).
Whether and when a step runs is not kfp.local's: its plain orchestrator stops at the first failure,
and its enhanced one runs a task whose upstream a condition skipped. The orchestration here follows
KFP's backend, which compiles the IR to an Argo Workflow (backend/src/v2/compiler/argocompiler/
dag.go) that Argo's controller runs (workflow/controller/dag.go). Each rule, and its test in
tests/kfp2_side/test_ir_runner.py:

1. dependencies: a task's `dependentTasks` plus the producers of its inputs (addImplicitDependencies)
   become `depends: a.Succeeded && b.Succeeded`: a task runs only when each of them succeeded; else it
   is Omitted, with every step inside it. A skipped upstream blocks it as a failed one does.
2. conditions: `triggerPolicy.condition` (CEL over the task's resolved inputs, evaluated by the
   driver) false: the task is Skipped, with every step inside it.
3. `ALL_UPSTREAM_TASKS_COMPLETED` (ignore_upstream_failure, ExitHandler): the task is no task of the
   DAG but the Argo exit hook of each task it depends on: it runs once for each of them that
   completed (Succeeded, Failed, Error; a Skipped or Omitted one fires no hook), without waiting for
   the others; each task has one hook, the last such task by name; a loop gets none (iteratorTask
   passes no exit template); a task that waits for a hook task names a task that is not in the DAG:
   the backend's workflow is rejected. A hook's outcome does not count in the DAG's phase, but the
   tasks waiting for its task wait for it too.
4. loops (`parameterIterator`): one run of the body per item, in order; the loop failed when an
   iteration failed; its outputs (`dsl.Collected`) are the lists of the iterations' outputs. An
   iteration gets the loop task's inputs as they are (an upstream's output, an outer loop's item) and
   the item as its item input (the driver's resolveInputs for an iteration).
5. a DAG's phase, as Argo assesses it: its targets (tasks nothing waits for) that completed keep their
   phase; a Skipped or Omitted one takes its upstreams', Failed or Error first; one failed target
   fails the DAG. DAG outputs (`dsl.OneOf`) come from the branch that produced one.
6. retries: `retryPolicy.maxRetryCount` more attempts of a failed step (backoff is not waited for).
7. timeouts: the step's `activeDeadlineSeconds` (kfp-kubernetes' set_timeout), within the task limit.
8. `{{$.pipeline_job_create_time_utc}}` and `{{$.pipeline_job_schedule_time_utc}}`: the run's creation
   time, RFC 3339 UTC, as the backend's resolver gives them since KFP 2.16 (kubeflow/pipelines#12628).
9. input types: each resolved input is checked against its declared type as the driver does
   (handleParamTypeValidationAndConversion): a string input given a number, a boolean, a list or an
   object gets its text; any other mismatch errors the task. In the executor input and placeholders
   an integral number is written as the driver's JSON writes it (2, where kfp.local writes 2.0).

A container runs through `run_step` (the converter's host-step rules, over the worker's protocol):
the step's image, command after placeholders, and environment. What cannot run there is
NotVerifiable; the run goes on as if it succeeded, and what needs its outputs is NotVerifiable too.
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SUPPORTED_KFP = "2.17."  # the kfp.local internals used here are this release's
SUCCEEDED, FAILED, ERROR = "Succeeded", "Failed", "Error"
SKIPPED, OMITTED, NOT_VERIFIABLE = "Skipped", "Omitted", "NotVerifiable"
COMPLETED = (SUCCEEDED, FAILED, ERROR)
RUNS_ON = (SUCCEEDED, NOT_VERIFIABLE)  # what lets a dependant run (a step that could not run is assumed fine)
TIME_PLACEHOLDERS = ("{{$.pipeline_job_create_time_utc}}", "{{$.pipeline_job_schedule_time_utc}}")
LOG_TAIL = 4000


class Rejected(Exception):
    """KFP's backend would not run this IR at all."""


class ConditionError(Exception):
    """A condition outside the CEL this runner reads."""


@dataclass
class StepRecord:
    node: str
    task: str
    template: str
    display_name: str
    phase: str
    message: str = ""
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    waited_for: list[str] = field(default_factory=list)
    item: Any = None
    log_tail: str = ""


@dataclass
class Outcome:
    phase: str
    covered: frozenset[str] = frozenset()  # the steps inside (and its exit hook's)
    waited: frozenset[str] = frozenset()  # the steps it waited for
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str = ""


# -- CEL, as far as KFP's compiler writes it for dsl.If / Elif / Else ------------------------------

_TOKEN = re.compile(
    r"""\s*(?:(inputs\.parameter_values\[(?:'[^']*'|"[^"]*")\])|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"""|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(==|!=|<=|>=|&&|\|\||[<>!()])|(true|false|null|int|double|string))"""
)


def evaluate_condition(text: str, values: Mapping[str, Any]) -> bool:
    """The CEL expression `text` over `inputs.parameter_values` = `values`; ConditionError when it uses
    more than comparisons, logic, literals and int()/double()/string()."""
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"cannot read {text[position : position + 40]!r}")
        position = match.end()
        reference, string, number, operator, word = match.groups()
        if reference:
            name = ast.literal_eval(reference[len("inputs.parameter_values[") : -1])
            if name not in values:
                raise ConditionError(f"no input {name!r}")
            tokens.append(("value", values[name]))
        elif string:
            tokens.append(("value", ast.literal_eval(string)))
        elif number:
            tokens.append(("value", float(number) if any(c in number for c in ".eE") else int(number)))
        elif word in ("true", "false", "null"):
            tokens.append(("value", {"true": True, "false": False, "null": None}[word]))
        else:
            tokens.append(("op", operator or word))
    parser = _Parser(tokens)
    result = parser.expression()
    if parser.index != len(tokens):
        raise ConditionError("trailing tokens")
    if not isinstance(result, bool):
        raise ConditionError(f"the condition is {result!r}, not a boolean")
    return result


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens, self.index = tokens, 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, operator: str) -> bool:
        if self.peek() == ("op", operator):
            self.index += 1
            return True
        return False

    def expression(self) -> Any:
        left = self.conjunction()
        while self.take("||"):
            right = self.conjunction()
            left = _bool(left) or _bool(right)
        return left

    def conjunction(self) -> Any:
        left = self.comparison()
        while self.take("&&"):
            right = self.comparison()
            left = _bool(left) and _bool(right)
        return left

    def comparison(self) -> Any:
        left = self.unary()
        for operator in ("==", "!=", "<=", ">=", "<", ">"):
            if self.take(operator):
                right = self.unary()
                if operator in ("==", "!="):
                    same = (left == right and type(left) is type(right)) or (
                        isinstance(left, (int, float))
                        and isinstance(right, (int, float))
                        and not isinstance(left, bool)
                        and not isinstance(right, bool)
                        and left == right
                    )
                    return same if operator == "==" else not same
                try:
                    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[
                        operator
                    ]
                except TypeError as error:
                    raise ConditionError(str(error)) from None
        return left

    def unary(self) -> Any:
        if self.take("!"):
            return not _bool(self.unary())
        token = self.peek()
        if token is None:
            raise ConditionError("unexpected end")
        self.index += 1
        kind, value = token
        if kind == "value":
            return value
        if value == "(":
            inner = self.expression()
            if not self.take(")"):
                raise ConditionError("missing )")
            return inner
        if value in ("int", "double", "string") and self.take("("):
            inner = self.expression()
            if not self.take(")"):
                raise ConditionError("missing )")
            try:
                return {"int": int, "double": float, "string": str}[value](inner)
            except (TypeError, ValueError) as error:
                raise ConditionError(str(error)) from None
        raise ConditionError(f"unexpected {value!r}")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(f"{value!r} is not a boolean")
    return value


# -- the run --------------------------------------------------------------------------------------


class Runner:
    """One run of a pipeline spec; `run_step(request) -> reply` runs a container (see module doc)."""

    def __init__(
        self,
        pipeline_spec: Any,
        platform: Mapping[str, Any],
        run_step: Callable[[dict], dict],
        workdir: str,
        run_at: datetime,
        task_timeout: float,
        run_uuid: str,
    ) -> None:
        from kfp.local import utils

        self.spec = pipeline_spec
        self.components = dict(pipeline_spec.components.items())
        self.executors = {
            name: utils.struct_to_executor_spec(executor)
            for name, executor in pipeline_spec.deployment_spec["executors"].items()
        }
        kubernetes = ((platform.get("platforms") or {}).get("kubernetes") or {}).get("deploymentSpec") or {}
        self.platform_executors: Mapping[str, Any] = kubernetes.get("executors") or {}
        self.run_step = run_step
        self.workdir = workdir
        self.run_at = run_at.astimezone(UTC)
        self.task_timeout = task_timeout
        self.run_uuid = run_uuid
        self.records: list[StepRecord] = []
        self.started = time.monotonic()
        self.count = 0

    def now(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def run(self, arguments: Mapping[str, Any]) -> Outcome:
        return self.dag(self.spec.root, dict(arguments), None, "root", frozenset())

    # -- DAGs ------------------------------------------------------------------------------------

    def dag(
        self,
        component: Any,
        arguments: dict[str, Any],
        parent_store: Any,
        node: str,
        waited: frozenset[str],
        item: Any = None,
    ) -> Outcome:
        from kfp.local import io
        from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils
        from kfp.pipeline_spec import pipeline_spec_pb2

        completed_strategy = (
            pipeline_spec_pb2.PipelineTaskSpec.TriggerPolicy.TriggerStrategy.ALL_UPSTREAM_TASKS_COMPLETED
        )
        store = io.IOStore(parent=parent_store)
        for name, value in OrchestratorUtils.join_user_inputs_and_defaults(
            arguments, component.input_definitions
        ).items():
            store.put_parent_input(name, value)
        tasks = dict(component.dag.tasks.items())
        deps = {key: _dependencies(task, tasks) for key, task in tasks.items()}
        exits = sorted(
            key for key, task in tasks.items() if task.trigger_policy.strategy == completed_strategy
        )
        hook_of: dict[str, str] = {}
        for key in exits:  # dag.go: taskToExitTemplate[dep] = name, in sorted order: the last one stays
            for dep in deps[key]:
                hook_of[dep] = key
        body = [key for key in tasks if key not in exits]
        if not body:
            raise Rejected(f"DAG {node} has only exit tasks")
        for key in body:
            for dep in deps[key]:
                if dep in exits:
                    raise Rejected(
                        f"task {_name(tasks[key])!r} waits for {_name(tasks[dep])!r}, which KFP's backend "
                        "runs as an exit hook (ALL_UPSTREAM_TASKS_COMPLETED): the compiled Argo workflow "
                        "names a dependency that is not defined"
                    )
        states: dict[str, Outcome] = {}
        hooked: set[str] = set()
        for key in _topological(body, deps):
            task = tasks[key]
            here = f"{node}.{key}"
            before = [states[dep] for dep in deps[key]]
            waits = waited.union(*(s.covered | s.waited for s in before))
            blocked = [dep for dep in deps[key] if states[dep].phase not in RUNS_ON]
            if blocked:
                why = " && ".join(f"{dep}.Succeeded" for dep in deps[key])
                outcome = self.not_run(task, here, OMITTED, f"depends '{why}' not met", waits)
            else:
                unverified = any(states[dep].phase == NOT_VERIFIABLE for dep in deps[key])
                outcome = self.task(key, task, store, here, waits, unverified, item)
            if outcome.phase == SUCCEEDED:
                for name, value in outcome.outputs.items():
                    store.put_task_output(key, name, value)
            store.put_task_status(key, "SUCCEEDED" if outcome.phase in RUNS_ON else "FAILED")
            if key in hook_of and outcome.phase in (*COMPLETED, NOT_VERIFIABLE) and not _is_loop(task):
                hook = hook_of[key]
                hooked.add(hook)
                done = self.task(
                    hook,
                    tasks[hook],
                    store,
                    f"{here}.onExit",
                    outcome.covered | outcome.waited,
                    outcome.phase == NOT_VERIFIABLE,
                    item,
                )
                outcome.covered = outcome.covered | done.covered  # its dependants wait for the hook too
            states[key] = outcome
        for key in exits:
            if key not in hooked:
                why = (
                    "KFP's backend gives it no exit hook (another task has its upstream's, or it follows a loop)"
                    if not any(hook_of.get(dep) == key and not _is_loop(tasks[dep]) for dep in deps[key])
                    else "no upstream it is the exit hook of completed"
                )
                self.not_run(tasks[key], f"{node}.{key}", OMITTED, why, waited)
        phase = _assess(body, deps, states)
        outputs: dict[str, Any] = {}
        if phase == SUCCEEDED:
            try:
                outputs = OrchestratorUtils.get_dag_outputs(component.dag.outputs, store)
            except (ValueError, KeyError) as error:
                return Outcome(
                    ERROR,
                    frozenset().union(*(s.covered for s in states.values())),
                    waited,
                    {},
                    f"DAG outputs: {error}",
                )
        covered = frozenset().union(*(s.covered for s in states.values()))
        return Outcome(phase, covered, waited, outputs)

    def task(
        self, key: str, task: Any, store: Any, node: str, waited: frozenset[str], unverified: bool, item: Any
    ) -> Outcome:
        from kfp.local.orchestrator import task_spec_utils
        from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils

        component = self.components[task.component_ref.name]
        try:
            arguments = OrchestratorUtils.make_task_arguments(task.inputs, store)
        except (ValueError, KeyError) as error:
            if unverified:
                return self.not_run(
                    task, node, NOT_VERIFIABLE, "needs an output of a step that could not run", waited
                )
            return self.not_run(task, node, ERROR, f"inputs: {error}", waited)
        try:
            arguments = _as_declared(arguments, component.input_definitions.parameters)
        except TypeError as error:
            return self.not_run(task, node, ERROR, f"inputs: {error}", waited)
        if task.trigger_policy.condition:
            try:
                run = evaluate_condition(task.trigger_policy.condition, arguments)
            except ConditionError as error:
                return self.not_run(
                    task, node, ERROR, f"condition {task.trigger_policy.condition!r}: {error}", waited
                )
            if not run:
                return self.not_run(
                    task, node, SKIPPED, f"condition {task.trigger_policy.condition!r} is false", waited
                )
        if _is_loop(task):
            return self.loop(key, task, component, arguments, store, node, waited)
        if component.WhichOneof("implementation") == "dag":
            nested = task_spec_utils.build_nested_dag_arguments(key, task, component, store)
            return self.dag(component, {**nested, **arguments}, store, node, waited, item)
        return self.container(key, task, component, arguments, node, waited, item)

    def loop(
        self,
        key: str,
        task: Any,
        component: Any,
        arguments: Mapping[str, Any],
        store: Any,
        node: str,
        waited: frozenset[str],
    ) -> Outcome:
        from kfp.local.orchestrator import task_spec_utils

        iterator = task.parameter_iterator
        if task.WhichOneof("iterator") != "parameter_iterator":
            return self.not_run(
                task, node, ERROR, "artifact iterators are not implemented by KFP's backend", waited
            )
        if iterator.items.HasField("raw"):
            items = json.loads(iterator.items.raw)
        else:
            items = arguments.get(iterator.items.input_parameter)
        if not isinstance(items, list):
            return self.not_run(task, node, ERROR, f"the loop's items are not a list: {items!r:.200}", waited)
        outcomes: list[Outcome] = []
        for index, item in enumerate(items):
            spec = _iteration_spec(task, item)
            nested = task_spec_utils.build_nested_dag_arguments(
                f"{key}-iteration-{index}", spec, component, store
            )
            try:
                nested = _as_declared(nested, component.input_definitions.parameters)
            except TypeError as error:
                outcomes.append(self.not_run(task, f"{node}({index})", ERROR, f"inputs: {error}", waited))
                continue
            outcomes.append(self.dag(component, nested, store, f"{node}({index})", waited, item))
        failed = next((o.phase for o in outcomes if o.phase in (FAILED, ERROR)), None)
        outputs: dict[str, Any] = {}
        if failed is None:
            for name in component.output_definitions.parameters:
                outputs[name] = [o.outputs.get(name) for o in outcomes]
        covered = frozenset().union(*(o.covered for o in outcomes))
        return Outcome(failed or SUCCEEDED, covered, waited, outputs)

    # -- steps -----------------------------------------------------------------------------------

    def container(
        self,
        key: str,
        task: Any,
        component: Any,
        arguments: dict[str, Any],
        node: str,
        waited: frozenset[str],
        item: Any,
    ) -> Outcome:
        from kfp.local import executor_input_utils, executor_output_utils, placeholder_utils

        label = component.executor_label
        container = self.executors[label].container
        attempts = max(0, task.retry_policy.max_retry_count) + 1
        limit = self.task_timeout
        deadline = (self.platform_executors.get(label) or {}).get("activeDeadlineSeconds")
        if deadline is not None:
            try:
                limit = min(limit, float(deadline))
            except (TypeError, ValueError):
                pass
        started = self.now()
        self.count += 1
        reply: dict[str, Any] = {}
        outputs: dict[str, Any] = {}
        phase, message, attempt = FAILED, "", 0
        env = {variable.name: variable.value for variable in container.env}
        created = self.run_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        times = dict.fromkeys(TIME_PLACEHOLDERS, created)
        # the driver resolves these in input values (kfp.local does not know them)
        arguments = {
            name: _replace_all(value, times) if isinstance(value, str) else value
            for name, value in arguments.items()
        }
        for attempt in range(1, attempts + 1):
            task_root = os.path.join(self.workdir, f"{self.count:04d}-{key}", str(attempt))
            executor_input = executor_input_utils.construct_executor_input(
                component_spec=component, arguments=arguments, task_root=task_root, block_input_artifact=False
            )
            executor_dict = executor_input_utils.executor_input_to_dict(executor_input, component)
            parameters = executor_dict.get("inputs", {}).get("parameterValues")
            if isinstance(parameters, dict):  # as the launcher's JSON gives them (rule 9)
                executor_dict["inputs"]["parameterValues"] = _json_numbers(parameters)
            command = placeholder_utils.replace_placeholders(
                full_command=[*container.command, *container.args],
                executor_input_dict=executor_dict,
                pipeline_resource_name=f"{self.spec.pipeline_info.name}-{self.run_uuid}",
                task_resource_name=key,
                pipeline_root=self.workdir,
                unique_pipeline_id=self.run_uuid,
            )
            command = [_replace_all(part, times) for part in command]
            for output in executor_input.outputs.parameters.values():  # the launcher makes the folders
                os.makedirs(os.path.dirname(output.output_file), exist_ok=True)
            os.makedirs(os.path.dirname(executor_input.outputs.output_file), exist_ok=True)
            reply = self.run_step(
                {
                    "image": container.image,
                    "command": command,
                    "env": env,
                    "timeout": limit,
                    "task": _name(task),
                }
            )
            if not reply.get("verifiable", False):
                record = StepRecord(
                    node,
                    key,
                    task.component_ref.name,
                    _name(task),
                    NOT_VERIFIABLE,
                    str(reply.get("message", "")),
                    waited_for=sorted(waited),
                    item=item,
                )
                self.records.append(record)
                return Outcome(NOT_VERIFIABLE, frozenset({node}), waited)
            if reply.get("succeeded"):
                try:
                    outputs = executor_output_utils.get_outputs_for_task(executor_input, component)
                except Exception as error:  # noqa: BLE001 - an output the launcher could not read fails the step
                    phase, message = FAILED, f"outputs: {error}"
                    continue
                missing = [name for name in component.output_definitions.parameters if name not in outputs]
                if missing:
                    phase, message = FAILED, f"outputs not written: {', '.join(missing)}"
                    continue
                phase, message = SUCCEEDED, ""
                break
            phase, message = FAILED, str(reply.get("message", "failed"))
        texts = (
            {
                name: value if isinstance(value, str) else json.dumps(value)
                for name, value in outputs.items()
                if not hasattr(value, "uri")
            }
            if phase == SUCCEEDED
            else {}
        )
        self.records.append(
            StepRecord(
                node,
                key,
                task.component_ref.name,
                _name(task),
                phase,
                message,
                started,
                self.now(),
                attempt,
                texts,
                sorted(waited),
                item,
                str(reply.get("log_tail", ""))[-LOG_TAIL:],
            )
        )
        return Outcome(phase, frozenset({node}), waited, outputs if phase == SUCCEEDED else {}, message)

    def not_run(self, task: Any, node: str, phase: str, message: str, waited: frozenset[str]) -> Outcome:
        """Record every step under a task that did not run."""
        covered: set[str] = set()

        def walk(each: Any, where: str, depth: int) -> None:
            component = self.components.get(each.component_ref.name)
            if component is not None and component.WhichOneof("implementation") == "dag" and depth < 100:
                for inner_key, inner in component.dag.tasks.items():
                    walk(inner, f"{where}.{inner_key}", depth + 1)
                return
            self.records.append(
                StepRecord(
                    where,
                    where.rsplit(".", 1)[-1],
                    each.component_ref.name,
                    _name(each),
                    phase,
                    message,
                    waited_for=sorted(waited),
                )
            )
            covered.add(where)

        walk(task, node, 0)
        return Outcome(phase, frozenset(covered), waited, message=message)


def _name(task: Any) -> str:
    return str(task.task_info.name)


def _iteration_spec(task: Any, item: Any) -> Any:
    """The loop task as one iteration's driver sees it (backend/src/v2/driver/resolve.go, iteration
    driver): its inputs as they are, and the item input set to the item. Not kfp.local's
    create_parameter_loop_iteration_task_spec, which also puts the item in every input that comes
    from an upstream task (a value the body reads, such as the logical date) and in every input
    named `*-loop-item` (an outer loop's item passed to an inner loop)."""
    from kfp.compiler import pipeline_spec_builder
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = pipeline_spec_pb2.PipelineTaskSpec()
    spec.CopyFrom(task)
    spec.ClearField("parameter_iterator")
    spec.ClearField("artifact_iterator")
    spec.inputs.parameters[task.parameter_iterator.item_input].runtime_value.constant.CopyFrom(
        pipeline_spec_builder.to_protobuf_value(item)
    )
    return spec


_ACCEPTED = {  # a declared parameter type -> the values the driver accepts for it
    "NUMBER_DOUBLE": (int, float),
    "NUMBER_INTEGER": (int, float),
    "BOOLEAN": (bool,),
    "LIST": (list,),
    "STRUCT": (dict,),
    "TASK_FINAL_STATUS": (dict,),
}


def _as_declared(values: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
    """The driver's check of resolved inputs against the component's declared types (resolve.go,
    handleParamTypeValidationAndConversion): a string input given another value gets its text
    (PbValueToText); any other mismatch is an error (TypeError). kfp.local passes values as they are."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    names = pipeline_spec_pb2.ParameterType.ParameterTypeEnum
    found = dict(values)
    for name, spec in declared.items():
        value, kind = found.get(name), names.Name(spec.parameter_type)
        if value is None:
            continue
        if kind == "STRING":
            if not isinstance(value, str):
                found[name] = _text(value)
            continue
        accepted = _ACCEPTED.get(kind)
        if accepted is None:
            continue
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            got = {str: "string", bool: "bool", list: "list", dict: "struct"}.get(type(value), "number")
            raise TypeError(f"input parameter {name!r} type mismatch: expect {kind}, got {got}")
    return found


def _json_numbers(value: Any) -> Any:
    """A value as the step reads it from KFP's JSON (the executor input, a placeholder's text): Go's
    protojson writes an integral number without a fraction (2, not 2.0), so the step's JSON reader
    gets an int; kfp.local hands on protobuf's doubles (2.0)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    """A value as KFP's backend turns it into a string parameter (PbValueToText): numbers as Go's
    FormatFloat(v, 'f', -1), booleans `true`/`false`, lists and objects as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        from decimal import Decimal

        text = format(Decimal(repr(float(value))), "f")
        return text[:-2] if text.endswith(".0") else text
    return json.dumps(value, separators=(",", ":"))


def _is_loop(task: Any) -> bool:
    return bool(task.WhichOneof("iterator"))


def _replace_all(text: str, values: Mapping[str, str]) -> str:
    for old, new in values.items():
        text = text.replace(old, new)
    return text


def _dependencies(task: Any, tasks: Mapping[str, Any]) -> list[str]:
    """dependentTasks plus the producers of its inputs (argocompiler's addImplicitDependencies)."""
    found = list(task.dependent_tasks)
    for spec in task.inputs.parameters.values():
        if spec.HasField("task_output_parameter") and spec.task_output_parameter.producer_task not in found:
            found.append(spec.task_output_parameter.producer_task)
    for spec in task.inputs.artifacts.values():
        if spec.HasField("task_output_artifact") and spec.task_output_artifact.producer_task not in found:
            found.append(spec.task_output_artifact.producer_task)
    unknown = [dep for dep in found if dep not in tasks]
    if unknown:
        raise Rejected(f"unknown producer task {unknown[0]!r} in DAG")
    return found


def _topological(keys: list[str], deps: Mapping[str, list[str]]) -> list[str]:
    """Every task after the ones it depends on, otherwise in name order (Argo runs them concurrently)."""
    order: list[str] = []
    done: set[str] = set()
    pending = sorted(keys)
    while pending:
        ready = next((key for key in pending if all(dep in done for dep in deps[key])), None)
        if ready is None:
            raise Rejected(f"a dependency cycle among {pending}")
        order.append(ready)
        done.add(ready)
        pending.remove(ready)
    return order


def _assess(body: list[str], deps: Mapping[str, list[str]], states: Mapping[str, Outcome]) -> str:
    """The DAG's phase as Argo's assessDAGPhase decides it (see the module doc, rule 5)."""
    waited_on = {dep for key in body for dep in deps[key]}
    memo: dict[str, str] = {}

    def branch(key: str) -> str:
        if key not in memo:
            own = states[key].phase
            if own in COMPLETED:
                memo[key] = own
            elif own == NOT_VERIFIABLE:
                memo[key] = SUCCEEDED
            else:
                inherited = [branch(dep) for dep in deps[key]]
                memo[key] = next((p for p in inherited if p in (FAILED, ERROR)), SUCCEEDED)
        return memo[key]

    for key in sorted(k for k in body if k not in waited_on):
        phase = branch(key)
        if phase in (FAILED, ERROR):
            return phase
    return SUCCEEDED


def run_pipeline(
    ir_text: str,
    arguments: Mapping[str, Any],
    run_step: Callable[[dict], dict],
    workdir: str,
    run_at: datetime,
    task_timeout: float,
    run_uuid: str,
) -> dict[str, Any]:
    """Run the IR; the answer the worker sends back: phase, message, steps (StepRecord dicts)."""
    import kfp
    import yaml
    from kfp import components

    if not kfp.__version__.startswith(SUPPORTED_KFP):
        return {
            "phase": ERROR,
            "message": f"verify --target v2 runs on kfp.local {SUPPORTED_KFP}x; found kfp {kfp.__version__}",
            "steps": [],
        }
    documents = [d for d in yaml.safe_load_all(ir_text) if isinstance(d, dict)]
    platform = next((d for d in documents if "platforms" in d), {})
    spec = components.load_component_from_text(ir_text).pipeline_spec
    runner = Runner(spec, platform, run_step, workdir, run_at, task_timeout, run_uuid)
    try:
        outcome = runner.run(arguments)
    except Rejected as error:
        return {"phase": ERROR, "message": f"KFP's backend rejects this pipeline: {error}", "steps": []}
    message = outcome.message or next(
        (r.message for r in runner.records if r.phase == ERROR and r.message), ""
    )
    return {
        "phase": outcome.phase,
        "message": message,
        "seconds": runner.now(),
        "steps": [record.__dict__ for record in runner.records],
    }
