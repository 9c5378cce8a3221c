"""Run a compiled Argo Workflow on this machine, with no cluster, to record what each step does.

A verifier, not an engine: it runs what the converter ships (the KFP-compiled Argo YAML) one step
at a time, following the Argo semantics that YAML uses, and records every step's phase, outputs
and which steps the workflow made it wait for. Argo/Kubeflow stays the real engine. Each rule
below names the Argo documentation (or controller behaviour) it follows; tests/verify has a test
per rule citing the same text.

Supported: DAG templates (`dependencies`, `depends`, `when`, `withItems`, `withParam`,
`withSequence`, task-level `onExit`, `continueOn`, `target`, `failFast`), container templates run by
`host_step` (command/args, input and output parameters, input and output artifacts through local
files, `retryStrategy`, `activeDeadlineSeconds`), the workflow's `arguments` and `onExit`.
Steps run sequentially in a ready order; Argo would run independent ones concurrently, which
changes timing, never which steps run or with which inputs. Retry backoff is not waited for.

The run starts as KFP starts a one-off run: the workflow's parameters get KFP's run macros
(`[[CurrentTime...]]`, `[[RunUUID]]`; airflow2kfp/verify/run_macros.py) for a run created at `run_at`,
which is also `{{workflow.creationTimestamp}}`. A loop's outputs are aggregated as Argo's controller
does (`processAggregateNodeOutputs`): `{{tasks.<loop>.outputs.parameters.<name>}}` is the JSON list of
the iterations' values in item order, from the iterations that produced outputs; Argo before 3.6
lists them as strings, 3.6 and later as JSON values when every one is a JSON object or array
(`LocalOptions.aggregate_json`); `{{tasks.<loop>.outputs.parameters}}` is the list of each iteration's
name -> value map.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from airflow2kfp.compiled.argo_expr import ExpressionError, depends_names, evaluate_depends, evaluate_when
from airflow2kfp.verify import host_step
from airflow2kfp.verify.run_macros import format_run_macros, go_json

DISPLAY_NAME = "pipelines.kubeflow.org/task_display_name"
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_ARTIFACT_REF = re.compile(
    r"^\{\{\s*(tasks\.([^.]+)\.outputs\.artifacts|inputs\.artifacts)\.([^.}\s]+)\s*\}\}$"
)
MAX_ARTIFACT_TEXT = 20_000
ARGO_VARIABLE_ROOTS = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")


class Phase(str, Enum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    SKIPPED = "Skipped"  # `when` was false
    OMITTED = "Omitted"  # the `depends` condition was not met
    NOT_VERIFIABLE = "NotVerifiable"  # cannot run here (image, pod features); never a pass

    @property
    def completed(self) -> bool:
        # Argo's NodePhase.Completed(): "a skipped phase is not considered as having completed"
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.ERROR)

    @property
    def failed(self) -> bool:
        return self in (Phase.FAILED, Phase.ERROR)


# `depends` result names per phase ("Enhanced Depends Logic": Succeeded, Failed, Errored, Skipped,
# Omitted, Daemoned; AnySucceeded/AllFailed for expanded tasks). A step that could not run is
# assumed to have succeeded so the rest of the workflow can be verified; compare never counts it.
_RESULT = {
    Phase.SUCCEEDED: "Succeeded",
    Phase.FAILED: "Failed",
    Phase.ERROR: "Errored",
    Phase.SKIPPED: "Skipped",
    Phase.OMITTED: "Omitted",
    Phase.NOT_VERIFIABLE: "Succeeded",
}


@dataclass(frozen=True)
class NodeRun:
    """One step (a leaf template invocation) of the run, or a step that did not run and why."""

    node: str  # Argo's node name below the workflow: "exit-handler-1.produce", "loop(0:1).consume"
    task: str  # the DAG task name, or the template name for the workflow's exit handler
    template: str
    display_name: str | None  # KFP's task_display_name annotation: the Airflow task id
    phase: Phase
    message: str = ""
    started: float | None = None  # seconds since the run started
    finished: float | None = None
    attempts: int = 0
    parameters: Mapping[str, str] = field(default_factory=dict)  # output parameters
    artifacts: Mapping[str, str] = field(default_factory=dict)  # output artifacts that are small text files
    waited_for: tuple[str, ...] = ()  # steps the workflow made this one wait for (transitively)
    item: Any = None  # the loop item, for an iteration of withItems/withParam
    log_tail: str = ""

    @property
    def ran(self) -> bool:
        return self.started is not None


@dataclass(frozen=True)
class WorkflowRun:
    phase: Phase
    nodes: tuple[NodeRun, ...]
    message: str = ""
    seconds: float = 0.0

    def by_name(self) -> dict[str, list[NodeRun]]:
        found: dict[str, list[NodeRun]] = {}
        for node in self.nodes:
            found.setdefault(node.display_name or node.task, []).append(node)
        return found


@dataclass(frozen=True)
class LocalOptions:
    task_timeout: float = 60.0  # seconds per step attempt (activeDeadlineSeconds also applies)
    run_timeout: float = 600.0  # seconds for the whole workflow
    python: str | None = None  # interpreter for python3 steps; default: this one
    parameters: Mapping[str, str] = field(default_factory=dict)  # workflow argument overrides
    max_retries: int = 10  # cap for a retryStrategy without a limit (Argo would retry forever)
    run_at: datetime | None = None  # when KFP created the run ([[CurrentTime]]); None: now
    run_uuid: str = "00000000-0000-0000-0000-000000000000"  # [[RunUUID]] and {{workflow.uid}}
    aggregate_json: bool = False  # Argo 3.6+: loop outputs that are all JSON objects/arrays stay JSON
    airflow: host_step.AirflowHost | None = None  # runs the operator-fallback steps


@dataclass
class _Outcome:
    """What a task (a step, a nested DAG or a loop) ended as, for the tasks after it."""

    phase: Phase
    parameters: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    message: str = ""
    covered: frozenset[str] = frozenset()  # the steps inside it
    waited: frozenset[str] = frozenset()  # the steps it waited for
    children: tuple[Phase, ...] | None = None  # phases of the iterations of an expanded task
    unverifiable: bool = False  # a step inside could not run: its outputs are unknown
    all_parameters: str | None = None  # a loop's {{tasks.<loop>.outputs.parameters}}: a JSON list of maps


class _Unverifiable(Exception):
    """A task needs a value from a step that could not run."""


def substitute(value: Any, scope: Mapping[str, str]) -> Any:
    """Argo's `{{name}}` substitution over strings inside `value`; unknown names are kept."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: scope.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, scope) for k, v in value.items()}
    return value


