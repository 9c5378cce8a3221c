"""Settings from pyproject.toml [tool.airflow2kfp] or airflow2kfp.toml; flags win."""

from pathlib import Path

import pytest

from airflow2kfp.config import ConfigError, Settings, load_settings, override
from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")


def test_nearest_file_is_found_and_airflow2kfp_toml_wins_in_a_folder(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.airflow2kfp]\nbash-image = "from-pyproject"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert load_settings(start=deep).bash_image == "from-pyproject"
    (tmp_path / "airflow2kfp.toml").write_text('bash-image = "from-own-file"\ncache-dir = "c"\n')
    settings = load_settings(start=deep)
    assert settings.bash_image == "from-own-file" and settings.cache_dir == tmp_path / "c"


def test_a_pyproject_without_the_table_is_not_a_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(start=tmp_path) == Settings()


@pytest.mark.parametrize(
    "text, message",
    [
        ('fail-on = "sometimes"', "fail-on = 'sometimes'"),
        ("jobs = true", "jobs has the wrong type"),
        ('ignore = ["A2K999"]', "unknown diagnostic code(s): A2K999"),
        ('mode = "guess"', "mode = 'guess'"),
        ("[broken", "cannot read configuration"),
    ],
)
def test_invalid_settings_are_errors(tmp_path, text, message):
    (tmp_path / "airflow2kfp.toml").write_text(text + "\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(start=tmp_path)


def test_flags_override_and_none_keeps_the_file_value():
    settings = Settings(bash_image="file", fail_on="warning")
    assert override(settings, bash_image=None, fail_on="never") == Settings(
        bash_image="file", fail_on="never"
    )


def test_config_sets_images_exclusions_and_policy_for_a_run(repo, run):
    (repo / "skip_me.py").write_text(dag_file("skipped", "s"))
    (repo.parent / "airflow2kfp.toml").write_text(
        'bash-image = "registry.local/bash:5"\nexclude = ["skip_me.py"]\njobs = 1\n'
    )
    code, out, _ = run("convert", "dags", "--out", "out")
    assert code == 0 and "2 files:" in out
    assert "registry.local/bash:5" in (repo.parent / "out" / "pipelines" / "beta.yaml").read_text()
    run("convert", "dags", "--out", "out", "--bash-image", "flag/bash:1")
    assert "flag/bash:1" in (repo.parent / "out" / "pipelines" / "beta.yaml").read_text()


def test_the_documented_example_is_a_valid_configuration(tmp_path):
    docs = (Path(__file__).parents[1] / "docs" / "ci.md").read_text()
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(example)
    settings = load_settings(start=tmp_path)
    assert settings.ignore == ("A2K303",) and settings.cache_dir == Path("/var/cache/airflow2kfp")


def test_mode_and_airflow_settings(tmp_path):
    (tmp_path / "airflow2kfp.toml").write_text(
        'mode = "auto"\nairflow-python = "/opt/af/bin/python"\nairflow-timeout = 12\n'
    )
    settings = load_settings(start=tmp_path)
    assert (settings.mode, settings.airflow_python) == ("auto", "/opt/af/bin/python")
    assert settings.airflow_timeout == 12
