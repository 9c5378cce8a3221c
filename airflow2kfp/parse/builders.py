"""Building DAG, TaskGroup and task records from the calls that create them.

Ids follow Airflow's rules (group prefixes, `__N` suffixes for repeated TaskFlow calls, the key
regexes), and task arguments are merged with default_args as Airflow's BaseOperator merges them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import libcst as cst

from airflow2kfp.diagnostics import Severity
from airflow2kfp.model import PythonCallable, Unresolved
from airflow2kfp.parse import imports
from airflow2kfp.parse.budget import TASKS
from airflow2kfp.parse.dependencies import Dependencies
from airflow2kfp.parse.state import describe, shown
from airflow2kfp.parse.values import (
    BoundMethodValue,
    DagRecord,
    Function,
    GroupRecord,
    InstanceValue,
    LambdaValue,
    LocalClass,
    MappedArgValue,
    Partial,
    PartialValue,
    Ref,
    Scope,
    TaskFlow,
    TaskRecord,
    XComDerived,
    XComValue,
)

KEY_REGEX = re.compile(r"^[\w.-]+$")  # Airflow's validate_key
GROUP_KEY_REGEX = re.compile(r"^[\w-]+$")  # Airflow's validate_group_key: no dots in a group id
MAX_KEY_LENGTH = 250
# keyword arguments that place a task rather than configure it
_STRUCTURAL = frozenset({"dag", "task_group"})


class Builders(Dependencies):
    def make_dag(self, node: cst.CSTNode, dag_id: Any, kwargs: dict[str, Any]) -> DagRecord:
        """A new DAG. One that cannot be named or repeats an id is still built - so its tasks do not
        read as orphans - but kept out of the results; its diagnostic says why."""
        self.dag_creations += 1
        settings = {k: v for k, v in kwargs.items() if k != "dag_id"}
        default_args = settings.get("default_args")
        name = dag_id if isinstance(dag_id, str) else describe(dag_id)
        dag = DagRecord(
            name, self.span(node), settings, default_args if isinstance(default_args, dict) else {}
        )
        dag.root.default_args = dict(dag.default_args)
        if not isinstance(dag_id, str):
            self.report("A2K209", f"The dag_id `{name}` cannot be evaluated statically.", node, dag=dag)
        elif any(d.dag_id == dag_id for d in self.dags):
            # as Airflow's DagBag: a later DAG of the same dag_id replaces the earlier one (a @dag
            # function called twice loads fine), so the last one built is converted, and said
            self.report(
                "A2K206",
                f"The dag_id {shown(dag_id)} is already used in this file; Airflow keeps the "
                "last DAG built with it, which is read.",
                node,
                dag=dag,
                severity=Severity.WARNING,
            )
            self.dags[:] = [d for d in self.dags if d.dag_id != dag_id]
            if self.check_id(node, dag_id, KEY_REGEX, "dag_id", dag=dag):
                self.dags.append(dag)
        elif self.check_id(node, dag_id, KEY_REGEX, "dag_id", dag=dag):
            self.dags.append(dag)
        return dag

    def make_group(
        self, node: cst.Call, group_id: Any, kwargs: dict[str, Any], *, suffix: bool = False
    ) -> Any:
        parent = kwargs.get("parent_group")
        dag = kwargs.get("dag")
        if not isinstance(parent, GroupRecord):
            parent = dag.root if isinstance(dag, DagRecord) else (self.context[-1] if self.context else None)
        if parent is None:
            self.report("A2K207", "A TaskGroup is created outside any DAG.", node)
            return self.unresolved(node)
        if not isinstance(group_id, str):
            self.report(
                "A2K205", f"The group_id `{describe(group_id)}` cannot be evaluated statically.", node
            )
            return self.unresolved(node)
        prefix = kwargs.get("prefix_group_id", True)
        own_default_args = kwargs.get("default_args")
        full = parent.child_id(group_id)
        if suffix and full in parent.dag.groups:  # @task_group called twice: Airflow adds __1, __2
            n = 1
            while parent.child_id(f"{group_id}__{n}") in parent.dag.groups:
                n += 1
            group_id, full = f"{group_id}__{n}", parent.child_id(f"{group_id}__{n}")
        self.check_id(node, group_id, GROUP_KEY_REGEX, "group_id", dag=parent.dag)
        if full in parent.dag.groups or full in parent.dag.tasks:
            self.report("A2K201", f"The group_id {full!r} is already used in this DAG.", node, dag=parent.dag)
        tooltip = kwargs.get("tooltip")
        group = GroupRecord(
            full,
            parent.dag,
            parent,
            prefix_group_id=bool(prefix) if self.is_data(prefix, node) else True,
            tooltip=tooltip if isinstance(tooltip, str) else None,
            default_args={
                **parent.default_args,
                **(own_default_args if isinstance(own_default_args, dict) else {}),
            },
        )
        parent.dag.groups.setdefault(full, group)
        return group

    def placement(self, node: cst.Call, kwargs: dict[str, Any] | None, airflow: bool) -> GroupRecord | None:
        """The group a new task goes in: dag=/task_group= arguments first, then the `with` context."""
        self.graph_calls += 1
        kwargs = kwargs or {}
        group = kwargs.get("task_group")
        if isinstance(group, GroupRecord):
            return group
        dag = kwargs.get("dag")
        if isinstance(dag, DagRecord):
            in_context = self.context and self.context[-1].dag is dag
            return self.context[-1] if in_context else dag.root
        if "dag" in kwargs and dag is not None:
            self.report("A2K207", f"The dag= argument `{describe(dag)}` is not a DAG the reader found.", node)
            return None
        if self.context:
            if all(g.group_id is not None for g in self.context):
                # `with TaskGroup("g", dag=dag):` outside any `with DAG`: Airflow 2 and 3 put the tasks made
                # in it in the group but in no DAG (they are lost), whatever is wired to them
                self.report(
                    "A2K207",
                    "This task is made in a TaskGroup's `with` block outside any `with DAG` "
                    "and without dag=: Airflow adds it to no DAG.",
                    node,
                    dag=self.context[-1].dag,
                )
                self.report_unsure(
                    "Tasks Airflow adds to no DAG are wired to this DAG's tasks in ways the static "
                    "reading does not follow.",
                    node,
                    self.context[-1].dag,
                )
                return None
            return self.context[-1]
        if airflow:  # in no DAG yet: an edge to a task of a DAG adds it there (see Dependencies.adopt)
            return self.nowhere.root
        return None

    def task_id_of(self, node: cst.Call, label: Any, group: GroupRecord) -> str | None:
        if not isinstance(label, str):
            self.report(
                "A2K205",
                f"The task_id `{describe(label)}` cannot be evaluated statically.",
                node,
                dag=group.dag,
            )
            return None
        full = group.child_id(label)
        if not self.check_id(node, full, KEY_REGEX, "task_id", dag=group.dag):
            return None
        if full in group.dag.tasks and not group.dag.placeholder:
            self.report(
                "A2K201",
                f"The task_id {full!r} is already used in this DAG "
                f"(first at line {group.dag.tasks[full].span.line}).",
                node,
                task_id=full,
                dag=group.dag,
            )
            return None
        return full

    def check_id(
        self, node: cst.CSTNode, key: str, regex: re.Pattern[str], what: str, *, dag: DagRecord
    ) -> bool:
        if len(key) <= MAX_KEY_LENGTH and regex.match(key):
            return True
        if len(key) > MAX_KEY_LENGTH:
            why = f"longer than {MAX_KEY_LENGTH} characters"
        else:
            allowed = (
                "letters, digits, '-' and '_'" if what == "group_id" else "letters, digits, '-', '.' and '_'"
            )
            why = f"not made of {allowed}"
        self.report("A2K208", f"The {what} {shown(key)} is {why}.", node, dag=dag)
        return False

    def merged_defaults(self, group: GroupRecord, own: Any) -> dict[str, Any]:
        """Airflow's get_merged_defaults: DAG default_args, then the group's, then the task's own."""
        merged = dict(group.default_args)
        if isinstance(own, dict):
            params = merged.get("params")
            merged.update(own)
            if isinstance(params, dict) and isinstance(own.get("params"), dict):
                merged["params"] = {**params, **own["params"]}
        return merged

    def effective_values(self, group: GroupRecord, kwargs: dict[str, Any]) -> dict[str, Any]:
        defaults = self.merged_defaults(group, kwargs.get("default_args"))
        defaults.pop("default_args", None)
        own = {k: v for k, v in kwargs.items() if k not in _STRUCTURAL and k != "default_args"}
        values = {**defaults, **own}
        # params from default_args merge under the task's params key by key, as in Airflow
        if isinstance(defaults.get("params"), dict) and isinstance(own.get("params"), dict):
            values["params"] = {**defaults["params"], **own["params"]}
        return values

    def make_operator(
        self,
        node: cst.Call,
        operator: str,
        module: str,
        kwargs: dict[str, Any] | None,
        *,
        bases: tuple[str, ...] = (),
        airflow_ref: Ref | None = None,
        mapped: dict[str, Any] | None = None,
    ) -> Any:
        # Airflow's own classes and local subclasses of them are surely operators; other classes with a
        # task_id outside any DAG could be anything, and are left alone
        surely_operator = airflow_ref is None or imports.is_airflow(airflow_ref) or bool(bases)
        group = self.placement(node, kwargs, airflow=surely_operator)
        if group is None:
            return self.unresolved(node)
        if kwargs is None:
            self.report(
                "A2K205",
                "The task's keyword arguments (**) cannot be evaluated statically.",
                node,
                dag=group.dag,
            )
            task_id = None
            kwargs = {}
        else:
            task_id = self.task_id_of(node, kwargs.get("task_id", Unresolved("<missing task_id>")), group)
        task = TaskRecord(task_id, operator, module, self.span(node), group.dag, group, bases=bases)
        task.values = self.effective_values(group, kwargs)
        task.explicit = frozenset(k for k in kwargs if k not in _STRUCTURAL)
        task.python_callable = self.python_callable(kwargs.get("python_callable"), node)
        if mapped is not None:
            task.is_mapped, task.mapped_args = True, mapped
        is_subdag = (
            operator == "SubDagOperator" and airflow_ref is not None and imports.is_airflow(airflow_ref)
        )
        if is_subdag and not isinstance(kwargs.get("subdag"), DagRecord):
            # the sub-DAG's tasks become the parent's (parse/subdags.py): one not read is tasks missing
            self.report_unsure(
                f"The sub-DAG of this SubDagOperator (`{describe(kwargs.get('subdag'))}`) is not "
                "read statically; its tasks and their dependencies are missing.",
                node,
                group.dag,
            )
        return self.register(node, task)

    def python_callable(self, value: Any, node: cst.Call) -> Any:
        """What python_callable was, kept as the reader's value until the file has been read (the
        values a callable reads from its surroundings are those they have at the end, as at run time)."""
        if isinstance(value, TaskFlow):
            return value.function
        if isinstance(value, (Function, LambdaValue, PartialValue, BoundMethodValue)):
            return value
        if isinstance(value, InstanceValue):  # an object with __call__
            return BoundMethodValue(value.source, owner=value, method="__call__")
        if isinstance(value, Ref):
            return PythonCallable(value.name, None, module=value.module)
        return None

    def register(self, node: cst.CSTNode, task: TaskRecord) -> TaskRecord:
        """Add a task to its DAG, with the upstream edges its XCom arguments imply."""
        if task.task_id is None:
            return task
        if len(self.dagless if task.dag.placeholder else task.dag.tasks) >= self.limits.tasks_per_dag:
            raise self.over(
                TASKS,
                f"DAG {shown(task.dag.dag_id)} unrolls to more than "
                f"{self.limits.tasks_per_dag:,} tasks, the static reader's limit.",
                node,
            )
        self.walk([task.values, task.mapped_args], node)  # bounds the walk for XCom arguments below
        if task.dag.placeholder:
            self.dagless.append((node, task))
        else:
            task.dag.add_task(task)
            if (
                not task.is_mapped
            ):  # BaseOperator.__init__ joins a setup/teardown context; a mapped task does not
                self.setup_teardown.created(task)
        for ref in xcoms([task.values, task.mapped_args]):
            if ref.task.task_id is not None:
                self.add_edge(node, ref.task, task)
        return task

    def call_taskflow(
        self,
        node: cst.Call,
        flow: TaskFlow,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
        *,
        mapped: dict[str, Any] | None = None,
    ) -> Any:
        placing = {k: flow.options[k] for k in _STRUCTURAL if k in flow.options}  # @task(dag=dag)
        group = self.placement(node, placing, airflow=True)
        if group is None:
            return self.unresolved(node)
        label = flow.options.get("task_id", flow.function.name)
        if isinstance(label, str) and not group.dag.placeholder:  # no DAG: Airflow keeps the name as it is
            label = group.dag.unique_label(label, group)
        task_id = self.task_id_of(node, label, group)
        task = TaskRecord(
            task_id,
            flow.operator,
            flow.module,
            self.span(node),
            group.dag,
            group,
            is_setup=flow.is_setup,
            is_teardown=flow.is_teardown,
        )
        call_args: dict[str, Any] = {
            "op_args": tuple(args) if args is not None else Unresolved("*args"),
            "op_kwargs": kwargs if kwargs is not None else Unresolved("**kwargs"),
        }
        if args is None or kwargs is None:  # a spread the reader cannot see into may hold XCom results
            self.report_unsure(
                "The `*`/`**` arguments of this call cannot be evaluated statically; XCom "
                "results among them would be upstream edges not seen.",
                node,
                group.dag,
            )
        task.values = self.effective_values(
            group, {**{k: v for k, v in flow.options.items() if k not in placing}, **call_args}
        )
        task.explicit = (flow.explicit - frozenset(placing)) | frozenset(call_args)
        task.python_callable = flow.function
        if mapped is not None:
            task.is_mapped, task.mapped_args = True, mapped
        self.register(node, task)
        return XComValue(task, "return_value")

    def make_partial(self, node: cst.Call, target: Ref | LocalClass, scope: Scope) -> Any:
        _, kwargs = self.arguments(node, scope)
        return Partial(target, kwargs or {}, node) if kwargs is not None else self.unresolved(node)


def xcoms(value: Any) -> Iterator[XComValue]:
    """The XCom values inside an argument; a mapped group's argument stands for every XCom its group
    maps over (Airflow's MappedArgument.iter_references)."""
    if isinstance(value, XComValue):
        yield value
    elif isinstance(value, XComDerived):
        for task in value.tasks:
            yield XComValue(task)
    elif isinstance(value, MappedArgValue):
        yield from xcoms(value.group.mapped_args)
    elif isinstance(value, dict):
        for item in value.values():
            yield from xcoms(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from xcoms(item)
