"""DAGs built from the repository's data files (dag-factory style) are read statically, as data only:
YAML and JSON files inside the folder being converted, found through paths computed from
`__file__`, listings and globs; registered through globals(). Whatever cannot be read safely (outside
the folder, a symbolic link out of it, too large, a tag PyYAML's safe loader refuses) is an A2K115
warning at the call, and what is built from it stays unknown."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from airflow2kfp.model import ParsedFile
from airflow2kfp.parse.budget import ReadingLimits
from airflow2kfp.parse.static import read_dag_file
from tests.parse.helpers import HEADER, codes, only_dag, task_ids

FACTORY = """\
import yaml
from pathlib import Path

CONFIGS = Path(__file__).parent / "configs"
OPERATORS = {"bash": BashOperator, "empty": EmptyOperator}


def build(config):
    dag = DAG(
        dag_id=config["id"],
        schedule=config.get("schedule"),
        start_date=datetime.strptime(config["start_date"], "%Y-%m-%d"),
        catchup=config.get("catchup", False),
    )
    tasks = {}
    for spec in config.get("tasks", []):
        kwargs = {"task_id": spec["id"], "dag": dag}
        if spec.get("type") == "bash":
            kwargs["bash_command"] = spec["command"]
        tasks[spec["id"]] = OPERATORS[spec.get("type", "empty")](**kwargs)
    for spec in config.get("tasks", []):
        for upstream in spec.get("depends_on", []):
            tasks[upstream] >> tasks[spec["id"]]
    return dag


for path in sorted(CONFIGS.glob("**/*.yaml")):
    with path.open("r", encoding="utf-8") as handle:
        dag = build(yaml.safe_load(handle))
    globals()[dag.dag_id] = dag
"""

ORDERS = """\
id: orders
schedule: "0 6 * * *"
start_date: "2024-01-01"
tasks:
  - {id: extract, type: bash, command: "echo extract"}
  - {id: load, type: bash, command: "echo load", depends_on: [extract]}
  - {id: done, depends_on: [load]}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def read(root: Path, source: str, files: dict[str, str] | None = None, **kw: object) -> ParsedFile:
    root.mkdir(parents=True, exist_ok=True)
    write(root, files or {})
    dag_file = root / "dag.py"
    dag_file.write_text(HEADER + textwrap.dedent(source), encoding="utf-8")
    return read_dag_file(dag_file, display_path="dag.py", dag_folder=root, **kw)  # type: ignore[arg-type]


def messages(parsed: ParsedFile, code: str) -> list[str]:
    return [d.message for d in parsed.diagnostics if d.code == code]


# -- reading ---------------------------------------------------------------------------------
def test_a_yaml_factory_is_read_as_airflow_builds_it(tmp_path: Path) -> None:
    parsed = read(tmp_path, FACTORY, {"configs/orders.yaml": ORDERS})
    dag = only_dag(parsed)
    assert codes(parsed) == []
    assert dag.dag_id == "orders"
    assert task_ids(dag) == ["extract", "load", "done"]
    assert dag.edges == (("extract", "load"), ("load", "done"))
    assert dag.settings["schedule"] == "0 6 * * *"
    assert dag.settings["start_date"] == "2024-01-01T00:00:00"  # as datetime(2024, 1, 1) reads
    assert dag.tasks[0].args.get("bash_command") == "echo extract"


def test_every_config_in_the_folder_and_below_makes_its_dag(tmp_path: Path) -> None:
    parsed = read(
        tmp_path,
        FACTORY,
        {
            "configs/orders.yaml": ORDERS,
            "configs/team_b/billing.yaml": "id: billing\nstart_date: '2024-02-01'\ntasks: [{id: run}]\n",
            "configs/notes.txt": "not a config",
        },
    )
    assert sorted(d.dag_id for d in parsed.dags) == ["billing", "orders"]


def test_json_configs_found_with_os_path_and_listdir(tmp_path: Path) -> None:
    source = """\
        import json
        import os

        HERE = os.path.dirname(os.path.abspath(__file__))
        DAGS = {}
        for name in sorted(os.listdir(os.path.join(HERE, "specs"))):
            if name.endswith(".json"):
                with open(os.path.join(HERE, "specs", name)) as f:
                    spec = json.load(f)
                with DAG(spec["name"], start_date=datetime.fromisoformat(spec["start"])) as dag:
                    previous = None
                    for step in spec["steps"]:
                        task = BashOperator(task_id=step, bash_command=f"run {step}")
                        if previous is not None:
                            previous >> task
                        previous = task
                DAGS[spec["name"]] = dag
        globals().update(DAGS)
    """
    parsed = read(
        tmp_path,
        source,
        {"specs/a.json": '{"name": "a", "start": "2024-01-01", "steps": ["x", "y", "z"]}'},
    )
    dag = only_dag(parsed)
    assert codes(parsed) == []
    assert dag.edges == (("x", "y"), ("y", "z"))
    assert dag.settings["start_date"] == "2024-01-01T00:00:00"


