"""Emit the KFP v1 pipeline as readable Python: reusable components, one task per Airflow task,
ordering as `.after(...)` in Airflow's terms, and comments pointing back to the DAG file.

The plan (what to write) is built first as frozen data; the text comes from a Jinja template.
Each task block may sit inside wrappers (`with dsl.Condition(...)`, `with dsl.ParallelFor(...)`,
outermost first) and may carry a trigger rule (`trigger_rule(task, rule, depends)`), which the
generated file's compile step writes into the workflow (see postcompile.py).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import jinja2
import yaml

from airflow2kfp import __version__, graph
from airflow2kfp.emit.depends import depends_source, helpers_source, uses_helpers
from airflow2kfp.emit.format import formatted
from airflow2kfp.emit.imports import import_block
from airflow2kfp.emit.loops import fold_loops
from airflow2kfp.emit.names import GENERATED_MODULE_NAMES, python_task_variables
from airflow2kfp.emit.postcompile import support_source
from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    ParamRef,
    PipelineParameter,
    TaskMapping,
)
from airflow2kfp.mapping.control_flow import (
    Loop,
    Product,
    TaskControl,
    grouped_order,
    leaf_loops,
    loops_of,
    loops_outside_conditions,
    plan_control,
)
from airflow2kfp.mapping.cross_product import product_comment, product_component, product_id
from airflow2kfp.mapping.dag_params import dag_parameters
from airflow2kfp.mapping.fan_in import Collected
from airflow2kfp.mapping.literals import comment_text, docstring_text, py_literal
from airflow2kfp.model import Dag, XComRef
from airflow2kfp.names import k8s_name, kfp_task_names, python_identifier


@dataclass(frozen=True)
class ComponentBlock:
    key: str
    description: str
    spec_yaml: str | None
    code: str | None


@dataclass(frozen=True)
class TaskBlock:
    task_id: str
    variable: str
    kfp_name: str
    component: str
    arguments: str
    calls: tuple[str, ...]
    comment: str
    notes: tuple[str, ...]
    upstream: tuple[str, ...]  # Airflow task ids this step runs after (after removals)
    wrappers: tuple[str, ...] = ()  # `with` headers around the task, outermost first
    # the first `shared` wrappers are mapped task groups' loops, around every task of the group; the
    # first `kept` of them are open already (the task before is in the same group)
    shared: int = 0
    kept: int = 0
    opened: tuple[str, ...] = ()  # a comment for each shared wrapper this task opens
    prelude: tuple[str, ...] = ()  # statements before its own wrappers (the step computing its items)
    opened_preludes: tuple[tuple[str, ...], ...] = ()  # statements before each shared wrapper it opens
    rule_call: str | None = None  # `trigger_rule(...)` recording the task's Argo `depends`
    comments: tuple[str, ...] = ()  # edge labels, task group, semantics
    assigned: bool = True  # bound to `variable`: some code after it names the task
    source_line: str = ""  # file:line of the Airflow task: tasks of one loop of the DAG share theirs


@dataclass(frozen=True)
class ParameterBlock:
    """One pipeline function parameter: `name: annotation = default`."""

    name: str
    annotation: str
    default: str  # Python source
    description: str


@dataclass(frozen=True)
class EmitPlan:
    dag_id: str
    source: str
    tool_version: str
    file_stem: str
    pipeline_name: str
    function_name: str
    description: str | None
    imports: tuple[str, ...]  # what the mappings' code needs, beyond the file's own imports
    components: tuple[ComponentBlock, ...]
    tasks: tuple[TaskBlock, ...]
    notes: tuple[str, ...]
    kfp_names: Mapping[str, str]  # Airflow task_id -> KFP task name, for emitted tasks
    edges: tuple[tuple[str, str], ...]  # the ordering emitted, in Airflow task ids
    controls: Mapping[str, TaskControl]  # per emitted task: conditions, loops, rule, semantics
    support: str  # the post-compile code the generated file carries
    rules: bool = False  # some task records a trigger rule: the file carries trigger_rule and its support
    depends_helpers: str = ""  # all_of/any_of, when a long `depends` is built from its parts
    collects: bool = False  # a mapped task's results are passed on: compile_pipeline collects them
    # orderings the loop of a mapped task group adds: each of its tasks waits for every upstream of any
    loop_edges: tuple[tuple[str, str], ...] = ()
    parameters: tuple[ParameterBlock, ...] = ()  # the pipeline function's parameters
    # parameter -> what a recurring run passes for it ([[ScheduledTime...]]), see emit/recurring.py
    scheduled_values: Mapping[str, str] = field(default_factory=dict)
    helper_steps: tuple[str, ...] = ()  # KFP names of steps that stand for no Airflow task


class _SpecDumper(yaml.SafeDumper):
    """Multi-line text (a program) as a literal block, readable in the generated file."""


_SpecDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)

DOC_KEYS = ("doc_md", "doc", "doc_rst")


def first_paragraph(text: str) -> str:
    """A doc's first paragraph on one line, without Markdown heading marks."""
    paragraph = text.strip().split("\n\n", 1)[0]
    return " ".join(line.strip().lstrip("#").strip() for line in paragraph.splitlines()).strip()


