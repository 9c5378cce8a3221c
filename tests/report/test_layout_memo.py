"""Graph layouts are kept between runs, so re-rendering reports after a one-DAG change runs `dot` once."""

import shutil

import pytest

from airflow2kfp.report import layout
from airflow2kfp.report.views import Graph, GraphNode

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")


def graph(label: str) -> Graph:
    return Graph((GraphNode(0, label, label, "direct"), GraphNode(1, "b", "b", "direct")), ((0, 1),))


def test_a_memoised_layout_is_reused_and_a_changed_graph_is_laid_out_again(tmp_path, monkeypatch):
    first = layout.layout([(graph("a"), "af"), (graph("a"), "kf")], memo_dir=tmp_path)
    assert first.error is None and len(list(tmp_path.iterdir())) == 1
    runs = []
    real_run = layout._run_dot
    monkeypatch.setattr(layout, "_run_dot", lambda *args: runs.append(args) or real_run(*args))
    assert layout.layout([(graph("a"), "af"), (graph("a"), "kf")], memo_dir=tmp_path) == first
    assert runs == []
    changed = layout.layout([(graph("c"), "af"), (graph("a"), "kf")], memo_dir=tmp_path)
    assert len(runs) == 1 and changed.svgs != first.svgs
