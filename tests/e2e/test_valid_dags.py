"""No internal error on valid DAGs: every fixture of fixtures/valid_dags* is a DAG Airflow loads, and
converts in the default mode (Airflow 3, or Airflow 2.10 for the Airflow 2 ones) and in static mode
with no A2K4xx/A2K5xx, each DAG once; each case's own outcome is checked too."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow2kfp.cli import main

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
CASES = [
    (folder, version)
    for folder, version in (
        ("valid_dags", "airflow3"),
        ("valid_dags_airflow2", "airflow2"),
        ("valid_dags_duplicates", "airflow3"),
        ("valid_dags_duplicates", "airflow2"),
    )
]
INTERNAL = re.compile(r"^A2K[45]\d\d$")


def convert(folder: Path, out: Path, mode: str, python: str) -> tuple[int, dict[str, Any], str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(
            [
                "convert",
                str(folder),
                "--out",
                str(out),
                "--mode",
                mode,
                "--airflow-python",
                python,
                "--no-cache",
                "-j",
                "1",
            ]
        )
    return code, json.loads((out / "conversion.json").read_text()), printed.getvalue()


@pytest.fixture(
    scope="module",
    params=[(f, v, m) for f, v in CASES for m in ("auto", "static")],
    ids=lambda p: "-".join(p),
)
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder, version, mode = request.param
    python = request.getfixturevalue("airflow_python" if version == "airflow3" else "airflow2_python")
    out = tmp_path_factory.mktemp("out")
    code, summary, printed = convert(FIXTURES / folder, out, mode, python)
    return folder, version, mode, out, code, summary, printed


def diagnostics(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for f in summary["files"] for d in f["diagnostics"]] + [
        d for dag in summary["dags"] for d in dag["diagnostics"]
    ]


def test_no_internal_error_and_one_emission_per_dag_id(converted) -> None:
    _, _, _, out, code, summary, printed = converted
    assert not [d for d in diagnostics(summary) if INTERNAL.match(d["code"])], printed
    ids = [dag["dag_id"] for dag in summary["dags"]]
    assert len(ids) == len(set(ids)), ids
    assert all(dag["status"] == "converted" for dag in summary["dags"]), printed
    assert code == 0, printed
    # no orphan: every pipeline file is the one conversion.json names
    named = {
        Path(dag[key]).name
        for dag in summary["dags"]
        for key in ("python", "yaml", "recurring_run")
        if dag[key]
    }
    assert {p.name for p in (out / "pipelines").iterdir() if p.is_file()} == named


def dag_of(summary: dict[str, Any], dag_id: str) -> dict[str, Any]:
    return next(dag for dag in summary["dags"] if dag["dag_id"] == dag_id)


def pipeline(out: Path, dag: dict[str, Any]) -> str:
    """The generated file's text, its whitespace runs as one space (ruff lays out long lines)."""
    return " ".join((out / dag["python"]).read_text().split())