def dag_description(dag: Dag) -> str | None:
    """The pipeline's description: the DAG's own, else the first paragraph of its doc_md/doc."""
    if dag.description:
        return dag.description
    doc = next(
        (
            dag.settings[k]
            for k in DOC_KEYS
            if isinstance(dag.settings.get(k), str) and dag.settings[k].strip()
        ),
        None,
    )
    return first_paragraph(doc) if doc else None


def pipeline_parameters(dag: Dag, mappings: Sequence[TaskMapping]) -> tuple[PipelineParameter, ...]:
    """The DAG's params, then the run values the tasks use, each once, in a stable order."""
    found: dict[str, PipelineParameter] = {p.name: p for p in dag_parameters(dag)}
    for mapping in mappings:
        for parameter in mapping.parameters:
            found.setdefault(parameter.name, parameter)
    return tuple(found.values())


def _loop_parameters(loops: Sequence[Loop], taken: set[str]) -> tuple[PipelineParameter, ...]:
    """A parameter per loop over a list no reader could read: no default, so each run must set it."""
    found: dict[str, PipelineParameter] = {}
    for loop in leaf_loops(loops):
        if isinstance(loop.over, ParamRef) and loop.over.name not in taken:
            found.setdefault(
                loop.over.name,
                PipelineParameter(
                    loop.over.name,
                    "list",
                    None,
                    f"the items the loop maps over, as a JSON list: Airflow maps over "
                    f"{loop.unread}, which could not be read",
                ),
            )
    return tuple(found.values())


def _spec_yaml(spec: Mapping[str, Any]) -> str:
    return yaml.dump(dict(spec), Dumper=_SpecDumper, sort_keys=False, default_flow_style=None, width=100)


def _components(mappings: Sequence[TaskMapping]) -> tuple[ComponentBlock, ...]:
    seen: dict[str, ComponentDef] = {}
    for mapping in mappings:
        component = mapping.component
        if component is None:
            continue
        if component.key in seen and seen[component.key] != component:
            raise ValueError(f"two different components share the key {component.key}")
        seen.setdefault(component.key, component)
    return tuple(
        ComponentBlock(
            key=c.key,
            description=c.description,
            spec_yaml=_spec_yaml(c.spec) if c.spec is not None else None,
            code=c.code,
        )
        for c in seen.values()
    )


def _with_loop_outputs(dag: Dag, mappings: Mapping[str, TaskMapping]) -> dict[str, TaskMapping]:
    """A step that a loop maps over declares the output the loop reads, so the pipeline compiles.

    A placeholder fails when run anyway; a converted step that does not write that output (its
    family does not carry Airflow's XCom) fails when the output is collected, which its note says."""
    result = dict(mappings)
    looped = [(t.task_id, v) for t in dag.tasks for v in t.mapped_args.values()]
    looped += [(group, v) for group, mapped in dag.mapped_groups.items() for v in mapped.values()]
    for looper, ref in looped:
        if isinstance(ref, XComRef):
            source = result.get(ref.task_id)
            if source is None or source.component is None or source.component.spec is None:
                continue
            spec = dict(source.component.spec)
            name = "Output" if ref.key == "return_value" else ref.key
            outputs = list(spec.get("outputs", []))
            if all(o["name"] != name for o in outputs):
                spec["outputs"] = outputs + [{"name": name, "type": "JsonArray"}]
                key = f"{source.component.key}_{python_identifier(ref.task_id).upper()}"
                notes = source.notes
                if source.fidelity is not Fidelity.PLACEHOLDER:
                    notes += (f"declares output {name} for the loop of {looper}, but does not write it yet",)
                result[ref.task_id] = replace(
                    source, component=replace(source.component, key=key, spec=spec), notes=notes
                )
    return result


