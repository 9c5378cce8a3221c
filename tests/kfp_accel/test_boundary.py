"""The boundary: accelerated() installs and restores every attribute, nests, and stays out of the way
outside the versions it was checked against or when the switch asks for plain kfp."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow2kfp import kfp_accel
from airflow2kfp.kfp_accel import guard, install
from airflow2kfp.kfp_accel.patch import ABSENT
from airflow2kfp.kfp_accel.patches import PATCHES
from tests.kfp_accel.accel_data import GOLDEN_SOURCES, ROOT


def own_values() -> dict[str, object]:
    return {patch.target: patch.own_value() for patch in PATCHES}


def run_script(script: str, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter (nothing installed, kfp not imported yet)."""
    path = tmp_path / "check.py"
    path.write_text(script, encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key != guard.PLAIN_KFP_SWITCH}
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        env={**environment, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )


_RESTORED = """
import re, sys, tempfile
from pathlib import Path
import kfp.compiler  # plain kfp, imported as a user's pipeline file imports it
from airflow2kfp import kfp_accel
from airflow2kfp.emit.compile import compile_source
from airflow2kfp.kfp_accel import install
from airflow2kfp.kfp_accel.patches import PATCHES

source = Path(sys.argv[1]).read_text(encoding="utf-8")
kfps = {p.target: p.own_value() for p in PATCHES}

def compiled():
    with tempfile.TemporaryDirectory() as workdir:
        result = compile_source(source, "pipeline", Path(workdir))
    assert result.error is None, result.error
    return re.sub(r"pipeline_compilation_time: '[^']*'", "", result.yaml_text)

import os
os.environ["AIRFLOW2KFP_PLAIN_KFP"] = "1"
plain = compiled()
assert {p.target: p.own_value() for p in PATCHES} == kfps and not kfp_accel.active()
del os.environ["AIRFLOW2KFP_PLAIN_KFP"]
with kfp_accel.accelerated() as active:
    assert active and kfp_accel.active()
    assert all(p.own_value() is not kfps[p.target] for p in PATCHES), "every attribute is ours within"
    fast = compiled()  # nested: compile_source enters again
    assert kfp_accel.active()
assert not kfp_accel.active()
assert all(p.own_value() is kfps[p.target] for p in PATCHES), [p.target for p in PATCHES
                                                               if p.own_value() is not kfps[p.target]]
again = compiled()  # installs and restores by itself
assert all(p.own_value() is kfps[p.target] for p in PATCHES)
os.environ["AIRFLOW2KFP_PLAIN_KFP"] = "1"
assert compiled() == plain
assert plain == fast == again, "plain kfp and the accelerated compile differ"
print("ok", len(PATCHES))
"""