def test_read_text_and_safe_loader_and_yaml_dates(tmp_path: Path) -> None:
    source = """\
        import yaml
        from pathlib import Path

        text = (Path(__file__).parent / "dag.yaml").read_text()
        config = yaml.load(text, Loader=yaml.SafeLoader)
        with DAG(config["name"], start_date=config["start"], tags=config["tags"]):
            EmptyOperator(task_id="t")
    """
    parsed = read(tmp_path, source, {"dag.yaml": "name: dated\nstart: 2024-05-01\ntags: [a, b]\n"})
    dag = only_dag(parsed)
    assert dag.settings["start_date"] == "2024-05-01"  # a YAML date, as date(2024, 5, 1) reads
    assert dag.settings["tags"] == ["a", "b"]


def test_globals_registration_counts_each_dag_once(tmp_path: Path) -> None:
    source = """\
        dag = DAG("registered", start_date=datetime(2024, 1, 1))
        EmptyOperator(task_id="t", dag=dag)
        globals()["registered"] = dag
        globals()["alias"] = dag
        REGISTRY = {"registered": dag}
        globals().update(REGISTRY)
    """
    parsed = read(tmp_path, source)
    assert [d.dag_id for d in parsed.dags] == ["registered"]
    assert codes(parsed) == []


# -- order -----------------------------------------------------------------------------------
def test_a_dag_built_across_an_unsorted_listing_is_unproven(tmp_path: Path) -> None:
    source = """\
        import os

        HERE = os.path.dirname(__file__)
        with DAG("steps", start_date=datetime(2024, 1, 1)):
            previous = None
            for name in os.listdir(os.path.join(HERE, "steps")):
                task = EmptyOperator(task_id=name.replace(".sql", ""))
                if previous is not None:
                    previous >> task
                previous = task
    """
    parsed = read(tmp_path, source, {"steps/a.sql": "", "steps/b.sql": ""})
    dag = only_dag(parsed)
    assert dag.edges == (("a", "b"),)
    (doubt,) = messages(parsed, "A2K203")
    assert "file system's" in doubt and "sorted(" in doubt


def test_one_dag_per_file_of_an_unsorted_listing_is_certain(tmp_path: Path) -> None:
    source = """\
        import os

        HERE = os.path.dirname(__file__)
        for name in os.listdir(os.path.join(HERE, "specs")):
            with DAG(name.split(".")[0], start_date=datetime(2024, 1, 1)):
                EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    """
    parsed = read(tmp_path, source, {"specs/x.json": "{}", "specs/y.json": "{}"})
    assert [d.dag_id for d in parsed.dags] == ["x", "y"]
    assert codes(parsed) == []


def test_enumerate_over_an_unsorted_listing_numbers_in_an_unknown_order(tmp_path: Path) -> None:
    source = """\
        import glob
        import os

        for number, path in enumerate(glob.glob(os.path.dirname(__file__) + "/specs/*.json")):
            with DAG(f"dag_{number}", start_date=datetime(2024, 1, 1)):
                EmptyOperator(task_id=os.path.basename(path))
    """
    parsed = read(tmp_path, source, {"specs/x.json": "{}", "specs/y.json": "{}"})
    assert [d.dag_id for d in parsed.dags] == ["dag_0", "dag_1"]
    assert [d.dag_id for d in parsed.diagnostics if d.code == "A2K203"] == ["dag_0", "dag_1"]


# -- refusals --------------------------------------------------------------------------------
LOADER = """\
    import yaml
    import os

    with open(os.path.join(os.path.dirname(__file__), {where!r})) as f:
        config = yaml.safe_load(f)
    with DAG("d", start_date=datetime(2024, 1, 1)):
        for name in config["tasks"]:
            EmptyOperator(task_id=name)
"""


def refused(parsed: ParsedFile, line: int = 8) -> str:
    """The one A2K115 of a reading that did not read its config (at the `open`, or at the load:
    `line`), whose loop is then unknown."""
    assert [d.code for d in parsed.diagnostics if d.code not in ("A2K203", "A2K205")] == ["A2K115"]
    assert "A2K203" in codes(parsed)
    (diagnostic,) = [d for d in parsed.diagnostics if d.code == "A2K115"]
    assert (diagnostic.file, diagnostic.line) == ("dag.py", line)
    return diagnostic.message


def test_a_config_outside_the_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("tasks: [leaked]\n", encoding="utf-8")
    parsed = read(tmp_path / "dags", LOADER.format(where="../secret.yaml"))
    assert "outside the folder being converted" in refused(parsed)


def test_a_symbolic_link_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("tasks: [leaked]\n", encoding="utf-8")
    (tmp_path / "dags").mkdir()
    os.symlink(tmp_path / "secret.yaml", tmp_path / "dags" / "config.yaml")
    parsed = read(tmp_path / "dags", LOADER.format(where="config.yaml"))
    assert "outside the folder being converted" in refused(parsed)


def test_an_oversized_config_is_not_read(tmp_path: Path) -> None:
    big = "tasks: [a]\n" + "# padding\n" * 20_000
    parsed = read(tmp_path, LOADER.format(where="config.yaml"), {"config.yaml": big}, max_bytes=100_000)
    assert "over the 100,000-byte limit" in refused(parsed)