def build_plan(
    dag: Dag, mappings: Mapping[str, TaskMapping], file_stem: str, python_image: str = "python:3.11"
) -> EmitPlan:
    mappings = _with_loop_outputs(dag, mappings)
    removed = [t.task_id for t in dag.tasks if mappings[t.task_id].fidelity is Fidelity.REMOVED]
    all_ids = [t.task_id for t in dag.tasks]
    edges = graph.bypass(removed, all_ids, dag.edges) if removed else list(dag.edges)
    emitted = [task_id for task_id in all_ids if task_id not in set(removed)]
    order = graph.topological(emitted, edges)
    grouped = grouped_order(order, edges, dag)  # a mapped task group's tasks together, in its loop
    split_groups = grouped is None
    order = grouped or order

    pipeline_name = k8s_name(dag.dag_id)
    function_name = f"{python_identifier(dag.dag_id)}_pipeline"
    loops_by_task = {task_id: loops_of(dag.task(task_id), dag) for task_id in order}
    # the steps computing the items of tasks (or mapped task groups) mapped over a cross product
    products = {
        loop.over.task_id: loop.over
        for task_id in order
        for loop in loops_by_task[task_id]
        if isinstance(loop.over, Product)
    }
    step_ids = [*order, *(product_id(task_id) for task_id in products)]
    all_kfp_names = kfp_task_names(step_ids, pipeline_name)
    kfp_names = {task_id: all_kfp_names[task_id] for task_id in order}
    parameters = pipeline_parameters(dag, [mappings[t] for t in order])
    loops = [loop for task_id in order for loop in loops_by_task[task_id]]
    loop_variables = [loop.variable for loop in loops]
    parameters += _loop_parameters(loops, {p.name for p in parameters})
    variables = python_task_variables(
        step_ids, reserved=[function_name, *loop_variables, *(p.name for p in parameters)]
    )
    arguments = {task_id: mappings[task_id].arguments for task_id in order}
    controls = plan_control(dag, order, edges, kfp_names, arguments)
    loop_edges = () if split_groups else _group_loop_waits(dag, order, controls)
    for up, down in loop_edges:
        control = controls[down]
        group = _group_of(control)
        if group is not None and _group_of(controls[up]) != group:  # into the loop
            note = (
                f"in the loop of mapped task group {group}, it also waits for {up} (another task of the "
                "group does); Airflow does not make it wait"
            )
        else:  # after the loop
            note = (
                f"waits for the whole loop of mapped task group {_group_of(controls[up])}, {up} included; "
                "Airflow does not make it wait"
            )
        controls[down] = replace(
            control, semantics=replace(control.semantics, differences=control.semantics.differences + (note,))
        )

    product_components = {
        owner: product_component(product, python_image) for owner, product in products.items()
    }

    def product_lines(owner: str) -> tuple[str, ...]:
        """The statement creating the step that computes `owner`'s items."""
        component, product_arguments = product_components[owner]
        rendered_items = ", ".join(
            f"{name}={py_literal(value, variables, one_line=True)}"
            for name, value in product_arguments.items()
        )
        return (
            f"# {product_comment(products[owner])}",
            f"{variables[product_id(owner)]} = (",
            f"    named({component.key}, {all_kfp_names[product_id(owner)]!r})({rendered_items})",
            f"    .set_display_name({product_id(owner)!r})",
            ")",
        )

    split_products: set[str] = set()  # mapped task groups whose product step is written (split groups)
    tasks: list[TaskBlock] = []
    for task_id in order:
        task, mapping, control = dag.task(task_id), mappings[task_id], controls[task_id]
        wrappers = _wrappers(control, variables)
        shared = sum(1 for loop in control.loops if loop.group) if not split_groups else 0
        before = tasks[-1].wrappers[: tasks[-1].shared] if tasks else ()
        kept = next(
            (i for i, (a, b) in enumerate(zip(before, wrappers[:shared])) if a != b), min(len(before), shared)
        )
        assert mapping.component is not None  # removed tasks are not in `order`
        rendered = ", ".join(
            f"{name}={py_literal(value, variables, one_line=bool(wrappers))}"
            for name, value in mapping.arguments.items()
        )
        after = control.after
        calls = ((f"after({', '.join(variables[u] for u in after)})",) if after else ()) + mapping.task_calls
        depends = control.depends
        prelude: tuple[str, ...] = ()
        if split_groups:  # each task loops on its own: the first of a group's tasks creates its product step
            for loop in control.loops:
                if loop.group and isinstance(loop.over, Product) and loop.over.task_id not in split_products:
                    split_products.add(loop.over.task_id)
                    prelude += product_lines(loop.over.task_id)
        if task_id in products:
            prelude += product_lines(task_id)
            if depends:  # the loop runs over the product step's list: it needs it whatever the rule
                depends = f"({depends}) && {all_kfp_names[product_id(task_id)]}.Succeeded"
                # and the product step needs every list: it runs only when each producer succeeded
                producers = [
                    kfp_names[leaf.over.task_id]
                    for leaf in leaf_loops([Loop(products[task_id], "")])
                    if isinstance(leaf.over, XComRef) and leaf.over.task_id in kfp_names
                ]
                if producers:
                    needs = " && ".join(f"{name}.Succeeded" for name in dict.fromkeys(producers))
                    prelude += (_rule_call(variables[product_id(task_id)], "all_success", needs),)
        group_loops = [loop for loop in control.loops if loop.group]
        opened_preludes = tuple(
            product_lines(loop.over.task_id) if isinstance(loop.over, Product) else ()
            for loop in group_loops[kept:shared]
        )
        rule_call = _rule_call(variables[task_id], control.rule, depends) if depends else None
        tasks.append(
            TaskBlock(
                task_id=task_id,
                variable=variables[task_id],
                kfp_name=kfp_names[task_id],
                component=mapping.component.key,
                arguments=rendered,
                calls=calls,
                comment=f"{task_id}: {task.operator} at {task.span.file}:{task.span.line} [{mapping.fidelity.value}]",
                source_line=f"{task.span.file}:{task.span.line}",
                notes=mapping.notes,
                upstream=after,
                wrappers=wrappers,
                shared=shared,
                kept=kept,
                opened=tuple(
                    f"mapped task group {loop.group}: its tasks run once per item, in this loop"
                    for loop in [c for c in control.loops if c.group][kept:shared]
                ),
                rule_call=rule_call,
                comments=_comments(dag, task_id, control),
                prelude=prelude,
                opened_preludes=opened_preludes,
            )
        )
    emitted_edges = tuple((up, task_id) for task_id in order for up in controls[task_id].after)
    collects = any(
        isinstance(loop.over, Collected) for c in controls.values() for loop in leaf_loops(c.loops)
    ) or any(
        isinstance(value, Collected) for task_id in order for value in mappings[task_id].arguments.values()
    )

    notes = [
        f"{task_id} ({dag.task(task_id).operator}) removed; the ordering it carried is kept"
        for task_id in removed
    ]
    notes += [
        f"{task_id} (SubDagOperator): the tasks of its sub-DAG {subdag} are the task group {task_id}"
        for task_id, subdag in dag.subdags.items()
    ]
    if split_groups:
        notes.append(
            "a mapped task group's tasks cannot share one loop (a path leaves the group and comes back): "
            "each task loops on its own, and a task inside receives a list where Airflow passes one item"
        )
    imports = sorted(
        {line for m in mappings.values() if m.component for line in (*m.component.imports, *m.imports)}
    )
    named = _names_read(tasks)
    tasks = [replace(block, assigned=block.variable in named) for block in tasks]
    rule_calls = [block.rule_call for block in tasks if block.rule_call] + [
        line for block in tasks for line in block.prelude if line.startswith("trigger_rule(")
    ]
    return EmitPlan(
        dag_id=dag.dag_id,
        source=f"{dag.span.file}:{dag.span.line}",
        tool_version=__version__,
        file_stem=file_stem,
        pipeline_name=pipeline_name,
        function_name=function_name,
        description=dag_description(dag),
        imports=tuple(imports),
        components=_components([mappings[t] for t in order])
        + tuple(ComponentBlock(c.key, c.description, None, c.code) for c, _ in product_components.values()),
        tasks=tuple(tasks),
        notes=tuple(notes),
        kfp_names=kfp_names,
        edges=emitted_edges,
        controls=controls,
        support=support_source(trigger_rules=bool(rule_calls), loop_outputs=collects),
        rules=bool(rule_calls),
        depends_helpers=helpers_source() if any(_builds_depends(call) for call in rule_calls) else "",
        collects=collects,
        loop_edges=loop_edges,
        parameters=tuple(
            ParameterBlock(p.name, p.annotation, py_literal(p.default, {}), p.description) for p in parameters
        ),
        scheduled_values={p.name: p.scheduled_value for p in parameters if p.scheduled_value},
        helper_steps=tuple(all_kfp_names[product_id(task_id)] for task_id in products),
    )


