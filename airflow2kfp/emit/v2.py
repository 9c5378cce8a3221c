"""Emit the KFP v2 pipeline (kfp 2.x DSL) from the same plan and mappings the v1 target uses.

The v1 plan (`emit/python.py`'s EmitPlan: task order, names, conditions, loops, trigger rules) and
the mappings' components and arguments are the one source; this module only decides the v2 shape:

- components: `v2_components` (container components from the specs, `dsl.component` from the
  Python steps' source, body unchanged);
- conditions: a task runs inside `dsl.If(<decider>.outputs['follow_x'] == 'true')` for each branch
  or short-circuit condition it has, and, when its rule is skipped by a skipped upstream
  (trigger_rules_v2.INHERIT_CONDITIONS), inside its upstreams' conditions too: KFP v2 rejects an
  edge into a `dsl.If` from outside it, and a task Airflow would skip with its upstream is exactly
  one the condition skips;
- where a task with another rule (a branch's join) runs after a conditional task, the `dsl.If`
  block holding that task becomes a sub-pipeline (a `@dsl.pipeline` function called as a task) and
  the join runs `.after()` it: the sub-pipeline succeeds when its tasks succeeded or were skipped;
- mapped tasks run in `dsl.ParallelFor`, their results reach later tasks through `dsl.Collected`;
- each task's rule becomes `.after(...)` and, where it must run after failures,
  `.ignore_upstream_failure()` (trigger_rules_v2); every run gets `set_caching_options(False)`
  (Airflow never skips a task because an identical one ran before).

What v2 cannot express (an edge out of a condition that no sub-pipeline can carry, data passed out
of one) raises `V2Unsupported`; the caller reports it (A2K802) and v1 is unaffected.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import jinja2
import networkx
import yaml

from airflow2kfp import __version__, graph
from airflow2kfp.emit import v2_structure as structure
from airflow2kfp.emit.imports import import_block
from airflow2kfp.emit.python import EmitPlan
from airflow2kfp.emit.v2_components import (
    CONTAINER_OUTPUT,
    Untranslatable,
    V2Component,
    container_component,
    empty_list_component,
    gather_component,
    items_component,
    product_component,
    python_component,
    run_time_component,
    v2_imports,
)
from airflow2kfp.emit.v2_structure import Block
from airflow2kfp.mapping import trigger_rules_v2 as v2r
from airflow2kfp.mapping.base import Interpolated, MappingOptions, ParamRef, RunIdRef, TaskMapping
from airflow2kfp.mapping.control_flow import Condition, LoopValue, Product, TaskControl, leaf_loops
from airflow2kfp.mapping.cross_product import derived_product, items_function, product_id
from airflow2kfp.mapping.empty import noop
from airflow2kfp.mapping.fan_in import Collected
from airflow2kfp.mapping.literals import comment_text, f_string, py_literal
from airflow2kfp.mapping.templates import RUN_MACRO
from airflow2kfp.mapping.xcom import XComText, output_name, text_output
from airflow2kfp.model import Dag, XComRef
from airflow2kfp.names import UniqueNames, k8s_name, python_identifier


class V2Unsupported(Exception):
    """The DAG has a shape KFP v2 cannot express; the message says which and why."""


@dataclass(frozen=True)
class V2TaskPlan:
    task_id: str
    variable: str
    conditions: tuple[Condition, ...]  # outermost first, inherited ones included
    ignore_upstream_failure: bool
    differences: tuple[str, ...]
    region: str | None = None  # the sub-pipeline holding it, if any
    exit_handler: bool = False  # the exit task of a dsl.ExitHandler around every task it follows


@dataclass(frozen=True)
class V2Plan:
    dag_id: str
    function_name: str
    pipeline_name: str
    source: str  # the generated Python
    tasks: Mapping[str, V2TaskPlan]
    notes: tuple[str, ...] = ()
    dropped_calls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # task -> v1 calls not carried
    helper_steps: tuple[str, ...] = ()  # display names of steps that stand for no Airflow task


DEFAULT_OPTIONS = MappingOptions()

# display names of the steps standing for no Airflow task (no Airflow task id has spaces or parentheses)
EMPTY_STEP = "no task (every task was removed)"  # the one step of a DAG whose tasks were all removed
RUN_TIME_STEP = "logical date (run time)"  # gives the logical-date parameters their values


# -- task calls: the mappings' v1 method calls in v2 terms ----------------------------------------

V2_METHODS = frozenset(
    {
        "set_memory_limit",
        "set_memory_request",
        "set_cpu_limit",
        "set_cpu_request",
        "set_gpu_limit",
        "set_accelerator_type",
        "set_accelerator_limit",
    }
)


def v2_calls(calls: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(method calls on the task, `kubernetes.<f>(task, ...)` statements with `{task}`, dropped calls)."""
    methods: list[str] = []
    statements: list[str] = []
    dropped: list[str] = []
    for call in calls:
        try:
            node = ast.parse(f"_task.{call}", mode="eval").body
        except SyntaxError:
            dropped.append(call)
            continue
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            dropped.append(call)
            continue
        name = node.func.attr
        text = f"_task.{call}"
        args = [ast.get_source_segment(text, a) or "" for a in node.args]
        keywords = {k.arg: ast.get_source_segment(text, k.value) or "" for k in node.keywords if k.arg}
        if name == "set_retry" and args:
            parts = [f"num_retries={args[0]}"]
            parts += [
                f"{key}={keywords[key]}" for key in ("backoff_duration", "backoff_factor") if key in keywords
            ]
            if "backoff_max_duration" in keywords:
                parts.append(f"backoff_max_duration={keywords['backoff_max_duration']}")
            methods.append(f"set_retry({', '.join(parts)})")
        elif name in V2_METHODS:
            methods.append(call)
        elif name == "set_timeout" and args:
            statements.append(f"kubernetes.set_timeout({{task}}, {args[0]})")
        elif name == "set_image_pull_policy" and args:
            statements.append(f"kubernetes.set_image_pull_policy({{task}}, {args[0]})")
        elif name == "add_env_variable" and len(node.args) == 1 and isinstance(node.args[0], ast.Call):
            env = {k.arg: k.value for k in node.args[0].keywords if k.arg}
            # kfp 2 sets an environment variable to a constant only (a run-time value is not carried)
            value = env.get("value")
            if "name" in env and isinstance(value, ast.Constant) and isinstance(value.value, str):
                methods.append(
                    f"set_env_variable(name={ast.get_source_segment(text, env['name'])}, "
                    f"value={ast.get_source_segment(text, env['value'])})"
                )
            else:
                dropped.append(call)
        elif name == "add_node_selector_constraint" and len(args) == 2:
            statements.append(f"kubernetes.add_node_selector({{task}}, {args[0]}, {args[1]})")
        else:
            dropped.append(call)
    return methods, statements, dropped


