"""Taking a pipeline over (airflow2kfp/ownership.py): an owned DAG's files are left alone and `check`
skips them; an edited pipeline without the marker fails only its own DAG (A2K701, exit 1)."""

import json
from pathlib import Path

import pytest

from airflow2kfp.outputs import MANIFEST_FILE
from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")

STATIC = ("-j", "1", "--mode", "static")


def _dag(out: Path, dag_id: str) -> dict:
    return next(d for d in json.loads((out / "conversion.json").read_text())["dags"] if d["dag_id"] == dag_id)


def test_a_marked_pipeline_is_left_alone_reported_as_owned_and_skipped_by_check(repo, run):
    out = repo.parent / "out"
    assert run("convert", "dags", "--out", "out", *STATIC)[0] == 0
    mine = out / "pipelines" / "beta.py"
    edited = mine.read_text().replace('"""', '"""\n# airflow2kfp: owned\n# tuned by the team', 1)
    mine.write_text(edited)
    yaml_before = (out / "pipelines" / "beta.yaml").read_text()
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))  # the DAG changes too
    (repo / "alpha.py").write_text(dag_file("alpha", "a", "b", "c"))
    code, text, _ = run("convert", "dags", "--out", "out", *STATIC)
    assert code == 0 and "owned: 1 DAG(s), their files left as they are: beta" in text
    assert mine.read_text() == edited and (out / "pipelines" / "beta.yaml").read_text() == yaml_before
    assert "echo c" in (out / "pipelines" / "alpha.yaml").read_text()  # the others are converted
    beta = _dag(out, "beta")
    assert beta["owned"] == "marker" and [d["code"] for d in beta["diagnostics"]] == ["A2K722"]
    assert json.loads((out / "conversion.json").read_text())["summary"]["owned"] == 1
    code, text, _ = run("check", "dags", "--out", "out", *STATIC)
    assert code == 0 and "up to date" in text and "owned: 1 DAG(s)" in text
    # pruning never removes what is owned
    assert run("convert", "dags", "--out", "out", *STATIC, "--prune")[0] == 0 and mine.exists()


def test_a_dag_listed_in_owned_is_left_alone_without_a_marker(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", *STATIC)
    before = (out / "pipelines" / "beta.yaml").read_text()
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))
    (repo.parent / "airflow2kfp.toml").write_text('owned = ["beta"]\n')
    assert run("convert", "dags", "--out", "out", *STATIC)[0] == 0
    assert (out / "pipelines" / "beta.yaml").read_text() == before and _dag(out, "beta")["owned"] == "config"
    assert run("check", "dags", "--out", "out", *STATIC)[0] == 0
    # no longer owned and never edited: converted again, as any other DAG
    (repo.parent / "airflow2kfp.toml").write_text("")
    assert run("convert", "dags", "--out", "out", *STATIC)[0] == 0
    assert (out / "pipelines" / "beta.yaml").read_text() != before and _dag(out, "beta")["owned"] is None


def test_an_edited_pipeline_without_the_marker_fails_only_itself_in_convert_and_check(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", *STATIC)
    (out / "pipelines" / "beta.py").write_text("# my edits\n")
    (repo / "alpha.py").write_text(dag_file("alpha", "a", "b", "c"))
    for _ in range(2):  # and again: the next run is not blocked either
        code, text, _ = run("convert", "dags", "--out", "out", *STATIC)
        assert code == 1 and "A2K701 [error] pipelines/beta.py is edited since airflow2kfp wrote it" in text
        assert "nothing was written" not in text
    assert "echo c" in (out / "pipelines" / "alpha.yaml").read_text()
    assert "pipelines/beta.py" in json.loads((out / MANIFEST_FILE).read_text())["files"]  # still known
    code, text, _ = run("check", "dags", "--out", "out", *STATIC)
    assert code == 1 and text.count("A2K701 [error]") == 1 and "A2K702" not in text
    assert "own the pipeline: add the line `# airflow2kfp: owned`" in text
    # owning it settles it
    (out / "pipelines" / "beta.py").write_text("# airflow2kfp: owned\n# my edits\n")
    assert run("convert", "dags", "--out", "out", *STATIC)[0] == 0
    assert run("check", "dags", "--out", "out", *STATIC)[0] == 0


def test_force_overwrites_an_edited_pipeline_but_never_an_owned_one(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", *STATIC)
    (out / "pipelines" / "alpha.py").write_text("# edited\n")
    (out / "pipelines" / "beta.py").write_text("# airflow2kfp: owned\n")
    assert run("convert", "dags", "--out", "out", *STATIC, "--force")[0] == 0
    assert (out / "pipelines" / "alpha.py").read_text() != "# edited\n"
    assert (out / "pipelines" / "beta.py").read_text() == "# airflow2kfp: owned\n"


def test_a_marker_only_counts_as_a_line_of_its_own(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", *STATIC)
    (out / "pipelines" / "beta.py").write_text('x = "# airflow2kfp: owned"\n')
    code, text, _ = run("convert", "dags", "--out", "out", *STATIC)
    assert code == 1 and "A2K701" in text and _dag(out, "beta")["owned"] is None