def _rule_call(variable: str, rule: str, depends: str) -> str:
    """`trigger_rule(task, rule, depends)`, a long `depends` built from its parts (emit/depends.py)."""
    return f"trigger_rule({variable}, {rule!r}, {depends_source(depends)})"


def _builds_depends(rule_call: str) -> bool:
    """Whether a `trigger_rule(...)` call builds its `depends` with all_of/any_of."""
    return uses_helpers(rule_call.split(", ", 2)[2])


def _group_of(control: TaskControl) -> str | None:
    """The outermost mapped task group whose loop holds the task."""
    return next((loop.group for loop in control.loops if loop.group), None)


def _group_loop_waits(
    dag: Dag, order: Sequence[str], controls: Mapping[str, TaskControl]
) -> tuple[tuple[str, str], ...]:
    """(upstream, task) for each task of a mapped task group and each upstream outside the group that
    another of its tasks waits for: the group's loop node waits for them all."""
    members: dict[str, list[str]] = {}
    for task_id in order:
        group = _group_of(controls[task_id])
        if group is not None:
            members.setdefault(group, []).append(task_id)
    found: list[tuple[str, str]] = []
    if not members:
        return ()
    ordered = graph.ordering(order, [(u, t) for t in order for u in controls[t].after])
    for tasks in members.values():
        inside = set(tasks)
        outside = list(dict.fromkeys(u for t in tasks for u in controls[t].after if u not in inside))
        found += [(u, t) for t in tasks for u in outside if (u, t) not in ordered]
        # a task after the loop waits for the whole loop: every task of the group
        after = [d for d in order if d not in inside and any(u in inside for u in controls[d].after)]
        found += [(t, d) for d in after for t in tasks if (t, d) not in ordered]
    return tuple(found)