def test_uninstall_gives_kfp_back_and_the_same_bytes(tmp_path: Path) -> None:
    done = run_script(_RESTORED, tmp_path, str(GOLDEN_SOURCES[0]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", str(len(PATCHES))]


def test_entries_nest_and_the_last_exit_restores() -> None:
    assert not kfp_accel.active()  # nothing in this process keeps it installed
    before = own_values()
    first, second = kfp_accel.accelerated(), kfp_accel.accelerated()
    assert first.__enter__() and second.__enter__()
    ours = own_values()
    assert all(ours[target] is not before[target] for target in before)
    first.__exit__(None, None, None)  # in any order: a count
    assert kfp_accel.active() and own_values() == ours
    second.__exit__(None, None, None)
    assert not kfp_accel.active()
    assert all(own_values()[target] is before[target] for target in before)
    with kfp_accel.accelerated():  # the same replacements again: their memos are kept
        assert all(own_values()[target] is ours[target] for target in before)


def test_an_error_within_still_restores() -> None:
    before = own_values()
    with pytest.raises(ValueError), kfp_accel.accelerated():
        raise ValueError("inside")
    assert all(own_values()[target] is before[target] for target in before)


def test_an_attribute_kfp_inherits_or_finds_in_builtins_is_removed_again() -> None:
    absent = [p for p in PATCHES if p.own_value() is ABSENT]
    assert {p.attribute for p in absent} == {"ComponentSpec.to_dict", "dir"}
    with kfp_accel.accelerated():
        assert all(p.own_value() is not ABSENT for p in absent)
    assert all(p.own_value() is ABSENT for p in absent)


@pytest.fixture
def fresh_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The guard's per-process answers forgotten for the test, and put back after."""
    monkeypatch.delenv(guard.PLAIN_KFP_SWITCH, raising=False)
    monkeypatch.setattr(guard, "_MISMATCHES", [])
    monkeypatch.setattr(guard, "_WARNED", [])
    yield


def test_other_versions_run_plain_kfp_with_one_warning(
    fresh_guard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = guard.installed_version
    monkeypatch.setattr(guard, "installed_version", lambda name: "1.8.21" if name == "kfp" else real(name))
    before = own_values()
    warned = pytest.warns(guard.KfpAccelWarning, match=r"kfp 1\.8\.21 \(checked 1\.8\.22\)")
    with warned, kfp_accel.accelerated() as active:
        assert not active and own_values() == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        with kfp_accel.accelerated() as active:
            assert not active
    found = kfp_accel.verdict()
    assert not found.accelerate and not found.requested


@pytest.mark.parametrize(
    ("distribution", "version"), [("docstring-parser", "0.16"), ("kubernetes", "26.1.0"), ("PyYAML", None)]
)
def test_each_library_the_patches_lean_on_is_guarded(
    fresh_guard: None, monkeypatch: pytest.MonkeyPatch, distribution: str, version: str | None
) -> None:
    real = guard.installed_version
    monkeypatch.setattr(
        guard, "installed_version", lambda name: version if name == distribution else real(name)
    )
    found = guard.verdict()
    assert not found.accelerate and distribution in found.reason and not found.requested


def test_the_checked_versions_are_installed_and_pinned() -> None:
    assert guard.mismatches() == []
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for distribution, version in guard.CHECKED.items():
        assert f'"{distribution}=={version}"' in pyproject, distribution


def test_the_switch_runs_plain_kfp_without_a_warning(
    fresh_guard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = own_values()
    monkeypatch.setenv(guard.PLAIN_KFP_SWITCH, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with kfp_accel.accelerated() as active:
            assert not active and own_values() == before
    monkeypatch.setenv(guard.PLAIN_KFP_SWITCH, "0")  # "0" or empty: off
    with kfp_accel.accelerated() as active:
        assert active


def test_a_run_says_it_once_as_a_coded_warning(
    fresh_guard: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow2kfp.pipeline import ConvertOptions
    from airflow2kfp.run import STATIC, collect

    real = guard.installed_version
    monkeypatch.setattr(
        guard, "installed_version", lambda name: "0.1" if name == "docstring-parser" else real(name)
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("a", "b"):
        (dags / f"{name}.py").write_text(
            "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
            f"with DAG('{name}'):\n    BashOperator(task_id='t', bash_command='echo 1')\n",
            encoding="utf-8",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coded notice, not a Python warning as well
        collected = collect(
            [dags], ConvertOptions(), settings=STATIC
        )  # the guard's notice alone, Airflow or not
    assert [(d.code, d.severity.value) for d in collected.notices] == [("A2K403", "warning")]
    assert "docstring-parser 0.1 (checked 0.18.0)" in collected.notices[0].message
    assert all(f.dags and f.dags[0].yaml_text for f in collected.files)  # plain kfp compiled them


_LAZY = """
import sys, tempfile, types
from pathlib import Path
from airflow2kfp.emit.compile import compile_source
from airflow2kfp.kfp_accel import lazy_import

source = Path(sys.argv[1]).read_text(encoding="utf-8")
with tempfile.TemporaryDirectory() as workdir:
    result = compile_source(source, "pipeline", Path(workdir))
assert result.error is None and "kind: Workflow" in result.yaml_text  # (the goldens check its text)
lazy = [n for n in lazy_import.UNUSED_ON_IMPORT if type(sys.modules[n]) is not types.ModuleType]
assert lazy == list(lazy_import.UNUSED_ON_IMPORT), lazy  # not loaded by the compilation
import kubernetes, kfp.v2.compiler, kfp.containers.entrypoint
assert callable(kubernetes.config.load_kube_config) and kfp.v2.compiler.Compiler and kfp.containers.entrypoint.main
assert callable(kubernetes.stream.stream) and kubernetes.watch.Watch and kubernetes.utils.create_from_yaml
assert all(type(sys.modules[n]) is types.ModuleType for n in ("kubernetes.config", "kfp.v2.compiler"))
assert not any(isinstance(f, lazy_import.LazyFinder) for f in sys.meta_path)
"""


def test_unused_modules_load_on_first_use(tmp_path: Path) -> None:
    done = run_script(_LAZY, tmp_path, str(GOLDEN_SOURCES[0]))
    assert done.returncode == 0, done.stderr


def test_plain_kfp_imports_every_module_at_once(tmp_path: Path) -> None:
    script = _LAZY.split("lazy = ")[0] + (
        "assert all(type(sys.modules[n]) is types.ModuleType for n in lazy_import.UNUSED_ON_IMPORT)\n"
    )
    done = run_script(script, tmp_path, str(GOLDEN_SOURCES[0]), **{guard.PLAIN_KFP_SWITCH: "1"})
    assert done.returncode == 0, done.stderr


def test_a_worker_keeps_it_installed(tmp_path: Path) -> None:
    script = (
        "from airflow2kfp.run import _warm_compiler\nfrom airflow2kfp import kfp_accel\n"
        "_warm_compiler(); _warm_compiler()\nwith kfp_accel.accelerated():\n    pass\n"
        "assert kfp_accel.active()\nprint('kept')\n"
    )
    done = run_script(script, tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "kept", done.stderr
    assert install.active() is False  # (in this process: untouched)