def is_argo_variable(name: str) -> bool:
    """Whether Argo reads `{{name}}` as its own: a root it resolves (validate.go's
    GlobalVarValidWorkflowVariablePrefix), `{{item}}`, or an expression (`{{=...}}`). Any other
    `{{...}}` - a Jinja template kept verbatim - reaches the container as it is written."""
    return name == "item" or name.startswith(ARGO_VARIABLE_ROOTS) or name.startswith("=")


def unresolved(value: Any) -> list[str]:
    """The Argo variables left in `value` after substitution."""
    if isinstance(value, str):
        return [m.group(1) for m in _VARIABLE.finditer(value) if is_argo_variable(m.group(1))]
    if isinstance(value, list):
        return [name for v in value for name in unresolved(v)]
    if isinstance(value, dict):
        return [name for v in value.values() for name in unresolved(v)]
    return []


def _as_param(value: Any) -> str:
    """Parameter values are strings; items that are not become JSON (`{{item}}` of a map)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _item_label(item: Any) -> str:
    if isinstance(item, dict):
        return ",".join(f"{k}:{_as_param(v)}" for k, v in sorted(item.items()))
    return _as_param(item)


def task_dependencies(task: Mapping[str, Any]) -> list[str]:
    names = [str(d) for d in task.get("dependencies") or []]
    if task.get("depends"):
        names += [n for n in depends_names(str(task["depends"])) if n not in names]
    return names


class _Executor:
    def __init__(self, workflow: Mapping[str, Any], options: LocalOptions, workdir: Path) -> None:
        spec = workflow.get("spec") or {}
        self.spec = spec
        self.templates: dict[str, Mapping[str, Any]] = {t["name"]: t for t in spec.get("templates") or []}
        self.options = options
        self.workdir = workdir
        self.nodes: list[NodeRun] = []
        self.started = time.monotonic()
        limit = min(options.run_timeout, float(spec.get("activeDeadlineSeconds") or options.run_timeout))
        self.deadline = self.started + limit
        name = str((workflow.get("metadata") or {}).get("generateName") or "workflow").rstrip("-") + "-local"
        run_at = (options.run_at or datetime.now(UTC)).astimezone(UTC)
        self.globals: dict[str, str] = {
            "workflow.name": name,
            "workflow.namespace": "local",
            "workflow.uid": options.run_uuid,
            "workflow.serviceAccountName": str(spec.get("serviceAccountName", "")),
            # Argo's variables: RFC 3339, and one strftime character each (`.Y`, `.m`, ...)
            "workflow.creationTimestamp": run_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "workflow.creationTimestamp.RFC3339": run_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            **{f"workflow.creationTimestamp.{c}": run_at.strftime(f"%{c}") for c in "YmdHMSyjaAbBpIUWwZz"},
        }
        self.arguments: dict[str, str] = {}
        for parameter in (spec.get("arguments") or {}).get("parameters") or []:
            value = options.parameters.get(parameter["name"], parameter.get("value"))
            if value is not None:
                # KFP's API server formats every parameter of a new run (FormatWorkflowParameters)
                text = format_run_macros(_as_param(value), options.run_uuid, run_at)
                self.arguments[parameter["name"]] = text
                self.globals[f"workflow.parameters.{parameter['name']}"] = text
        self.count = 0

    def now(self) -> float:
        return round(time.monotonic() - self.started, 3)

    # -- the workflow --------------------------------------------------------------------------

    def run(self) -> WorkflowRun:
        entry = str(self.spec.get("entrypoint", ""))
        outcome = self.template(entry, "", entry, self.arguments, {}, frozenset(), self.globals)
        phase, message = outcome.phase, outcome.message
        exit_template = self.spec.get("onExit")
        if exit_template:
            # Exit handlers (Argo docs): run after the workflow ends, whatever its status, with
            # {{workflow.status}} set; a failing exit handler fails the workflow
            scope = dict(self.globals, **{"workflow.status": _status(phase)})
            done = self.template(
                str(exit_template),
                "onExit",
                str(exit_template),
                {},
                {},
                frozenset(n.node for n in self.nodes if n.ran),
                scope,
            )
            if done.phase.failed and not phase.failed:
                phase, message = done.phase, f"exit handler: {done.message}"
        if phase is Phase.NOT_VERIFIABLE:
            phase = Phase.SUCCEEDED
        if phase is Phase.ERROR and not message:  # the reason a step or DAG node errored, for the report
            message = next((n.message for n in self.nodes if n.phase is Phase.ERROR and n.message), "")
        return WorkflowRun(phase, tuple(self.nodes), message, self.now())

    # -- one template invocation -----------------------------------------------------------------

    def template(
        self,
        name: str,
        node: str,
        task: str,
        arguments: Mapping[str, str],
        artifacts: Mapping[str, Path],
        waited: frozenset[str],
        scope: Mapping[str, str],
        item: Any = None,
    ) -> _Outcome:
        template = self.templates.get(name)
        if template is None:
            return self.record_error(node, task, name, f"no template named {name}", waited)
        inputs = template.get("inputs") or {}
        local = dict(self.globals)
        local.update({k: v for k, v in scope.items() if k.startswith("workflow.")})
        for parameter in inputs.get("parameters") or []:
            value = arguments.get(parameter["name"], parameter.get("value", parameter.get("default")))
            if value is None:
                return self.record_error(
                    node, task, name, f"input parameter {parameter['name']} was not supplied", waited
                )
            local[f"inputs.parameters.{parameter['name']}"] = _as_param(value)
        in_artifacts = self.input_artifacts(inputs, artifacts, node)
        if isinstance(in_artifacts, str):
            return self.record_error(node, task, name, in_artifacts, waited)
        if "dag" in template:
            return self.dag(template, node, local, in_artifacts, waited)
        return self.step(template, node, task, local, in_artifacts, waited, item)

    def input_artifacts(
        self, inputs: Mapping[str, Any], given: Mapping[str, Path], node: str
    ) -> dict[str, Path] | str:
        found: dict[str, Path] = {}
        for artifact in inputs.get("artifacts") or []:
            name = str(artifact["name"])
            if name in given:
                found[name] = given[name]
            elif "raw" in artifact:  # an inline artifact: its data is the file's content
                self.count += 1
                file = self.workdir / f"raw-{self.count}" / name
                file.parent.mkdir(parents=True)
                file.write_text(str((artifact["raw"] or {}).get("data", "")))
                found[name] = file
            elif not artifact.get("optional"):
                return f"input artifact {name} was not supplied"
        return found

    def record_error(
        self, node: str, task: str, template: str, message: str, waited: frozenset[str]
    ) -> _Outcome:
        self.nodes.append(
            NodeRun(
                node,
                task,
                template,
                self.display_name(template),
                Phase.ERROR,
                message,
                waited_for=tuple(sorted(waited)),
            )
        )
        return _Outcome(Phase.ERROR, message=message, covered=frozenset({node}), waited=waited)

    def display_name(self, template: str) -> str | None:
        annotations = ((self.templates.get(template) or {}).get("metadata") or {}).get("annotations") or {}
        shown = annotations.get(DISPLAY_NAME)
        return str(shown) if shown else None

    # -- a leaf step ------------------------------------------------------------------------------

    def step(
        self,
        template: Mapping[str, Any],
        node: str,
        task: str,
        scope: Mapping[str, str],
        artifacts: Mapping[str, Path],
        waited: frozenset[str],
        item: Any,
    ) -> _Outcome:
        name = str(template["name"])
        body = {k: v for k, v in template.items() if k not in ("metadata", "name")}
        resolved = substitute(body, scope)
        assumed = tuple(
            sorted(n.node for n in self.nodes if n.phase is Phase.NOT_VERIFIABLE and n.node in waited)
        )
        left = unresolved(resolved.get("container") or resolved.get("script") or {})
        if left:  # Argo rejects a template that still holds variables of its own unresolved
            return self.record_error(
                node, task, name, "unresolved: " + ", ".join(f"{{{{{v}}}}}" for v in left), waited
            )
        strategy = template.get("retryStrategy")
        limit = self.retry_limit(strategy)
        policy = str((strategy or {}).get("retryPolicy") or "OnFailure")
        deadline = template.get("activeDeadlineSeconds")
        started = self.now()
        attempts = 0
        while True:
            attempts += 1
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                result = host_step.StepResult(True, False, "the run's timeout was reached before this step")
                phase = Phase.ERROR
                break
            timeout = min(self.options.task_timeout, remaining, float(deadline) if deadline else remaining)
            self.count += 1
            step_dir = self.workdir / f"{self.count:04d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', node)[:80]}"
            result = host_step.run_container(
                resolved | {"name": name},
                step_dir,
                timeout,
                self.options.python,
                artifacts,
                self.options.airflow,
            )
            if not result.verifiable:
                phase = Phase.NOT_VERIFIABLE
                break
            phase = (
                Phase.SUCCEEDED
                if result.succeeded
                else Phase.ERROR
                if result.missing_outputs
                else Phase.FAILED
            )
            # retryStrategy (Argo docs "Retries"): `limit` retries after the first attempt; policy
            # OnFailure (the default) retries failed steps, OnError errored ones, Always both
            if phase is Phase.SUCCEEDED or attempts > limit or not _retries(policy, phase):
                break
        message = result.message
        if assumed and phase is not Phase.NOT_VERIFIABLE:
            message = (
                (message + "; " if message else "")
                + "ran after steps that could not run: "
                + ", ".join(assumed)
            )
        self.nodes.append(
            NodeRun(
                node,
                task,
                name,
                self.display_name(name),
                phase,
                message,
                started=None if phase is Phase.NOT_VERIFIABLE else started,
                finished=None if phase is Phase.NOT_VERIFIABLE else self.now(),
                attempts=0 if phase is Phase.NOT_VERIFIABLE else attempts,
                parameters=dict(result.parameters),
                artifacts=_artifact_texts(result.artifacts),
                waited_for=tuple(sorted(waited)),
                item=item,
                log_tail=result.log_tail,
            )
        )
        return _Outcome(
            phase,
            dict(result.parameters),
            dict(result.artifacts),
            message,
            frozenset({node}),
            waited,
            unverifiable=phase is Phase.NOT_VERIFIABLE,
        )

    def retry_limit(self, strategy: Mapping[str, Any] | None) -> int:
        if strategy is None:
            return 0
        if strategy.get("limit") is None:
            return self.options.max_retries
        return min(int(str(strategy["limit"])), self.options.max_retries)

    # -- a DAG template -----------------------------------------------------------------------------

    def dag(
        self,
        template: Mapping[str, Any],
        node: str,
        scope: Mapping[str, str],
        artifacts: Mapping[str, Path],
        waited: frozenset[str],
    ) -> _Outcome:
        tasks = {str(t["name"]): t for t in template["dag"].get("tasks") or []}
        deps = {name: task_dependencies(task) for name, task in tasks.items()}
        for name, names in deps.items():
            unknown = [d for d in names if d not in tasks]
            if unknown:
                return self.record_error(
                    f"{node}.{name}".lstrip("."),
                    name,
                    str(tasks[name]["template"]),
                    f"depends on unknown tasks: {', '.join(unknown)}",
                    waited,
                )
        states: dict[str, _Outcome] = {}
        pending = list(tasks)
        while pending:
            # Argo starts every task whose dependencies are fulfilled; here one at a time, in order
            ready = next((n for n in pending if all(d in states for d in deps[n])), None)
            if ready is None:
                for name in pending:
                    states[name] = self.record_error(
                        f"{node}.{name}".lstrip("."),
                        name,
                        str(tasks[name]["template"]),
                        "dependency cycle",
                        waited,
                    )
                break
            pending.remove(ready)
            states[ready] = self.dag_task(
                tasks[ready], f"{node}.{ready}".lstrip("."), deps, tasks, states, scope, artifacts, waited
            )
        phase = _assess(template, tasks, deps, states)
        outcome = _Outcome(
            phase,
            covered=frozenset().union(*(s.covered for s in states.values())),
            waited=waited,
            unverifiable=any(s.unverifiable for s in states.values()),
        )
        if phase is not Phase.SUCCEEDED:
            return outcome  # executeDAG sets a DAG's outputs only once it succeeded
        task_scope = self.task_scope(scope, states, list(tasks))
        for parameter in (template.get("outputs") or {}).get("parameters") or []:
            source = (parameter.get("valueFrom") or {}).get("parameter")
            if source is None:
                continue
            value = str(substitute(source, task_scope))
            left = unresolved(value)
            if left and not outcome.unverifiable:
                # getTemplateOutputsFromScope: "Unable to resolve" errors the DAG node
                message = f"unable to resolve {{{{{left[0]}}}}} for output {parameter['name']} of {template['name']}"
                failed = self.record_error(
                    node or str(template["name"]),
                    str(template["name"]),
                    str(template["name"]),
                    message,
                    waited,
                )
                outcome.phase, outcome.message = Phase.ERROR, message
                outcome.covered = outcome.covered | failed.covered
                break
            outcome.parameters[str(parameter["name"])] = value
        for artifact in (template.get("outputs") or {}).get("artifacts") or []:
            found = self.artifact_ref(str(artifact.get("from", "")), states, artifacts)
            if found is not None:
                outcome.artifacts[str(artifact["name"])] = found
        return outcome

    def task_scope(
        self, scope: Mapping[str, str], states: Mapping[str, _Outcome], names: Iterable[str]
    ) -> dict[str, str]:
        """Variables of `{{tasks.<name>...}}` for the given (finished) tasks, over `scope`."""
        local = dict(scope)
        for name in names:
            state = states.get(name)
            if state is None:
                continue
            local[f"tasks.{name}.status"] = state.phase.value
            for key, value in state.parameters.items():
                local[f"tasks.{name}.outputs.parameters.{key}"] = value
            if state.all_parameters is not None:
                local[f"tasks.{name}.outputs.parameters"] = state.all_parameters
        return local

    def artifact_ref(
        self, text: str, states: Mapping[str, _Outcome], artifacts: Mapping[str, Path]
    ) -> Path | None:
        match = _ARTIFACT_REF.match(text)
        if not match:
            return None
        if match.group(2):
            state = states.get(match.group(2))
            return state.artifacts.get(match.group(3)) if state else None
        return artifacts.get(match.group(3))

    def dag_task(
        self,
        task: Mapping[str, Any],
        node: str,
        deps: Mapping[str, list[str]],
        tasks: Mapping[str, Mapping[str, Any]],
        states: dict[str, _Outcome],
        scope: Mapping[str, str],
        artifacts: Mapping[str, Path],
        parent_waited: frozenset[str],
    ) -> _Outcome:
        name = str(task["name"])
        template = str(task["template"])
        mine = deps[name]
        # a task waits for its dependencies, all they waited for, and their onExit handlers
        waited = parent_waited.union(*(states[d].covered | states[d].waited for d in mine))
        logic = str(task["depends"]) if task.get("depends") else " && ".join(task.get("dependencies") or [])
        if logic:
            try:
                # "Enhanced Depends Logic": `dependencies: [A, B]` is `depends: "A && B"`; a bare
                # task means (A.Succeeded || A.Skipped || A.Daemoned); continueOn widens it
                execute = evaluate_depends(
                    logic, lambda d: _results(states[d]), lambda d: _bare_results(tasks[d])
                )
            except (ExpressionError, KeyError) as error:
                return self.record_error(node, name, template, f"depends {logic!r}: {error}", waited)
            if not execute:  # "omitted: depends condition not met"
                return self.not_run(template, node, name, Phase.OMITTED, f"depends {logic!r} not met", waited)
        ancestors = _ancestors(name, deps)
        local = self.task_scope(scope, states, ancestors)
        try:
            resolved = self.resolve_task(task, local, states, ancestors)
        except _Unverifiable as why:
            return self.not_run(template, node, name, Phase.NOT_VERIFIABLE, str(why), waited)
        except ValueError as error:
            return self.record_error(node, name, template, str(error), waited)
        items = self.items(resolved)
        if isinstance(items, str):
            return self.record_error(node, name, template, items, waited)
        if items is None:
            outcome = self.invoke(resolved, template, node, name, local, states, artifacts, waited, None)
        else:
            outcome = self.expand(resolved, template, node, name, local, states, artifacts, waited, items)
        if task.get("onExit"):
            # a task's onExit template runs when the task completes; dependants wait for it too
            done = self.template(
                str(task["onExit"]),
                f"{node}.onExit",
                str(task["onExit"]),
                {},
                {},
                outcome.covered | waited,
                dict(local, **{"workflow.status": _status(outcome.phase)}),
            )
            outcome.covered = outcome.covered | done.covered
        return outcome

    def resolve_task(
        self,
        task: Mapping[str, Any],
        scope: Mapping[str, str],
        states: Mapping[str, _Outcome],
        ancestors: list[str],
    ) -> dict[str, Any]:
        fields = {
            k: task[k] for k in ("arguments", "when", "withParam", "withItems", "withSequence") if k in task
        }
        resolved = substitute(fields, scope)
        for variable in unresolved({k: v for k, v in resolved.items() if k != "withItems"}):
            if variable == "item" or variable.startswith("item."):
                continue
            parts = variable.split(".")
            if (
                parts[0] == "tasks"
                and len(parts) > 1
                and parts[1] in states
                and states[parts[1]].unverifiable
            ):
                raise _Unverifiable(f"needs {{{{{variable}}}}} from a step that could not run")
            if parts[0] == "tasks" and parts[-2:-1] == ["artifacts"]:
                continue  # resolved as files below
            if parts[0] == "tasks" and len(parts) > 1 and parts[1] not in ancestors:
                raise ValueError(f"{{{{{variable}}}}} names a task that is not a dependency")
            raise ValueError(f"unresolved: {{{{{variable}}}}}")
        return resolved

    def items(self, task: Mapping[str, Any]) -> list[Any] | str | None:
        # Loops (Argo docs): withItems is a literal list, withParam a JSON list in a parameter
        if "withItems" in task:
            return list(task["withItems"] or [])
        if "withParam" in task:
            try:
                value = json.loads(str(task["withParam"]))
            except ValueError:
                return f"withParam value could not be parsed as a JSON list: {str(task['withParam'])[:200]}"
            return (
                value
                if isinstance(value, list)
                else f"withParam value is not a JSON list: {str(value)[:200]}"
            )
        if "withSequence" in task:
            sequence = task["withSequence"]
            start = int(sequence.get("start", 0))
            end = int(sequence["end"]) if "end" in sequence else start + int(sequence.get("count", 0)) - 1
            return (
                [str(i) for i in range(start, end + 1)]
                if end >= start
                else [str(i) for i in range(start, end - 1, -1)]
            )
        return None

    def invoke(
        self,
        task: Mapping[str, Any],
        template: str,
        node: str,
        name: str,
        scope: Mapping[str, str],
        states: Mapping[str, _Outcome],
        artifacts: Mapping[str, Path],
        waited: frozenset[str],
        item: Any,
    ) -> _Outcome:
        if task.get("when"):
            # Conditionals (Argo docs): a false `when` skips the task ("when ... evaluated false")
            try:
                run = evaluate_when(str(task["when"]))
            except ExpressionError as error:
                return self.record_error(node, name, template, f"when {task['when']!r}: {error}", waited)
            if not run:
                return self.not_run(
                    template, node, name, Phase.SKIPPED, f"when '{task['when']}' evaluated false", waited
                )
        arguments = task.get("arguments") or {}
        parameters = {
            str(p["name"]): _as_param(p.get("value", "")) for p in arguments.get("parameters") or []
        }
        given: dict[str, Path] = {}
        for artifact in arguments.get("artifacts") or []:
            found = self.artifact_ref(str(artifact.get("from", "")), states, artifacts)
            if found is None and not artifact.get("optional"):
                return self.record_error(
                    node,
                    name,
                    template,
                    f"input artifact {artifact['name']} could not be resolved from {artifact.get('from')!r}",
                    waited,
                )
            if found is not None:
                given[str(artifact["name"])] = found
        return self.template(template, node, name, parameters, given, waited, scope, item)

    def expand(
        self,
        task: Mapping[str, Any],
        template: str,
        node: str,
        name: str,
        scope: Mapping[str, str],
        states: Mapping[str, _Outcome],
        artifacts: Mapping[str, Path],
        waited: frozenset[str],
        items: list[Any],
    ) -> _Outcome:
        if not items:
            return self.not_run(template, node, name, Phase.SKIPPED, "the loop has no items", waited)
        outcomes: list[_Outcome] = []
        for index, item in enumerate(items):
            item_scope = {"item": _as_param(item)}
            if isinstance(item, dict):
                item_scope.update({f"item.{k}": _as_param(v) for k, v in item.items()})
            expanded = substitute(
                {k: v for k, v in task.items() if k not in ("withItems", "withParam", "withSequence")},
                item_scope,
            )
            outcomes.append(
                self.invoke(
                    expanded,
                    template,
                    f"{node}({index}:{_item_label(item)})",
                    name,
                    scope,
                    states,
                    artifacts,
                    waited,
                    item,
                )
            )
        # an expanded task (a TaskGroup node) fails when one of its iterations failed
        failed = next((o.phase for o in outcomes if o.phase.failed), None)
        phase = failed or Phase.SUCCEEDED
        # the iterations, in item order, that have outputs (a failed step or DAG has none)
        produced = [o.parameters for o in outcomes if o.phase is Phase.SUCCEEDED and o.parameters]
        by_name, every = aggregate_outputs(produced, self.options.aggregate_json)
        return _Outcome(
            phase,
            by_name,
            {},
            "",
            frozenset().union(*(o.covered for o in outcomes)),
            waited,
            tuple(o.phase for o in outcomes),
            any(o.unverifiable for o in outcomes),
            every,
        )

    def not_run(
        self,
        template: str,
        node: str,
        task: str,
        phase: Phase,
        message: str,
        waited: frozenset[str],
        depth: int = 0,
    ) -> _Outcome:
        """Record every step under a task that did not run, with the reason, and its outcome."""
        body = self.templates.get(template) or {}
        covered: set[str] = set()
        if "dag" in body and depth < 50:
            for sub in body["dag"].get("tasks") or []:
                inner = self.not_run(
                    str(sub["template"]),
                    f"{node}.{sub['name']}",
                    str(sub["name"]),
                    phase,
                    message,
                    waited,
                    depth + 1,
                )
                covered |= inner.covered
        else:
            self.nodes.append(
                NodeRun(
                    node,
                    task,
                    template,
                    self.display_name(template),
                    phase,
                    message,
                    waited_for=tuple(sorted(waited)),
                )
            )
            covered.add(node)
        return _Outcome(
            phase,
            message=message,
            covered=frozenset(covered),
            waited=waited,
            unverifiable=phase is Phase.NOT_VERIFIABLE,
        )


def aggregate_outputs(
    iterations: Sequence[Mapping[str, str]], as_json: bool = False
) -> tuple[dict[str, str], str]:
    """A loop's outputs as Argo's processAggregateNodeOutputs gives them: name -> the JSON list of
    that output's values (strings; with `as_json`, Argo 3.6+, parsed JSON values when every value is
    a JSON object or array), and the JSON list of each iteration's name -> value map."""
    values: dict[str, list[str]] = {}
    for outputs in iterations:
        for name, value in outputs.items():
            values.setdefault(name, []).append(value)
    by_name = {name: _aggregated(found, as_json) for name, found in values.items()}
    return by_name, go_json([dict(outputs) for outputs in iterations])


