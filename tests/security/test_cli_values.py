"""Values from the command line and from `[tool.airflow2kfp]` are checked before any work: exit 2,
one line saying what is wrong, nothing written (not even OUT created)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow2kfp import config
from airflow2kfp.parse import airflow_import
from tests.security.output_fixtures import run, write_dag


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIRFLOW2KFP_AIRFLOW_PYTHON", raising=False)
    write_dag(tmp_path / "dags", "orders")
    (tmp_path / "not-executable").write_text("#!/bin/sh\n")
    return tmp_path


def refused(repo: Path, *args: str, command: str = "convert") -> str:
    """Runs the command; asserts exit 2, exactly one error line, no traceback, nothing written."""
    before = sorted(p.name for p in repo.iterdir())
    code, printed = run(command, "dags", "--out", "out", "--mode", "static", "-j", "1", *args)
    errors = [line for line in printed.splitlines() if line.lower().startswith("error")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in printed, printed
    assert sorted(p.name for p in repo.iterdir()) == before  # no OUT, no cache, no report file
    return errors[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "0", "-1", "1e6", "soon"])
@pytest.mark.parametrize("command", ["convert", "check"])
def test_timeouts_must_be_finite_and_positive(repo: Path, value: str, command: str) -> None:
    line = refused(repo, "--airflow-timeout", value, command=command)
    assert "--airflow-timeout" in line and value in line


@pytest.mark.parametrize("option", ["--out", "--cache-dir", "--sarif", "--junit", "--markdown", "--config"])
def test_paths_must_not_be_empty(repo: Path, option: str) -> None:
    line = refused(repo, option, "")
    assert option in line and ("must not be empty" in line or "does not exist" in line)


def test_an_empty_out_never_means_the_current_folder(repo: Path) -> None:
    assert run("convert", "dags", "--out", "", "--mode", "static")[0] == 2
    assert not (repo / "conversion.json").exists() and not (repo / "pipelines").exists()
    assert run("report", "")[0] == 2


@pytest.mark.parametrize("python", ["/nonexistent/bin/python", "not-executable", "dags"])
def test_an_airflow_python_that_cannot_run_is_an_error_not_a_quiet_fallback(repo: Path, python: str) -> None:
    line = refused(repo, "--airflow-python", python)
    assert "--airflow-python" in line and ("no such file" in line or "not an executable file" in line)


def test_the_environment_variable_is_checked_in_airflow_and_auto_modes(repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW2KFP_AIRFLOW_PYTHON", "/nonexistent/python")
    code, printed = run("convert", "dags", "--out", "out", "--mode", "auto")
    assert code == 2 and "error: $AIRFLOW2KFP_AIRFLOW_PYTHON = '/nonexistent/python': no such file" in printed
    assert not (repo / "out").exists()
    assert run("convert", "dags", "--out", "out", "--mode", "static", "-j", "1")[0] == 0  # not read there
    assert config.PYTHON_ENV_VAR == airflow_import.PYTHON_ENV_VAR


@pytest.mark.parametrize("pattern", ["\\", "!", "foo\\", "[z-a]", "", "# a comment"])
@pytest.mark.parametrize("option", ["--include", "--exclude"])
def test_invalid_globs_are_rejected(repo: Path, option: str, pattern: str) -> None:
    line = refused(repo, option, pattern)
    assert option in line and repr(pattern) in line


@pytest.mark.parametrize(
    "setting, message",
    [
        ("airflow-timeout = nan", "airflow-timeout = nan"),
        ("airflow-timeout = inf", "airflow-timeout = inf"),
        ("airflow-timeout = 0", "airflow-timeout = 0.0"),
        (
            'airflow-python = "/nonexistent/python"\nmode = "auto"',
            "airflow-python '/nonexistent/python': no such file",
        ),
        ('include = ["[z-a]"]', "include '[z-a]': not a valid gitignore pattern"),
        ('exclude = ["\\\\"]', "not a valid gitignore pattern"),
        ('cache-dir = ""', "cache-dir must not be empty"),
        ('bash-image = ""', "bash-image = '': must not be empty"),
        ("max-file-size = 0", "max-file-size = 0: must be 1 or more"),
        ('tool-images = { python = "" }', "tool-images 'python=': not NAME=VALUE with both sides set"),
        ('owned = [""]', "owned '': must not hold an empty string"),
        ('sarif-level = "all"', "sarif-level = 'all': expected one of error, warning, note"),
    ],
)
def test_the_same_checks_apply_to_the_config_file(repo: Path, setting: str, message: str) -> None:
    (repo / "airflow2kfp.toml").write_text(setting + "\n")
    code, printed = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 2 and message in printed and "airflow2kfp.toml" in printed and "Traceback" not in printed
    assert not (repo / "out").exists()


def test_a_config_interpreter_does_not_matter_to_static_mode(repo: Path) -> None:
    (repo / "airflow2kfp.toml").write_text('airflow-python = "/nonexistent/python"\n')
    assert run("convert", "dags", "--out", "out", "--mode", "static", "-j", "1")[0] == 0


def test_out_that_is_not_a_folder_is_a_usage_error(repo: Path) -> None:
    (repo / "file").write_text("x")
    assert run("convert", "dags", "--out", "file", "--mode", "static")[0] == 2
    os.symlink("/dev/null", repo / "devnull")
    code, printed = run("convert", "dags", "--out", "devnull", "--mode", "static")
    assert code == 2 and ("--out devnull: not a folder" in printed or "'devnull' is a file" in printed)
    assert os.path.exists("/dev/null") and not os.path.isdir("/dev/null")
