"""Reading modes in batch runs: Airflow is asked only about the files the cache lacks; its notices count."""

import importlib
import json

import pytest

from airflow2kfp.diagnostics import Severity, diag

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")


@pytest.fixture
def readers():
    """airflow2kfp.parse.readers; it imports the static reader only when reading, so the fake stands in."""
    return importlib.import_module("airflow2kfp.parse.readers")


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
        notice = diag(
            "A2K604",
            "no Airflow interpreter found: reading DAG files statically only",
            severity=Severity.INFO,
        )
        return readers.PreparedReader(readers.StaticReader(), readers.Mode.STATIC, None, (notice,))

    monkeypatch.setattr(readers, "prepare_reader", prepare)
    return calls


def test_auto_mode_imports_only_cache_misses_and_any_folder_change_invalidates(repo, run, prepared):
    code, out, _ = run(
        "convert",
        "dags",
        "--out",
        "out",
        "-j",
        "1",
        "--mode",
        "auto",
        "--airflow-python",
        "fake-python",
        "-v",
    )
    assert code == 0 and "A2K604 [info]" in out
    assert sorted(prepared[0]) == ["dags/alpha.py", "dags/beta.py"]
    assert (
        "(2 from cache)"
        in run(
            "convert", "dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python"
        )[1]
    )
    assert len(prepared) == 1  # a fully cached run starts no Airflow
    (repo / "data.json").write_text("{}")  # a file a DAG may read when imported
    assert (
        "(0 from cache)"
        in run(
            "convert", "dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python"
        )[1]
    )
    # the static mode's key holds the data files its reading may read (parse/data_files.py), and
    # only the names of other files: editing a JSON file reconverts, editing a CSV file does not
    (repo / "data.csv").write_text("a,b\n")
    run("convert", "dags", "--out", "out", "-j", "1")
    (repo / "data.json").write_text('{"changed": 1}')
    assert "(0 from cache)" in run("convert", "dags", "--out", "out", "-j", "1")[1]
    (repo / "data.csv").write_text("a,b,c\n")
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


def test_auto_without_airflow_warns_on_every_run_and_records_the_mode(repo, run):
    """No Airflow interpreter: auto reads statically and says so, also when every file is cached."""
    for cached in ("(0 from cache)", "(2 from cache)"):
        code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
        assert code == 0 and "A2K720 [warning] no Airflow interpreter found" in out and cached in out
        assert "read: static (mode auto: no Airflow interpreter found)" in out
    document = json.loads((repo.parent / "out" / "conversion.json").read_text())
    assert document["reading"] == {"mode": "auto", "effective": "static"}
    assert run("convert", "dags", "--out", "out", "-j", "1", "--fail-on", "warning")[0] == 1
    code, out, _ = run(
        "convert", "dags", "--out", "out", "-j", "1", "--mode", "static", "--fail-on", "warning"
    )
    assert code == 0 and "A2K720" not in out and "read: static\n" in out


def test_airflow_mode_without_an_interpreter_is_an_error_on_every_run(repo, run):
    for _ in range(2):
        code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "--mode", "airflow")
        assert code == 1 and "A2K604 [error] no Airflow interpreter" in out


def test_check_in_another_mode_says_so_once_instead_of_every_file_stale(repo, run, prepared):
    auto = ("dags", "--out", "out", "-j", "1", "--mode", "auto", "--airflow-python", "fake-python")
    assert run("convert", *auto)[0] == 0
    assert json.loads((repo.parent / "out" / "conversion.json").read_text())["reading"] == {
        "mode": "auto",
        "effective": "auto",
    }
    assert run("check", *auto)[0] == 0  # like with like
    code, out, _ = run("check", "dags", "--out", "out", "-j", "1")  # no Airflow here: static
    assert code == 1 and out.count("A2K721 [error]") == 1 and "A2K702" not in out
    assert "made reading the DAG files with Airflow and statically, merged (mode auto)" in out
    assert (
        "this check reads them statically (no DAG code run) (mode auto), no Airflow interpreter found" in out
    )


def test_outputs_read_statically_check_alike_whichever_mode_was_asked(repo, run):
    """Auto without Airflow and --mode static read the same way: their outputs are not stale for it."""
    assert run("convert", "dags", "--out", "out", "-j", "1")[0] == 0  # auto, no Airflow: static
    code, out, _ = run("check", "dags", "--out", "out", "-j", "1", "--mode", "static")
    assert code == 0 and "up to date" in out
