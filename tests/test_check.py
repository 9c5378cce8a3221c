"""`check`: exit 0 when OUT is up to date, 1 listing every stale, missing or orphaned file, 2 on misuse."""

from pathlib import Path

import pytest

from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")


def test_fresh_outputs_pass(repo, run):
    assert run("convert", "dags", "--out", "out", "-j", "1")[0] == 0
    code, out, _ = run("check", "dags", "--out", "out", "-j", "1")
    assert code == 0 and "5 file(s) in out are up to date." in out


def test_stale_and_missing_files_are_listed_and_exit_1_without_changing_out(repo, run):
    run("convert", "dags", "--out", "out", "-j", "1")
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))
    (repo / "delta.py").write_text(dag_file("delta", "d"))
    before = {p: p.read_bytes() for p in Path("out").rglob("*") if p.is_file() and "cache" not in str(p)}
    code, out, _ = run("check", "dags", "--out", "out", "-j", "1")
    assert code == 1
    assert "A2K702 [error] pipelines/beta.yaml is out of date" in out
    assert "A2K702 [error] pipelines/delta.py is missing" in out
    assert "A2K702 [error] conversion.json is out of date" in out
    assert "5 file(s) in out are not up to date" in out
    assert {p: p.read_bytes() for p in before} == before and not Path("out/pipelines/delta.py").exists()


def test_diff_shows_a_unified_diff_of_each_stale_file(repo, run):
    run("convert", "dags", "--out", "out", "-j", "1")
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))
    _, out, _ = run("check", "dags", "--out", "out", "-j", "1", "--diff")
    assert "--- a/pipelines/beta.py\n+++ b/pipelines/beta.py\n" in out
    assert "-    # z: BashOperator" in out  # the removed task's block


def test_outputs_of_vanished_dags_make_check_fail(repo, run):
    run("convert", "dags", "--out", "out", "-j", "1")
    (repo / "beta.py").unlink()
    code, out, _ = run("check", "dags", "--out", "out", "-j", "1")
    assert code == 1 and "A2K703 [warning] pipelines/beta.yaml belongs to a DAG that no longer exists" in out
    run("convert", "dags", "--out", "out", "-j", "1", "--prune")
    assert run("check", "dags", "--out", "out", "-j", "1")[0] == 0


def test_an_empty_out_is_all_missing_and_usage_errors_exit_2(repo, run):
    assert run("check", "dags", "--out", "never-converted", "-j", "1")[0] == 1
    assert run("check", "dags", "--out", "out", "--fail-on", "x")[0] == 2