# -- values -----------------------------------------------------------------------------------


def _literal(value: Any, ref: Callable[[str | None, str], str]) -> str:
    """Python source for an argument value in the v2 file, as v1 writes it (`py_literal`) except for
    references: `ref(task_id, output)` renders another task's output (None: a pipeline parameter)
    from where the argument is written."""
    if isinstance(value, LoopValue):
        return value.variable
    if isinstance(value, XComRef):
        return ref(value.task_id, output_name(value.key))
    if isinstance(value, XComText):
        return ref(value.task_id, text_output(value.key))
    if isinstance(value, ParamRef):
        return ref(None, value.name)
    if isinstance(value, RunIdRef):
        return "dsl.PIPELINE_JOB_ID_PLACEHOLDER"
    if isinstance(value, Interpolated):
        return f_string(value.parts, lambda part: _literal(part, ref))
    return py_literal(value, {})


# -- rendering --------------------------------------------------------------------------------


@dataclass
class _Scope:
    """A pipeline function being written: the sub-pipeline it is (None: the pipeline itself), and
    what it takes from outside."""

    region: str | None
    parameters: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (annotation, outer source)
    after: list[str] = field(default_factory=list)  # outside task ids the whole function must run after
    parent: _Scope | None = None


@dataclass(frozen=True)
class _TaskSource:
    task_id: str
    component: str
    arguments: Mapping[str, Any]
    calls: tuple[str, ...]
    statements: tuple[str, ...]
    comment: str
    notes: tuple[str, ...]
    comments: tuple[str, ...]
    loops: tuple[Any, ...]


