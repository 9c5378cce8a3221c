"""The shape of a KFP v2 pipeline: which `dsl.If` block and which sub-pipeline holds each task.

KFP v2 has no edge out of a `dsl.If` block: a task after a conditional task (a branch's join, a task
after a short circuit's optional task) must wait for a task that holds the block, a sub-pipeline
(`@dsl.pipeline` called as one task, "region" here) that succeeds when the tasks inside succeeded
or were skipped. A task waiting for a region waits for every task in it, and a region waits for
every upstream any task inside needs; so the tasks of one condition are split into as many regions
as it takes for no ordering to appear that Airflow does not have (`_split_regions`), and each list
of tasks and blocks is written in an order where every task comes after what it waits for.

Built in four steps from the emitted tasks (topological order), their conditions and their
upstream edges:

1. `build_tree`: a task goes into the `dsl.If` block of each of its conditions, outermost first. A
   block already open with that condition is reused only when no upstream of the task comes after
   it in the enclosing list (otherwise a new block with the same condition starts: KFP v2 accepts
   two condition groups with one condition, never a task that waits for a task written after it);
2. `mark_regions`: for each edge from a task inside a block its downstream is not in, the outermost
   such block becomes a region;
3. `split_regions`: inner regions first, each region's units (its tasks, and regions nested in it)
   are grouped greedily; a group is kept only when every wait it implies is an ordering Airflow has
   (`_exact`). Each group becomes a region of its own, with the same condition;
4. `order_items`: each list is sorted topologically by what its items wait for, stable otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow2kfp import graph
from airflow2kfp.mapping import trigger_rules_v2 as v2r
from airflow2kfp.mapping.control_flow import Condition, TaskControl
from airflow2kfp.names import UniqueNames, k8s_name


class StructureError(Exception):
    """No order in which KFP v2 can write the tasks (should not happen; reported as A2K802)."""


@dataclass(eq=False)
class Block:
    """A `with dsl.If(...)` block (condition None: a pipeline function's body)."""

    condition: Condition | None
    items: list[Any] = field(default_factory=list)  # task ids and Blocks, in writing order
    region: str | None = None  # set: written as a sub-pipeline of this name
    exit_task: str | None = None  # set: a `dsl.ExitHandler` block, this task its exit task

    def tasks(self) -> list[str]:
        found: list[str] = []
        for item in self.items:
            found += item.tasks() if isinstance(item, Block) else [item]
        return found


def conditions_of(
    order: Sequence[str], controls: Mapping[str, TaskControl]
) -> dict[str, tuple[Condition, ...]]:
    """Each task's conditions, outermost first: its own, its deciders', and its upstreams' when its
    rule is skipped by a skipped upstream (trigger_rules_v2.INHERIT_CONDITIONS)."""
    position = {task_id: index for index, task_id in enumerate(order)}
    found: dict[str, tuple[Condition, ...]] = {}
    for task_id in order:
        control = controls[task_id]
        chosen: dict[tuple[str, str], Condition] = {}
        for condition in control.conditions:
            for inherited in found.get(condition.source, ()):
                chosen.setdefault((inherited.source, inherited.output), inherited)
            chosen.setdefault((condition.source, condition.output), condition)
        if control.rule in v2r.INHERIT_CONDITIONS:
            for up in control.after:
                for inherited in found.get(up, ()):
                    chosen.setdefault((inherited.source, inherited.output), inherited)
        found[task_id] = tuple(sorted(chosen.values(), key=lambda c: (position.get(c.source, -1), c.output)))
    return found


def _index(items: list[Any], item: Any) -> int:
    return next(i for i, each in enumerate(items) if each is item)


def holder_paths(root: Block) -> dict[str, list[Block]]:
    """Each task -> the blocks from the root down to the one holding it."""
    found: dict[str, list[Block]] = {}

    def walk(block: Block, path: list[Block]) -> None:
        for item in block.items:
            if isinstance(item, Block):
                walk(item, path + [block])
            else:
                found[item] = path + [block]

    walk(root, [])
    return found


def build_tree(
    order: Sequence[str],
    conditions: Mapping[str, tuple[Condition, ...]],
    upstreams: Mapping[str, Sequence[str]],
) -> Block:
    root = Block(None)
    paths: dict[str, list[Block]] = {}
    for task_id in order:
        block, path = root, [root]
        for condition in conditions[task_id]:
            child = None
            for item in reversed(block.items):
                if isinstance(item, Block) and item.condition == condition:
                    child = item
                    break
            if child is not None and not _fits(block, child, upstreams[task_id], paths):
                child = None
            if child is None:
                child = Block(condition)
                block.items.append(child)
            block = child
            path.append(block)
        block.items.append(task_id)
        paths[task_id] = path
    return root


def _fits(parent: Block, child: Block, ups: Sequence[str], paths: Mapping[str, list[Block]]) -> bool:
    """Whether a task waiting for `ups` can be written inside `child`: no upstream is in an item of
    `parent` written after `child`."""
    limit = _index(parent.items, child)
    for up in ups:
        path = paths[up]
        if not any(b is parent for b in path):
            continue
        depth = next(i for i, b in enumerate(path) if b is parent)
        item: Any = path[depth + 1] if depth + 1 < len(path) else up
        if _index(parent.items, item) > limit:
            return False
    return True


def mark_regions(root: Block, edges: Sequence[tuple[str, str]], names: UniqueNames) -> None:
    """For each edge from a task inside a block its downstream is not in, the outermost such block
    becomes a region, which the downstream can run after."""
    paths = holder_paths(root)
    for up, down in edges:
        up_path, down_path = paths[up], paths[down]
        depth = 0
        while depth < len(up_path) and depth < len(down_path) and up_path[depth] is down_path[depth]:
            depth += 1
        if depth < len(up_path):  # up sits in a block down is not in: the outermost of those
            block = up_path[depth]
            if block.region is None:
                block.region = region_name(block, names)


def region_name(block: Block, names: UniqueNames) -> str:
    assert block.condition is not None
    return names.claim(f"{k8s_name(block.condition.source)}-{block.condition.kind.replace('_', '-')}")


def _scope_regions(scope: Block) -> list[Block]:
    """The regions written in `scope`'s function: reached through plain blocks only."""
    found: list[Block] = []
    for item in scope.items:
        if isinstance(item, Block):
            found += [item] if item.region else _scope_regions(item)
    return found


def _units(region: Block) -> list[tuple[Any, frozenset[str]]]:
    """A region's units, in writing order: its tasks (inside plain blocks too) and the regions in it."""
    found: list[tuple[Any, frozenset[str]]] = []
    for item in region.items:
        if isinstance(item, Block):
            found += [(item, frozenset(item.tasks()))] if item.region else _units(item)
        else:
            found.append((item, frozenset({item})))
    return found


class _Grouping:
    """The regions of one scope split into groups: which tasks wait for which as written."""

    def __init__(
        self,
        scope: Block,
        closure: frozenset[tuple[str, str]],
        ups: Mapping[str, Sequence[str]],
        downs: Mapping[str, Sequence[str]],
    ) -> None:
        self.closure, self.ups, self.downs = closure, ups, downs
        self.unit_of: dict[str, Any] = {}  # task in this scope -> the key of the unit standing for it here
        self.members: dict[Any, frozenset[str]] = {}

        def walk(block: Block) -> None:
            for item in block.items:
                if isinstance(item, Block):
                    if item.region:
                        continue
                    walk(item)
                else:
                    self.unit_of[item] = ("task", item)
                    self.members[("task", item)] = frozenset({item})

        walk(scope)

    def assign(self, key: Any, tasks: frozenset[str]) -> None:
        for task in tasks:
            self.unit_of[task] = key
        self.members[key] = tasks

    def exact(self, tasks: frozenset[str]) -> bool:
        """Whether a group of `tasks`, waited for and waiting as one, adds no ordering: every unit it
        waits for precedes each of its tasks in Airflow, and each of its tasks precedes every unit
        waiting for it. Tasks outside this scope are the enclosing region's concern."""
        for task in tasks:
            for up in self.ups[task]:
                if (
                    up not in tasks
                    and up in self.unit_of
                    and any((a, b) not in self.closure for a in self.members[self.unit_of[up]] for b in tasks)
                ):
                    return False
            for down in self.downs[task]:
                if (
                    down not in tasks
                    and down in self.unit_of
                    and any(
                        (a, b) not in self.closure for a in tasks for b in self.members[self.unit_of[down]]
                    )
                ):
                    return False
        return True


def split_regions(root: Block, edges: Sequence[tuple[str, str]], names: UniqueNames) -> None:
    """Split each region into as many regions of the same condition as it takes for the waits they
    imply to be orderings Airflow has; inner scopes first."""
    tasks = root.tasks()
    closure = graph.ordering(tasks, edges)
    ups: dict[str, list[str]] = {task: [] for task in tasks}
    downs: dict[str, list[str]] = {task: [] for task in tasks}
    for up, down in edges:
        ups[down].append(up)
        downs[up].append(down)

    def scope_pass(scope: Block) -> None:
        regions = _scope_regions(scope)
        for region in regions:
            scope_pass(region)
        grouping = _Grouping(scope, closure, ups, downs)
        plans: list[tuple[Block, list[list[tuple[Any, frozenset[str]]]]]] = []
        for number, region in enumerate(regions):  # every unit on its own first
            units = _units(region)
            for index, (_, members) in enumerate(units):
                grouping.assign(("group", number, index), members)
            plans.append((region, [[unit] for unit in units]))
        for number, (region, groups) in enumerate(plans):
            merged: list[list[tuple[Any, frozenset[str]]]] = []
            keys: list[Any] = []
            for index, group in enumerate(groups):
                unit_tasks = group[0][1]
                for target, key in zip(merged, keys):
                    candidate = frozenset().union(*(m for _, m in target)) | unit_tasks
                    if grouping.exact(candidate):
                        target.append(group[0])
                        grouping.assign(key, candidate)
                        break
                else:
                    merged.append(list(group))
                    keys.append(("group", number, index))
            plans[number] = (region, merged)
        for region, merged in plans:
            if len(merged) > 1:
                _replace(scope, region, merged, names)

    scope_pass(root)


def _replace(
    scope: Block, region: Block, groups: list[list[tuple[Any, frozenset[str]]]], names: UniqueNames
) -> None:
    """Put one region per group where `region` was (same condition; the first keeps its name)."""
    parent = _parent(scope, region)
    assert parent is not None
    blocks = []
    for number, group in enumerate(groups):
        keep = {id(unit) for unit, _ in group if isinstance(unit, Block)} | {
            unit for unit, _ in group if not isinstance(unit, Block)
        }
        block = _filtered(region, keep)
        block.region = region.region if number == 0 else region_name(region, names)
        blocks.append(block)
    index = _index(parent.items, region)
    parent.items[index : index + 1] = blocks


def _filtered(block: Block, keep: set[Any]) -> Block:
    """A copy of `block` holding only the kept tasks and regions (by id), plain blocks left empty dropped."""
    copy = Block(block.condition, region=block.region)
    for item in block.items:
        if isinstance(item, Block):
            if item.region:
                if id(item) in keep:
                    copy.items.append(item)
            else:
                inner = _filtered(item, keep)
                if inner.items:
                    copy.items.append(inner)
        elif item in keep:
            copy.items.append(item)
    return copy


def _parent(block: Block, target: Block) -> Block | None:
    for item in block.items:
        if item is target:
            return block
        if isinstance(item, Block):
            found = _parent(item, target)
            if found is not None:
                return found
    return None


def order_items(root: Block, upstreams: Mapping[str, Sequence[str]]) -> None:
    """Sort every list so each item comes after the items of that list it waits for; stable."""

    def sort(block: Block) -> None:
        for item in block.items:
            if isinstance(item, Block):
                sort(item)
        where: dict[str, int] = {}
        for index, item in enumerate(block.items):
            for task in item.tasks() if isinstance(item, Block) else [item]:
                where[task] = index
        needs = []
        for index, item in enumerate(block.items):
            found = set()
            for task in item.tasks() if isinstance(item, Block) else [item]:
                found |= {where[up] for up in upstreams[task] if up in where and where[up] != index}
            needs.append(found)
        placed: list[int] = []
        done: set[int] = set()
        while len(placed) < len(block.items):
            ready = next((i for i in range(len(block.items)) if i not in done and needs[i] <= done), None)
            if ready is None:
                cycle = [
                    block.items[i] if not isinstance(block.items[i], Block) else block.items[i].tasks()
                    for i in range(len(block.items))
                    if i not in done
                ]
                raise StructureError(f"no order in which KFP v2 can write {cycle}")
            placed.append(ready)
            done.add(ready)
        block.items[:] = [block.items[i] for i in placed]

    sort(root)


def exit_group(
    root: Block, task_id: str, ancestors: frozenset[str], downs: Mapping[str, Sequence[str]]
) -> list[int] | None:
    """The root items a `dsl.ExitHandler` with exit task `task_id` can hold: those holding its
    ancestors (which must be whole items, ancestors only), when nothing waits for the task and
    nothing but the task waits for one of them (KFP rejects an edge out of an ExitHandler); else None."""
    if not ancestors or task_id not in root.items or downs.get(task_id):
        return None  # nothing may wait for an exit task
    chosen: list[int] = []
    for index, item in enumerate(root.items):
        tasks = set(item.tasks()) if isinstance(item, Block) else {item}
        if tasks & ancestors:
            if not tasks <= ancestors or (isinstance(item, Block) and item.exit_task):
                return None
            chosen.append(index)
    if {t for i in chosen for t in _item_tasks(root.items[i])} != set(ancestors):
        return None  # an ancestor inside a block that is not a root item of its own
    for ancestor in ancestors:
        if any(down not in ancestors and down != task_id for down in downs.get(ancestor, ())):
            return None
    return chosen


def wrap_exit_group(root: Block, task_id: str, chosen: list[int]) -> None:
    """Move the chosen root items into an ExitHandler block (where the first was), the task out."""
    block = Block(None, [root.items[i] for i in chosen], exit_task=task_id)
    first = chosen[0]
    kept = [item for i, item in enumerate(root.items) if i not in chosen and item != task_id]
    position = sum(1 for i in range(first) if i not in chosen and root.items[i] != task_id)
    root.items[:] = kept[:position] + [block] + kept[position:]


def _item_tasks(item: Any) -> list[str]:
    return item.tasks() if isinstance(item, Block) else [item]


def region_of(root: Block) -> dict[str, str]:
    """Each task inside a region -> the outermost region holding it."""
    found: dict[str, str] = {}
    for task, path in holder_paths(root).items():
        region = next((b.region for b in path if b.region), None)
        if region:
            found[task] = region
    return found
