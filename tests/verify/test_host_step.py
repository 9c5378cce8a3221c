"""Which containers run on the host, and how their declared paths move into the step folder."""

import json
import sys
from pathlib import Path

import pytest

from airflow2kfp.compiled.argo_expr import ExpressionError, depends_names, evaluate_depends, evaluate_when
from airflow2kfp.mapping.fallback import RUNNER
from airflow2kfp.verify.host_step import (
    AirflowHost,
    declared_paths,
    image_family,
    is_airflow_operator,
    missing_packages,
    package_closure,
    pip_installs,
    required_packages,
    rewrite,
    run_container,
    why_not_runnable,
)


@pytest.mark.parametrize(
    "image, family",
    [
        ("bash:5.2", "bash"),
        ("python:3.11-slim", "python"),
        ("docker.io/library/alpine:3.20", "alpine"),
        ("gcr.io/x/python:3", None),
        ("python@sha256:abc", "python"),
    ],
)
def test_image_family(image, family):
    assert image_family(image) == family


def test_runnable_and_not():
    ok = {"container": {"image": "alpine:3.20", "command": ["sh", "-c", "true"]}}
    assert why_not_runnable(ok) is None
    assert "pulled" in why_not_runnable({"container": {"image": "ubuntu:22.04", "command": ["bash"]}})
    assert "entrypoint" in why_not_runnable({"container": {"image": "bash:5.2"}})
    assert "not run on the host" in why_not_runnable(
        {"container": {"image": "bash:5.2", "command": ["curl"]}}
    )
    assert "cluster" in why_not_runnable({"resource": {}})
    secret = {
        "container": {
            "image": "bash:5.2",
            "command": ["bash"],
            "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        }
    }
    assert "secret" in why_not_runnable(secret)


def test_declared_paths_and_their_parents_are_rewritten_as_whole_paths():
    template = {"outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/outputs/Output/data"}}]}}
    paths = declared_paths(template)
    assert paths == ["/tmp/outputs/Output/data", "/tmp/outputs/Output", "/tmp/outputs"]
    root = Path("/w/root")
    text = (
        "mkdir -p /tmp/outputs/Output; echo 1 > /tmp/outputs/Output/data; "
        "ls /tmp/outputsX /tmp /x/tmp/outputs"
    )
    assert rewrite(text, paths, root) == (
        "mkdir -p /w/root/tmp/outputs/Output; echo 1 > /w/root/tmp/outputs/Output/data; "
        "ls /tmp/outputsX /tmp /x/tmp/outputs"
    )


def test_kfp_packages_to_install_are_read():
    command = (
        "(PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location "
        "'pyyaml==6.0' 'networkx' || PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet "
        "--no-warn-script-location 'pyyaml==6.0' 'networkx' --user) && \"$0\" \"$@\""
    )
    assert required_packages(["sh", "-c", command]) == ["pyyaml==6.0", "networkx"]
    # a program that mentions pip is not a preamble
    assert required_packages(["python3", "-c", "print('pip install requests')"]) == []


def test_kfp2_preamble_is_read_with_its_no_deps():
    """kfp 2 installs itself with `--no-deps` and quotes a requirement whose marker holds a `;`."""
    command = (
        '\nif ! [ -x "$(command -v pip)" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user\nfi\n\n'
        "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'jinja2' && "
        "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'kfp==2.17.3' "
        '\'--no-deps\' \'typing-extensions>=3.7.4,<5; python_version<"3.9"\' && "$0" "$@"\n'
    )
    assert pip_installs(["sh", "-c", command, "sh", "-ec", "python3 -m kfp.dsl.executor_main"]) == [
        ("jinja2", True),
        ("kfp==2.17.3", False),
        ('typing-extensions>=3.7.4,<5; python_version<"3.9"', False),
    ]