class _Writer:
    def __init__(
        self,
        plan: EmitPlan,
        tasks: Mapping[str, _TaskSource],
        v2tasks: Mapping[str, V2TaskPlan],
        variables: Mapping[str, str],
        controls: Mapping[str, TaskControl],
        components: Mapping[str, V2Component],
        mapped: set[str],
        paths: Mapping[str, tuple[str, ...]],
        region_variables: Mapping[str, str],
    ) -> None:
        self.plan, self.tasks, self.v2tasks = plan, tasks, v2tasks
        self.variables, self.controls, self.components = variables, controls, components
        self.parameter_types = {p.name: p.annotation for p in plan.parameters}
        self.mapped, self.paths, self.region_variables = mapped, paths, region_variables
        self.functions: list[str] = []  # sub-pipeline functions, in the order they are finished
        self.time_parameters: set[str] = set()  # logical-date parameters: read from the run-time step
        self.groups: Mapping[str, int] = {}  # task -> the dsl.ParallelFor it shares (_loop_groups)
        self.gathers: Mapping[tuple[str, int], str] = {}  # (task, loop) -> the gather step's variable
        self.products: Mapping[
            str, tuple[str, str]
        ] = {}  # task -> its cross product step: variable, component
        self.written_products: set[str] = set()
        self.gather_key = ""
        self.current: str | None = None  # the task whose arguments are being written
        # region -> (mapped task inside, output): its results, returned through dsl.OneOf
        self.exports: Mapping[str, tuple[str, str]] = {}
        self.export_steps: Mapping[str, tuple[str, str, str]] = {}  # region -> (gather, empty, EMPTY key)

    def _inside(self, task_id: str, scope: _Scope) -> tuple[str, ...] | None:
        """The regions between `scope` and the task (outer first), or None when the task is outside."""
        path = self.paths[task_id]
        if scope.region is None:
            return path
        if scope.region not in path:
            return None
        return path[path.index(scope.region) + 1 :]

    def ref(self, scope: _Scope, task_id: str | None, output: str, items: bool = False) -> str:
        """Source for `task_id`'s output (None: the pipeline parameter `output`) from `scope`; `items`:
        the list a `dsl.ParallelFor` loops over (a mapped task's results are one already)."""
        if task_id is None and output in self.time_parameters:
            return self.ref(scope, RUN_TIME_STEP, output)
        if task_id is None:
            if scope.parent is None:
                return output
            return self._take(
                scope,
                python_identifier(output),
                self.parameter_types.get(output, "str"),
                lambda parent: self.ref(parent, None, output),
            )
        inside = self._inside(task_id, scope)
        variable = self.variables[task_id]
        if inside is None:  # from outside this sub-pipeline: one of its parameters
            if task_id in self.mapped:
                raise V2Unsupported(f"the results of mapped task {task_id!r} are used inside a sub-pipeline")
            listed = items and task_id not in self.mapped
            return self._take(
                scope,
                python_identifier(f"{variable}_{output}{'_items' if listed else ''}"),
                "list" if listed else "str",
                lambda parent: self.ref(parent, task_id, output, items),
            )
        if inside and len(inside) == 1 and self.exports.get(inside[0]) == (task_id, output):
            return f"{self.region_variables[inside[0]]}.output"  # the sub-pipeline's dsl.OneOf
        if inside:
            raise V2Unsupported(
                f"task {task_id!r}'s output {output!r} is used outside the condition it runs in "
                "(KFP v2 passes data out of a dsl.If only through dsl.OneOf, which the converter "
                "writes for a mapped task's results only)"
            )
        component = self.components[self.tasks[task_id].component]
        if items and task_id not in self.mapped:
            output = component.items[output]
        else:
            output = component.outputs.get(output, output)
        text = f"{variable}.outputs[{output!r}]"
        same_loop = (
            self.current is not None
            and task_id in self.groups
            and self.groups.get(task_id) == self.groups.get(self.current)
        )
        return f"dsl.Collected({text})" if task_id in self.mapped and not same_loop else text

    def _take(self, scope: _Scope, name: str, annotation: str, outer: Any) -> str:
        assert scope.parent is not None
        if name not in scope.parameters:
            scope.parameters[name] = (annotation, outer(scope.parent))
        return name

    def waits_for(self, task_id: str, scope: _Scope) -> str | None:
        """What a task written in `scope` runs `.after()` to wait for `task_id`: its variable, or the
        sub-pipeline holding it; None when `task_id` is outside `scope` (the scope waits for it)."""
        inside = self._inside(task_id, scope)
        if inside is None:
            scope.after.append(task_id)
            return None
        return self.region_variables[inside[0]] if inside else self.variables[task_id]

    def block(self, block: Block, scope: _Scope, indent: int) -> list[str]:
        lines: list[str] = []
        index = 0
        while index < len(block.items):
            item = block.items[index]
            index += 1
            if isinstance(item, Block) and item.exit_task:
                lines += self.exit_block(item, scope, indent)
            elif isinstance(item, Block):
                lines += (
                    self.region_call(item, scope, indent)
                    if item.region
                    else self.if_block(item, scope, indent)
                )
            elif item in self.groups:  # a loop: the tasks that share it, in one dsl.ParallelFor
                members = [item]
                while (
                    index < len(block.items)
                    and not isinstance(block.items[index], Block)
                    and self.groups.get(block.items[index]) == self.groups[item]
                ):
                    members.append(block.items[index])
                    index += 1
                lines += self.loop(members, scope, indent)
            else:
                lines += self.task(item, scope, indent)
        return lines

    def items_values(self, product: Product, scope: _Scope) -> list[str]:
        """The arguments of the step computing the items of a zip, map or concat of XComs: an upstream's
        output as its JSON text, a mapped task's results as their dsl.Collected list."""
        values = []
        for index, value in enumerate(items_function(product).inputs.values()):
            if isinstance(value, Collected) and value.depth > 1:
                raise V2Unsupported(
                    f"task {product.task_id!r} is mapped over a zip, map or concat that reads the results "
                    f"of mapped task {value.task_id!r} from more than one loop"
                )
            values.append(f"values_{index}=" + _literal(value, lambda t, o: self.ref(scope, t, o)))
        return values

    def loop(self, members: list[str], scope: _Scope, indent: int) -> list[str]:
        """`with dsl.ParallelFor(...)` (nested for several loops) around tasks that share their loops; a
        loop over a mapped task's results runs over its gather step's list."""
        lines: list[str] = []
        first = members[0]
        self.current = first
        opened: list[str] = []  # loops not written yet (one `with` line opens them all)
        depth = 0  # loops written
        for number, loop in enumerate(self.tasks[first].loops):
            gather = self.gathers.get((first, number))
            if isinstance(loop.over, Product) and loop.over.task_id in self.written_products:
                # a split mapped task group: its product step is written once, with its first task
                opened.append(
                    f"dsl.ParallelFor({self.products[loop.over.task_id][0]}.outputs"
                    f"[{CONTAINER_OUTPUT!r}]) as {loop.variable}"
                )
                continue
            if isinstance(loop.over, Product):
                self.written_products.add(loop.over.task_id)
                if opened:
                    lines.append(f"{' ' * (indent + 4 * depth)}with {', '.join(opened)}:")
                    opened, depth = [], depth + 1
                pad = " " * (indent + 4 * depth)
                variable, key = self.products[loop.over.task_id]
                values = self.items_values(loop.over, scope) if derived_product(loop.over) else []
                for index, (name, field_loop) in enumerate(() if values else loop.over.fields):
                    if isinstance(field_loop.over, XComRef) and field_loop.over.task_id in self.mapped:
                        raise V2Unsupported(
                            f"task {loop.over.task_id!r} is mapped over the cross product of "
                            f"lists, one of them the results of mapped task "
                            f"{field_loop.over.task_id!r} ({name})"
                        )
                    values.append(
                        f"values_{index}="
                        + _literal(field_loop.over, lambda t, o: self.ref(scope, t, o, items=True))
                    )
                names = ", ".join(name for name, _ in loop.over.fields)
                lines += [
                    f"{pad}# the items of {comment_text(loop.over.task_id)}: the cross product of {names}, "
                    "as Airflow maps it",
                    f"{pad}{variable} = (",
                    f"{pad}    {key}({', '.join(values)})",
                    f"{pad}    .set_display_name({product_id(loop.over.task_id)!r})",
                    f"{pad}    .set_caching_options(False)",
                    f"{pad})",
                ]
                over = f"{variable}.outputs[{CONTAINER_OUTPUT!r}]"
            elif gather and isinstance(loop.over, XComRef):
                if opened:
                    lines.append(f"{' ' * (indent + 4 * depth)}with {', '.join(opened)}:")
                    opened, depth = [], depth + 1
                pad = " " * (indent + 4 * depth)
                producer = loop.over.task_id
                collected = self.ref(scope, producer, output_name(loop.over.key))
                lines += [
                    f"{pad}# the results of {comment_text(producer)}, as one list to loop over",
                    f"{pad}{gather} = (",
                    f"{pad}    {self.gather_key}(values={collected})",
                    f"{pad}    .set_display_name({producer + ' (gathered)'!r})",
                    f"{pad}    .set_caching_options(False)",
                    f"{pad})",
                ]
                over = f"{gather}.outputs[{CONTAINER_OUTPUT!r}]"
            else:
                over = _literal(loop.over, lambda t, o: self.ref(scope, t, o, items=True))
            opened.append(f"dsl.ParallelFor({over}) as {loop.variable}")
        if opened:
            lines.append(f"{' ' * (indent + 4 * depth)}with {', '.join(opened)}:")
            depth += 1
        inner = indent + 4 * depth
        for member in members:
            lines += self.task(member, scope, inner)
        return lines

    def exit_block(self, block: Block, scope: _Scope, indent: int) -> list[str]:
        """The exit task, then `with dsl.ExitHandler(...)` around every task it follows: KFP runs it
        once they all finished, whatever they ended in (an exit hook on the group)."""
        assert block.exit_task is not None
        variable = self.variables[block.exit_task]
        name = k8s_name(f"{block.exit_task}-exit-handler")
        return [
            *self.task(block.exit_task, scope, indent, waits=False),
            f"{' ' * indent}# the tasks {comment_text(block.exit_task)} runs after, whatever they end in",
            f"{' ' * indent}with dsl.ExitHandler({variable}, name={name!r}):",
            *self.block(Block(None, block.items), scope, indent + 4),
        ]

    def if_block(self, block: Block, scope: _Scope, indent: int) -> list[str]:
        assert block.condition is not None
        condition = f"{self.ref(scope, block.condition.source, block.condition.output)} == 'true'"
        return [f"{' ' * indent}with dsl.If({condition}):", *self.block(block, scope, indent + 4)]

    def region_call(self, block: Block, scope: _Scope, indent: int) -> list[str]:
        """The block as a sub-pipeline: its function written apart, called here as one task."""
        assert block.region is not None and block.condition is not None
        inner = _Scope(region=block.region, parent=scope)
        body = self.if_block(block, inner, 4)
        function = f"{python_identifier(block.region)}_region"
        parameters = ", ".join(f"{p}: {annotation}" for p, (annotation, _) in inner.parameters.items())
        decider = block.condition.source
        returns = ""
        if block.region in self.exports:  # a mapped task's results out of the dsl.If: dsl.OneOf
            producer, output = self.exports[block.region]
            gather, empty, empty_key = self.export_steps[block.region]
            self.current = None
            collected = self.ref(inner, producer, output)
            body += [
                f"        # the results of {comment_text(producer)}, passed out of the dsl.If",
                f"        {gather} = (",
                f"            {self.gather_key}(values={collected})",
                f"            .set_display_name({producer + ' (gathered)'!r})",
                "            .set_caching_options(False)",
                "        )",
                "    with dsl.Else():",
                f"        # {comment_text(producer)} did not run: no results",
                f"        {empty} = (",
                f"            {empty_key}()",
                f"            .set_display_name({producer + ' (no results)'!r})",
                "            .set_caching_options(False)",
                "        )",
                (
                    f"    return dsl.OneOf({gather}.outputs[{CONTAINER_OUTPUT!r}], "
                    f"{empty}.outputs[{CONTAINER_OUTPUT!r}])"
                ),
            ]
            returns = " -> list"
        self.functions.append(
            "\n".join(
                [
                    f"@dsl.pipeline(name={self.plan.pipeline_name + '-' + block.region!r})",
                    f"def {function}({parameters}){returns}:",
                    (
                        f'    """The tasks run under {comment_text(decider)}\'s decision, as one task that the tasks after '
                        'them wait for: KFP v2 has no edge out of a dsl.If."""'
                    ),
                    *body,
                ]
            )
        )
        pad = " " * indent
        arguments = ", ".join(f"{p}={outer}" for p, (_, outer) in inner.parameters.items())
        after: list[str] = []
        for task_id in dict.fromkeys(inner.after):
            target = self.waits_for(task_id, scope)
            if target and target not in after:
                after.append(target)
        lines = [
            f"{pad}# the tasks under {comment_text(decider)}'s decision, as one sub-pipeline task",
            f"{pad}{self.region_variables[block.region]} = (",
            f"{pad}    {function}({arguments})",
            f"{pad}    .set_display_name({block.region!r})",
        ]
        if after:
            lines.append(f"{pad}    .after({', '.join(after)})")
        return lines + [f"{pad})"]

    def task(self, task_id: str, scope: _Scope, indent: int, waits: bool = True) -> list[str]:
        source, v2task = self.tasks[task_id], self.v2tasks[task_id]
        component = self.components[source.component]
        pad = " " * indent
        lines = [f"{pad}# {comment_text(source.comment)}"]
        lines += [f"{pad}# note: {comment_text(note)}" for note in source.notes]
        lines += [f"{pad}# {comment_text(comment)}" for comment in source.comments]
        lines += [f"{pad}# differs from Airflow: {comment_text(d)}" for d in v2task.differences]
        self.current = task_id
        arguments = []
        for name, value in source.arguments.items():
            parameter = component.inputs.get(name)
            if parameter is None:
                raise V2Unsupported(f"task {task_id!r}: its component has no input {name!r}")
            if (
                component.input_types.get(name) == "float"
                and isinstance(value, int)
                and not isinstance(value, bool)
            ):
                value = float(value)  # kfp 2 passes no integer to a float input
            arguments.append(f"{parameter}={_literal(value, lambda t, o: self.ref(scope, t, o))}")
        variable = self.variables[task_id]
        lines += [
            f"{pad}{variable} = (",
            f"{pad}    {source.component}({', '.join(arguments)})",
            f"{pad}    .set_display_name({task_id!r})",
            f"{pad}    .set_caching_options(False)",
        ]
        after: list[str] = []
        for up in self.controls[task_id].after if waits else ():  # an exit task waits for its ExitHandler
            target = self.waits_for(up, scope)
            if target and target not in after:
                after.append(target)
        if after:
            lines.append(f"{pad}    .after({', '.join(after)})")
        lines += [
            f"{pad}    .set_env_variable(name={name!r}, value={value!r})" for name, value in component.env
        ]
        lines += [f"{pad}    .{call}" for call in source.calls]
        if v2task.ignore_upstream_failure:
            lines.append(f"{pad}    .ignore_upstream_failure()")
        lines.append(f"{pad})")
        return lines + [f"{pad}{statement.format(task=variable)}" for statement in source.statements]


