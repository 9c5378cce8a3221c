"""Every way of writing dependencies; edges are (upstream, downstream), deduplicated, first-seen order."""

from __future__ import annotations

from tests.parse.helpers import codes, only_dag

TASKS = """
with DAG("d"):
    a, b, c, d, e = [EmptyOperator(task_id=n) for n in "abcde"]
"""


def edges_of(read, body: str, extra_imports: str = "") -> tuple[tuple[str, str], ...]:
    parsed = read(extra_imports + TASKS + "\n".join(f"    {line}" for line in body.strip().splitlines()))
    assert not codes(parsed), [d.render() for d in parsed.diagnostics]
    return only_dag(parsed).edges


def test_rshift_and_lshift(read) -> None:
    assert edges_of(read, "a >> b\nc << b") == (("a", "b"), ("b", "c"))


def test_lists_on_either_side_and_chains(read) -> None:
    assert edges_of(read, "a >> [b, c] >> d\n[d] >> e") == (
        ("a", "b"),
        ("a", "c"),
        ("b", "d"),
        ("c", "d"),
        ("d", "e"),
    )


def test_lshift_with_list(read) -> None:
    assert edges_of(read, "a << [b, c]\n[d, e] << a") == (("b", "a"), ("c", "a"), ("a", "d"), ("a", "e"))


def test_duplicates_are_kept_once_in_first_seen_order(read) -> None:
    assert edges_of(read, "b >> c\na >> b\nb >> c\nc.set_upstream(b)") == (("b", "c"), ("a", "b"))


def test_set_upstream_and_downstream(read) -> None:
    assert edges_of(read, "a.set_downstream([b, c])\nd.set_upstream(c)\ne.set_upstream([a])") == (
        ("a", "b"),
        ("a", "c"),
        ("c", "d"),
        ("a", "e"),
    )


def test_augmented_shift(read) -> None:
    assert edges_of(read, "a >>= b") == (("a", "b"),)


def test_chain_with_lists(read) -> None:
    imports = "from airflow.models.baseoperator import chain\n"
    assert edges_of(read, "chain(a, [b, c], [d, e])", imports) == (
        ("a", "b"),
        ("a", "c"),
        ("b", "d"),
        ("c", "e"),
    )


def test_chain_from_sdk_and_1_10(read) -> None:
    imports = "from airflow.sdk import chain\nfrom airflow.utils.helpers import chain as old_chain\n"
    assert edges_of(read, "chain(a, b)\nold_chain(c, d)", imports) == (("a", "b"), ("c", "d"))


def test_chain_unequal_lists_is_an_error(read) -> None:
    parsed = read(
        "from airflow.models.baseoperator import chain\n" + TASKS + "    chain([a, b], [c, d, e])\n"
    )
    assert codes(parsed) == ["A2K203"]


def test_cross_downstream_and_chain_linear(read) -> None:
    imports = "from airflow.models.baseoperator import chain_linear, cross_downstream\n"
    assert edges_of(read, "cross_downstream([a, b], [c, d])", imports) == (
        ("a", "c"),
        ("a", "d"),
        ("b", "c"),
        ("b", "d"),
    )
    assert edges_of(read, "chain_linear(a, [b, c], d)", imports) == (
        ("a", "b"),
        ("a", "c"),
        ("b", "d"),
        ("c", "d"),
    )


def test_labels(read) -> None:
    parsed = read(
        "from airflow.utils.edgemodifier import Label\n"
        + TASKS
        + '    a >> Label("yes") >> b\n    c.set_downstream(d, edge_modifier=Label("m"))\n'
    )
    dag = only_dag(parsed)
    assert dag.edges == (("a", "b"), ("c", "d"))
    assert dag.edge_labels == {("a", "b"): "yes", ("c", "d"): "m"}


def test_setup_teardown(read) -> None:
    dag = only_dag(read(TASKS + "    a.as_setup()\n    c.as_teardown(setups=a)\n    a >> b >> c\n"))
    assert dag.task("a").is_setup and dag.task("c").is_teardown
    assert dag.edges == (("a", "c"), ("a", "b"), ("b", "c"))


def test_list_shifted_by_list_is_an_error(read) -> None:
    parsed = read(TASKS + "    [a, b] >> [c, d]\n")
    assert codes(parsed) == ["A2K203"] and only_dag(parsed).edges == ()


def test_unresolvable_operand(read) -> None:
    parsed = read("from mylib import make_tasks\n" + TASKS + "    a >> make_tasks()\n")
    [error] = [d for d in parsed.diagnostics if d.severity.value == "error"]
    assert error.code == "A2K203" and "make_tasks()" in error.message and error.line == 9


def test_unknown_helper_given_a_task_is_reported(read) -> None:
    parsed = read("from team_lib import attach_alerts\n" + TASKS + "    attach_alerts(a)\n")
    [diagnostic] = parsed.diagnostics
    assert (diagnostic.code, diagnostic.severity.value, diagnostic.line) == ("A2K203", "warning", 9)


def test_setup_teardown_context_wires_the_tasks_made_in_its_body(read) -> None:
    """Airflow's SetupTeardownContext: the setup found upstream of the entered teardown runs before
    the body's roots, the body's leaves before the teardown (tasks made there, not named there)."""
    body = (
        "    a.as_setup()\n    c.as_teardown(setups=a)\n    with c:\n        b\n"
        "        x = EmptyOperator(task_id='x')\n        y = EmptyOperator(task_id='y')\n        x >> y\n"
    )
    assert only_dag(read(TASKS + body)).edges == (("a", "c"), ("x", "y"), ("y", "c"), ("a", "x"))


def test_nested_setup_teardown_contexts_chain_their_setups_and_teardowns(read) -> None:
    body = (
        "    with a.as_setup() >> b.as_teardown():\n        with c.as_setup() >> d.as_teardown():\n"
        "            EmptyOperator(task_id='w')\n"
    )
    assert sorted(only_dag(read(TASKS + body)).edges) == sorted(
        [("a", "b"), ("c", "d"), ("w", "d"), ("c", "w"), ("a", "c"), ("d", "b")]
    )


def test_entering_a_task_that_is_no_setup_or_teardown_is_an_error(read) -> None:
    parsed = read(TASKS + "    with a:\n        EmptyOperator(task_id='x')\n")
    assert codes(parsed) == ["A2K203"] and "neither a setup nor a teardown" in parsed.diagnostics[0].message
