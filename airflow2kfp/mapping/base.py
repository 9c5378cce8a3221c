"""What a mapping returns: how one Airflow task becomes a KFP task, and how faithful that is."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow2kfp.diagnostics import Diagnostic
from airflow2kfp.model import Dag, FileLocation, Task
from airflow2kfp.results import Fidelity
from airflow2kfp.settings import DEFAULTS


@dataclass(frozen=True)
class PipelineParameter:
    """A parameter of the pipeline function: a DAG param, or a run value such as the logical date.

    `scheduled_value` is what a recurring run passes for it (KFP's `[[ScheduledTime.<Go format>]]`
    macro), when it differs from the default.
    """

    name: str  # a Python identifier, the parameter's name in the pipeline function and in KFP
    annotation: str  # "str", "int", "float", "bool", "dict", "list"
    default: Any
    description: str = ""
    scheduled_value: str | None = None
    key: str | None = None  # a DAG param's own key in Airflow's `params` (the name is an identifier)


@dataclass(frozen=True)
class ParamRef:
    """An argument value that is a pipeline parameter (emitted as the parameter's name)."""

    name: str


@dataclass(frozen=True)
class RunIdRef:
    """The id of the running pipeline: KFP's `dsl.RUN_ID_PLACEHOLDER`, substituted by Argo."""


@dataclass(frozen=True)
class Interpolated:
    """A string built from text and run-time values, emitted as an f-string."""

    parts: tuple[Any, ...]  # str, ParamRef or RunIdRef


@dataclass(frozen=True)
class ComponentDef:
    """A reusable component, defined once per generated file and called by each task that uses it.

    Either `spec` (a KFP component spec, emitted as YAML text for `load_component_from_text`) or
    `code` (Python source that binds `key`, e.g. a function turned into a component) is given.
    """

    key: str  # the module-level Python name it is bound to, e.g. "BASH"
    description: str
    spec: Mapping[str, Any] | None = None
    code: str | None = None
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskMapping:
    task_id: str
    fidelity: Fidelity
    component: ComponentDef | None  # None when the task is removed
    arguments: Mapping[str, Any] = field(default_factory=dict)  # component input -> value
    # extra method calls on the task, as source text after the dot: 'add_env_variable(...)'
    task_calls: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    notes: tuple[str, ...] = ()  # short human notes on what differs, for the report
    parameters: tuple[PipelineParameter, ...] = ()  # pipeline parameters its arguments refer to
    imports: tuple[str, ...] = ()  # import lines its task_calls need


@dataclass(frozen=True)
class MappingOptions:
    """Options every mapping may read; immutable so it travels safely to worker processes. The
    defaults are the settings model's (airflow2kfp.settings), where each option is described."""

    bash_image: str = DEFAULTS.bash_image
    utility_image: str = DEFAULTS.utility_image  # for no-op and placeholder steps
    keep_empty: bool = DEFAULTS.keep_empty
    python_image: str = DEFAULTS.python_image  # base image of Python components
    # runs operators without a mapping; None: the image of the DAG's Airflow major (settings.AIRFLOW_IMAGES)
    airflow_image: str | None = DEFAULTS.airflow_image
    operator_fallback: bool = (
        DEFAULTS.operator_fallback
    )  # False: operators without a mapping become placeholders
    # what a Bash step's command calls -> the image that has it (airflow2kfp.mapping.bash_images)
    tool_images: tuple[tuple[str, str], ...] = tuple(DEFAULTS.tool_images.items())


@dataclass(frozen=True)
class MappingContext:
    dag: Dag
    options: MappingOptions
    # where the DAG's file lies (template files are read from there); None: the DAG's own span file,
    # and nothing outside its folder is read
    location: FileLocation | None = None


Mapper = Callable[[Task, MappingContext], TaskMapping]


@dataclass(frozen=True)
class OperatorFamily:
    """One operator family: which Airflow classes it handles and the function that maps them."""

    name: str
    description: str  # one line, listed by `airflow2kfp families`
    operators: frozenset[str]  # class names as Airflow defines them, e.g. "BashOperator", "task.bash"
    map_task: Mapper
    # also the subclasses of its operators (a company's KubernetesPodOperator wrapper is still a pod)
    subclasses: bool = False

    def handles(self, task: Task) -> bool:
        # Only classes that really come from Airflow: a user's own class named BashOperator is not.
        if task.operator in self.operators and is_airflow_module(task.operator_module):
            return True
        return self.subclasses and self.base_of(task) is not None

    def base_of(self, task: Task) -> str | None:
        """The Airflow class of this family the task's operator extends (its nearest), if any."""
        for base in (*task.operator_mro, *task.operator_bases):
            module, _, name = base.rpartition(".")
            if name in self.operators and is_airflow_module(module):
                return name
        return None


# operators whose subclasses are mapped as the operator itself: what they run is the container
CONTAINER_OPERATORS = frozenset({"KubernetesPodOperator", "DockerOperator"})


def family_operator(task: Task) -> str:
    """The operator as the mappings know it: a subclass of KubernetesPodOperator or DockerOperator
    (a company's wrapper, GKEStartPodOperator) by the Airflow class it extends, any other by its own."""
    if task.operator in CONTAINER_OPERATORS:
        return task.operator
    for base in (*task.operator_mro, *task.operator_bases):
        module, _, name = base.rpartition(".")
        if name in CONTAINER_OPERATORS and is_airflow_module(module):
            return name
    return task.operator


def task_location(task: Task) -> dict[str, Any]:
    """The task's location as `diag(...)` keyword arguments: file, line, col, task_id."""
    return {"file": task.span.file, "line": task.span.line, "col": task.span.col, "task_id": task.task_id}


def is_airflow_module(module: str) -> bool:
    return module == "airflow" or module.startswith("airflow.")