def _aggregated(found: list[str], as_json: bool) -> str:
    if as_json and all(v.strip(" ")[:1] + v.strip(" ")[-1:] in ("{}", "[]") for v in found):
        try:
            return go_json([json.loads(v) for v in found])
        except ValueError:
            pass  # "falling back to old behaviour if this fails"
    return go_json(found)


def _status(phase: Phase) -> str:
    return "Succeeded" if phase in (Phase.SUCCEEDED, Phase.NOT_VERIFIABLE) else phase.value


def _retries(policy: str, phase: Phase) -> bool:
    if policy == "Always":
        return phase.failed
    if policy == "OnError":
        return phase is Phase.ERROR
    if policy == "OnTransientError":
        return False  # no transient (cluster) errors happen here
    return phase is Phase.FAILED  # OnFailure


def _results(state: _Outcome) -> frozenset[str]:
    held = {_RESULT[state.phase]}
    if state.children is not None:
        held.add("AnySucceeded") if any(p is Phase.SUCCEEDED for p in state.children) else None
        if state.children and all(p is Phase.FAILED for p in state.children):
            held.add("AllFailed")
    return frozenset(held)


def _bare_results(task: Mapping[str, Any]) -> tuple[str, ...]:
    # continueOn (Argo docs "Continue on failed/error"): dependants run as if the task succeeded
    continue_on = task.get("continueOn") or {}
    widened = ["Succeeded", "Skipped", "Daemoned"]
    if continue_on.get("failed"):
        widened.append("Failed")
    if continue_on.get("error"):
        widened.append("Errored")
    return tuple(widened)


