"""What the report says about settings, tasks and ordering, from conversion.json values."""

from airflow2kfp.report import mermaid
from airflow2kfp.report.views import (
    Graph,
    GraphNode,
    duration,
    schedule_row,
    setting_rows,
    show,
    workflow_steps,
)


def test_schedules_become_recurring_runs():
    assert (
        schedule_row({"schedule": "@daily"}).kfp
        == "recurring run, cron '0 0 0 * * *' (create it with this cron)"
    )
    assert schedule_row({"schedule_interval": "30 2 * * *"}).kfp.startswith(
        "recurring run, cron '0 30 2 * * *'"
    )
    assert schedule_row({"schedule": {"duration_seconds": 3600}}).kfp.startswith("recurring run, interval 1h")
    assert schedule_row({"schedule": None}).mark == "same"
    assert schedule_row({"schedule": {"unresolved": "MyTimetable()"}}).mark == "lost"


def test_settings_rows_cover_params_catchup_and_unknown_keys():
    rows = {
        r.name: r
        for r in setting_rows(
            {"params": {"env": "prod"}, "catchup": True, "max_active_runs": 3, "owner_links": {"a": "b"}},
            parameters=["env"],
        )
    }
    assert rows["params.env"].mark == "same" and rows["catchup"].kfp == "recurring run no_catchup=False"
    assert rows["max_active_runs"].kfp == "recurring run max_concurrency=3"
    assert rows["owner_links"].mark == "lost"


def test_values_show_as_short_text():
    assert show({"duration_seconds": 5400}) == "90m" and duration(7200) == "2h" and duration(1.5) == "1.5s"
    assert show({"unresolved": "Variable.get('x')"}) == "Variable.get('x') (unresolved)"
    assert show(["a", "b"]) == "a, b" and show(None) == ""


def test_workflow_steps_read_retry_and_timeout_from_the_compiled_yaml():
    yaml_text = """
spec:
  templates:
  - name: extract
    container: {image: bash}
    retryStrategy: {limit: 2, retryPolicy: Always, backoff: {duration: 60s}}
    activeDeadlineSeconds: 600
  - name: pipeline
    dag: {tasks: []}
"""
    steps = workflow_steps(yaml_text)
    assert list(steps) == ["extract"]
    assert steps["extract"].retry == "2 (Always, backoff 60s)" and steps["extract"].timeout == "10m"
    assert workflow_steps("not: [valid") == {} and workflow_steps(None) == {}


def test_mermaid_labels_cannot_break_out():
    graph = Graph((GraphNode(0, 'a"]; click a0 "x', 'a"]; click a0 "x', "direct"),), ())
    text = mermaid.flowchart(graph, "a")
    assert '  a0["a#quot;]; click a0 #quot;x"]:::direct' in text.splitlines()


def test_conversion_json_carries_the_facts_the_report_would_parse_from_each_golden_workflow():
    import json
    from pathlib import Path

    from airflow2kfp.report.views import compiled_facts, pipeline_parameters

    goldens = Path(__file__).resolve().parents[1] / "goldens" / "dags"
    compared = with_retry = 0
    for summary in sorted(goldens.glob("*/conversion.json")):
        for dag in json.loads(summary.read_text())["dags"]:
            if not dag.get("yaml"):
                continue
            yaml_text = (summary.parent / dag["yaml"]).read_text()
            steps, parameters = compiled_facts(dag, yaml_text)
            parsed = {
                name: step for name, step in workflow_steps(yaml_text).items() if step.retry or step.timeout
            }
            assert dict(steps) == parsed, dag["dag_id"]
            assert parameters == pipeline_parameters(yaml_text), dag["dag_id"]
            compared += 1
            with_retry += bool(parsed)
    assert compared > 20 and with_retry > 3
