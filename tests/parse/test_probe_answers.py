"""Probe JSON answers to the model: pure, no Airflow needed."""

from __future__ import annotations

from airflow2kfp.model import (
    BoundObject,
    Duration,
    MappedArg,
    PythonCallable,
    SourceSpan,
    Unresolved,
    XComRef,
)
from airflow2kfp.parse.airflow_import import decode_value, parsed_file_from_probe

TASK = {
    "task_id": "load",
    "operator": "@task.bash",
    "operator_module": "airflow.providers.standard.decorators.bash",
    "line": 9,
    "group_id": "etl",
    "args": {
        "retry_delay": {"__duration__": 60.0},
        "env": {"X": {"__xcom__": "a", "key": "k"}},
        "bash_command": {"__unresolved__": "make_command"},
    },
    "explicit": ["env"],
    "is_mapped": True,
    "mapped_args": {"x": [1, 2]},
    "is_setup": False,
    "is_teardown": True,
    "python_callable": {
        "name": "load",
        "module": None,
        "file": "/abs/dags/etl.py",
        "line": 7,
        "source": "def load(): ...",
    },
}
ANSWER = {
    "path": "/abs/dags/etl.py",
    "status": "ok",
    "skipped": False,
    "import_errors": [],
    "dags": [
        {
            "dag_id": "etl",
            "line": 5,
            "schedule": "@daily",
            "catchup": False,
            "tags": ["a"],
            "description": "d",
            "default_args": {"retries": 1},
            "params": {"p": 3},
            "task_groups": {"etl": {"parent": None, "tooltip": "t"}},
            "edge_labels": [["a", "load", "then"]],
            "tasks": [TASK],
            "edges": [["a", "load"]],
        }
    ],
}


def test_markers_decode_to_model_values() -> None:
    assert decode_value({"__duration__": 90}) == Duration(90.0)
    assert decode_value([{"__xcom__": "t"}]) == [XComRef("t", "return_value")]
    assert decode_value({"k": {"__unresolved__": "f(x)"}}) == {"k": Unresolved("f(x)")}
    assert decode_value({"plain": [1, "two", None]}) == {"plain": [1, "two", None]}


def test_answer_becomes_a_dag_read_by_airflow() -> None:
    parsed = parsed_file_from_probe(ANSWER, "dags/etl.py")
    (dag,) = parsed.dags
    assert parsed.path == "dags/etl.py" and parsed.diagnostics == ()
    assert dag.source_mode == "airflow" and dag.span == SourceSpan("dags/etl.py", 5)
    assert dag.edges == (("a", "load"),) and dag.edge_labels == {("a", "load"): "then"}
    assert dag.task_groups == {"etl": (None, "t")} and dag.description == "d"
    assert dag.settings["schedule"] == "@daily" and dag.settings["default_args"] == {"retries": 1}
    task = dag.task("load")
    assert task.operator == "task.bash" and task.span == SourceSpan("dags/etl.py", 9)
    assert task.args.get("retry_delay") == Duration(60.0) and task.args.explicit == frozenset({"env"})
    assert task.args.get("env") == {"X": XComRef("a", "k")}
    assert task.args.get("bash_command") == Unresolved("make_command")
    assert task.is_mapped and task.mapped_args == {"x": [1, 2]} and task.is_teardown
    assert task.python_callable == PythonCallable(
        "load", "def load(): ...", SourceSpan("dags/etl.py", 7), None
    )


def test_task_without_a_line_takes_the_dags() -> None:
    answer = {**ANSWER, "dags": [{**ANSWER["dags"][0], "tasks": [{**TASK, "line": None}]}]}
    assert parsed_file_from_probe(answer, "x.py").dags[0].tasks[0].span.line == 5


def test_failures_become_codes() -> None:
    cases = {
        "A2K602": {"status": "timeout", "timeout": 5},
        "A2K603": {"status": "crashed", "error": "exited with status 3"},
        "A2K601": {"status": "ok", "dags": [], "import_errors": [{"summary": "NameError: x", "line": 3}]},
        "A2K104": {"status": "ok", "dags": [], "import_errors": []},
    }
    for code, answer in cases.items():
        (found,) = parsed_file_from_probe(answer, "f.py").diagnostics
        assert found.code == code and found.file == "f.py"
    (error,) = parsed_file_from_probe(cases["A2K601"], "f.py").diagnostics
    assert error.line == 3 and "NameError: x" in error.message
    assert parsed_file_from_probe({"status": "ok", "skipped": True}, "f.py").not_a_dag_file


def test_a_dag_read_by_airflow_records_that_airflow_s_version() -> None:
    parsed = parsed_file_from_probe(ANSWER, "etl.py", "3.3.2")
    assert parsed.dags[0].airflow_version == "3.3.2" and parsed.dags[0].airflow_major == 3
    assert parsed_file_from_probe(ANSWER, "etl.py").dags[0].airflow_version is None