def test_a_no_deps_requirement_brings_none_of_its_dependencies():
    with_deps, _ = package_closure(sys.executable, ["Jinja2"])
    alone, _ = package_closure(sys.executable, ["Jinja2"], no_deps=frozenset({"Jinja2"}))
    markupsafe = [p for p in with_deps if Path(p).name.lower().startswith("markupsafe")]
    assert markupsafe and not set(markupsafe) & set(alone)
    assert any(Path(p).name == "jinja2" for p in alone)


def test_requirements_are_checked_with_their_versions():
    import yaml as installed

    problems = missing_packages(
        sys.executable,
        [
            f"PyYAML=={installed.__version__}",
            "pyyaml>=1",
            "PyYAML<1",
            "surely-not-a-package-a2k",
            "pkg @ https://x/y.whl",
            "bad req!",
        ],
    )
    assert problems == [
        "pkg @ https://x/y.whl (installed from a URL)",
        "bad req! (not a requirement verify can check)",
        f"PyYAML<1 (installed: {installed.__version__})",
        "surely-not-a-package-a2k (not installed)",
    ]


def test_when_expressions():
    assert evaluate_when('"a" == "a" && !(1 > 2)')
    assert evaluate_when("heads == heads") and not evaluate_when("heads != heads")
    assert evaluate_when("3 >= 3.0") and evaluate_when('"abc" =~ "^a"')
    assert not evaluate_when('1 == "1"')  # govaluate: different types are never equal
    with pytest.raises(ExpressionError):
        evaluate_when("1 <")


def test_depends_expressions():
    held = {"a": frozenset({"Failed"}), "b-c": frozenset({"Skipped"})}
    assert depends_names("(a.Succeeded || a.Failed) && b-c") == ["a", "b-c"]
    assert evaluate_depends("(a.Succeeded || a.Failed) && b-c", held.__getitem__)
    assert not evaluate_depends("a", held.__getitem__)
    assert evaluate_depends("a", held.__getitem__, lambda _: ("Succeeded", "Failed"))


# -- the operator fallback ------------------------------------------------------------------------


def fallback_step(image: str, operator: str, arguments: dict, default_args: dict | None = None) -> dict:
    """A fallback step as KFP compiles it: `python -c <runner> <inputs...> <output path>`."""
    argv = [
        operator,
        json.dumps(arguments),
        json.dumps(default_args or {}),
        "greet",
        "d",
        "2024-01-01T00:00:00+00:00",
        "run-1",
        "/tmp/outputs/Output/data",
    ]
    return {
        "name": "greet",
        "container": {"image": image, "command": ["python", "-c", RUNNER, *argv]},
        "outputs": {
            "parameters": [{"name": "greet-Output", "valueFrom": {"path": "/tmp/outputs/Output/data"}}]
        },
    }


def test_a_fallback_step_is_known_by_its_runner_in_any_image():
    step = fallback_step("registry.example.com/team/airflow:7", "x.Op", {})
    assert is_airflow_operator(step)
    assert not is_airflow_operator(
        {"container": {"image": "python:3.11", "command": ["python", "-c", "print(1)"]}}
    )
    assert "no Airflow interpreter" in why_not_runnable(step)
    assert (
        why_not_runnable(step, AirflowHost("python", "3.3.2")) is None
    )  # a custom image: its Airflow is unknown
    official = fallback_step("apache/airflow:2.10.5-python3.11", "x.Op", {})
    assert why_not_runnable(official, AirflowHost("python", "3.3.2")) == (
        "image apache/airflow:2.10.5-python3.11 runs Airflow 2, the verifying Airflow is 3.3.2"
    )
    assert why_not_runnable(official, AirflowHost("python", "2.9.3")) is None