def _ancestors(name: str, deps: Mapping[str, list[str]]) -> list[str]:
    found: list[str] = []
    pending = list(deps[name])
    while pending:
        current = pending.pop()
        if current not in found:
            found.append(current)
            pending.extend(deps[current])
    return found


def _assess(
    template: Mapping[str, Any],
    tasks: Mapping[str, Mapping[str, Any]],
    deps: Mapping[str, list[str]],
    states: Mapping[str, _Outcome],
) -> Phase:
    """The DAG's phase, as the controller's assessDAGPhase decides it.

    Targets are `dag.target` or the tasks nothing depends on. A target that completed has its own
    phase; one that was skipped or omitted inherits its branch's phase, failure preferred ("an
    omitted task always inherits the phase of its parents, with preference of Failed or Error").
    A failed target fails the DAG unless its continueOn covers that phase. failFast (default true)
    only lets the controller decide that before untouched targets are created; every task whose
    dependencies are fulfilled is scheduled first, so a run to completion ends the same way.
    """
    memo: dict[str, Phase] = {}

    def branch(name: str) -> Phase:
        if name not in memo:
            own = states[name].phase
            if own.completed:
                memo[name] = own
            elif own is Phase.NOT_VERIFIABLE:
                memo[name] = Phase.SUCCEEDED
            else:
                inherited = [branch(d) for d in deps[name]]
                memo[name] = next((p for p in inherited if p.failed), Phase.SUCCEEDED)
        return memo[name]

    target = str(template["dag"].get("target") or "").split()
    dependants = {d for names in deps.values() for d in names}
    targets = target or sorted(n for n in tasks if n not in dependants)
    for name in targets:
        if name not in states:
            continue
        phase = branch(name)
        continue_on = tasks[name].get("continueOn") or {}
        if phase.failed and not continue_on.get("failed" if phase is Phase.FAILED else "error"):
            return phase
    return Phase.SUCCEEDED


def _artifact_texts(artifacts: Mapping[str, Path]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for name, path in artifacts.items():
        if path.is_file() and path.stat().st_size <= MAX_ARTIFACT_TEXT:
            try:
                texts[name] = path.read_text(encoding="utf-8").removesuffix("\n")
            except UnicodeDecodeError:
                continue
    return texts


def run_workflow(yaml_text: str, options: LocalOptions = LocalOptions()) -> WorkflowRun:
    """Run the workflow in a temporary folder, removed afterwards; never raises for a bad step."""
    try:
        workflow = yaml.safe_load(yaml_text)
    except yaml.YAMLError as error:
        return WorkflowRun(Phase.ERROR, (), f"the workflow is not valid YAML: {error}")
    if not isinstance(workflow, dict) or "spec" not in workflow:
        return WorkflowRun(Phase.ERROR, (), "not an Argo Workflow: no spec")
    workdir = Path(tempfile.mkdtemp(prefix="airflow2kfp-argo-"))
    try:
        return _Executor(workflow, options, workdir).run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
