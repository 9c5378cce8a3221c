"""Bash steps run in an image that has what their command calls (airflow2kfp/mapping/bash_images.py)."""

from __future__ import annotations

import pytest

from airflow2kfp.mapping import MappingContext, MappingOptions, map_task
from airflow2kfp.mapping.base import Fidelity
from airflow2kfp.mapping.bash_images import choose, needs
from airflow2kfp.settings import TOOL_IMAGES
from tests.helpers import dag, task

PYTHON, DBT, GCLOUD = TOOL_IMAGES["python"], TOOL_IMAGES["dbt"], TOOL_IMAGES["gcloud"]


def _map(command: str, **options):
    t = task("t", bash_command=command)
    return map_task(t, MappingContext(dag("d", [t], []), MappingOptions(**options)))


@pytest.mark.parametrize(
    "command",
    [
        "echo {{ ds }} && date +%F > out.txt",
        'for f in *.csv; do wc -l "$f"; done | sort | tail -n 1',
        "mkdir -p /tmp/x && cd /tmp/x || exit 1\nls -la | grep csv",
        'notify() { echo "$1"; }; notify done',
        "if [ -f flag ]; then cat flag; else echo none; fi",
        "echo $(date) | tee log.txt",
    ],
)
def test_builtins_and_coreutils_run_in_the_bash_image_as_direct(command):
    mapping = _map(command)
    assert (
        mapping.fidelity is Fidelity.DIRECT
        and mapping.component.spec["implementation"]["container"]["image"] == "bash:5.2"
    )
    assert mapping.component.key == "BASH" and not mapping.diagnostics


@pytest.mark.parametrize(
    "command, image",
    [
        ("python scripts/transform.py --date {{ ds }}", PYTHON),
        ("cd /opt/app && python3 -m etl.load", PYTHON),
        ("/usr/local/bin/python3 -c 'print(1)'", PYTHON),
        ("env DBT_PROFILES_DIR=/profiles dbt run --select orders | tee run.log", DBT),
        ("gsutil -m cp gs://raw/{{ ds }}/*.csv /data/", GCLOUD),
        ("time bq load --replace warehouse.sales /data/sales.csv", GCLOUD),
        ("timeout 600 gcloud dataproc jobs submit pyspark job.py", GCLOUD),
    ],
)
def test_a_command_that_calls_a_tool_runs_in_the_image_that_has_it(command, image):
    mapping = _map(command)
    container = mapping.component.spec["implementation"]["container"]
    assert container["image"] == image and container["command"][:2] == ["bash", "-c"]
    assert mapping.fidelity is Fidelity.DIRECT and not mapping.diagnostics
    assert any(note.startswith(f"runs in {image}") for note in mapping.notes)


@pytest.mark.parametrize(
    "command, named",
    [
        ("curl -sf https://example.com/health", "curl"),
        ("curl -s https://api/x | jq .items", "curl, jq"),
        ("gsutil cp gs://a/b.csv . && python load.py", "python"),  # no one image has both
        ("$LOADER --full", "$LOADER"),
        ("./scripts/run_export.sh", "./scripts/run_export.sh"),
        ("sudo -u etl python3 x.py", "sudo"),
    ],
)
def test_a_tool_no_configured_image_has_is_approximated_and_named(command, named):
    mapping = _map(command)
    assert mapping.fidelity is Fidelity.APPROXIMATED
    messages = [d.message for d in mapping.diagnostics if d.code == "A2K723"]
    assert messages and named in messages[0]


def test_a_command_that_cannot_be_parsed_is_approximated_in_the_bash_image():
    mapping = _map('echo "unterminated')
    assert mapping.fidelity is Fidelity.APPROXIMATED and [d.code for d in mapping.diagnostics] == ["A2K724"]
    assert mapping.component.spec["implementation"]["container"]["image"] == "bash:5.2"
    assert needs('echo "unterminated') is None


def test_the_table_is_configurable():
    table = (
        *MappingOptions().tool_images,
        ("curl", "curlimages/curl:8.10.1"),
        ("python", "registry.local/py:3"),
    )
    mapping = _map("curl -sf https://example.com", tool_images=table)
    assert mapping.fidelity is Fidelity.DIRECT
    assert mapping.component.spec["implementation"]["container"]["image"] == "curlimages/curl:8.10.1"
    assert choose("python x.py", "bash:5.2", dict(table)).image == "registry.local/py:3"
    # each image is its own component in a pipeline file
    assert (
        mapping.component.key == "BASH_CURL_8_10_1"
        and mapping.component.spec["name"] == "bash in curl:8.10.1"
    )
