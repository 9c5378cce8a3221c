"""The package's layers (docs/architecture.md): a module imports only from its own layer or below.

Every `import`/`from ... import` of a `converter` module counts, at module level or inside a function
(a lazy import still ties the layers together). Each module is placed by the longest prefix in
LAYERS; a module no prefix places fails the test, so a new module is placed on purpose.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "converter"

# bottom first; a prefix names a module or a package (and everything in it)
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("converter", "converter.diagnostics", "converter.names", "converter.python_names",
                    "converter.graph", "converter.discover", "converter.kfp_accel", "converter.kfp2",
                    "converter.schemas")),
    ("values", ("converter.model", "converter.results", "converter.settings")),
    ("storage", ("converter.serial", "converter.encodable", "converter.config", "converter.outputs")),
    ("parse", ("converter.parse",)),
    ("mapping", ("converter.mapping",)),
    ("emit", ("converter.emit",)),
    ("compiled output", ("converter.compiled",)),
    ("one file", ("converter.pipeline", "converter.target_v2")),
    ("results of a run", ("converter.cache", "converter.suppress", "converter.ownership", "converter.check",
                          "converter.console", "converter.report", "converter.ci")),
    ("run", ("converter.run",)),
    ("commands", ("converter.batch", "converter.upload", "converter.verify")),
    ("cli", ("converter.cli",)),
)

# Imports that still point up, each with the change that removes it (docs/architecture.md).
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    # lead: to fix after #18 merges: import python_identifier from converter.names
    ("converter.mapping.branching", "converter.emit.names"): "#18",
    ("converter.mapping.control_flow", "converter.emit.names"): "#18",
    ("converter.mapping.kubernetes", "converter.emit.names"): "#18",
}

# Code run by another interpreter, never by the converter's: the standard library and that
# interpreter's own libraries only, so it works in any installation of them.
UNDER_AIRFLOW = ("converter/parse/airflow_probe.py", "converter/parse/sandbox_inside.py",
                 "converter/verify/airflow_runner_script.py")
UNDER_KFP2 = ("converter/kfp2/worker.py", "converter/kfp2/ir_runner.py")
OTHER_INTERPRETERS = {UNDER_AIRFLOW: {"airflow", "pendulum"}, UNDER_KFP2: {"kfp", "yaml"}}


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
                is_module = any((PACKAGE.parent / submodule.replace(".", "/")).with_suffix(s).exists()
                                for s in (".py", "")) and submodule.startswith("converter")
                found.append((submodule if is_module else target, node.lineno))
    return found


def layer_of(module: str) -> int:
    best = max(((len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
                if module == prefix or module.startswith(prefix + ".")), default=None)
    assert best is not None, f"{module} is in no layer: place it in LAYERS (and docs/architecture.md)"
    return best[1]


def test_no_import_points_up_a_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for target, line in imported(path):
            ours = target == "converter" or target.startswith("converter.")
            if ours and layer_of(target) > layer_of(source) and (source, target) not in KNOWN_UPWARD:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {source} "
                              f"({LAYERS[layer_of(source)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_known_upward_imports_still_exist():
    """An entry of KNOWN_UPWARD whose import is gone is removed from the list, so it cannot hide a new one."""
    present = {(module_name(path), target) for path in PACKAGE.rglob("*.py") for target, _ in imported(path)}
    assert not set(KNOWN_UPWARD) - present


@pytest.mark.parametrize("files", OTHER_INTERPRETERS, ids=["airflow", "kfp2"])
def test_code_run_by_another_interpreter_imports_only_its_libraries(files: tuple[str, ...]) -> None:
    # ... and each other, by package or (on the interpreter's path) by file name
    ours = {module_name(PACKAGE.parent / r) for r in files} | {Path(r).stem for r in files}
    allowed = set(sys.stdlib_module_names) | OTHER_INTERPRETERS[files]
    for relative in files:
        path = PACKAGE.parent / relative
        others = sorted({t for t, _ in imported(path) if t.split(".")[0] not in allowed and t not in ours})
        assert not others, f"{relative} imports {others}"


def test_every_module_is_placed():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))
