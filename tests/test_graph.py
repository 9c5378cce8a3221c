from airflow2kfp import graph


def test_cycle_is_found_in_order():
    assert graph.find_cycle("abc", [("a", "b"), ("b", "c"), ("c", "a")]) == ["a", "b", "c", "a"]


def test_acyclic_graph_has_no_cycle():
    assert graph.find_cycle("abc", [("a", "b"), ("a", "c")]) is None


def test_ordering_is_transitive():
    assert graph.ordering("abc", [("a", "b"), ("b", "c")]) == {("a", "b"), ("b", "c"), ("a", "c")}


def test_bypass_keeps_ordering_through_removed_task():
    edges = [("a", "e"), ("b", "e"), ("e", "c"), ("e", "d")]
    assert sorted(graph.bypass(["e"], "abcde", edges)) == [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]


def test_bypass_adds_nothing_already_implied():
    # a >> b >> c and a >> empty >> c: a -> c is implied by the path through b
    edges = [("a", "b"), ("b", "c"), ("a", "x"), ("x", "c")]
    assert sorted(graph.bypass(["x"], "abcx", edges)) == [("a", "b"), ("b", "c")]


def test_bypass_of_chain_of_removed_tasks():
    edges = [("a", "x"), ("x", "y"), ("y", "b")]
    assert graph.bypass(["x", "y"], "abxy", edges) == [("a", "b")]


def test_topological_order_breaks_ties_by_given_order():
    assert graph.topological(["c", "b", "a"], [("a", "b")]) == ["c", "a", "b"]
