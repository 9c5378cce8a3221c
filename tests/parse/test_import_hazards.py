"""Whatever a DAG file does at import time ends as a coded diagnostic for that file alone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow2kfp.model import ParsedFile
from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions

HAZARDS = Path(__file__).resolve().parents[2] / "fixtures" / "import_hazards"
TIMEOUT = 3.0

# file -> (code, line Airflow's traceback names, or None)
EXPECTED = {
    "hang_forever.py": ("A2K602", None),
    "calls_sys_exit.py": ("A2K601", 4),
    "calls_os_exit.py": ("A2K603", None),
    "missing_module.py": ("A2K601", 6),
    "syntax_error.py": ("A2K601", 4),
    "memory_hog.py": ("A2K606", 2),  # MemoryError under the per-file memory limit, named as such
}


def read(reader: AirflowReader, name: str) -> ParsedFile:
    return reader.read(str(HAZARDS / name), f"import_hazards/{name}", dag_folder=str(HAZARDS))


def assert_good_dag(parsed: ParsedFile) -> None:
    assert parsed.diagnostics == ()
    (dag,) = parsed.dags
    assert dag.dag_id == "good_dag" and dag.edges == (("first", "second"),)


@pytest.mark.parametrize("python_fixture", ["airflow_python", "airflow2_python"])
def test_each_hazard_is_its_code_and_the_batch_continues(
    python_fixture: str, request: pytest.FixtureRequest
) -> None:
    python = request.getfixturevalue(python_fixture)
    with AirflowReader(python, ReaderOptions(timeout=TIMEOUT)) as reader:
        assert_good_dag(read(reader, "good_dag.py"))  # starts the worker outside the timings below
        for name, (code, line) in EXPECTED.items():
            started = time.monotonic()
            parsed = read(reader, name)
            elapsed = time.monotonic() - started
            assert [(d.code, d.line) for d in parsed.diagnostics] == [(code, line)], name
            assert parsed.dags == () and parsed.diagnostics[0].file == f"import_hazards/{name}"
            assert elapsed < TIMEOUT + 2, f"{name} took {elapsed:.1f}s"
            assert_good_dag(read(reader, "good_dag.py"))


def test_a_process_forked_by_the_dag_file_neither_delays_nor_survives(reader: AirflowReader) -> None:
    assert_good_dag(
        read(reader, "good_dag.py")
    )  # a worker is up and shows this folder: the file alone is timed
    started = time.monotonic()
    parsed = read(reader, "forks_a_straggler.py")
    # a reader that waited for the straggler (it sleeps 60 s holding the pipes) would time out
    # (A2K602) or take a minute: the bound is half that, not a speed target
    assert [dag.dag_id for dag in parsed.dags] == ["forks_a_straggler"] and parsed.diagnostics == ()
    assert time.monotonic() - started < 30


def test_import_error_message_is_airflows(reader: AirflowReader) -> None:
    (found,) = read(reader, "missing_module.py").diagnostics
    assert "No module named 'this_module_does_not_exist_anywhere'" in found.message
    assert found.render().startswith("A2K601 [error] Airflow could not import the file")


def test_sandbox_cwd_and_scrubbed_environment(airflow_python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AZURE_CLIENT_SECRET",
        "KUBECONFIG",
    ):
        monkeypatch.setenv(name, "secret")
    with AirflowReader(airflow_python, ReaderOptions(timeout=TIMEOUT)) as reader:
        parsed = read(reader, "side_effects.py")
    (dag,) = parsed.dags
    report = dag.task("report")
    assert report.args.get("bash_command") == "seen: "  # no credential variable reached the DAG file
    # the file ran in the sandbox's own working folder, not the DAG folder; the value naming it is
    # written as '.' (the folder Airflow runs in), and said so
    assert report.args.get("env")["CWD"] == "." and not (HAZARDS / "marker_written_by_dag.txt").exists()
    assert [d.code for d in parsed.diagnostics] == ["A2K608"]
    assert not list(HAZARDS.rglob("__pycache__"))  # nothing written into the DAG folder


def test_missing_interpreter_is_a_diagnostic(tmp_path: Path) -> None:
    dag_file = tmp_path / "dag.py"
    dag_file.write_text("# airflow dag\n")
    with AirflowReader(None) as reader:
        assert [d.code for d in reader.read(str(dag_file)).diagnostics] == ["A2K604"]
    with AirflowReader(str(tmp_path / "no-such-python")) as reader:
        assert [d.code for d in reader.read(str(dag_file)).diagnostics] == ["A2K604"]
        assert [d.code for d in reader.read(str(dag_file)).diagnostics] == ["A2K604"]


def test_interpreter_without_airflow_is_a_diagnostic(tmp_path: Path) -> None:
    import sys

    dag_file = tmp_path / "dag.py"
    dag_file.write_text("# airflow dag\n")
    with AirflowReader(sys.executable) as reader:  # the converter's own python has no Airflow
        (found,) = reader.read(str(dag_file)).diagnostics
    assert found.code == "A2K604" and "did not start" in found.message


def fake_interpreter(tmp_path: Path, body: str) -> str:
    """An executable that answers the probe's hello frame like a worker, then does `body` (shell)."""
    from airflow2kfp.airflow_side.sandbox_inside import encode

    hello = "".join(f"\\{byte:03o}" for byte in encode({"hello": True, "airflow_version": "fake"}))
    folder = tmp_path / "fake-env" / "bin"
    folder.mkdir(parents=True)
    script = folder / "python"
    # `-m airflow db migrate` (the sandbox's database, made first) fails at once, as without Airflow
    script.write_text(f"#!/bin/sh\ncase \"$*\" in *migrate*) exit 1;; esac\nprintf '{hello}'\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_a_worker_that_stops_answering_is_killed_and_replaced(tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, "exec sleep 30")
    options = ReaderOptions(timeout=0.3, backstop_grace=0.3)
    with AirflowReader(python, options) as reader:
        for _ in range(2):  # the second read starts a fresh worker
            started = time.monotonic()
            (found,) = reader.read(str(HAZARDS / "good_dag.py")).diagnostics
            assert found.code == "A2K602" and "restarted" in found.message
            assert time.monotonic() - started < 5


def test_a_worker_that_dies_mid_file_is_a_crash(tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, "head -c 12 >/dev/null; exit 7")  # reads a frame's header, exits
    with AirflowReader(python, ReaderOptions(timeout=2)) as reader:
        (found,) = reader.read(str(HAZARDS / "good_dag.py")).diagnostics
    assert found.code == "A2K603" and "exited" in found.message