def test_each_case_converts_as_it_runs(converted) -> None:
    folder, _, mode, out, _, summary, _ = converted
    if folder == "valid_dags":
        branch = dag_of(summary, "valid_custom_branch_operator")
        tasks = {t["task_id"]: t for t in branch["tasks"]}
        # the custom BaseBranchOperator is a (placeholder) decision its downstream tasks run under
        assert tasks["choose_refresh"]["mapping"] == "placeholder"
        assert all(tasks[t]["conditions"] for t in ("full_refresh", "load_orders", "load_customers"))
        assert "follow_full_refresh" in pipeline(out, branch)

        always = dag_of(summary, "valid_short_circuit_always")
        tasks = {t["task_id"]: t for t in always["tasks"]}
        assert always["ordering"]["verdict"] == "exact"
        assert (
            not tasks["notify_team"]["conditions"]
            and tasks["notify_team"]["semantics"]["verdict"] == "differs"
        )
        assert tasks["export"]["conditions"]

        unread = dag_of(summary, "valid_mapped_unread_input")
        text = pipeline(out, unread)
        assert "Unresolved" not in text
        # both readings give range()'s items (the import's range object is answered as its list)
        assert "dsl.ParallelFor([1, 2, 3, 4, 5, 6, 7])" in text
        assert "_items: list = None" not in text

        closure = pipeline(out, dag_of(summary, "valid_mapped_group_closure"))
        assert "'per_region_kwargs." not in closure and "MappedArg" not in closure
        assert re.search(r"config_\d=per_region_kwargs\.files", closure)  # the item, nested in a dict

        product = dag_of(summary, "valid_mapped_cross_product")
        text = pipeline(out, product)
        # one step computes the combinations, one loop runs over them: each argument is the item's field
        assert product["ordering"]["verdict"] == "exact"
        assert 'dsl.ParallelFor(smoke_test_items.outputs["Output"]) as smoke_test_item' in text
        assert "bash_command_0=smoke_test_item.bash_command, env=smoke_test_item.env" in text
        assert "_itertools.product(*_lists)" in text
        assert not [
            d
            for d in diagnostics(summary)
            if d.get("dag_id") == "valid_mapped_cross_product" and d["code"] == "A2K306"
        ]

        group = dag_of(summary, "valid_mapped_group_cross_product")
        text = pipeline(out, group)
        assert group["ordering"]["verdict"] == "exact"
        assert 'with dsl.ParallelFor(export_table_items.outputs["Output"]) as export_table_item:' in text
        assert "warehouse=export_table_item.warehouse, table=export_table_item.table" in text

        jobs = dag_of(summary, "valid_bash_expand_kwargs")
        assert {t["task_id"]: t["mapping"] for t in jobs["tasks"]}["run_job"] != "placeholder"
        assert 'mapped_kwargs.items() if _k in ("bash_command", "env", "append_env", "cwd")' in pipeline(
            out, jobs
        )

        pulled = dag_of(summary, "valid_pull_from_placeholder")
        tasks = {t["task_id"]: t for t in pulled["tasks"]}
        found = [d for d in diagnostics(summary) if d["code"] == "A2K336"]
        if (
            mode == "static"
        ):  # the image is a Variable: the pod is a placeholder that declares the output read
            assert tasks["model_training"]["mapping"] == "placeholder"
            assert tasks["extract_run_id"]["mapping"] == "approximated"
            assert [d["message"].split(" (output")[0] for d in found] == [
                "reads the XCom of 'model_training'"
            ]
            assert "- {name: Output}" in pipeline(out, pulled)
        else:  # Airflow's import reads the Variable's default: a pod, no placeholder
            assert tasks["model_training"]["mapping"] != "placeholder" and not found

        kwargs = pipeline(out, dag_of(summary, "valid_mapped_group_kwargs"))
        assert (
            "MappedArg" not in kwargs and 'dsl.ParallelFor(["reindex orders", "reindex customers"])' in kwargs
        )
    elif folder == "valid_dags_airflow2":
        rules = {t["task_id"]: t for t in dag_of(summary, "valid_legacy_trigger_rules")["tasks"]}
        assert (
            rules["publish"]["trigger_rule"]
            == rules["vacuum"]["trigger_rule"]
            == "none_failed_min_one_success"
        )
        assert rules["notify"]["trigger_rule"] == "always"
        assert rules["publish"]["depends"].endswith("(full-load.Succeeded || incremental-load.Succeeded)")
    else:
        assert sorted(dag["dag_id"] for dag in summary["dags"]) == ["per_customer", "shared_report"]
        assert dag_of(summary, "shared_report")["source"].endswith("shared_report.py")
        found = [d for d in diagnostics(summary) if d["code"] == "A2K206"]
        assert {d["severity"] for d in found} == {"warning"}
        assert any(d["dag_id"] == "per_customer" for d in found)
        if mode == "auto":  # the re-export in all_reports.py is said, and that file converts nothing
            assert any(d["dag_id"] == "shared_report" and d["file"].endswith("all_reports.py") for d in found)
        files = {Path(f["path"]).name: f["status"] for f in summary["files"]}
        assert files["all_reports.py"] == "skipped"
