"""The Airflow worker imports, before it forks a file's process, the `airflow.*` modules the file
imports (as Airflow's DAG processor does): installation code only, never a module of a DAG folder."""

from __future__ import annotations

from pathlib import Path

from airflow2kfp.airflow_side import probe
from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions


def test_the_modules_are_found_in_the_file_and_the_dag_folders_modules_it_imports(tmp_path: Path) -> None:
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "pods.py").write_text(
        "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n"
    )
    dag = tmp_path / "dag.py"
    dag.write_text(
        "import json\nfrom airflow.sdk import DAG\nfrom helpers.pods import KubernetesPodOperator\n"
        "def later():\n    import airflow.providers.standard.operators.bash\n"
    )
    with AirflowReader(None) as reader:  # nothing is started: the files are only parsed
        found = reader.airflow_imports(str(dag), str(tmp_path))
    assert {
        "airflow.sdk",
        "airflow.providers.cncf.kubernetes.operators.pod",
        "airflow.providers.standard.operators.bash",
    } <= set(found)
    assert all(name.startswith("airflow.") for name in found)  # not json, not helpers.pods


def test_the_worker_imports_only_airflow_modules_by_name() -> None:
    answer = probe.preload(["os.path", "helpers.pods", "airflow..x", "airflow.no_such_module_here", 7])
    assert (answer["preloaded"], answer["failed"]) == (0, 1)  # only the well-formed airflow.* name was tried
    assert probe.preload("airflow.sdk")["failed"] == 0  # not a list: nothing


PLANTS = """
from airflow.sdk import DAG
try:  # a module planted in the DAG folder under Airflow's package name
    from airflow.providers.planted_by_the_repo import marker  # noqa: F401
except ImportError:
    pass
with DAG("plants", schedule=None):
    pass
"""

READS = """
import os
from airflow.sdk import DAG
with DAG(os.environ.get("PLANTED", "clean"), schedule=None):
    pass
"""


def test_a_module_planted_under_airflows_name_never_runs_in_the_worker(
    airflow_python: str, tmp_path: Path
) -> None:
    planted = tmp_path / "airflow" / "providers"
    planted.mkdir(parents=True)
    (planted / "planted_by_the_repo.py").write_text(
        "import os\nos.environ['PLANTED'] = 'planted'\nmarker = 1\n"
    )
    (tmp_path / "plants.py").write_text(PLANTS)
    (tmp_path / "reads.py").write_text(READS)
    with AirflowReader(airflow_python, ReaderOptions(timeout=30, folders=(str(tmp_path),))) as reader:
        # the converter never asks for a module the DAG folder holds ...
        assert "airflow.providers.planted_by_the_repo" not in reader.airflow_imports(
            str(tmp_path / "plants.py"), str(tmp_path)
        )
        # ... and a worker asked for it anyway finds none: the DAG folder is on no path of the worker's
        reader.airflow_imports = lambda path, folder: ("airflow.providers.planted_by_the_repo",)  # type: ignore[method-assign]
        first = reader.read(str(tmp_path / "plants.py"), dag_folder=str(tmp_path))
        second = reader.read(str(tmp_path / "reads.py"), dag_folder=str(tmp_path))
        asked = set().union(*(worker.preloaded for worker in reader._all))
    assert "airflow.providers.planted_by_the_repo" in asked
    assert [d.dag_id for d in first.dags] == ["plants"]
    assert [d.dag_id for d in second.dags] == ["clean"]  # nothing the repo planted ran where files fork from
