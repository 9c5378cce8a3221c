"""How the loop item of a mapped Python task reaches the callable (`.expand`, `.expand_kwargs`).

Inside its `dsl.ParallelFor`, each mapped argument of a task is the loop's item (control_flow puts a
`LoopValue` in `task.mapped_args`). What the item is depends on what was mapped:
- `@task` `.expand(x=...)`: the function's argument `x`;
- `@task` `.expand_kwargs(...)`: a dict of the function's keyword arguments, `f(**item)`;
- `PythonOperator.partial(...).expand(op_args=...)`: the positional arguments, `f(*item)`;
  `.expand(op_kwargs=...)`: the keyword arguments, `f(**item)`;
- `PythonOperator.partial(...).expand_kwargs(...)`: a dict of operator arguments, of which
  `op_args` and `op_kwargs` are the call's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from airflow2kfp.mapping.control_flow import LoopValue
from airflow2kfp.model import Task

TASKFLOW_PREFIX = "task"  # "task", "task.virtualenv", ...: TaskFlow maps the function's arguments


@dataclass(frozen=True)
class MappedCall:
    keywords: dict[str, LoopValue] = field(default_factory=dict)  # f(name=item)
    star_args: LoopValue | None = None  # f(*item)
    star_kwargs: tuple[LoopValue, ...] = ()  # f(**item)
    operator_item: LoopValue | None = None  # f(*item.get("op_args", ()), **item.get("op_kwargs", {}))
    not_passed: tuple[str, ...] = ()  # mapped operator arguments that are not the call's
    in_loop: bool = True  # False: no loop (the mapped list could not be looped over)


def mapped_call(task: Task) -> MappedCall:
    if not task.is_mapped:
        return MappedCall()
    if not all(isinstance(value, LoopValue) for value in task.mapped_args.values()):
        return MappedCall(in_loop=False)
    items = {str(key): value for key, value in task.mapped_args.items() if isinstance(value, LoopValue)}
    if task.operator == TASKFLOW_PREFIX or task.operator.startswith(TASKFLOW_PREFIX + "."):
        return MappedCall(
            keywords={k: v for k, v in items.items() if k != "*"},
            star_kwargs=tuple(v for k, v in items.items() if k == "*"),
        )
    return MappedCall(
        star_args=items.get("op_args"),
        star_kwargs=tuple(v for k, v in items.items() if k == "op_kwargs"),
        operator_item=items.get("*"),
        not_passed=tuple(sorted(k for k in items if k not in ("op_args", "op_kwargs", "*"))),
    )


class Inputs(Protocol):
    def add(self, wanted: str, annotation: str, value: object) -> str: ...


@dataclass(frozen=True)
class Unpacked:
    positional: list[str]  # call parts before the keywords: `*item`
    keywords: list[str]  # call parts after them: `**item`


def mapped_items(mapped: MappedCall, inputs: Inputs) -> Unpacked:
    """The call's parts that unpack loop items, each item an input of the step (JSON, decoded)."""
    positional: list[str] = []
    keywords: list[str] = []
    if mapped.star_args is not None:
        positional.append("*" + inputs.add("op_args", "str", mapped.star_args))
    if mapped.operator_item is not None:
        item = inputs.add("mapped_item", "str", mapped.operator_item)
        positional.append(f"*{item}.get('op_args', ())")
        keywords.append(f"**{item}.get('op_kwargs', {{}})")
    keywords += ["**" + inputs.add("mapped_kwargs", "str", value) for value in mapped.star_kwargs]
    return Unpacked(positional, keywords)