def build_v2(
    dag: Dag, plan: EmitPlan, mappings: Mapping[str, TaskMapping], options: MappingOptions = DEFAULT_OPTIONS
) -> V2Plan:
    """The v2 pipeline source for `dag`, from the v1 plan and the same mappings."""
    order = [block.task_id for block in plan.tasks]
    if not order:
        return _empty_pipeline(dag, plan, options.utility_image)
    controls = plan.controls
    mapped = {task_id for task_id in order if controls[task_id].loops}
    # outputs a loop runs over: v1's JSON text, which KFP v2 needs as a list (a mapped task's are one)
    item_outputs: dict[str, set[str]] = {}
    for task_id in order:
        for loop in leaf_loops(controls[task_id].loops):
            if (
                isinstance(loop.over, XComRef)
                and loop.over.task_id in controls
                and loop.over.task_id not in mapped
            ):
                item_outputs.setdefault(loop.over.task_id, set()).add(output_name(loop.over.key))
    conditions = structure.conditions_of(order, controls)
    upstreams = {task_id: controls[task_id].after for task_id in order}
    root = structure.build_tree(order, conditions, upstreams)
    edges = [(up, task_id) for task_id in order for up in controls[task_id].after]
    region_names = UniqueNames(reserved=[plan.pipeline_name])
    structure.mark_regions(root, edges, region_names)
    structure.split_regions(root, edges, region_names)
    try:
        structure.order_items(root, upstreams)
    except structure.StructureError as error:
        raise V2Unsupported(str(error)) from None

    # what each task's rule sees of its upstreams, and whether it waits for failures
    region_of = structure.region_of(root)
    paths = {
        task: tuple(b.region for b in path if b.region) for task, path in structure.holder_paths(root).items()
    }
    layouts = _time_layouts(plan)
    claimed: set[tuple[tuple[str, ...], str]] = set()  # (DAG, upstream unit) that has an exit hook
    downs: dict[str, list[str]] = {}
    for up, down in edges:
        downs.setdefault(up, []).append(down)
    reverse = graph.build(order, [(b, a) for a, b in edges])  # the ancestors of an exit task, when asked
    v2tasks: dict[str, V2TaskPlan] = {}
    for task_id in order:
        control = controls[task_id]
        views = []
        for up in control.after:
            crosses = region_of.get(up) is not None and region_of.get(up) != region_of.get(task_id)
            views.append(
                v2r.UpstreamView(
                    up,
                    may_skip=crosses,
                    may_not_run=crosses or bool(controls[up].after) or bool(conditions[up]),
                )
            )
        rule = v2r.v2_rule(control.rule, views)
        differences = list(rule.differences) + _other_differences(dag, task_id, control)
        ignore_failure = rule.ignore_upstream_failure
        consumed = sorted(_producers(mappings[task_id].arguments) & set(control.after))
        if _parameters_used(mappings[task_id].arguments) & set(layouts):
            consumed.append(RUN_TIME_STEP)  # its value comes from the run-time step
        if ignore_failure and consumed:
            # kfp 2 refuses ignore_upstream_failure on a task fed by an upstream output without a default
            ignore_failure = False
            differences = _without_hook(differences)
            differences.insert(
                0,
                f"trigger_rule {control.rule}: the task uses the output of {', '.join(consumed)}, "
                "so in KFP v2 it runs only when that upstream succeeded",
            )
        handler = False
        if ignore_failure and not conditions[task_id] and not control.loops:
            # an ExitHandler around every task it follows: its hook fires once they all finished,
            # whatever they ended in, where one on its upstream step may not fire or fire too early
            simple = len(control.after) == 1 and not any(v.may_not_run for v in views)
            chosen = (
                None
                if simple
                else structure.exit_group(
                    root, task_id, frozenset(networkx.descendants(reverse, task_id)), downs
                )
            )
            if chosen is not None:  # one upstream that always runs: its own exit hook is as exact
                structure.wrap_exit_group(root, task_id, chosen)
                handler, ignore_failure = True, False
                differences = [d for d in differences if "may not run" not in d]
        if ignore_failure:
            blocker = _exit_hook_blocker(task_id, order, controls, paths, mapped, claimed)
            if blocker:
                ignore_failure = False
                differences = _without_hook(differences)
                differences.insert(0, v2r.without_exit_hook(control.rule, blocker))
        v2tasks[task_id] = V2TaskPlan(
            task_id,
            "",
            conditions[task_id],
            ignore_failure,
            tuple(differences),
            region_of.get(task_id),
            handler,
        )

    # tasks sharing a loop (a mapped task group) run in one dsl.ParallelFor; a value from a mapped task
    # outside its loop is a dsl.Collected (a list), a loop item may be a dict or a list
    groups = _loop_groups(root, controls)
    typed = {
        task_id: _typed_inputs(task_id, mappings[task_id].arguments, controls, mapped, groups)
        for task_id in order
    }
    component_of = {block.task_id: block.component for block in plan.tasks}
    components = _components(plan, component_of, item_outputs, typed)

    mappings_by_task = {task_id: mappings[task_id] for task_id in order}
    sources: dict[str, _TaskSource] = {}
    dropped: dict[str, tuple[str, ...]] = {}
    for block in plan.tasks:
        mapping = mappings_by_task[block.task_id]
        methods, statements, not_carried = v2_calls(mapping.task_calls)
        if not_carried:
            dropped[block.task_id] = tuple(not_carried)
        assert mapping.component is not None
        sources[block.task_id] = _TaskSource(
            task_id=block.task_id,
            component=component_of[block.task_id],
            arguments=mapping.arguments,
            calls=tuple(methods),
            statements=tuple(statements),
            comment=block.comment,
            notes=block.notes,
            comments=tuple(c for c in block.comments if not c.startswith("differs from Airflow")),
            loops=controls[block.task_id].loops,
        )

    variables = {block.task_id: block.variable for block in plan.tasks}
    reserved = (
        set(variables.values())
        | {p.name for p in plan.parameters}
        | {plan.function_name, "dsl", "kubernetes"}
    )
    names = UniqueNames(reserved=reserved)
    region_variables: dict[str, str] = {}

    def walk(block: Block) -> None:
        for item in block.items:
            if isinstance(item, Block):
                if item.region:
                    region_variables[item.region] = names.claim(python_identifier(item.region), sep="_")
                walk(item)

    walk(root)
    parameters = list(plan.parameters)
    helpers: tuple[str, ...] = ()
    if layouts:  # the run-time step stands for the logical-date parameters' values
        key = names.claim("RUN_TIME")
        components[key] = run_time_component(key, options.python_image, layouts)
        variables[RUN_TIME_STEP] = names.claim("run_time")
        paths[RUN_TIME_STEP] = ()
        sources[RUN_TIME_STEP] = _TaskSource(RUN_TIME_STEP, key, {}, (), (), "", (), (), ())
        parameters = [
            replace(
                p,
                default="''",
                description=f"{p.description}; empty: the run's scheduled or "
                "creation time (the run-time step)",
            )
            if p.name in layouts
            else p
            for p in parameters
        ]
        helpers = (RUN_TIME_STEP,)
    gathers: dict[tuple[str, int], str] = {}  # (task, loop) over a mapped task's results -> gather step
    for task_id in order:
        for number, loop in enumerate(controls[task_id].loops):
            if isinstance(loop.over, XComRef) and loop.over.task_id in mapped:
                gathers[(task_id, number)] = names.claim(f"{python_identifier(loop.over.task_id)}_gathered")
    if gathers:
        key = names.claim("GATHER")
        components[key] = gather_component(key, options.python_image)
        helpers += tuple(f"{controls[t].loops[n].over.task_id} (gathered)" for t, n in gathers)
    products: dict[str, tuple[str, str]] = {}  # task mapped over a cross product -> its step: variable, key
    for task_id in order:
        for loop in controls[task_id].loops:
            owner = loop.over.task_id if isinstance(loop.over, Product) else None
            if owner is not None and owner not in products:
                key = names.claim(f"{python_identifier(owner).upper()}_PRODUCT")
                components[key] = (
                    items_component(key, options.python_image, items_function(loop.over), loop.over.bare)
                    if derived_product(loop.over)
                    else product_component(key, options.python_image, [name for name, _ in loop.over.fields])
                )
                products[owner] = (names.claim(f"{python_identifier(owner)}_items"), key)
                helpers += (product_id(owner),)
    exports = _exports(order, mappings, mapped, paths, root)
    export_steps: dict[str, tuple[str, str, str]] = {}
    if exports:
        gather_key = next((k for k in components if k.startswith("GATHER")), "") or names.claim("GATHER")
        components.setdefault(gather_key, gather_component(gather_key, options.python_image))
        empty_key = names.claim("NO_RESULTS")
        components[empty_key] = empty_list_component(empty_key, options.utility_image)
        for region, (producer, _) in exports.items():
            base = python_identifier(producer)
            export_steps[region] = (
                names.claim(f"{base}_gathered"),
                names.claim(f"{base}_no_results"),
                empty_key,
            )
            helpers += (f"{producer} (gathered)", f"{producer} (no results)")
    writer = _Writer(plan, sources, v2tasks, variables, controls, components, mapped, paths, region_variables)
    writer.time_parameters = set(layouts)
    writer.groups, writer.gathers, writer.products = groups, gathers, products
    writer.gather_key = next((k for k in components if k.startswith("GATHER")), "")
    writer.exports, writer.export_steps = exports, export_steps
    scope = _Scope(region=None)
    body = _run_time_lines(variables, components, layouts) + writer.block(root, scope, 4)
    if scope.after:
        raise V2Unsupported("internal: a root task waits for a task outside the pipeline")
    imports = sorted(
        {
            line
            for m in mappings_by_task.values()
            if m.component
            for line in v2_imports((*m.component.imports, *m.imports))
            if "kubernetes.client" not in line and "import kubernetes" not in line
        }
        | {line for component in components.values() for line in component.imports}
    )
    uses_kubernetes = any(s.statements for s in sources.values())
    source = _render(
        plan=plan,
        parameters=parameters,
        components=list(components.values()),
        imports=imports,
        regions=writer.functions,
        body=body,
        uses_kubernetes=uses_kubernetes,
    )
    return V2Plan(
        dag.dag_id,
        plan.function_name,
        plan.pipeline_name,
        source,
        {t: v2tasks[t] for t in order},
        plan.notes,
        dropped,
        tuple(dict.fromkeys(helpers)),
    )


