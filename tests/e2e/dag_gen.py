"""Random Airflow DAGs for property tests: a graph, awkward task ids, and its rendering as source.

A generated DAG is a list of tasks in topological order (index order) plus a list of dependency
statements, each in one of the styles Airflow accepts. Every statement only orders a lower index
before a higher one, so the graph is acyclic by construction. The expected edges are computed here
from the statements with Airflow's own semantics (a TaskGroup on the left of `>>` stands for its
leaves at the time of the statement, on the right for its roots), independently of the converter.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass, field

from hypothesis import strategies as st

HEADER = """\
from datetime import datetime

from airflow.sdk import DAG, TaskGroup, chain, cross_downstream
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator

"""
MAX_ID = 250  # Airflow's validate_key limit, for the full id (group prefix included)

# ids that each stress a different part of naming: case-only differences, separators that all
# sanitise to "-", KFP's own template names, generated-module names, Python keywords, unicode
# letters (`\w` matches them), a trailing newline (`$` in Airflow's KEY_REGEX accepts it), lengths
AWKWARD_IDS = (
    "Extract",
    "extract",
    "EXTRACT",
    "load.data",
    "load-data",
    "load_data",
    "a-b",
    "a_b",
    "A_B",
    "condition-1",
    "for-loop-2",
    "exit-handler-1",
    "graph-1",
    "pipeline",
    "prop",
    "1st",
    "_private",
    "-dash",
    ".",
    "..",
    "...",
    "données",
    "Ünïcode",
    "日本語",
    "ﬁle",
    "ǅ",
    "class",
    "None",
    "dsl",
    "compiler",
    "t0",
    "tasks",
    "created",
    "x\n",
    "x" * 200,
    "y" * 250,
    "z" * 63,
    "Z" * 64,
    "a" * 62 + "-b",
    "a" * 62 + "_b",
)
_PLAIN = string.ascii_letters + string.digits + "._-"
GROUP_NAMES = ("grp", "Stage-A", "stage_a", "g1", "Ü", "x" * 40)

task_ids = st.one_of(
    st.sampled_from(AWKWARD_IDS),
    st.text(alphabet=_PLAIN, min_size=1, max_size=24),
    st.text(alphabet=_PLAIN + "éßΩ日", min_size=1, max_size=8),
    st.text(alphabet=_PLAIN, min_size=200, max_size=MAX_ID),
)


@dataclass
class GeneratedDag:
    dag_id: str
    ids: list[str]  # full task ids, by index (topological order)
    local_ids: list[str]  # as passed to task_id=
    group_of: list[int | None]
    groups: list[tuple[str, int, int]]  # (group id, first index, end index): contiguous ranges
    empty: set[int]  # EmptyOperator tasks (removed in KFP; their ordering is kept by bypass edges)
    looped: set[int]  # tasks created in a `for` loop over a literal list
    statements: list[str] = field(default_factory=list)
    edges: set[tuple[int, int]] = field(default_factory=set)  # what Airflow's graph holds

    def edge_ids(self) -> set[tuple[str, str]]:
        return {(self.ids[a], self.ids[b]) for a, b in self.edges}

    # -- Airflow's semantics for groups ------------------------------------------------------

    def members(self, group: int) -> range:
        _, start, end = self.groups[group]
        return range(start, end)

    def leaves(self, group: int) -> list[int]:
        inside = set(self.members(group))
        return [m for m in inside if not any((m, d) in self.edges for d in inside)]

    def roots(self, group: int) -> list[int]:
        inside = set(self.members(group))
        return [m for m in inside if not any((u, m) in self.edges for u in inside)]

    # -- rendering --------------------------------------------------------------------------

    def source(self) -> str:
        lines = [
            HEADER,
            f"with DAG(dag_id={self.dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1),"
            " catchup=False):",
        ]
        index = 0
        while index < len(self.ids):
            group = self.group_of[index]
            if group is not None:
                name, _, end = self.groups[group]
                lines.append(f"    with TaskGroup({name!r}) as g{group}:")
                lines += [f"        {self._create(i)}" for i in range(index, end)]
                index = end
            elif index in self.looped:
                run = [index]
                while run[-1] + 1 in self.looped and self.group_of[run[-1] + 1] is None:
                    run.append(run[-1] + 1)
                literal = ", ".join(repr(self.local_ids[i]) for i in run)
                lines.append(f"    created = {{}}\n    for tid in [{literal}]:")
                lines.append('        created[tid] = BashOperator(task_id=tid, bash_command="echo looped")')
                lines += [f"    t{i} = created[{self.local_ids[i]!r}]" for i in run]
                index = run[-1] + 1
            else:
                lines.append(f"    {self._create(index)}")
                index += 1
        lines.append("    tasks = {" + ", ".join(f'"{i}": t{i}' for i in range(len(self.ids))) + "}")
        lines += [f"    {statement}" for statement in self.statements]
        return "\n".join(lines) + "\n"

    def _create(self, index: int) -> str:
        if index in self.empty:
            return f"t{index} = EmptyOperator(task_id={self.local_ids[index]!r})"
        return f"t{index} = BashOperator(task_id={self.local_ids[index]!r}, bash_command='echo {index}')"


def _ordered(draw: st.DrawFn, n: int, size: int) -> list[int]:
    return sorted(draw(st.lists(st.integers(0, n - 1), min_size=size, max_size=size, unique=True)))


def _statement(draw: st.DrawFn, dag: GeneratedDag) -> None:
    """Draw one dependency statement, append its source and add the edges Airflow would."""
    n = len(dag.ids)
    styles = ["rshift", "lshift", "set_downstream", "set_upstream", "loop"]
    if n >= 3:
        styles += ["fan_out", "fan_in", "chain", "chained_rshift", "set_downstream_list"]
    if n >= 4:
        styles += ["chain_list", "cross"]
    if dag.groups:
        styles += ["group_right", "group_left", "group_group"]
    style = draw(st.sampled_from(styles))
    t = [f"t{i}" for i in range(n)]
    add, say = dag.edges.update, dag.statements.append
    if style in ("rshift", "lshift", "set_downstream", "set_upstream"):
        a, b = _ordered(draw, n, 2)
        say(
            {
                "rshift": f"{t[a]} >> {t[b]}",
                "lshift": f"{t[b]} << {t[a]}",
                "set_downstream": f"{t[a]}.set_downstream({t[b]})",
                "set_upstream": f"{t[b]}.set_upstream({t[a]})",
            }[style]
        )
        add({(a, b)})
    elif style == "loop":
        pairs = [tuple(_ordered(draw, n, 2)) for _ in range(draw(st.integers(1, 4)))]
        say(f"for up, down in {[(str(a), str(b)) for a, b in pairs]!r}:\n        tasks[up] >> tasks[down]")
        add(set(pairs))
    elif style in ("fan_out", "set_downstream_list"):
        a, *rest = _ordered(draw, n, draw(st.integers(3, min(n, 6))))
        listed = ", ".join(t[r] for r in rest)
        say(f"{t[a]} >> [{listed}]" if style == "fan_out" else f"{t[a]}.set_downstream([{listed}])")
        add({(a, r) for r in rest})
    elif style == "fan_in":
        *rest, b = _ordered(draw, n, draw(st.integers(3, min(n, 6))))
        say(f"[{', '.join(t[r] for r in rest)}] >> {t[b]}")
        add({(r, b) for r in rest})
    elif style in ("chain", "chained_rshift"):
        path = _ordered(draw, n, draw(st.integers(3, min(n, 6))))
        say(
            f"chain({', '.join(t[p] for p in path)})" if style == "chain" else " >> ".join(t[p] for p in path)
        )
        add(set(itertools.pairwise(path)))
    elif style == "chain_list":
        a, b, c, d = _ordered(draw, n, 4)
        say(f"chain({t[a]}, [{t[b]}, {t[c]}], {t[d]})")
        add({(a, b), (a, c), (b, d), (c, d)})
    elif style == "cross":
        picked = _ordered(draw, n, draw(st.integers(4, min(n, 6))))
        cut = draw(st.integers(1, len(picked) - 1))
        ups, downs = picked[:cut], picked[cut:]
        say(f"cross_downstream([{', '.join(t[u] for u in ups)}], [{', '.join(t[d] for d in downs)}])")
        add({(u, d) for u in ups for d in downs})
    else:
        _group_statement(draw, dag, style)


def _group_statement(draw: st.DrawFn, dag: GeneratedDag, style: str) -> None:
    n = len(dag.ids)
    group = draw(st.integers(0, len(dag.groups) - 1))
    _, start, end = dag.groups[group]
    if style == "group_right" and start > 0:  # a task before the group >> the group: its roots
        a = draw(st.integers(0, start - 1))
        dag.statements.append(f"t{a} >> g{group}")
        dag.edges.update((a, r) for r in dag.roots(group))
    elif style == "group_left" and end < n:  # the group >> a task after it: its leaves
        b = draw(st.integers(end, n - 1))
        dag.statements.append(f"g{group} >> t{b}")
        dag.edges.update((leaf, b) for leaf in dag.leaves(group))
    elif style == "group_group" and group + 1 < len(dag.groups):
        other = draw(st.integers(group + 1, len(dag.groups) - 1))
        dag.statements.append(f"g{group} >> g{other}")
        dag.edges.update((leaf, r) for leaf in dag.leaves(group) for r in dag.roots(other))


@st.composite
def generated_dags(draw: st.DrawFn, max_tasks: int = 150, max_statements: int = 120) -> GeneratedDag:
    n = draw(st.integers(1, max_tasks))
    # contiguous TaskGroups over index ranges, numbered in index order (`g0 >> g1` is then forward)
    ranges: list[tuple[str, int, int]] = []
    for name in draw(st.lists(st.sampled_from(GROUP_NAMES), unique=True, max_size=3)):
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, min(n, start + 12)))
        if all(end <= s or start >= e for _, s, e in ranges):
            ranges.append((name, start, end))
    groups = sorted(ranges, key=lambda g: g[1])
    group_of: list[int | None] = [None] * n
    for number, (_, start, end) in enumerate(groups):
        for i in range(start, end):
            group_of[i] = number
    local: list[str] = []
    full: list[str] = []
    taken: set[str] = set()
    for i in range(n):
        prefix = f"{groups[g][0]}." if (g := group_of[i]) is not None else ""
        candidate = draw(task_ids.filter(lambda c, p=prefix: len(p + c) <= MAX_ID and p + c not in taken))
        local.append(candidate)
        full.append(prefix + candidate)
        taken.add(prefix + candidate)
    empty = {i for i in range(n) if draw(st.integers(0, 9)) == 0}
    looped = {i for i in range(n) if group_of[i] is None and i not in empty and draw(st.integers(0, 6)) == 0}
    dag_id = draw(st.sampled_from(["prop", "Prop.DAG-1", "données_dag", "d" * 250]))
    dag = GeneratedDag(dag_id, full, local, group_of, groups, empty, looped)
    if n > 1:
        for _ in range(draw(st.integers(0, max_statements))):
            _statement(draw, dag)
    return dag
