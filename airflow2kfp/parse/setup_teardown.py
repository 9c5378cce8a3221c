"""`with setup_task:` / `with teardown_task:` / `with setup >> teardown:`, read as Airflow runs them.

A port of Airflow's SetupTeardownContext (airflow/sdk/definitions/_internal/setup_teardown.py, the
same in Airflow 2.7+): entering a setup or teardown task makes it the context's; every other task
created in the body is recorded; leaving wires the body's roots after the setup and its leaves
before the teardown, finding the missing partner by walking the graph from the entered task as
Airflow does. Nested contexts chain their setups and teardowns on the way out. Each "operator" is
a tuple of tasks (one task, or the tasks of a list Airflow accepts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from airflow2kfp.parse.values import TaskRecord

Tasks = tuple[TaskRecord, ...]
# how deep Airflow's recursive search for a partner may go before Python's recursion limit stops it
MAX_SEARCH = 200


class EndlessSearch(Exception):
    """Airflow's search for the partner of the entered task never ends (it recurses until Python's
    RecursionError fails the import)."""


@dataclass
class SetupTeardownContext:
    link: Callable[[Sequence[TaskRecord], Sequence[TaskRecord]], None]  # ups >> downs
    charge: Callable[[int], None]  # steps, for the graph walks
    active: bool = False
    context_map: dict[Tasks, list[TaskRecord]] = field(default_factory=dict)
    setup: Tasks = ()
    previous_setups: list[Tasks] = field(default_factory=list)
    teardown: Tasks = ()
    previous_teardowns: list[Tasks] = field(default_factory=list)
    teardowns_of_setup: Tasks = ()
    previous_teardowns_of_setup: list[Tasks] = field(default_factory=list)
    setups_of_teardown: Tasks = ()
    previous_setups_of_teardown: list[Tasks] = field(default_factory=list)

    # -- entering ---------------------------------------------------------------------------------
    def push(self, operator: Tasks) -> None:
        """`__enter__`: the caller has checked the tasks are all setups or all teardowns."""
        if operator[0].is_teardown:
            if self.teardown and self.teardown != operator:
                self.previous_teardowns.append(self.teardown)
            self.teardown = operator
            found = self._search(operator[0], upstream=True)
            if self.setups_of_teardown and self.setups_of_teardown != found:
                self.previous_setups_of_teardown.append(self.setups_of_teardown)
            self.setups_of_teardown = found
        elif operator[0].is_setup:
            if self.setup and self.setup != operator:
                self.previous_setups.append(self.setup)
            self.setup = operator
            found = self._search(operator[0], upstream=False)
            if self.teardowns_of_setup and self.teardowns_of_setup != found:
                self.previous_teardowns_of_setup.append(self.teardowns_of_setup)
            self.teardowns_of_setup = found
        self.active = True

    def _search(self, operator: TaskRecord, *, upstream: bool) -> Tasks:
        """Airflow's _get_setups / _get_teardowns: the partners among the neighbours, else among
        their neighbours (both directions, duplicates kept), and so on."""
        wanted = (lambda t: t.is_setup) if upstream else (lambda t: t.is_teardown)
        tasks = _neighbours(operator, upstream=upstream, downstream=not upstream)
        for _ in range(MAX_SEARCH):
            self.charge(len(tasks) + 1)
            found = tuple(t for t in tasks if wanted(t))
            if found:
                return found
            tasks = [
                x
                for task in tasks
                for x in _neighbours(task, upstream=True, downstream=True)
                if x is not operator
            ]
            if not tasks:
                return ()
        raise EndlessSearch

    def created(self, task: TaskRecord) -> None:
        """A task made in the body (BaseOperator.__init__ calls update_context_map)."""
        if not self.active or task.is_setup or task.is_teardown:
            return
        for key in (self.setup, self.teardown):
            if key:
                self.context_map.setdefault(key, []).append(task)

    # -- leaving ----------------------------------------------------------------------------------
    def exit(self) -> None:
        """`__exit__`: set_work_task_roots_and_leaves."""
        if self.setup:
            work = self._work(self.setup)
            if work:
                roots = [t for t in work if not _neighbours(t, upstream=True)]
                self.link(self.setup, roots or [work[0]])
                leaves = [t for t in work if not _neighbours(t, downstream=True)] or [work[-1]]
                self.link(self.teardown or leaves, self.teardowns_of_setup)
        if self.teardown:
            work = self._work(self.teardown)
            if work:
                leaves = [t for t in work if not _neighbours(t, downstream=True)]
                self.link(leaves or [work[-1]], self.teardown)
                roots = [t for t in work if not _neighbours(t, upstream=True)] or [work[0]]
                self.link(self.setups_of_teardown, self.setup or roots)
        self._pop()
        self.active = False

    def _work(self, key: Tasks) -> list[TaskRecord]:
        return [t for t in self.context_map.get(key, []) if not t.is_setup and not t.is_teardown]

    def _pop(self) -> None:
        """set_setup_teardown_relationships: an inner context's setup runs after the outer one's, its
        teardown before the outer teardown."""
        old_setup, old_teardown = self.setup, self.teardown
        self.setup = self.previous_setups.pop() if self.previous_setups else ()
        if self.setup and old_setup:
            self.link(self.setup, old_setup)
        self.teardown = self.previous_teardowns.pop() if self.previous_teardowns else ()
        if self.teardown and old_teardown:
            self.link(old_teardown, self.teardown)
        old = self.teardowns_of_setup
        self.teardowns_of_setup = (
            self.previous_teardowns_of_setup.pop() if self.previous_teardowns_of_setup else ()
        )
        if self.teardowns_of_setup and old:
            self.link(old, self.teardowns_of_setup)
        old = self.setups_of_teardown
        self.setups_of_teardown = (
            self.previous_setups_of_teardown.pop() if self.previous_setups_of_teardown else ()
        )
        if self.setups_of_teardown and old:
            self.link(self.setups_of_teardown, old)
        self.context_map.pop(old_setup, None)
        self.context_map.pop(old_teardown, None)


def _neighbours(task: TaskRecord, *, upstream: bool = False, downstream: bool = False) -> list[TaskRecord]:
    """downstream_list + upstream_list, as Airflow lists them (downstream first)."""
    dag = task.dag
    ids = [
        *(dag.downstream.get(task.key, {}) if downstream else ()),
        *(dag.upstream.get(task.key, {}) if upstream else ()),
    ]
    return [dag.tasks[i] for i in ids if i in dag.tasks]