def _without_hook(differences: list[str]) -> list[str]:
    """The differences of a task that got no exit hook after all: those about running as one go."""
    return [
        d
        for d in differences
        if d != v2r.EXIT_HOOK_FAILURE and "ignore_upstream_failure" not in d and "exit hook" not in d
    ]


def _exit_hook_blocker(
    task_id: str,
    order: Sequence[str],
    controls: Mapping[str, TaskControl],
    paths: Mapping[str, tuple[str, ...]],
    mapped: set[str],
    claimed: set[tuple[tuple[str, ...], str]],
) -> str | None:
    """Why the task cannot run as an exit hook on KFP's backend (trigger_rules_v2.exit_hook_blocker),
    else None, its upstream claimed. What it waits for in its own DAG: each upstream, or the
    sub-pipeline holding it there."""
    scope = paths[task_id]
    units: list[str] = []
    for up in controls[task_id].after:
        path = paths[up]
        if path[: len(scope)] != scope:
            return (
                "its upstream steps are outside the sub-pipeline it runs in, which waits for them to succeed"
            )
        unit = path[len(scope)] if len(path) > len(scope) else up
        if unit not in units:
            units.append(unit)
    downstream = any(task_id in controls[other].after for other in order)
    taken = {unit for dag, unit in claimed if dag == scope}
    blocker = v2r.exit_hook_blocker(units, mapped, downstream, taken)
    if blocker is None:
        claimed.add((scope, units[0]))
    return blocker


