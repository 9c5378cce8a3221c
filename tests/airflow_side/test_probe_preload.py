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


WARM_UP_CHECK = """
import importlib, json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
from airflow2kfp.airflow_side import probe
af = probe._Airflow()
probe._install_hooks(af)
loaded = []
for modules, name, _ in probe._WARM_UP_OPERATORS:
    for module in modules:
        try:
            importlib.import_module(module)
            loaded.append(name)
        except ImportError:
            pass
folder = tempfile.mkdtemp()
path = os.path.join(folder, "warm_up.py")
with open(path, "w") as handle:
    handle.write(probe._warm_up_source())
answer = probe.read_file(path, folder, af)
print(json.dumps({"loaded": sorted(set(loaded)), "errors": answer["import_errors"],
                  "classes": sorted(t["operator_class"] for d in answer["dags"] for t in d["tasks"])}))
"""


def _warm_up_dag(python: str) -> dict[str, object]:
    import json
    import subprocess

    root = str(Path(probe.__file__).resolve().parents[2])
    done = subprocess.run(
        [python, "-c", WARM_UP_CHECK, root], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_warm_up_dag_builds_every_loaded_operator_family(airflow_python: str) -> None:
    # the warm-up swallows its own failure (it is only an optimisation): a family whose arguments a
    # version rejects would silently warm nothing, so each one is checked to be built here
    found = _warm_up_dag(airflow_python)
    assert found["errors"] == []
    assert {"BashOperator", "PythonOperator", "KubernetesPodOperator"} <= set(found["loaded"])  # type: ignore[arg-type]
    assert set(found["loaded"]) <= set(found["classes"])  # type: ignore[arg-type]


def test_the_warm_up_dag_builds_every_loaded_operator_family_in_airflow_2(airflow2_python: str) -> None:
    found = _warm_up_dag(airflow2_python)
    assert found["errors"] == []
    assert {"BashOperator", "PythonOperator"} <= set(found["loaded"])  # type: ignore[arg-type]
    assert set(found["loaded"]) <= set(found["classes"])  # type: ignore[arg-type]


ENGINE = """
from airflow import settings
from airflow.sdk import DAG
with DAG(f"engine-{settings.engine is not None}-{getattr(settings.engine, 'pool', None) is not None}", schedule=None):
    pass
"""


def test_a_dag_file_still_finds_airflows_engine_though_the_fork_hid_it(
    airflow_python: str, tmp_path: Path
) -> None:
    # the worker hides an idle engine from Airflow's at-fork handler over each fork (a speed-up):
    # the file's process must find it put back
    (tmp_path / "engine.py").write_text(ENGINE)
    with AirflowReader(airflow_python, ReaderOptions(timeout=30, folders=(str(tmp_path),))) as reader:
        parsed = reader.read(str(tmp_path / "engine.py"), dag_folder=str(tmp_path))
    assert [d.dag_id for d in parsed.dags] == ["engine-True-True"]
