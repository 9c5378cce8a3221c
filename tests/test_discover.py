"""Discovery: .airflowignore in both syntaxes, Airflow's DAG heuristic, include/exclude globs."""

from pathlib import Path

import pytest

from airflow2kfp.discover import DiscoveryOptions, discover, might_contain_dag

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")

DAG_TEXT = "from airflow import DAG\n"


def make(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def found(root: Path, **options) -> list[str]:
    return sorted(
        Path(f.path).relative_to(root).as_posix() for f in discover([root], DiscoveryOptions(**options))
    )


def test_heuristic_needs_both_words_in_any_case_and_all_files_reads_everything(tmp_path):
    make(
        tmp_path,
        {
            "a.py": DAG_TEXT,
            "b.py": "import AIRFLOW  # my Dag\n",
            "util.py": "x = 1\n",
            "only_dag.py": "dag = 1\n",
            "notes.txt": DAG_TEXT,
        },
    )
    assert might_contain_dag(tmp_path / "b.py") and not might_contain_dag(tmp_path / "only_dag.py")
    assert found(tmp_path) == ["a.py", "b.py"]
    assert found(tmp_path, all_files=True) == ["a.py", "b.py", "only_dag.py", "util.py"]


def test_regexp_airflowignore_searches_the_path_relative_to_the_dag_folder(tmp_path):
    # the example of Airflow's documentation
    make(
        tmp_path,
        {
            ".airflowignore": "project_a\ntenant_[\\d]  # comment\n",
            "project_a_dag_1.py": DAG_TEXT,
            "TESTING_project_a.py": DAG_TEXT,
            "tenant_1.py": DAG_TEXT,
            "project_a/dag_1.py": DAG_TEXT,
            "tenant_1/dag_1.py": DAG_TEXT,
            "keep.py": DAG_TEXT,
            "sub/.airflowignore": "^sub/x",
            "sub/x.py": DAG_TEXT,
            "sub/y.py": DAG_TEXT,
            "x.py": DAG_TEXT,
        },
    )
    assert found(tmp_path) == ["keep.py", "sub/y.py", "x.py"]


def test_glob_airflowignore_follows_gitignore_rules_scoped_to_its_folder(tmp_path):
    make(
        tmp_path,
        {
            ".airflowignore": "*_test.py\n!keep_test.py\nbuild/\n/top_only.py\n",
            "a_test.py": DAG_TEXT,
            "keep_test.py": DAG_TEXT,
            "build/b.py": DAG_TEXT,
            "top_only.py": DAG_TEXT,
            "deep/top_only.py": DAG_TEXT,
            "deep/c_test.py": DAG_TEXT,
            "other/.airflowignore": "*.py\n",
            "other/z.py": DAG_TEXT,
            "z.py": DAG_TEXT,
        },
    )
    assert found(tmp_path, ignore_syntax="glob") == ["deep/top_only.py", "keep_test.py", "z.py"]


def test_include_and_exclude_globs_and_named_files(tmp_path):
    make(tmp_path, {"dags/a.py": DAG_TEXT, "dags/b.py": DAG_TEXT, "tests/t.py": DAG_TEXT})
    assert found(tmp_path, include=("dags/",)) == ["dags/a.py", "dags/b.py"]
    assert found(tmp_path, exclude=("tests/", "b.py")) == ["dags/a.py"]
    # a file named on the command line is read even if the heuristic would skip it
    (tmp_path / "plain.py").write_text("x = 1\n")
    assert [f.display for f in discover([tmp_path / "plain.py"])] == [str(tmp_path / "plain.py")]


def test_convert_honours_airflowignore_in_both_syntaxes(repo, run):
    (repo / ".airflowignore").write_text("^beta\n")
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 0 and "1 file:" in out
    (repo / ".airflowignore").write_text("be*.py\n")
    assert "1 file:" in run("convert", "dags", "--out", "glob", "-j", "1", "--ignore-syntax", "glob")[1]


def test_an_asset_file_is_read_as_airflow_3_reads_it(tmp_path):
    """Airflow 3's heuristic keeps a file naming "airflow" and "asset" (an `@asset` defines a DAG)."""
    make(
        tmp_path,
        {
            "quotes.py": "from airflow.sdk import asset\n\n\n@asset(schedule='@daily')\ndef quotes():\n    return []\n",
            "only_asset.py": "asset = 1\n",
        },
    )
    assert found(tmp_path) == ["quotes.py"]
