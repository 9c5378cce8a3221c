from pathlib import Path

from airflow2kfp.compiled.selfcheck import check, read_workflow

SEED = (Path(__file__).parents[1] / "data" / "seed" / "example-pipeline.yaml").read_text()
SEED_EDGES = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("c", "e"), ("d", "f"), ("d", "g"), ("e", "g")]
NAMES = {c: f"task-{c}" for c in "abcdefg"}


def test_seed_workflow_is_read_as_its_dependencies():
    workflow = read_workflow(SEED)
    assert workflow.steps == {f"task-{c}" for c in "abcdefg"}
    assert ("task-d", "task-g") in workflow.edges and len(workflow.edges) == 8


def test_seed_matches_its_airflow_ordering():
    assert check(SEED, "abcdefg", SEED_EDGES, NAMES).exact


def test_a_missing_edge_is_reported_as_a_mismatch():
    verdict = check(SEED, "abcdefg", SEED_EDGES + [("f", "g")], NAMES)
    assert not verdict.exact and verdict.missing == (("task-f", "task-g"),)


def test_an_extra_edge_is_reported():
    verdict = check(SEED, "abcdefg", [e for e in SEED_EDGES if e != ("d", "g")], NAMES)
    assert not verdict.exact and verdict.extra == (("task-d", "task-g"),)


def test_depends_expressions_and_nested_dags_are_read():
    text = """
spec:
  entrypoint: p
  templates:
  - name: p
    dag:
      tasks:
      - {name: a, template: a}
      - {name: condition-1, template: condition-1, depends: a.Succeeded}
      - {name: c, template: c, depends: "condition-1.Succeeded || condition-1.Skipped"}
  - name: condition-1
    dag:
      tasks:
      - {name: b, template: b}
  - {name: a, container: {image: x}}
  - {name: b, container: {image: x}}
  - {name: c, container: {image: x}}
"""
    workflow = read_workflow(text)
    assert workflow.edges == {("a", "b"), ("b", "c")}


def test_the_workflow_outline_reads_as_the_full_parse_on_every_golden():
    from pathlib import Path

    import yaml

    from airflow2kfp.compiled import workflow

    texts = [
        p.read_text()
        for p in sorted((Path(__file__).parents[1] / "goldens" / "dags").glob("*/pipelines/*.yaml"))
    ]
    assert len(texts) > 20
    for text in texts:
        full, outline = yaml.safe_load(text), workflow.load_workflow(text)
        assert read_workflow(text, outline) == read_workflow(text, full)
        assert workflow.step_settings(outline) == workflow.step_settings(full)
        assert workflow.workflow_parameters(outline) == workflow.workflow_parameters(full)
    assert workflow.load_workflow("- not\n- a workflow\n") == ["not", "a workflow"]