def _components(
    plan: EmitPlan,
    component_of: dict[str, str],
    item_outputs: Mapping[str, set[str]],
    typed: Mapping[str, Mapping[str, str]],
) -> dict[str, V2Component]:
    """The v2 components by key, in v1's order. A task whose outputs a loop runs over gets list
    outputs, one fed a list or a dict (a dsl.Collected, a loop item) inputs of that type: a variant
    component (`<KEY>_V2`, `<KEY>_V2_`, ...) when other tasks use the component otherwise;
    `component_of` is updated."""
    users: dict[str, list[str]] = {}
    for task_id, key in component_of.items():
        users.setdefault(key, []).append(task_id)
    taken = {c.key for c in plan.components}
    found: dict[str, V2Component] = {}
    for component in plan.components:
        needs = {
            task_id: (frozenset(item_outputs.get(task_id, ())), frozenset(typed.get(task_id, {}).items()))
            for task_id in users.get(component.key, [])
        }
        plain: tuple[frozenset[str], frozenset[tuple[str, str]]] = (frozenset(), frozenset())
        variants = sorted(set(needs.values()), key=lambda v: (sorted(v[0]), sorted(v[1])))
        keys: dict[tuple[frozenset[str], frozenset[tuple[str, str]]], str] = {}
        for variant in variants:
            if variant == plain or len(variants) == 1:
                keys[variant] = component.key  # everyone needs the same: the component itself
                continue
            key = f"{component.key}_V2"
            while key in taken:
                key += "_"
            taken.add(key)
            keys[variant] = key
        for (outputs, inputs), key in keys.items():
            function = None if key == component.key else python_identifier(key.lower())
            try:
                if component.spec_yaml is not None:
                    spec = yaml.safe_load(component.spec_yaml)
                    found[key] = container_component(
                        key, spec, component.description, outputs, function, dict(inputs)
                    )
                elif component.code is not None:
                    found[key] = python_component(key, component.code, outputs, function, dict(inputs))
            except Untranslatable as error:
                raise V2Unsupported(f"component {key}: {error}") from None
        for task_id, variant in needs.items():
            component_of[task_id] = keys[variant]
    return found