def test_callable_bindings_decode_to_the_model() -> None:
    callable_ = {
        **TASK["python_callable"],
        "name": "export",
        "partial_args": [1, {"__duration__": 5}],
        "partial_kwargs": {"dry_run": True},
        "cells": {"limit": 3},
        "bound_object": {
            "class_name": "Exporter",
            "module": None,
            "source": None,
            "state": {"target": "s3://x"},
        },
    }
    answer = {**ANSWER, "dags": [{**ANSWER["dags"][0], "tasks": [{**TASK, "python_callable": callable_}]}]}
    found = parsed_file_from_probe(answer, "dags/etl.py").dags[0].tasks[0].python_callable
    assert (found.partial_args, found.partial_kwargs, found.cells) == (
        (1, Duration(5.0)),
        {"dry_run": True},
        {"limit": 3},
    )
    assert found.bound_object == BoundObject("Exporter", None, None, {"target": "s3://x"})


def test_a_mapped_groups_argument_names_its_group_and_a_subdag_is_inlined() -> None:
    inner = {
        **TASK,
        "task_id": "g.work",
        "group_id": "g",
        "is_mapped": False,
        "mapped_args": {},
        "args": {"op_args": [{"__mapped_arg__": "x"}]},
    }
    parent = {
        **ANSWER["dags"][0],
        "dag_id": "p",
        "task_groups": {"g": {"parent": None, "tooltip": None, "mapped": {"x": [1, 2]}}},
        "edge_labels": [],
        "edges": [],
        "tasks": [
            inner,
            {
                **TASK,
                "task_id": "run",
                "operator": "SubDagOperator",
                "group_id": None,
                "operator_module": "airflow.operators.subdag",
                "args": {"subdag": {"__dag__": "p.run"}},
                "python_callable": None,
            },
        ],
    }
    child = {
        **ANSWER["dags"][0],
        "dag_id": "p.run",
        "task_groups": {},
        "edge_labels": [],
        "edges": [],
        "tasks": [{**TASK, "task_id": "step", "group_id": None, "python_callable": None}],
    }
    (dag,) = parsed_file_from_probe({**ANSWER, "dags": [parent, child]}, "p.py").dags
    assert dag.mapped_groups == {"g": {"x": [1, 2]}}
    assert dag.task("g.work").args.get("op_args") == [MappedArg("g", "x")]
    assert [t.task_id for t in dag.tasks] == ["g.work", "run.step"] and dag.subdags == {"run": "p.run"}


# -- the channel: an answer must be for this request, once, and have the shape of an answer ----

NONCE = "0123456789abcdef0123456789abcdef"


def checked(header: dict, answer: object) -> list[str]:
    import json

    from airflow2kfp.parse.airflow_import import answer_to_parsed

    payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    parsed = answer_to_parsed(header, payload, NONCE, ANSWER["path"], "dags/etl.py")
    return [d.code for d in parsed.diagnostics] + [dag.dag_id for dag in parsed.dags]


def test_a_genuine_answer_passes_the_checks() -> None:
    assert checked({"status": "ok"}, {**ANSWER, "nonce": NONCE}) == ["etl"]


def test_a_forged_extra_or_malformed_answer_fails_only_its_file() -> None:
    ok = {"status": "ok"}
    assert checked(ok, {**ANSWER, "nonce": "f" * 32}) == ["A2K612"]  # another request's nonce
    assert checked(ok, {**ANSWER, "nonce": NONCE, "path": "/abs/dags/other.py"}) == ["A2K612"]  # another file
    assert checked(ok, {**ANSWER}) == ["A2K612"]  # no nonce at all
    assert checked(ok, b"not json") == ["A2K612"]
    assert checked(ok, [1, 2]) == ["A2K612"]
    assert checked({"status": "tampered", "frames": 2, "extra_bytes": 0}, b"") == ["A2K612"]
    assert checked({"status": "what"}, b"") == ["A2K612"]
    for broken in (
        {"dag_id": 7},
        {"dag_id": "x", "tasks": [{"task_id": None}]},
        {"dag_id": "x", "edges": [["a"]]},
        {"dag_id": "x", "tasks": "abc"},
        {"dag_id": "x", "tasks": [{"task_id": "t", "python_callable": {"line": "seven"}}]},
        {"dag_id": "x", "tasks": [{"task_id": "t", "explicit": [1]}]},
        {"tasks": []},
    ):
        assert checked(ok, {**ANSWER, "nonce": NONCE, "dags": [broken]}) == ["A2K612"], broken
    assert checked(ok, {**ANSWER, "nonce": NONCE, "import_errors": [{"line": "x"}]}) == ["A2K612"]


def test_timeouts_and_crashes_keep_their_codes() -> None:
    assert checked({"status": "timeout", "timeout": 3}, b"") == ["A2K602"]
    assert checked(
        {"status": "crashed", "error": "killed by signal 9", "limits": {"memory_mb": 2048}}, b""
    ) == ["A2K603"]


def test_frames_are_split_exactly() -> None:
    import pytest

    from airflow2kfp.airflow_side.sandbox_inside import FrameError, encode, split_frames

    one, two = encode({"a": 1}), encode(b"raw")
    assert split_frames(one + two) == ([b'{"a": 1}', b"raw"], b"")
    assert split_frames(one + two[:5]) == ([b'{"a": 1}'], two[:5])  # the rest is still coming
    for garbage in (b"{}\n", one + b"x" * 20, b"A2KF" + (1 << 40).to_bytes(8, "big")):
        with pytest.raises(FrameError):
            split_frames(garbage)


def test_a_duration_marker_that_is_no_number_stays_unresolved() -> None:
    assert decode_value({"__duration__": "soon"}) == Unresolved("'soon'")