def test_a_fallback_step_runs_airflow_s_operator_with_a_throwaway_home(airflow_python, tmp_path):
    # the team's operator from the DAG folder (its DAGS_FOLDER), a template rendered from params,
    # default_args applied by Airflow, the logical date in the context, the result as the Output
    dags = Path(__file__).resolve().parents[2] / "fixtures" / "verify_dags"
    step = fallback_step(
        "apache/airflow:3.3.2-python3.11",
        "team_operators.greetings.GreetingOperator",
        {"name": "{{ params.team }}", "params": {"team": "ops"}},
        {"greeting": "hi"},
    )
    version = airflow_version(airflow_python)
    step["container"]["image"] = f"apache/airflow:{version}-python3.11"
    result = run_container(
        step, tmp_path / "step", 120, airflow=AirflowHost(airflow_python, version, str(dags))
    )
    assert result.succeeded, result.log_tail
    assert json.loads(result.parameters["greet-Output"]) == {"said": "hi ops", "day": "2024-01-01"}
    assert (tmp_path / "step" / "airflow").is_dir()  # AIRFLOW_HOME: in the step's folder, nothing else


def airflow_version(python: str) -> str:
    import subprocess

    return subprocess.run(
        [python, "-c", "import airflow; print(airflow.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()


# -- a step sees what its image has -------------------------------------------------------------


def python_step(code: str, packages: list[str]) -> dict:
    """A KFP lightweight component's command: the packages_to_install preamble, then the program."""
    install = " ".join(f"'{p}'" for p in packages)
    preamble = (
        f"(PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location {install} "
        f"|| PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location {install} "
        '--user) && "$0" "$@"'
    )
    runner = 'program_path=$(mktemp)\nprintf "%s" "$0" > "$program_path"\npython3 -u "$program_path" "$@"\n'
    command = ["sh", "-c", preamble, "sh", "-ec", runner, code] if packages else ["python3", "-c", code]
    return {"name": "p", "container": {"image": "python:3.11", "command": command}}


def test_a_python_step_imports_only_the_standard_library_and_what_it_declares(tmp_path):
    # the python image holds the standard library (and pip, setuptools, wheel): a package this
    # machine happens to have is not there unless packages_to_install brings it
    undeclared = run_container(python_step("import yaml", []), tmp_path / "a", 60)
    assert not undeclared.succeeded and "No module named 'yaml'" in undeclared.log_tail
    declared = run_container(
        python_step("import yaml, json; print(yaml.safe_load('a: 1'))", ["pyyaml"]), tmp_path / "b", 60
    )
    assert declared.succeeded, declared.log_tail
    assert "{'a': 1}" in declared.log_tail
    assert run_container(python_step("import json, sqlite3, pip", []), tmp_path / "c", 60).succeeded


def test_the_bash_and_alpine_images_have_no_python(tmp_path):
    step = {
        "name": "b",
        "container": {"image": "bash:5.2", "command": ["bash", "-c", "python3 -c 'print(1)'"]},
    }
    result = run_container(step, tmp_path / "b", 60)
    assert result.exit_code == 127 and "python3: not found (image bash:5.2)" in result.log_tail


def test_the_command_and_args_run_exactly_as_the_container_runs_them(tmp_path):
    # Kubernetes: `command` replaces the entrypoint and `args` follow it, each element one argument
    step = {
        "name": "x",
        "container": {
            "image": "alpine:3.20",
            "command": [
                "sh",
                "-c",
                'mkdir -p /tmp/outputs/o; printf "%s|" "$0" "$@" > /tmp/outputs/o/data',
                "a b",
            ],
            "args": ["c", "{not a variable}", ""],
        },
        "outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/outputs/o/data"}}]},
    }
    result = run_container(step, tmp_path / "x", 30)
    assert result.parameters == {"o": "a b|c|{not a variable}||"}


def test_a_requirement_in_a_version_this_machine_lacks_makes_the_step_not_verifiable(tmp_path):
    result = run_container(python_step("import yaml", ["PyYAML<1"]), tmp_path / "p", 30)
    assert not result.verifiable and result.message.startswith(
        "needs packages verify cannot provide: PyYAML<1"
    )
