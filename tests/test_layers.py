"""The package's layers (docs/architecture.md): a module imports only from its own layer or below.

Every `import`/`from ... import` of an `airflow2kfp` module counts, at module level or inside a function
(a lazy import still ties the layers together). Each module is placed by the longest prefix in
LAYERS; a module no prefix places fails the test, so a new module is placed on purpose.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "airflow2kfp"

# bottom first; a prefix names a module or a package (and everything in it)
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "airflow2kfp",
            "airflow2kfp.diagnostics",
            "airflow2kfp.names",
            "airflow2kfp.python_names",
            "airflow2kfp.graph",
            "airflow2kfp.discover",
            "airflow2kfp.kfp_accel",
            "airflow2kfp.kfp2",
            "airflow2kfp.airflow_side",
            "airflow2kfp.kfp2_side",
            "airflow2kfp.schemas",
        ),
    ),
    ("values", ("airflow2kfp.model", "airflow2kfp.results", "airflow2kfp.settings")),
    (
        "storage",
        (
            "airflow2kfp.serial",
            "airflow2kfp.encodable",
            "airflow2kfp.config",
            "airflow2kfp.outputs",
            "airflow2kfp.local_imports",
        ),
    ),
    ("parse", ("airflow2kfp.parse",)),
    ("mapping", ("airflow2kfp.mapping",)),
    ("emit", ("airflow2kfp.emit",)),
    ("compiled output", ("airflow2kfp.compiled",)),
    ("one file", ("airflow2kfp.pipeline", "airflow2kfp.target_v2")),
    (
        "results of a run",
        (
            "airflow2kfp.cache",
            "airflow2kfp.suppress",
            "airflow2kfp.ownership",
            "airflow2kfp.check",
            "airflow2kfp.console",
            "airflow2kfp.report",
            "airflow2kfp.ci",
        ),
    ),
    ("run", ("airflow2kfp.run",)),
    ("commands", ("airflow2kfp.batch", "airflow2kfp.upload", "airflow2kfp.verify")),
    ("cli", ("airflow2kfp.cli",)),
)

# Imports that still point up, each with the change that removes it (docs/architecture.md); none today.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}

# Code run by another interpreter, never by the converter's, lives in a folder of its own: every file
# there imports only the standard library, that interpreter's own libraries and its siblings, so it
# works in any installation of them (a new file in the folder is checked without being listed).
OTHER_INTERPRETERS: dict[str, frozenset[str]] = {
    "airflow_side": frozenset({"airflow", "pendulum"}),
    "kfp2_side": frozenset({"kfp", "yaml"}),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> list[tuple[str, int]]:
    """(module, line) for every import in the file; `from pkg import name` names pkg.name when that is
    a module of the package, else pkg."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                is_module = any(
                    (PACKAGE.parent / submodule.replace(".", "/")).with_suffix(s).exists()
                    for s in (".py", "")
                ) and submodule.startswith("airflow2kfp")
                found.append((submodule if is_module else target, node.lineno))
    return found


def layer_of(module: str) -> int:
    best = max(
        (
            (len(prefix), index)
            for index, (_, prefixes) in enumerate(LAYERS)
            for prefix in prefixes
            # the package itself places only its __init__, so every other module is placed on purpose
            if module == prefix or (prefix != "airflow2kfp" and module.startswith(prefix + "."))
        ),
        default=None,
    )
    assert best is not None, f"{module} is in no layer: place it in LAYERS (and docs/architecture.md)"
    return best[1]


def test_no_import_points_up_a_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for target, line in imported(path):
            ours = target == "airflow2kfp" or target.startswith("airflow2kfp.")
            if ours and layer_of(target) > layer_of(source) and (source, target) not in KNOWN_UPWARD:
                upward.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {source} "
                    f"({LAYERS[layer_of(source)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
                )
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_known_upward_imports_still_exist():
    """An entry of KNOWN_UPWARD whose import is gone is removed from the list, so it cannot hide a new one."""
    present = {(module_name(path), target) for path in PACKAGE.rglob("*.py") for target, _ in imported(path)}
    assert not set(KNOWN_UPWARD) - present


@pytest.mark.parametrize("folder", sorted(OTHER_INTERPRETERS))
def test_code_run_by_another_interpreter_imports_only_its_libraries(folder: str) -> None:
    files = sorted((PACKAGE / folder).rglob("*.py"))
    assert len(files) > 1, f"airflow2kfp/{folder}/ holds no scripts"
    # siblings by package (the converter's tests import them) or, on the interpreter's path, by file name
    ours = {module_name(path) for path in files} | {path.stem for path in files} | {f"airflow2kfp.{folder}"}
    allowed = set(sys.stdlib_module_names) | OTHER_INTERPRETERS[folder]
    found = {
        path.relative_to(PACKAGE.parent).as_posix(): sorted(
            {t for t, _ in imported(path) if t.split(".")[0] not in allowed and t not in ours}
        )
        for path in files
    }
    assert not {file: others for file, others in found.items() if others}


def test_code_run_by_another_interpreter_is_where_the_converter_runs_it() -> None:
    """The scripts each converter-side module copies and runs are files of those folders."""
    from airflow2kfp import airflow_side, kfp2_side

    scripts = [
        airflow_side.PROBE,
        airflow_side.DAG_TEST_RUNNER,
        airflow_side.SANDBOX_INSIDE,
        *kfp2_side.SCRIPTS,
    ]
    assert all(script.is_file() for script in scripts)
    assert {script.parent.name for script in scripts} == set(OTHER_INTERPRETERS)


def test_every_module_is_placed():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))
