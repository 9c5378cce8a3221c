"""Exit codes like ruff's, --fail-on, quiet/verbose/colour, --format json, and the summary."""

import json

import pytest

from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")

PLACEHOLDER = '    p = Custom(task_id="p")\n'


def test_clean_run_exits_0_with_a_summary_and_the_report_path(repo, run):
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 0
    assert "2 files: 2 DAGs converted, 0 failed, 0 files skipped (0 from cache)" in out
    assert "tasks: 5 direct, 0 approximated, 0 placeholder, 0 removed" in out
    assert "diagnostics: 0 errors, 0 warnings, 0 info, 0 suppressed" in out
    assert "Report: out/index.html" in out
    assert sorted(p.name for p in (repo.parent / "out" / "pipelines").iterdir()) == [
        "alpha.py",
        "alpha.yaml",
        "beta.py",
        "beta.yaml",
    ]


def test_warning_exits_0_by_default_and_1_with_fail_on_warning(repo, run):
    (repo / "gamma.py").write_text(dag_file("gamma", "a", extra=PLACEHOLDER))
    assert run("convert", "dags", "--out", "out", "-j", "1")[0] == 0
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "--fail-on", "warning")
    assert code == 1 and "A2K301 [warning]" in out and "--> dags/gamma.py:5:5" in out


def test_error_exits_1_unless_fail_on_never(repo, run):
    (repo / "broken.py").write_text("from airflow import DAG\nraise SyntaxError\n")
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 1 and "A2K101 [error]" in out and "--> dags/broken.py:2:1" in out
    assert run("convert", "dags", "--out", "out", "-j", "1", "--fail-on", "never")[0] == 0


def test_usage_and_configuration_errors_exit_2(repo, run):
    assert run("convert", "dags")[0] == 2  # --out missing
    assert run("convert", "missing-folder", "--out", "out")[0] == 2
    assert run("convert", "dags", "--out", "out", "--fail-on", "sometimes")[0] == 2
    assert run("convert", "dags", "--out", "out", "--ignore", "NOPE1")[0] == 2
    (repo.parent / "airflow2kfp.toml").write_text('bash-imag = "x"\n')
    code, _, err = run("convert", "dags", "--out", "out")
    assert code == 2 and "unknown key 'bash-imag'" in err


def test_internal_error_exits_2(repo, run, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("airflow2kfp.run.write_tree", explode)
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 2 and "internal error: RuntimeError: boom" in out


def test_quiet_prints_only_failing_diagnostics_and_verbose_every_file(repo, run):
    (repo / "gamma.py").write_text(dag_file("gamma", "a", extra=PLACEHOLDER))
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "-q")
    assert (code, out) == (0, "")
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "-q", "--fail-on", "warning")
    assert code == 1 and out.startswith("A2K301") and "summary" not in out and "tasks:" not in out
    _, out, _ = run("convert", "dags", "--out", "out", "-j", "1", "-v")
    assert "converted  dags/beta.py  (beta [converted])" in out


def test_color_flag_and_no_color(repo, run, monkeypatch):
    (repo / "gamma.py").write_text(dag_file("gamma", "a", extra=PLACEHOLDER))
    assert "\x1b[" in run("convert", "dags", "--out", "out", "-j", "1", "--color", "always")[1]
    assert "\x1b[" not in run("convert", "dags", "--out", "out", "-j", "1", "--color", "never")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run("convert", "dags", "--out", "out", "-j", "1")[1]


def test_format_json_prints_conversion_json_alone_on_stdout(repo, run):
    code, out, err = run("convert", "dags", "--out", "out", "-j", "1", "--format", "json")
    assert code == 0 and "Report: out/index.html" in err
    assert out == (repo.parent / "out" / "conversion.json").read_text()
    assert json.loads(out)["summary"]["dags"]["converted"] == 2


