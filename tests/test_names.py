import pytest

from airflow2kfp.emit.names import python_task_variables
from airflow2kfp.names import UniqueNames, k8s_name, kfp_task_names, python_identifier


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Extract", "extract"),
        ("load.data", "load-data"),
        ("task_a", "task-a"),
        ("__weird__", "weird"),
        ("9lives", "task-9lives"),
        ("", "task"),
    ],
)
def test_k8s_name(raw, expected):
    assert k8s_name(raw) == expected


def test_long_id_is_cut_to_63_with_a_stable_hash():
    raw = "x" * 90
    name = k8s_name(raw)
    assert len(name) <= 63 and name == k8s_name(raw) and name != k8s_name("x" * 91)


def test_collisions_resolve_in_order_and_reserve_the_pipeline_name():
    names = kfp_task_names(["task_a", "task-a", "Task.A", "etl"], pipeline_name="etl")
    assert names == {"task_a": "task-a", "task-a": "task-a-2", "Task.A": "task-a-3", "etl": "etl-2"}


def test_kfp_group_template_names_are_never_used_for_tasks():
    assert kfp_task_names(["condition-1"], "p") == {"condition-1": "condition-1-2"}


def test_case_insensitive_uniqueness_for_file_names():
    names = UniqueNames(casefold=True)
    assert [names.claim("ETL", sep="_"), names.claim("etl", sep="_")] == ["ETL", "etl_2"]


def test_python_identifiers_avoid_keywords_and_module_names():
    assert python_identifier("class") == "class_"
    assert python_task_variables(["dsl", "named", "a-b", "a_b"], reserved=[]) == {
        "dsl": "dsl_2",
        "named": "named_2",
        "a-b": "a_b",
        "a_b": "a_b_2",
    }