def test_the_data_budget_of_a_reading_counts_every_file(tmp_path: Path) -> None:
    parsed = read(
        tmp_path,
        LOADER.format(where="config.yaml"),
        {"config.yaml": "tasks: [a, b]\n"},
        limits=ReadingLimits(data_files=0),
    )
    assert "one data file too many" in refused(parsed)


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    hostile = (
        "tasks: !!python/object/apply:os.system\n"
        f"  - 'touch {marker}'\n"
        "other: !!python/object:collections.OrderedDict {}\n"
    )
    parsed = read(tmp_path, LOADER.format(where="config.yaml"), {"config.yaml": hostile})
    assert "safe loader refuses" in refused(parsed, line=9)
    assert not marker.exists()


def test_a_file_not_named_as_data_is_not_read(tmp_path: Path) -> None:
    parsed = read(tmp_path, LOADER.format(where="config.cfg"), {"config.cfg": "tasks: [a]\n"})
    assert "not read as data" in refused(parsed)


def test_invalid_yaml_and_a_missing_file_are_said(tmp_path: Path) -> None:
    invalid = read(tmp_path, LOADER.format(where="bad.yaml"), {"bad.yaml": "a: [\n"})
    assert "not valid YAML" in refused(invalid, line=9)
    assert "does not exist" in refused(read(tmp_path / "2", LOADER.format(where="missing.yaml")))


def test_a_relative_path_is_not_read_from_the_converters_folder(tmp_path: Path) -> None:
    source = LOADER.replace("os.path.join(os.path.dirname(__file__), {where!r})", "'config.yaml'")
    parsed = read(tmp_path, source, {"config.yaml": "tasks: [a]\n"})
    assert "is relative" in refused(parsed)


def test_a_glob_does_not_descend_a_link_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"leak.yaml": "id: leaked\nstart_date: '2024-01-01'\n"})
    dags = tmp_path / "dags"
    write(dags, {"configs/orders.yaml": ORDERS})
    os.symlink(outside, dags / "configs" / "linked")
    parsed = read(dags, FACTORY)
    assert [d.dag_id for d in parsed.dags] == ["orders"]
    (note,) = messages(parsed, "A2K115")
    assert "symbolic link to a folder" in note


@pytest.mark.parametrize("loader", ["yaml.load(f)", "yaml.load(f, Loader=yaml.BaseLoader)"])
def test_a_loader_that_reads_other_data_is_not_followed(tmp_path: Path, loader: str) -> None:
    source = LOADER.format(where="config.yaml").replace("yaml.safe_load(f)", loader)
    parsed = read(tmp_path, source, {"config.yaml": "tasks: [a]\n"})
    assert "A2K203" in codes(parsed) and "A2K115" not in codes(parsed)


# -- the cache -------------------------------------------------------------------------------
def test_editing_or_adding_a_config_reconverts(tmp_path: Path) -> None:
    from airflow2kfp.pipeline import ConvertOptions
    from airflow2kfp.run import RunSettings, convert_all

    dags = tmp_path / "dags"
    write(dags, {"configs/orders.yaml": ORDERS})
    (dags / "dag.py").write_text(HEADER + FACTORY, encoding="utf-8")
    settings = RunSettings(mode="static", cache_dir=tmp_path / "cache")

    def read_dags() -> dict[str, list[str]]:
        result = convert_all([dags], tmp_path / "out", ConvertOptions(), settings=settings)
        return {d.dag_id: sorted(t.task_id for t in d.tasks) for f in result.files for d in f.dags}

    assert read_dags() == {"orders": ["done", "extract", "load"]}
    (dags / "configs" / "orders.yaml").write_text(
        ORDERS.replace("{id: done", "{id: finished"), encoding="utf-8"
    )
    assert read_dags() == {"orders": ["extract", "finished", "load"]}
    write(dags, {"configs/more/billing.yaml": "id: billing\nstart_date: '2024-02-01'\ntasks: [{id: run}]\n"})
    assert read_dags() == {"billing": ["run"], "orders": ["extract", "finished", "load"]}


def test_existence_is_known_inside_the_folder_only(tmp_path: Path) -> None:
    source = """\
        import os
        from pathlib import Path

        HERE = Path(__file__).parent
        with DAG("d", start_date=datetime(2024, 1, 1)):
            if (HERE / "extra.yaml").exists() and os.path.isfile(os.path.join(str(HERE), "extra.yaml")):
                EmptyOperator(task_id="extra")
            if not (HERE / "missing.yaml").is_file():
                EmptyOperator(task_id="no_missing")
            if os.path.exists("/etc/hostname"):
                EmptyOperator(task_id="host")
    """
    parsed = read(tmp_path, source, {"extra.yaml": "{}"})
    assert task_ids(only_dag(parsed)) == ["extra", "no_missing", "host"]
    # outside the folder nothing is looked at: the condition is unknown, both branches read
    assert codes(parsed) == ["A2K203"] and "cannot be evaluated" in parsed.diagnostics[0].message
