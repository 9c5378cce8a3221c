"""The self-check's bit-set comparison gives the closure comparison's verdict (random DAGs)."""

from __future__ import annotations

import random

from airflow2kfp import graph
from airflow2kfp.compiled import selfcheck


def _closures_equal(workflow, tasks, edges, kfp_names) -> bool:
    expected = {(kfp_names[a], kfp_names[b]) for a, b in graph.ordering_among(kfp_names, tasks, edges)}
    return expected == set(graph.ordering(workflow.steps, workflow.edges)) and workflow.steps == set(
        kfp_names.values()
    )


def test_same_ordering_matches_closures() -> None:
    rng = random.Random(3)
    agreed = {True: 0, False: 0}
    for _ in range(400):
        n = rng.randint(1, 14)
        tasks = [f"t{i}" for i in range(n)]
        edges = list({(tasks[a], tasks[b]) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.25})
        kept = [t for t in tasks if rng.random() < 0.8]
        kfp_names = {t: t.replace("t", "s-") for t in kept}
        # the workflow: Airflow's ordering among kept tasks, reduced, sometimes perturbed
        pairs = graph.ordering_among(kept, tasks, edges)
        w_edges = {
            (kfp_names[a], kfp_names[b])
            for a, b in graph.bypass([t for t in tasks if t not in kfp_names], tasks, edges)
        }
        w_edges |= {(kfp_names[a], kfp_names[b]) for a, b in pairs if rng.random() < 0.2}
        if kept and rng.random() < 0.4:
            a, b = sorted(rng.sample(range(len(kept)), 2)) if len(kept) > 1 else (0, 0)
            edge = (kfp_names[kept[a]], kfp_names[kept[b]])
            w_edges.symmetric_difference_update({edge} if a != b else set())
        workflow = selfcheck.WorkflowOrdering(frozenset(kfp_names.values()), frozenset(w_edges))
        verdict = _closures_equal(workflow, tasks, edges, kfp_names)
        assert selfcheck._same_ordering(workflow, tasks, edges, kfp_names) == verdict
        agreed[verdict] += 1
    assert agreed[True] > 50 and agreed[False] > 50
