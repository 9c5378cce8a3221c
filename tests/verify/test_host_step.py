"""Which containers run on the host, and how their declared paths move into the step folder."""

from pathlib import Path

import pytest

from converter.verify.argo_expr import ExpressionError, depends_names, evaluate_depends, evaluate_when
from converter.verify.host_step import (
    declared_paths,
    image_family,
    required_packages,
    rewrite,
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
    assert required_packages(["sh", "-c", command]) == ["pyyaml", "networkx"]


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
