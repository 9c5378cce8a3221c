"""Reading modes in batch runs: Airflow is asked only about the files the cache lacks; its notices count."""

import importlib

import pytest

from converter.diagnostics import Severity, diag


@pytest.fixture
def readers():
    """converter.parse.readers; it imports the static reader only when reading, so the fake stands in."""
    return importlib.import_module("converter.parse.readers")


@pytest.fixture(autouse=True)
def fake_python(tmp_path):
    """An executable standing in for an Airflow interpreter: --airflow-python must name one that exists."""
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def prepared(monkeypatch, readers) -> list[list[str]]:
    """Stands in for the Airflow import: records the files it is asked about; reads with the fake reader."""
    calls: list[list[str]] = []

    def prepare(mode, files, roots, **kwargs):
        calls.append([display for _, display in files])
        notice = diag("A2K604", "no Airflow interpreter found: reading DAG files statically only",
                      severity=Severity.INFO)
        return readers.PreparedReader(readers.StaticReader(), readers.Mode.STATIC, None, (notice,))

    monkeypatch.setattr(readers, "prepare_reader", prepare)
    return calls


def test_auto_mode_imports_only_cache_misses_and_any_folder_change_invalidates(repo, run, prepared):
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python", "-v")
    assert code == 0 and "A2K604 [info]" in out
    assert sorted(prepared[0]) == ["dags/alpha.py", "dags/beta.py"]
    assert "(2 from cache)" in run("convert", "dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python")[1]
    assert len(prepared) == 1  # a fully cached run starts no Airflow
    (repo / "data.json").write_text("{}")  # a file a DAG may read when imported
    assert "(0 from cache)" in run("convert", "dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python")[1]
    # the static mode's key ignores data files: its reading never runs the DAG's code
    run("convert", "dags", "--out", "out", "-j", "1")
    (repo / "data.json").write_text('{"changed": 1}')
    assert "(2 from cache)" in run("convert", "dags", "--out", "out", "-j", "1")[1]


def test_an_error_notice_fails_the_run(repo, run, monkeypatch, prepared, readers):
    def unavailable(mode, files, roots, **kwargs):
        notice = diag("A2K604", "no Airflow interpreter: pass --airflow-python")
        return readers.PreparedReader(readers.StaticReader(), mode, None, (notice,))

    monkeypatch.setattr(readers, "prepare_reader", unavailable)
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "--mode", "airflow", "--no-cache")
    assert code == 1 and "A2K604 [error] no Airflow interpreter" in out


def test_auto_mode_reconverts_only_the_edited_dag(repo, run, prepared):
    auto = ("convert", "dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python")
    run(*auto)
    source = repo / "beta.py"
    source.write_text(source.read_text().replace("echo x", "echo x-edited"))
    assert "(1 from cache)" in run(*auto)[1]
    assert prepared[-1] == ["dags/beta.py"]  # Airflow is asked only about the edited file