def _exports(
    order: Sequence[str],
    mappings: Mapping[str, TaskMapping],
    mapped: set[str],
    paths: Mapping[str, tuple[str, ...]],
    root: Block,
) -> dict[str, tuple[str, str]]:
    """Sub-pipelines whose `dsl.If` a mapped task's results leave (a task outside reads them): region
    -> (the mapped task, its output), each returned through `dsl.OneOf` with an empty list when the
    condition was false. Only one such value per sub-pipeline, from a task of its top-level dsl.If."""
    found: dict[str, tuple[str, str]] = {}
    holders = structure.holder_paths(root)
    for task_id in order:
        for value in _references(mappings[task_id].arguments):
            producer = value.task_id
            if producer not in mapped or not paths.get(producer):
                continue
            region = paths[producer][0]
            if paths.get(task_id, ())[:1] == (region,):
                continue  # read inside the same sub-pipeline
            output = output_name(value.key) if isinstance(value, XComRef) else text_output(value.key)
            top = next((b for b in holders[producer] if b.region == region), None)
            if top is None or holders[producer][-1] is not top:
                continue  # nested deeper: the ref reports it
            if found.setdefault(region, (producer, output)) != (producer, output):
                raise V2Unsupported(f"more than one mapped task's results leave sub-pipeline {region}")
    return found


def _references(value: Any) -> list[XComRef | XComText]:
    """The upstream values an argument value reads."""
    if isinstance(value, (XComRef, XComText)):
        return [value]
    if isinstance(value, Interpolated):
        return [r for part in value.parts for r in _references(part)]
    if isinstance(value, Mapping):
        return [r for item in value.values() for r in _references(item)]
    if isinstance(value, (list, tuple)):
        return [r for item in value for r in _references(item)]
    return []


def _loop_groups(root: Block, controls: Mapping[str, TaskControl]) -> dict[str, int]:
    """Tasks written in one dsl.ParallelFor: consecutive tasks of a block with the same loops (v1's
    mapped task group shares them), each group numbered."""
    found: dict[str, int] = {}
    count = 0

    def walk(block: Block) -> None:
        nonlocal count
        current: tuple[Any, ...] = ()
        for item in block.items:
            if isinstance(item, Block):
                walk(item)
                current = ()
                continue
            loops = controls[item].loops if item in controls else ()
            if loops and loops != current:
                count += 1
            if loops:
                found[item] = count
            current = loops

    walk(root)
    return found


def _typed_inputs(
    task_id: str,
    arguments: Mapping[str, Any],
    controls: Mapping[str, TaskControl],
    mapped: set[str],
    groups: Mapping[str, int],
) -> dict[str, str]:
    """Inputs that get another type than text in KFP v2 where v1 passes JSON text: a mapped task's
    results from outside its loop (dsl.Collected, a list), a literal loop's item (typed by kfp as its
    first item: a number, a bool, a dict, a list)."""
    found: dict[str, str] = {}
    items = {loop.variable: loop.over for loop in controls[task_id].loops}
    for name, value in arguments.items():
        if (
            isinstance(value, (XComRef, XComText))
            and value.task_id in mapped
            and (groups.get(value.task_id) is None or groups.get(value.task_id) != groups.get(task_id))
        ):
            found[name] = "list"
        elif isinstance(value, LoopValue) and isinstance(items.get(value.variable), (list, tuple)):
            over = items[value.variable]  # kfp types the loop item by the first item
            first = over[0] if over else ""
            kind = next(
                (
                    k
                    for t, k in (
                        (bool, "bool"),
                        (int, "int"),
                        (float, "float"),
                        (dict, "dict"),
                        ((list, tuple), "list"),
                    )
                    if isinstance(first, t)
                ),
                "str",
            )
            if kind != "str":
                found[name] = kind
    return found