@pytest.mark.parametrize(
    ("source", "files"),
    [
        ("dags", ("conversion.json", "pipelines/alpha.yaml", "pipelines/beta.py")),
        # one file: read here, converted in a worker that imported kfp meanwhile
        ("dags/beta.py", ("conversion.json", "pipelines/beta.yaml", "pipelines/beta.py")),
    ],
    ids=["many files", "a lone file"],
)
def test_parallel_run_gives_the_same_outputs_as_a_serial_one(repo, run, source, files):
    assert run("convert", source, "--out", "serial", "-j", "1", "--no-cache")[0] == 0
    assert run("convert", source, "--out", "parallel", "-j", "2", "--no-cache")[0] == 0
    for name in files:
        assert (repo.parent / "serial" / name).read_text() == (repo.parent / "parallel" / name).read_text()


def test_a_worker_that_dies_fails_its_file_not_the_run(repo, run, monkeypatch):
    import os

    from tests import fake_reader

    original = fake_reader.read_dag_file

    def dying(path, **kwargs):
        if "beta" in str(path):
            os._exit(3)  # as if killed by the OOM killer
        return original(path, **kwargs)

    monkeypatch.setattr(fake_reader, "read_dag_file", dying)
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "2", "--no-cache")
    assert code == 1 and "A2K402" in out and "--> dags/beta.py" in out


def test_a_worker_that_dies_converting_a_lone_file_fails_it_not_the_run(repo, run, monkeypatch):
    import os

    from airflow2kfp import pipeline

    parent = os.getpid()

    def dying(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(3)  # as if killed by the OOM killer
        raise AssertionError("a lone file with -j 2 is converted in the worker")

    monkeypatch.setattr(pipeline, "convert_parsed", dying)
    code, out, _ = run("convert", "dags/beta.py", "--out", "out", "-j", "2", "--no-cache")
    assert code == 1 and "A2K402" in out and "the worker process failed" in out


# The exit codes of docs/ci.md ("Exit codes"), for both commands: `check` judges the conversion's
# findings exactly as `convert` does, on top of its own (stale outputs).
BROKEN = "from airflow import DAG\nraise SyntaxError\n"
SCENARIOS = [
    # (files added to the repo, extra flags, expected exit code)
    ({}, (), 0),
    ({"gamma.py": dag_file("gamma", "a", extra=PLACEHOLDER)}, (), 0),
    ({"gamma.py": dag_file("gamma", "a", extra=PLACEHOLDER)}, ("--fail-on", "warning"), 1),
    ({"gamma.py": dag_file("gamma", "a", extra=PLACEHOLDER)}, ("--fail-on", "never"), 0),
    ({"broken.py": BROKEN}, (), 1),
    ({"broken.py": BROKEN}, ("--fail-on", "warning"), 1),
    ({"broken.py": BROKEN}, ("--fail-on", "never"), 0),
    ({}, ("--fail-on", "sometimes"), 2),
    ({}, ("--jobs", "-1"), 2),
]


@pytest.mark.parametrize("files, flags, expected", SCENARIOS)
def test_convert_and_check_exit_alike_on_the_same_findings(repo, run, files, flags, expected):
    for name, text in files.items():
        (repo / name).write_text(text)
    common = ("dags", "--out", "out", "-j", "1", "--mode", "static", *flags)
    assert run("convert", *common)[0] == expected
    code, out, _ = run("check", *common)
    assert code == expected, out
    if expected == 1 and "broken.py" not in files:  # the outputs are fresh: the findings fail the run
        assert "up to date" in out and "findings at or above --fail-on warning" in out


def test_check_prints_the_findings_that_fail_it(repo, run):
    (repo / "broken.py").write_text(BROKEN)
    run("convert", "dags", "--out", "out", "-j", "1", "--mode", "static")
    code, out, _ = run("check", "dags", "--out", "out", "-j", "1", "--mode", "static", "-q")
    assert code == 1 and "A2K101 [error]" in out


def test_stale_outputs_fail_check_even_under_fail_on_never(repo, run):
    run("convert", "dags", "--out", "out", "-j", "1", "--mode", "static")
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))
    assert run("check", "dags", "--out", "out", "-j", "1", "--mode", "static", "--fail-on", "never")[0] == 1
