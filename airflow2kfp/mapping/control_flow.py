"""Control flow: the KFP structure each Airflow task gets, and the Argo `depends` its rule becomes.

For every emitted task this decides
- its conditions: a task directly after a branch runs inside `dsl.Condition(<branch>.outputs
  ['follow_<task>'] == 'true')`; a task after a short-circuit inside `<sc>.outputs['proceed'] ==
  'true'`, and, with `ignore_downstream_trigger_rules` (the default), so does every task further
  down whose rule could fire with a skipped upstream (the others are skipped by their rule anyway);
- its loops: a mapped task runs inside `dsl.ParallelFor` over the mapped list (nested loops for
  several mapped arguments: Airflow maps over their cross product);
- its upstream steps (`after`) and, where `dependencies` would not mean the rule, the `depends`
  expression (see `airflow2kfp.emit.postcompile` for why plain `dependencies` is exact elsewhere);
- its semantics: exact, or what differs from Airflow and why, for the report and conversion.json.

Each condition or loop holds one Airflow task, so its node in the DAG stands for that task: Skipped
when the condition is false, else the task's own result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from airflow2kfp import graph
from airflow2kfp.mapping import derived_items
from airflow2kfp.mapping import trigger_rules as tr
from airflow2kfp.mapping.base import ParamRef
from airflow2kfp.mapping.fan_in import Collected
from airflow2kfp.model import (
    DEFAULT_TRIGGER_RULE,
    DERIVED_XCOMS,
    Dag,
    MappedArg,
    Task,
    Unresolved,
    XComConcat,
    XComMap,
    XComRef,
    XComZip,
    derived_inputs,
    derived_text,
)
from airflow2kfp.names import python_identifier

BRANCH_OPERATORS = frozenset(
    {
        "BranchPythonOperator",
        "BranchExternalPythonOperator",
        "BranchPythonVirtualenvOperator",
        "BranchDayOfWeekOperator",
        "BranchDateTimeOperator",
        "BranchSQLOperator",
        "task.branch",
        "task.branch_virtualenv",
        "task.branch_external_python",
    }
)
SHORT_CIRCUIT_OPERATORS = frozenset({"ShortCircuitOperator", "task.short_circuit"})
MAX_EXPRESSION = 4000  # characters; beyond this an Omitted upstream is read as upstream_failed


class LoopValue(str):
    """A mapped argument inside its `dsl.ParallelFor`: rendered as the loop variable.

    A `str` so that mappings which expect text (a bash command) accept it unchanged."""

    variable: str

    def __new__(cls, variable: str) -> LoopValue:
        value = super().__new__(cls, variable)
        value.variable = variable
        return value


# Attributes of the loop variable itself (kfp 1.8.22's LoopArguments, kfp 2.17.3's LoopParameterArgument):
# in a loop over a step's output `item.name` is the loop argument's own name, not the item's field
# `name`. Any other attribute is the item's field (their `__getattr__`), so a field of one of these
# names is read through `__getattr__` (item_field).
LOOP_ARGUMENT_ATTRIBUTES = frozenset(
    {
        # kfp 1.8.22 (dsl._for_loop.LoopArguments, dsl._pipeline_param.PipelineParam)
        "LEGAL_SUBVAR_NAME_REGEX",
        "LOOP_ITEM_NAME_BASE",
        "LOOP_ITEM_PARAM_NAME_BASE",
        "NUM_CODE_CHARS",
        "_make_name",
        "_subvar_name_is_legal",
        "from_pipeline_param",
        "full_name",
        "ignore_type",
        "items_or_pipeline_param",
        "name",
        "name_is_loop_argument",
        "name_is_withitems_loop_argument",
        "name_is_withparams_loop_argument",
        "op_name",
        "param_type",
        "pattern",
        "referenced_subvar_names",
        "remove_loop_item_base_name",
        "to_list_for_task_yaml",
        "to_struct",
        "value",
        # kfp 2.17.3 (dsl.for_loop.LoopParameterArgument, dsl.pipeline_channel.PipelineParameterChannel)
        "_abc_impl",
        "_referenced_subvars",
        "channel_type",
        "from_pipeline_channel",
        "from_raw_items",
        "is_with_items_loop_argument",
        "items_or_pipeline_channel",
        "pipeline",
        "task",
        "task_name",
    }
)


def item_field(variable: str, key: str) -> LoopValue:
    """The field `key` of the item of a loop over a step's output (Argo's `{{item.<key>}}`, kfp 2's
    selector `parseJson(string_value)["<key>"]`): `variable.key`, or `variable.__getattr__('key')`
    where `key` is an attribute of the loop variable itself (`item.name` would be the loop's own
    name). Not for a loop over literal dicts, whose keys kfp sets as the variable's attributes (an
    explicit `__getattr__` there builds on a name a key may have replaced)."""
    if key in LOOP_ARGUMENT_ATTRIBUTES or key.startswith("__"):
        return LoopValue(f"{variable}.__getattr__({key!r})")
    return LoopValue(f"{variable}.{key}")


class WholeItem(LoopValue):
    """An `expand_kwargs` item the step reads as a whole (JSON), its keys not spread into the operator's
    arguments: the items are known only at run time, or their keys differ."""


@dataclass(frozen=True)
class Condition:
    source: str  # the Airflow task whose output decides
    output: str  # its component output holding "true" or "false"
    kind: str  # "branch" or "short_circuit"


@dataclass(frozen=True)
class Loop:
    over: Any  # a literal list, an XComRef to an upstream's output, or a mapped task's Collected results
    # (or a ParamRef: a pipeline parameter holding the list, when no reader could read it)
    variable: str  # the loop variable in the generated Python
    group: str | None = None  # the mapped task group whose loop it is: one loop around all its tasks
    unread: str | None = None  # the source of a list no reader could read (`over` is then a ParamRef)


@dataclass(frozen=True)
class Product:
    """The items of a task mapped over several lists, one of them known only at run time: KFP 1.8
    cannot compile a loop over an upstream's output nested in another loop, so one step (`<task>
    items`, see emit/python.py) computes their cross product, in Airflow's map-index order (the last
    argument fastest), as one JSON list of objects, and one loop runs over it: each mapped argument
    is the item's field of its name (Argo's `{{item.<name>}}`)."""

    task_id: str
    fields: tuple[tuple[str, Loop], ...]  # mapped argument -> the loop it would have had on its own
    # one argument mapped over a zip, map or concat of XComs (model.XComZip...): the step computes its
    # items as Airflow does (derived_items.py) and the loop runs over them as they are, not as objects
    bare: bool = False


def leaf_loops(loops: Sequence[Loop]) -> list[Loop]:
    """The loops, with a cross product's loop standing for the loop of each of its arguments, and an
    argument mapped over a zip, map or concat of XComs for a loop over each XCom it reads."""
    return [
        leaf
        for loop in loops
        for inner in ([field for _, field in loop.over.fields] if isinstance(loop.over, Product) else [loop])
        for leaf in (
            [replace(inner, over=ref) for ref in derived_inputs(inner.over)]
            if isinstance(inner.over, DERIVED_XCOMS)
            else [inner]
        )
    ]


@dataclass(frozen=True)
class Semantics:
    differences: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return "differs" if self.differences else "exact"


@dataclass(frozen=True)
class TaskControl:
    task_id: str
    rule: str  # the effective trigger rule
    after: tuple[str, ...]  # Airflow ids of the emitted steps it is ordered after
    conditions: tuple[Condition, ...] = ()
    loops: tuple[Loop, ...] = ()
    depends: str | None = None  # over KFP task names; None: plain `dependencies` is exact
    semantics: Semantics = Semantics()


def effective_rule(task: Task) -> str:
    """The rule Airflow applies: teardowns default to all_done_setup_success (as_teardown, @teardown)."""
    if task.is_teardown and "trigger_rule" not in task.args.explicit:
        return "all_done_setup_success"
    # an older name (`dummy`, `none_failed_or_skipped`) is the rule it became; a name no Airflow knows
    # (Airflow rejects it when the DAG is parsed) runs as the default, and _differences says so
    return tr.canonical(task.trigger_rule) or DEFAULT_TRIGGER_RULE


# the bases a class defined in the repo inherits its deciding from
_BRANCH_BASES = ("BaseBranchOperator", "BranchMixIn", *BRANCH_OPERATORS)


def _airflow_class(task: Task, names: frozenset[str]) -> bool:
    # as OperatorFamily.handles decides: only Airflow's own class of that name (a user's is not)
    return task.operator in names and (
        task.operator_module == "airflow" or task.operator_module.startswith("airflow.")
    )


def is_custom_branch(task: Task) -> bool:
    """A branch operator the repo defines itself (a subclass of BaseBranchOperator and kin)."""
    return not _airflow_class(task, BRANCH_OPERATORS) and any(
        b.rsplit(".", 1)[-1] in _BRANCH_BASES for b in task.operator_bases
    )


def is_custom_short_circuit(task: Task) -> bool:
    return not _airflow_class(task, SHORT_CIRCUIT_OPERATORS) and any(
        b.rsplit(".", 1)[-1] in SHORT_CIRCUIT_OPERATORS for b in task.operator_bases
    )


def is_branch(task: Task) -> bool:
    return _airflow_class(task, BRANCH_OPERATORS) or is_custom_branch(task)


def is_short_circuit(task: Task) -> bool:
    return _airflow_class(task, SHORT_CIRCUIT_OPERATORS) or is_custom_short_circuit(task)


def branch_output(task_id: str) -> str:
    return f"follow_{python_identifier(task_id)}"


def ignores_downstream_rules(task: Task) -> bool:
    return task.args.get("ignore_downstream_trigger_rules", True) is not False


def mapped_upstreams(dag: Dag, task_id: str) -> list[str]:
    return [u for u in dag.upstream(task_id) if dag.task(u).is_mapped]


def _conditions(
    dag: Dag, task: Task, descendants: Mapping[str, set[str]], waited: AbstractSet[str]
) -> tuple[Condition, ...]:
    """The decisions the task runs under: each branch or short-circuit that decides it, among the tasks
    its step waits for (`waited`, transitively). A task Airflow starts at once (trigger_rule always)
    does not wait for a decision above it; a decision may only mark it skipped afterwards."""
    found: list[Condition] = []
    direct = dag.upstream(task.task_id)
    for up_id in direct:
        up = dag.task(up_id)
        if up_id not in waited:
            continue
        if is_branch(up):
            found.append(Condition(up_id, branch_output(task.task_id), "branch"))
        elif is_short_circuit(up):
            found.append(Condition(up_id, "proceed", "short_circuit"))
    if effective_rule(task) not in tr.SKIP_BLOCKS:
        for source in dag.tasks:
            if (
                is_short_circuit(source)
                and ignores_downstream_rules(source)
                and source.task_id not in direct
                and task.task_id in descendants[source.task_id]
                and source.task_id in waited
            ):
                found.append(Condition(source.task_id, "proceed", "short_circuit"))
    return tuple(found)


def _unwaited_deciders(
    dag: Dag, task: Task, descendants: Mapping[str, set[str]], waited: AbstractSet[str]
) -> list[str]:
    """Branches and short-circuits that could skip the task in Airflow but that its step does not wait for."""
    direct = set(dag.upstream(task.task_id))
    found = [
        up
        for up in sorted(direct)
        if up not in waited and (is_branch(dag.task(up)) or is_short_circuit(dag.task(up)))
    ]
    if effective_rule(task) not in tr.SKIP_BLOCKS:
        found += [
            s.task_id
            for s in dag.tasks
            if is_short_circuit(s)
            and ignores_downstream_rules(s)
            and s.task_id not in direct
            and task.task_id in descendants[s.task_id]
            and s.task_id not in waited
        ]
    return found


def loops_of(task: Task, dag: Dag) -> tuple[Loop, ...]:
    """The ParallelFor loops a task runs in, outermost first: those of the mapped task groups around
    it (one loop around all of a group's tasks), then, for a mapped task, one per mapped argument
    (Airflow maps over their cross product). A loop over the results of another mapped task
    iterates over the list Argo collects from that task's loop (see fan_in.py)."""
    loops = _loops(task, dag)
    return tuple(
        replace(loop, over=_collected_over(loop.over, loops[:index], dag)) for index, loop in enumerate(loops)
    )


def _collected_over(over: Any, around: Sequence[Loop], dag: Dag) -> Any:
    if isinstance(over, Product):
        return replace(
            over,
            fields=tuple(
                (name, replace(field, over=_collected_over(field.over, around, dag)))
                for name, field in over.fields
            ),
        )
    if isinstance(over, XComMap):
        return replace(over, arg=_collected_over(over.arg, around, dag))
    if isinstance(over, (XComZip, XComConcat)):
        return replace(over, args=tuple(_collected_over(arg, around, dag) for arg in over.args))
    return _collected(over, around, dag)


def _loops(task: Task, dag: Dag) -> tuple[Loop, ...]:
    """loops_of, with what each loop iterates over as the DAG names it (an XComRef, not Collected)."""
    found: list[Loop] = []
    for group in mapped_groups_around(task, dag):
        stem = python_identifier(group)
        mapped = dag.mapped_groups[group]
        loops = [
            _loop(value, f"{stem}_{'kwargs' if name == '*' else python_identifier(name)}", group)
            for name, value in mapped.items()
        ]
        found += (
            _product(group, mapped, loops, group)
            if _needs_product(loops)
            else _derived_items(group, list(mapped), loops)
        )
    if task.is_mapped:
        stem = python_identifier(task.task_id)
        named = [
            (
                name,
                _loop(
                    _flat_items(task, name, value),
                    f"{stem}_{'kwargs' if name == '*' else python_identifier(name)}",
                ),
            )
            for name, value in task.mapped_args.items()
        ]
        # a loop over a mapped task's results first: the compile step finds it outermost
        named = sorted(named, key=lambda pair: not _from_mapped(pair[1].over, dag))
        own = [loop for _, loop in named]
        found += (
            _product(task.task_id, task.mapped_args, own)
            if _needs_product(own)
            else _derived_items(task.task_id, [name for name, _ in named], own)
        )
    return tuple(found)


def _derived_items(owner: str, names: Sequence[str], loops: Sequence[Loop]) -> list[Loop]:
    """The loops, each over a zip, map or concat of XComs made a loop over the step computing its
    items (a Product of that one argument, `bare`): KFP loops over a list, not over Airflow's lazy
    sequences."""
    return [
        replace(loop, over=Product(owner, ((str(name), loop),), bare=True))
        if isinstance(loop.over, DERIVED_XCOMS)
        else loop
        for name, loop in zip(names, loops)
    ]


def _needs_product(loops: Sequence[Loop]) -> bool:
    """Several loops, an inner one over a list known only at run time: a nesting KFP 1.8 cannot compile.
    (Not when a literal list holds what no JSON can: the loops stay as they are.)"""
    return (
        len(loops) > 1
        and any(not isinstance(loop.over, (list, tuple)) for loop in loops[1:])
        and all(_json_data(loop.over) for loop in loops if isinstance(loop.over, (list, tuple)))
    )


def _json_data(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_json_data(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_data(v) for k, v in value.items())
    return False


def _product(
    owner: str, mapped: Mapping[str, Any], loops: Sequence[Loop], group: str | None = None
) -> list[Loop]:
    """One loop over the cross product of the mapped arguments' lists (Product), in their order."""
    stem = python_identifier(owner)
    fields = tuple(
        (str(name), _loop(value, f"{stem}_{python_identifier(name)}", group))
        for name, value in mapped.items()
    )
    return [Loop(Product(owner, fields), f"{stem}_item", group)]


def _loop(over: Any, variable: str, group: str | None = None) -> Loop:
    """A loop; over a list no reader could read (`range(n)` Airflow kept as an object, a value built by
    code), a pipeline parameter each run sets (a JSON list), never the unread value as code."""
    if _unread(over):
        return Loop(ParamRef(f"{variable}_items"), variable, group, unread=_unread_text(over))
    if isinstance(over, DERIVED_XCOMS):
        problem = derived_items.problem(over)
        if problem is not None:
            unread = f"{derived_text(over)} ({problem})"
            return Loop(ParamRef(f"{variable}_items"), variable, group, unread=unread)
    return Loop(over, variable, group)


def _unread(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, dict):
        return any(_unread(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_unread(v) for v in value)
    return False


def _unread_text(value: Any) -> str:
    if isinstance(value, Unresolved):
        return value.source
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_unread_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_unread_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def loop_parameters(loops: Sequence[Loop]) -> list[str]:
    """The pipeline parameters the loops iterate over (lists no reader could read)."""
    return [loop.over.name for loop in leaf_loops(loops) if isinstance(loop.over, ParamRef)]


def mapped_groups_around(task: Task, dag: Dag) -> list[str]:
    """The mapped task groups the task is in, outermost first."""
    if not dag.mapped_groups:
        return []
    found: list[str] = []
    group = task.group_id
    while group:
        if group in dag.mapped_groups:
            found.append(group)
        group = (dag.task_groups.get(group) or (None, None))[0]
    return found[::-1]


def _from_mapped(value: Any, dag: Dag) -> bool:
    if not isinstance(value, XComRef):
        return False
    try:
        return bool(_loops(dag.task(value.task_id), dag))
    except KeyError:
        return False


def collected(ref: Any, consumer: Task, dag: Dag) -> Any:
    """`ref` as the consumer receives it: a Collected list when its producer runs in loops the
    consumer is not in (a mapped task's results, outside its loop), else unchanged."""
    return _collected(ref, _loops(consumer, dag), dag)


def _collected(ref: Any, around: Sequence[Loop], dag: Dag) -> Any:
    if not isinstance(ref, XComRef) or isinstance(ref, Collected):
        return ref
    try:
        producer = _loops(dag.task(ref.task_id), dag)
    except KeyError:
        return ref
    shared = 0
    while shared < min(len(producer), len(around)) and producer[shared] == around[shared]:
        shared += 1
    depth = len(producer) - shared
    return Collected(ref.task_id, ref.key, depth) if depth else ref


def loops_outside_conditions(loops: Sequence[Loop]) -> bool:
    """KFP 1.8's compiler fails (fix_big_data_passing KeyError) on a ParallelFor over an upstream's
    output nested in a dsl.Condition; the other nesting compiles."""
    return any(isinstance(loop.over, (XComRef, Product)) for loop in loops)


def mapped_task(task: Task, loops: Sequence[Loop]) -> Task:
    """The task as its mapping sees it inside its loops: each mapped argument, and each argument of
    a mapped task group read inside it (MappedArg), is the loop variable; in `mapped_args` and in the
    task's arguments (for expand_kwargs over literal dicts, each key)."""
    if not loops:
        return task
    own = {loop.variable: loop for loop in loops if loop.group is None}
    stem = python_identifier(task.task_id)
    values = dict(task.args.values)
    mapped: dict[str, Any] = {}
    product = next(
        (loop for loop in own.values() if isinstance(loop.over, Product) and not loop.over.bare), None
    )
    for name, value in task.mapped_args.items():
        if product is not None:  # the item's field of the argument's name
            mapped[name] = values[name] = item_field(product.variable, str(name))
            continue
        loop = own[f"{stem}_{'kwargs' if name == '*' else python_identifier(name)}"]
        mapped[name] = LoopValue(loop.variable)
        shape = _item_shape(value, loop.variable) if not _takes_whole_items(task) else None
        if name == "*":
            if isinstance(shape, dict):
                values.update(shape)
            else:  # expand_kwargs over items known at run time (or of different shapes): the step reads them
                mapped[name] = WholeItem(loop.variable)
        else:
            values[name] = shape if shape is not None else LoopValue(loop.variable)
    groups = {loop.group for loop in loops if loop.group is not None}
    if groups:
        values = {key: _group_items(value, groups, loops) for key, value in values.items()}
    return replace(
        task,
        args=replace(task.args, values=values, explicit=task.args.explicit | set(values)),
        mapped_args=mapped,
    )


# An operator's argument mapped over literal items that are lists or dicts (KubernetesPodOperator
# `arguments`, `env_vars`, BashOperator `env` in expand_kwargs) must reach the step as separate values:
# Argo gives a loop item's keys one level deep (`{{item.key}}`), so each item is flattened into one
# dict of scalars (`key__sub`, `key__0`) and the argument becomes that shape of loop variables.
# Python steps take the whole item (JSON) instead (mapped_call.py).
_SEPARATOR = "__"


def _takes_whole_items(task: Task) -> bool:
    return task.operator == "task" or task.operator.startswith("task.") or "Python" in task.operator


def _flat_items(task: Task, name: str, value: Any) -> Any:
    """The items a task's own loop iterates over: flattened for an operator's structured arguments."""
    if _takes_whole_items(task) or not isinstance(value, list) or _item_shape(value, "") is None:
        return value
    return [_flatten(item, "") if isinstance(item, (dict, list)) else item for item in value]


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    entries = value.items() if isinstance(value, dict) else ((f"a{i}", v) for i, v in enumerate(value))
    flat: dict[str, Any] = {}
    for key, item in entries:
        path = f"{prefix}{_SEPARATOR}{key}" if prefix else str(key)
        flat.update(_flatten(item, path) if isinstance(item, (dict, list)) and item else {path: item})
    return flat


def _item_shape(items: Any, variable: str) -> Any:
    """The argument as loop variables when every literal item is a dict or list of the same shape
    (scalars at the leaves): `{k: var.k}`, `[var.a0, var.a1]`; a scalar item is the variable itself;
    None when items differ in shape or are not literal."""
    if not isinstance(items, list) or not items:
        return None
    shapes = {_structure(item) for item in items}
    if len(shapes) != 1 or None in shapes:
        return None
    return _shaped(items[0], variable, "")


def _structure(value: Any) -> Any:
    """A hashable description of a value's shape: keys and positions down to scalar leaves."""
    if isinstance(value, dict):
        if not value or not all(
            isinstance(k, str) and k.isidentifier() and _SEPARATOR not in k for k in value
        ):
            return None
        inner = tuple((k, _structure(v)) for k, v in sorted(value.items()))
        return None if any(s is None for _, s in inner) else ("dict", inner)
    if isinstance(value, list):
        if not value:
            return None
        inner = tuple(_structure(v) for v in value)
        return None if any(s is None for s in inner) else ("list", inner)
    return "scalar" if value is None or isinstance(value, (str, int, float, bool)) else None


def _shaped(value: Any, variable: str, prefix: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _shaped(v, variable, f"{prefix}{_SEPARATOR}{k}" if prefix else k) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _shaped(v, variable, f"{prefix}{_SEPARATOR}a{i}" if prefix else f"a{i}")
            for i, v in enumerate(value)
        ]
    # a loop over literal dicts: kfp sets each key of the first item as an attribute of the loop
    # variable (`name` too), so the plain attribute is the item's field
    return LoopValue(f"{variable}.{prefix}" if prefix else variable)


def _group_items(value: Any, groups: set[str], loops: Sequence[Loop]) -> Any:
    """MappedArg values (at any depth) as the loop variable of their group's loop."""
    if isinstance(value, MappedArg) and value.group_id in groups:
        stem = python_identifier(value.group_id)
        by_variable = {loop.variable: loop for loop in loops if loop.group == value.group_id}
        product = by_variable.get(f"{stem}_item")
        if product is not None and isinstance(
            product.over, Product
        ):  # the item's field of the argument's name
            return item_field(f"{stem}_item", value.key)
        kwargs = by_variable.get(f"{stem}_kwargs")
        if kwargs is not None:  # expand_kwargs: the item's key (an attribute of a literal loop's variable)
            if isinstance(kwargs.over, (list, tuple)):
                return LoopValue(f"{stem}_kwargs.{value.key}")
            return item_field(f"{stem}_kwargs", value.key)
        return (
            LoopValue(f"{stem}_{python_identifier(value.key)}")
            if f"{stem}_{python_identifier(value.key)}" in by_variable
            else value
        )
    if isinstance(value, dict):
        return {k: _group_items(v, groups, loops) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_group_items(v, groups, loops) for v in value)
    return value


def grouped_order(order: Sequence[str], edges: Sequence[tuple[str, str]], dag: Dag) -> list[str] | None:
    """`order` (topological) with the tasks of each mapped task group next to each other, so that one
    loop holds them all; None when that is impossible (a path leaves the group and comes back)."""
    blocks = {task_id: tuple(mapped_groups_around(dag.task(task_id), dag)) for task_id in order}
    if not any(blocks.values()):
        return list(order)
    return _grouped(list(order), edges, blocks, 0)


def _grouped(
    order: list[str], edges: Sequence[tuple[str, str]], blocks: Mapping[str, tuple[str, ...]], depth: int
) -> list[str] | None:
    unit = {t: f"group:{blocks[t][depth]}" if len(blocks[t]) > depth else f"task:{t}" for t in order}
    units = list(dict.fromkeys(unit[t] for t in order))
    if len(units) == len(order):
        return order
    inside = set(order)
    between = {(unit[a], unit[b]) for a, b in edges if a in inside and b in inside and unit[a] != unit[b]}
    if graph.find_cycle(units, between):
        return None
    result: list[str] = []
    for name in graph.topological(units, between):
        members = [t for t in order if unit[t] == name]
        nested = _grouped(members, edges, blocks, depth + 1) if name.startswith("group:") else members
        if nested is None:
            return None
        result += nested
    return result


def _uses_outputs_of(arguments: Mapping[str, Any], upstream_ids: Sequence[str]) -> bool:
    return any(isinstance(v, XComRef) and v.task_id in upstream_ids for v in arguments.values())


def plan_control(
    dag: Dag,
    order: Sequence[str],
    edges: Sequence[tuple[str, str]],
    kfp_names: Mapping[str, str],
    arguments: Mapping[str, Mapping[str, Any]],
) -> dict[str, TaskControl]:
    """Decide conditions, loops, ordering and `depends` for the emitted tasks `order` (topological)."""
    short_circuits = [t.task_id for t in dag.tasks if is_short_circuit(t)]
    descendants = graph.descendants([t.task_id for t in dag.tasks], dag.edges, short_circuits)
    upstream: dict[str, list[str]] = {task_id: [] for task_id in order}
    for up, down in edges:
        upstream[down].append(up)

    controls: dict[str, TaskControl] = {}
    reaches: dict[str, set[str]] = {}  # the tasks each step waits for, transitively (after and conditions)
    conditional: dict[str, bool] = {}
    omittable: dict[str, bool] = {}
    can_skip: dict[str, bool] = {}  # Airflow may mark it skipped
    omitted_may_be_skip: dict[str, bool] = {}  # its Argo Omitted may stand for Airflow's skipped

    def view(up_id: str) -> tr.Upstream:
        return tr.upstream(
            kfp_names[up_id],
            conditional=conditional[up_id],
            omittable=omittable[up_id],
            upstream_failed_if_omitted=upstream_failed(up_id) if omitted_may_be_skip[up_id] else tr.TRUE,
            is_setup=dag.task(up_id).is_setup,
        )

    @cache
    def upstream_failed(task_id: str) -> tr.Expr:
        return tr.upstream_failed_when_not_triggered(
            controls[task_id].rule, [view(u) for u in controls[task_id].after]
        )

    for task_id in order:
        task = dag.task(task_id)
        rule = effective_rule(task)
        differences: list[str] = []
        after = tuple(sorted(upstream[task_id], key=order.index))
        if rule == "always":
            if _uses_outputs_of(arguments.get(task_id, {}), after):
                differences.append(
                    "trigger_rule always: the step uses an upstream's output, so it waits for "
                    "that upstream; Airflow starts it at once"
                )
            else:
                after = ()  # Airflow does not wait for upstream tasks at all; neither does the step
        waited = set().union(*(reaches[u] for u in after), after)
        conditions = _conditions(dag, task, descendants, waited)
        reaches[task_id] = waited | {c.source for c in conditions}
        unwaited = _unwaited_deciders(dag, task, descendants, waited)
        if unwaited:
            differences.append(
                f"decided by {', '.join(unwaited)} (branch/short-circuit), which trigger_rule "
                "always (this task's, or one before it) does not wait for: Airflow starts the task "
                "at once and may mark it skipped when the decision comes after it ran; the KFP step "
                "does not wait for the decision and is not skipped"
            )
        loops = loops_of(task, dag)
        differences += [
            f"mapped over {loop.unread}, which could not be read as a list: the loop runs over the "
            f"pipeline parameter {loop.over.name} (a JSON list), which each run must set"
            for loop in leaf_loops(loops)
            if loop.unread is not None and loop.group is None
        ]
        differences += [
            f"in mapped task group {loop.group}, mapped over {loop.unread}, which could not be read "
            f"as a list: the loop runs over the pipeline parameter {loop.over.name} (a JSON list), "
            "which each run must set"
            for loop in loops
            if loop.unread is not None and loop.group
        ]
        conditional[task_id] = bool(conditions)
        omittable[task_id] = tr.can_be_omitted(rule, bool(after))
        omitted_may_be_skip[task_id] = rule in tr.SKIPS_ON_ITS_OWN or any(can_skip[u] for u in after)
        can_skip[task_id] = bool(conditions) or omitted_may_be_skip[task_id]
        depends = None
        if after and (rule != DEFAULT_TRIGGER_RULE or any(conditional[u] for u in after)):
            deciders = [view(c.source) for c in conditions if c.source not in after]
            depends = tr.depends(rule, [view(u) for u in after], deciders)
            if len(depends) > MAX_EXPRESSION:
                depends = tr.depends(
                    rule,
                    [
                        tr.upstream(kfp_names[u], conditional=conditional[u], omittable=omittable[u])
                        for u in after
                    ],
                    deciders,
                )
                differences.append(
                    "the exact expression is too long: an upstream that did not run is read "
                    "as upstream_failed, never as skipped"
                )
        if conditions and loops_outside_conditions(loops):
            differences.append(
                "a loop over an upstream's output inside a condition does not compile in KFP "
                "v1, so the condition is inside the loop: when the branch skips the task, the "
                "loop node ends Succeeded where Airflow has the task skipped"
            )
        differences += _differences(dag, task, rule, conditions, after)
        controls[task_id] = TaskControl(
            task_id, rule, after, conditions, loops, depends, Semantics(tuple(differences))
        )
    return controls


def _differences(
    dag: Dag, task: Task, rule: str, conditions: Sequence[Condition], after: Sequence[str]
) -> list[str]:
    found = []
    if tr.canonical(task.trigger_rule) is None and not (
        task.is_teardown and "trigger_rule" not in task.args.explicit
    ):
        found.append(
            f"trigger_rule {task.args.get('trigger_rule')!r} is no rule of any Airflow version (Airflow "
            f"rejects the DAG when it parses it); the step runs as {rule}"
        )
    if rule in tr.EAGER_RULES and len(after) > 1:
        found.append(
            f"trigger_rule {rule}: Airflow starts the task as soon as one upstream qualifies; Argo "
            "evaluates it once every upstream step finished (the same tasks run, later)"
        )
    if len(conditions) > 1:
        found.append(
            "decided by several branch/short-circuit tasks (nested conditions): when an inner one is "
            "false, the outer condition node ends Succeeded where Airflow has the task skipped"
        )
    sources = {c.source for c in conditions}
    if any(source not in after for source in sources):
        found.append(
            "inside the condition of a short-circuit further up: if that short-circuit task itself "
            "fails, Airflow still applies this task's rule, while the KFP condition has no decision to read"
        )
    if any(c.source in after for c in conditions) and any(u not in sources for u in after):
        found.append(
            "skipped by a branch/short-circuit while another upstream failed: Airflow's state "
            "(skipped or upstream_failed) depends on timing; KFP reads it as upstream_failed"
        )
    if rule != DEFAULT_TRIGGER_RULE and mapped_upstreams(dag, task.task_id):
        found.append(
            f"trigger_rule {rule} after a mapped task: Airflow counts each mapped instance, Argo the "
            "loop as one node (Failed if any instance failed)"
        )
    if task.is_mapped and any(isinstance(v, (XComRef, *DERIVED_XCOMS)) for v in task.mapped_args.values()):
        found.append(
            "mapped over an upstream's output: when the list is empty Airflow marks the task skipped; "
            "the KFP loop runs no iteration and its node is not Skipped"
        )
    found += [
        difference
        for value in task.mapped_args.values()
        if isinstance(value, DERIVED_XCOMS) and derived_items.problem(value) is None
        for difference in derived_items.differences(value)
    ]
    found += [
        f"in mapped task group {group}, {difference}"
        for group in mapped_groups_around(task, dag)
        for value in dag.mapped_groups[group].values()
        if isinstance(value, DERIVED_XCOMS) and derived_items.problem(value) is None
        for difference in derived_items.differences(value)
    ]
    if task.args.get("soft_fail") is True:
        found.append(
            "soft_fail: on timeout (or failure) Airflow marks the task skipped and what follows applies "
            "its trigger rules to a skip; the KFP step fails instead"
        )
    if task.is_teardown:
        found.append(
            "teardown: a failing teardown fails the KFP run; Airflow ignores it for the DAG run's state "
            "unless on_failure_fail_dagrun is set"
        )
    return found