def _wrappers(control: TaskControl, variables: Mapping[str, str]) -> tuple[str, ...]:
    """The task's `with` headers, outermost first: its mapped task groups' loops, then its conditions
    and its own loops (loops over an upstream's output outside, for KFP v1's compiler)."""
    conditions = tuple(
        f"dsl.Condition({variables[c.source]}.outputs[{c.output!r}] == 'true')" for c in control.conditions
    )
    groups = tuple(
        f"dsl.ParallelFor({_items(loop.over, variables)}) as {loop.variable}"
        for loop in control.loops
        if loop.group
    )
    own_loops = [loop for loop in control.loops if not loop.group]
    loops = tuple(f"dsl.ParallelFor({_items(loop.over, variables)}) as {loop.variable}" for loop in own_loops)
    return groups + (loops + conditions if loops_outside_conditions(own_loops) else conditions + loops)


def _items(over: Any, variables: Mapping[str, str]) -> str:
    """What a loop iterates over: a literal list, an upstream's output, or a mapped task's results."""
    if isinstance(over, Collected):
        output = "Output" if over.key == "return_value" else over.key
        return f"results_of({variables[over.task_id]}, {output!r})"
    if isinstance(over, Product):
        return f"{variables[product_id(over.task_id)]}.outputs['Output']"
    if (
        isinstance(over, list)
        and all(isinstance(i, dict) for i in over)
        and len({frozenset(i) for i in over}) > 1
    ):
        # kfp wants the same keys in every dict it loops over: items as JSON text, decoded by the step
        return py_literal([json.dumps(item) for item in over], variables)
    return py_literal(over, variables)


