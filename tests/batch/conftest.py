import sys
from pathlib import Path

import fake_reader
import pytest
from fake_reader import dag_file

from airflow2kfp.cli import main


@pytest.fixture(autouse=True)
def fake_static_reader(monkeypatch):
    """Batch tests run with the small fake reader in place of airflow2kfp.parse.static (fork-inherited)."""
    monkeypatch.setitem(sys.modules, "airflow2kfp.parse.static", fake_reader)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # the default mode is auto: only an interpreter a test names explicitly may import DAGs with Airflow
    monkeypatch.setattr("airflow2kfp.parse.readers.find_airflow_python", lambda explicit=None: explicit)


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A DAG folder: two clean DAGs (one imports a helper module) and a not-a-DAG module; cwd = tmp_path."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "alpha.py").write_text(dag_file("alpha", "a", "b", imports="from common import tools\n"))
    (dags / "beta.py").write_text(dag_file("beta", "x", "y", "z"))
    (dags / "common").mkdir()
    (dags / "common" / "__init__.py").write_text("")
    (dags / "common" / "tools.py").write_text("VALUE = 1\n")
    monkeypatch.chdir(tmp_path)
    return dags


@pytest.fixture
def run(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