def _time_layouts(plan: EmitPlan) -> dict[str, str]:
    """Logical-date parameters (default `[[CurrentTime.<Go layout>]]`, KFP v1's run macro) -> layout."""
    found: dict[str, str] = {}
    for parameter in plan.parameters:
        try:
            default = ast.literal_eval(parameter.default)
        except (ValueError, SyntaxError):
            continue
        match = RUN_MACRO.fullmatch(default) if isinstance(default, str) else None
        if match and match.group(1) == "CurrentTime":
            found[parameter.name] = match.group(2)
    return found


def _run_time_lines(
    variables: Mapping[str, str], components: Mapping[str, V2Component], layouts: Mapping[str, str]
) -> list[str]:
    """The run-time step, first in the pipeline, when logical-date parameters are used."""
    if not layouts:
        return []
    key = next(
        k
        for k, c in components.items()
        if c.code.startswith("@dsl.container_component")
        and set(c.outputs) == set(layouts)
        and all(f"given_{n}" in c.inputs.values() for n in layouts)
    )
    arguments = [
        "created=dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER",
        "scheduled=dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER",
    ]
    arguments += [f"given_{name}={name}" for name in layouts]
    return [
        "    # the logical date: KFP v2 substitutes no run macro in a v2 run's parameters; this step gives each",
        "    # time parameter its value (the one passed, else the run's scheduled or creation time)",
        f"    {variables[RUN_TIME_STEP]} = (",
        f"        {key}({', '.join(arguments)})",
        f"        .set_display_name({RUN_TIME_STEP!r})",
        "        .set_caching_options(False)",
        "    )",
    ]


def _empty_pipeline(dag: Dag, plan: EmitPlan, image: str) -> V2Plan:
    """Every task was removed (EmptyOperator): v1 writes an empty pipeline, KFP v2 needs one step."""
    spec = noop(image)
    assert spec.spec is not None
    component = container_component(spec.key, spec.spec, spec.description)
    body = [
        "    # every task of the DAG was removed (EmptyOperator): a KFP v2 pipeline needs one step",
        "    no_tasks = (",
        f"        {spec.key}()",
        f"        .set_display_name({EMPTY_STEP!r})",
        "        .set_caching_options(False)",
        "    )",
    ]
    source = _render(
        plan=plan,
        parameters=plan.parameters,
        components=[component],
        imports=[],
        regions=[],
        body=body,
        uses_kubernetes=False,
    )
    return V2Plan(
        dag.dag_id, plan.function_name, plan.pipeline_name, source, {}, plan.notes, helper_steps=(EMPTY_STEP,)
    )


def _parameters_used(value: Any) -> set[str]:
    """The pipeline parameters an argument value reads."""
    if isinstance(value, ParamRef):
        return {value.name}
    if isinstance(value, Interpolated):
        return set().union(*(_parameters_used(part) for part in value.parts))
    if isinstance(value, Mapping):
        return set().union(set(), *(_parameters_used(item) for item in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(set(), *(_parameters_used(item) for item in value))
    return set()


def _producers(value: Any) -> set[str]:
    """The tasks whose outputs an argument value reads."""
    if isinstance(value, XComRef):
        return {value.task_id}
    if isinstance(value, Interpolated):
        return set().union(*(_producers(part) for part in value.parts))
    if isinstance(value, Mapping):
        return set().union(set(), *(_producers(item) for item in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(set(), *(_producers(item) for item in value))
    return set()


def _other_differences(dag: Dag, task_id: str, control: TaskControl) -> list[str]:
    """Differences that come from the task, not from the target's rules (as v1 reports them)."""
    task = dag.task(task_id)
    found = []
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
    if control.loops and any(isinstance(v, XComRef) for v in task.mapped_args.values()):
        found.append(
            "mapped over an upstream's output: when the list is empty Airflow marks the task skipped; "
            "the KFP loop runs no iteration"
        )
    return found


def _render(*, imports: Sequence[str], uses_kubernetes: bool, **values: Any) -> str:
    """The file's text: the template's, with its imports laid out as isort lays them out and no step
    bound to a variable that nothing reads (what linters flag: I001, F841)."""
    lines = (
        "import os",
        "import sys",
        "from kfp import compiler, dsl",
        *(("from kfp import kubernetes",) if uses_kubernetes else ()),
        *imports,
    )
    source = _template().render(
        import_block=import_block(lines), uses_kubernetes=uses_kubernetes, tool_version=__version__, **values
    )
    return _without_unread_bindings(source)


def _without_unread_bindings(source: str) -> str:
    """`name = (` opening a step's call becomes `(`, and `with ... as name` loses `as name`, where no
    code of the function around it reads `name`; everything else is left as it is."""
    tree = ast.parse(source)
    lines = source.split("\n")
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        nodes = list(ast.walk(function))
        read = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for node in nodes:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id not in read
            ):
                line = lines[node.lineno - 1]
                indent = line[: len(line) - len(line.lstrip())]
                if line == f"{indent}{node.targets[0].id} = (":
                    lines[node.lineno - 1] = f"{indent}("
            elif isinstance(node, ast.With) and lines[node.lineno - 1].endswith(":"):  # a one-line header
                # a loop whose variable nothing reads (the setting that read it has no v2 equivalent)
                line = lines[node.lineno - 1]
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id not in read:
                        line = line.replace(f" as {item.optional_vars.id},", ",").replace(
                            f" as {item.optional_vars.id}:", ":"
                        )
                lines[node.lineno - 1] = line
    return "\n".join(lines)


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("airflow2kfp.emit", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    environment.filters["pyrepr"] = repr
    environment.filters["comment"] = comment_text
    environment.filters["docstring"] = lambda text: (
        str(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    )
    return environment.get_template("pipeline_v2.py.j2")