def _comments(dag: Dag, task_id: str, control: TaskControl) -> tuple[str, ...]:
    task = dag.task(task_id)
    found = [f"task group: {task.group_id}"] if task.group_id else []
    doc = next(
        (
            task.args.get(k)
            for k in DOC_KEYS
            if isinstance(task.args.get(k), str) and task.args.get(k).strip()
        ),
        None,
    )
    if doc:  # Airflow shows a task's doc in its UI; KFP v1 has no per-step description
        found.append(f"doc: {first_paragraph(doc)}")
    found += [
        f"label {up} -> {task_id}: {label!r}"
        for (up, down), label in dag.edge_labels.items()
        if down == task_id
    ]
    if control.rule == "always" and not control.after and dag.upstream(task_id):
        found.append(
            "trigger_rule always: Airflow starts it without waiting for its upstream tasks; so does this step"
        )
    found += [f"differs from Airflow: {difference}" for difference in control.semantics.differences]
    return tuple(found)


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("airflow2kfp.emit", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python source, not HTML
    )
    environment.filters["pyrepr"] = repr
    environment.filters["comment"] = comment_text
    environment.filters["docstring"] = docstring_text
    return environment


def _template() -> jinja2.Template:
    return _environment().get_template("pipeline.py.j2")


@cache
def _task_template() -> jinja2.Template:
    return _environment().get_template("task.py.j2")


def task_text(block: TaskBlock) -> str:
    """The statements of one task in the pipeline function (indented for it)."""
    return _task_template().render(task=block)


# what the generated file's own code uses (the pipeline, named, compile_pipeline and its support)
FILE_IMPORTS = (
    "import json",
    "import os",
    "import sys",
    "import time",
    "import yaml",
    "from kfp import compiler, components, dsl",
)


def render(plan: EmitPlan, fold: bool = True) -> str:
    """The generated file's text; `fold=False` writes every task as its own block, loops unrolled."""
    # isort's blank lines after the imports: two before a def, one before anything else (without
    # components, the template's blank line before `def named` is the second)
    gap = "\n" if not plan.components or plan.components[0].code is None else "\n\n"
    if fold:
        body = fold_loops(plan.tasks, task_text, reserved=_names_bound(plan))
    else:
        body = "".join(task_text(block) for block in plan.tasks)
    text = _template().render(
        plan=plan, body=body, import_block=import_block((*FILE_IMPORTS, *plan.imports)) + gap
    )
    return formatted(text)


def _names_bound(plan: EmitPlan) -> set[str]:
    """Every name the pipeline function may see: the module's, the parameters', the tasks'."""
    return (
        set(GENERATED_MODULE_NAMES)
        | {plan.function_name}
        | {p.name for p in plan.parameters}
        | {c.key for c in plan.components}
        | {t.variable for t in plan.tasks}
    )  # and every name the tasks' code uses: fold_loops adds those


def _names_read(tasks: Sequence[TaskBlock]) -> set[str]:
    """Every name the pipeline function's code reads: a task's variable is bound only when read (an
    unread one is what linters flag, F841). From the code as written: arguments, calls (`after`,
    settings), `with` headers and the trigger rule call."""
    code: list[str] = []
    for block in tasks:
        code += [
            f"f({block.arguments})",
            *(f"_.{call}" for call in block.calls),
            *(f"with {wrapper}:\n    pass" for wrapper in block.wrappers),
        ]
        if block.rule_call:
            code.append(block.rule_call)
    tree = ast.parse("\n".join(code))  # one parse: thousands of small ones cost more than the text
    return {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
