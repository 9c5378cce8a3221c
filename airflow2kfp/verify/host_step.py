"""Run one Argo container template on this machine instead of in a pod, when that is equivalent.

Only images whose behaviour the host reproduces for our steps are run: the `bash`, `alpine` and
`python` library images, with a command that is `bash`, `sh`, `python3`, `python` or `true`.
Anything else (another image, no command, volumes, secrets) is *not verifiable*, never a pass.

The container's file system is emulated inside the step's folder. Every path the template declares
(`inputs.artifacts[].path`, `outputs.parameters[].valueFrom.path`, `outputs.artifacts[].path`, such
as KFP's `/tmp/outputs/Output/data`) and its parent folders below the top level (`/tmp/outputs/Output`,
`/tmp/outputs`, never `/tmp`) are rewritten to `<step>/root/<path>` wherever they occur as a whole
path in the command and args; other absolute paths are left alone. HOME and TMPDIR point into the step folder,
the environment is an allow-list, and the process group is killed at the deadline.

A step sees what its image has. In a `python` image, `python3`/`python` run the interpreter given
(the converter's own by default) through a wrapper script on PATH, without site-packages (`-S`) and
with PYTHONPATH on a folder that links only the image's pip/setuptools/wheel and the declared
requirements with their dependencies, so an import the image would not satisfy fails here too. The
`bash` and `alpine` images have no Python: there `python3` is "not found" (exit 127).

`python3 -m pip install ...` lines (KFP's `packages_to_install`) are answered by the wrapper without
installing anything, after checking that every package is already installed in a version the
requirement accepts; when one is not, the step is not verifiable. The command and args run exactly
as the container would run them (KFP's `sh -c "(pip install ...) && "$0" "$@""` preamble included);
only the declared paths are moved.

A step of the operator fallback (airflow2kfp/mapping/fallback.py: `python -c <its runner>` in an Airflow
image, whatever the image is called) runs with the Airflow interpreter given (`AirflowHost`): Airflow's
own operator code, against a throwaway AIRFLOW_HOME in the step folder and no metadata database, as in
the image; the DAG folder is its DAGS_FOLDER (the image must hold the DAG folder's modules, A2K310). When
the image is an official `apache/airflow:X...` of another major version than the interpreter, or no
Airflow interpreter is given, the step is not verifiable.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from airflow2kfp.mapping.fallback import RUNNER as AIRFLOW_OPERATOR_RUNNER

HOST_IMAGES = frozenset({"bash", "alpine", "python"})
HOST_COMMANDS = frozenset({"bash", "sh", "python3", "python", "true"})
ENV_ALLOWLIST = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
# KFP's packages_to_install preamble: `python3 -m pip install --quiet ... 'pkg==1.0' || ... --user) && ...`
_PIP_INSTALL = re.compile(r"\bpython3?\s+-m\s+pip\s+install\b")
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
LOG_TAIL = 4000
_OFFICIAL_AIRFLOW = re.compile(r"^(?:docker\.io/)?apache/airflow:v?(\d+)\.")


@dataclass(frozen=True)
class AirflowHost:
    """The Airflow that runs operator-fallback steps on the host."""

    python: str  # the Airflow interpreter
    version: str | None = None  # its Airflow version, e.g. "3.3.2"
    dags_folder: str | None = None  # the DAG folder, as the image's DAGS_FOLDER


@dataclass(frozen=True)
class StepResult:
    verifiable: bool
    succeeded: bool
    message: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    log_tail: str = ""
    # output parameter name -> value, output artifact name -> file or folder (on success)
    parameters: Mapping[str, str] = field(default_factory=dict)
    artifacts: Mapping[str, Path] = field(default_factory=dict)
    missing_outputs: tuple[str, ...] = ()


def image_family(image: str) -> str | None:
    """'python' for python:3.11, docker.io/library/python:3.11-slim; None for other registries."""
    reference = image.split("@", 1)[0]
    parts = reference.split("/")
    if len(parts) > 1 and parts[:-1] not in (["docker.io", "library"], ["library"], ["docker.io"]):
        return None
    return parts[-1].split(":", 1)[0]


def is_airflow_operator(template: Mapping[str, Any]) -> bool:
    """A step of the operator fallback: `python -c <the fallback runner> ...`, in any image."""
    container = template.get("container")
    command = list((container or {}).get("command") or []) if isinstance(container, Mapping) else []
    return (
        len(command) >= 3
        and os.path.basename(str(command[0])) in ("python", "python3")
        and command[1] == "-c"
        and command[2] == AIRFLOW_OPERATOR_RUNNER
    )


def _airflow_mismatch(image: str, airflow: AirflowHost | None) -> str | None:
    if airflow is None:
        return f"runs an Airflow operator in {image}: verify has no Airflow interpreter for it"
    official = _OFFICIAL_AIRFLOW.match(image)
    mine = (airflow.version or "").split(".", 1)[0]
    if official and mine and official.group(1) != mine:
        return f"image {image} runs Airflow {official.group(1)}, the verifying Airflow is {airflow.version}"
    return None


def why_not_runnable(template: Mapping[str, Any], airflow: AirflowHost | None = None) -> str | None:
    """None when the container template can run on the host, else the reason it cannot."""
    container = template.get("container")
    if not isinstance(container, Mapping):
        kind = next(
            (
                k
                for k in ("script", "resource", "suspend", "steps", "http", "plugin", "data")
                if k in template
            ),
            "unknown",
        )
        return f"a {kind} template runs in the cluster"
    image = str(container.get("image", ""))
    if is_airflow_operator(template):
        mismatch = _airflow_mismatch(image, airflow)
        if mismatch:
            return mismatch
    elif image_family(image) not in HOST_IMAGES:
        return f"image {image} must be pulled and run in a pod"
    command = list(container.get("command") or [])
    if not command:
        return f"the command is the entrypoint of image {image}"
    if os.path.basename(str(command[0])) not in HOST_COMMANDS:
        return f"command {command[0]} is not run on the host"
    if (
        container.get("volumeMounts")
        or template.get("volumes")
        or template.get("initContainers")
        or template.get("sidecars")
    ):
        return "the step mounts volumes or runs extra containers"
    for variable in container.get("env") or []:
        source = (variable or {}).get("valueFrom") or {}
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            return f"environment variable {variable.get('name')} comes from a secret or config map"
    return None


def declared_paths(template: Mapping[str, Any]) -> list[str]:
    """The declared paths and their parent folders below the top level, longest first."""
    inputs = template.get("inputs") or {}
    outputs = template.get("outputs") or {}
    paths = [a.get("path") for a in inputs.get("artifacts") or []]
    paths += [(p.get("valueFrom") or {}).get("path") for p in outputs.get("parameters") or []]
    paths += [a.get("path") for a in outputs.get("artifacts") or []]
    found: set[str] = set()
    for path in (str(p).rstrip("/") for p in paths if p):
        parts = path.split("/")
        found.update("/".join(parts[:end]) for end in range(3, len(parts) + 1))  # "/tmp/x" and deeper
    return sorted(found, key=len, reverse=True)


def local_path(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def rewrite(text: str, paths: list[str], root: Path) -> str:
    """Each whole occurrence of a path (not part of a longer one) moved under `root`, in one pass."""
    if not paths:
        return text
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, paths)) + r")(?![\w.-])")
    return pattern.sub(lambda m: str(local_path(root, m.group(1))), text)


def pip_installs(argv: list[str]) -> list[tuple[str, bool]]:
    """Each requirement of the `python3 -m pip install` commands in the command line (KFP's
    packages_to_install; kfp 2 also installs `kfp==X --no-deps` this way), as written (`'PyYAML==6.0.1'`
    -> `PyYAML==6.0.1`), with whether pip installs its dependencies too (no `--no-deps` in its
    command); options left out, each once. A command ends at the shell's `&&`, `||`, `;`, `|` or `)`,
    never inside quotes (kfp 2 quotes a requirement whose marker holds a `;`)."""
    found: dict[str, bool] = {}
    text = " ".join(argv)
    for match in _PIP_INSTALL.finditer(text):
        lexer = shlex.shlex(text[match.end() :], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        try:
            for token in lexer:
                if token and set(token) <= set("&|;()<>"):
                    break
                words.append(token)
        except ValueError:  # an unbalanced quote: what was read so far
            pass
        with_deps = "--no-deps" not in words
        for word in words:
            if word.startswith("-") or "$" in word or not _REQUIREMENT_NAME.match(word):
                continue
            found.setdefault(word, with_deps)
    return list(found.items())


def required_packages(argv: list[str]) -> list[str]:
    """The requirements of `pip_installs`, as written."""
    return [requirement for requirement, _ in pip_installs(argv)]


def missing_packages(python: str, requirements: list[str]) -> list[str]:
    """The requirements `python` does not satisfy, each with why ("x (not installed)")."""
    if not requirements:
        return []
    parsed: dict[str, Requirement] = {}
    problems: list[str] = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            problems.append(f"{text} (not a requirement verify can check)")
            continue
        if requirement.url:
            problems.append(f"{text} (installed from a URL)")
        elif requirement.marker is None or requirement.marker.evaluate():
            parsed[text] = requirement
    if not parsed:
        return problems
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "found = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: found[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: found[n] = None\n"
        "print(json.dumps(found))\n"
    )
    names = sorted({r.name for r in parsed.values()})
    done = subprocess.run(
        [python, "-c", probe, *names], capture_output=True, text=True, timeout=60, check=False
    )
    try:
        versions = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        versions = {}
    for text, requirement in parsed.items():
        version = versions.get(requirement.name)
        if version is None:
            problems.append(f"{text} (not installed)")
        elif requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{text} (installed: {version})")
    return problems


# the python image's own site-packages besides the standard library
IMAGE_PACKAGES = ("pip", "setuptools", "wheel")
_DISTRIBUTIONS_PROBE = """\
import importlib.metadata as m, json, os, re
found = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    paths = None
    if dist.files is not None:
        base = str(dist.locate_file(""))
        tops = {f.parts[0] for f in dist.files if f.parts and f.parts[0] not in ("..", "__pycache__")}
        paths = sorted(os.path.join(base, top) for top in tops if not top.endswith(".pth"))
    key = re.sub(r"[-_.]+", "-", name).lower()
    found.setdefault(key, {"version": dist.version, "requires": dist.requires or [], "paths": paths})
print(json.dumps(found))
"""


@functools.lru_cache(maxsize=8)
def installed_distributions(python: str) -> Mapping[str, Mapping[str, Any]]:
    """Every distribution `python` has: normalised name -> version, requirements and the top-level
    files and folders it installed (None when it recorded none)."""
    done = subprocess.run(
        [python, "-I", "-c", _DISTRIBUTIONS_PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    try:
        return json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        return {}


def package_closure(
    python: str, requirements: list[str], no_deps: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """The top-level paths of the required distributions, their dependencies (not for the
    requirements in `no_deps`, installed with `--no-deps`) and the python image's own packages;
    and the distributions whose files cannot be told."""
    installed = installed_distributions(python)
    pending = [Requirement(text) for text in [*requirements, *IMAGE_PACKAGES]]
    pending = [r for r in pending if r.marker is None or r.marker.evaluate()]
    bare = {canonicalize_name(Requirement(text).name) for text in no_deps}
    seen: set[str] = set()
    paths: list[str] = []
    unknown: list[str] = []
    while pending:
        requirement = pending.pop()
        key = canonicalize_name(requirement.name)
        found = installed.get(key)
        if key in seen or found is None:  # a missing image package is no problem; requirements were checked
            continue
        seen.add(key)
        if found.get("paths") is None:
            unknown.append(requirement.name)
            continue
        paths += [p for p in found["paths"] if p not in paths]
        if key in bare:
            continue
        extras = set(requirement.extras) | {""}
        for text in found.get("requires") or []:
            try:
                needed = Requirement(text)
            except InvalidRequirement:
                continue
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                pending.append(needed)
    return paths, unknown


def _isolated_site(folder: Path, paths: list[str]) -> None:
    """A folder holding only the given packages (links to where they are installed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        link = folder / os.path.basename(path)
        if not link.exists() and os.path.exists(path):
            link.symlink_to(path)


def _python_wrapper(folder: Path, python: str, isolated: bool) -> None:
    """`python3`/`python` on the step's PATH: `pip` answered, the rest run by `python`; `isolated`:
    without site-packages (`-S`), so only the standard library and PYTHONPATH's packages import."""
    folder.mkdir(parents=True, exist_ok=True)
    script = (
        "#!/bin/sh\n"
        "# airflow2kfp verify: the packages were checked to be installed; nothing is installed\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then exit 0; fi\n'
        f'exec {shlex.quote(python)}{" -S" if isolated else ""} "$@"\n'
    )
    for name in ("python3", "python"):
        wrapper = folder / name
        wrapper.write_text(script)
        wrapper.chmod(0o755)


def _no_python(folder: Path, image: str) -> None:
    """The bash and alpine images have no Python: the host's must not stand in for it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("python3", "python", "pip", "pip3"):
        stub = folder / name
        stub.write_text(f'#!/bin/sh\necho "{name}: not found (image {image})" >&2\nexit 127\n')
        stub.chmod(0o755)


def _environment(
    container: Mapping[str, Any], step_dir: Path, shim: Path, airflow: AirflowHost | None, site: Path | None
) -> dict[str, str]:
    env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
    env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(HOME=str(step_dir / "home"), TMPDIR=str(step_dir / "tmp"), PYTHONUNBUFFERED="1")
    if site is not None:
        env["PYTHONPATH"] = str(site)
    if airflow is not None:  # the image's Airflow: a home of its own, no database, the DAG folder
        env["AIRFLOW_HOME"] = str(step_dir / "airflow")
        if airflow.dags_folder:
            env["AIRFLOW__CORE__DAGS_FOLDER"] = airflow.dags_folder
    for variable in container.get("env") or []:
        if "value" in variable:
            env[str(variable["name"])] = str(variable["value"])
        elif "valueFrom" in variable:  # fieldRef / resourceFieldRef: a fixed local stand-in
            env[str(variable["name"])] = f"local-{variable['name'].lower()}"
    return env


def run_container(
    template: Mapping[str, Any],
    step_dir: Path,
    timeout: float,
    python: str | None = None,
    inputs: Mapping[str, Path] | None = None,
    airflow: AirflowHost | None = None,
) -> StepResult:
    """Run the (substituted) container template in `step_dir`; `inputs` are input artifact files."""
    reason = why_not_runnable(template, airflow)
    if reason:
        return StepResult(verifiable=False, succeeded=False, message=reason)
    container = template["container"]
    operator_step = is_airflow_operator(template)
    if operator_step:
        assert airflow is not None  # why_not_runnable said so
    interpreter = airflow.python if operator_step and airflow else python or sys.executable
    root = step_dir / "root"
    paths = declared_paths(template)
    argv = [rewrite(str(a), paths, root) for a in [*container.get("command", []), *container.get("args", [])]]
    installs = pip_installs(argv)
    requirements = [requirement for requirement, _ in installs]
    missing = missing_packages(interpreter, requirements)
    if missing:
        return StepResult(
            verifiable=False,
            succeeded=False,
            message=f"needs packages verify cannot provide: {', '.join(missing)}",
        )
    for folder in ("home", "tmp", "work", "root/tmp", "airflow"):  # root/tmp: /tmp exists in every image
        (step_dir / folder).mkdir(parents=True, exist_ok=True)
    shim = step_dir / "bin"
    image = str(container.get("image", ""))
    site = None
    if operator_step:  # the Airflow image's Python: Airflow and what is installed with it
        _python_wrapper(shim, interpreter, isolated=False)
    elif image_family(image) == "python":  # the standard library, the declared packages, pip
        paths, unknown = package_closure(
            interpreter, requirements, frozenset(r for r, with_deps in installs if not with_deps)
        )
        if unknown:
            return StepResult(
                verifiable=False,
                succeeded=False,
                message=f"cannot tell which files these packages installed: {', '.join(unknown)}",
            )
        site = step_dir / "site"
        _isolated_site(site, paths)
        _python_wrapper(shim, interpreter, isolated=True)
    else:
        _no_python(shim, image)
    for artifact in (template.get("inputs") or {}).get("artifacts") or []:
        if artifact.get("name") in (inputs or {}) and artifact.get("path"):
            target = local_path(root, str(artifact["path"]))
            target.parent.mkdir(parents=True, exist_ok=True)
            source = (inputs or {})[artifact["name"]]
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                target.write_bytes(source.read_bytes())
    if os.path.basename(argv[0]) in ("python3", "python"):
        argv[0] = str(shim / "python3")
    log_path = step_dir / "log.txt"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=step_dir / "work",
            env=_environment(container, step_dir, shim, airflow if operator_step else None, site),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        timed_out = False
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            try:  # the whole process group: nothing the step started outlives it
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
    tail = log_path.read_bytes()[-LOG_TAIL:].decode(errors="replace")
    if timed_out:
        return StepResult(True, False, f"deadline of {timeout:g}s exceeded", None, True, tail)
    if process.returncode != 0:
        return StepResult(True, False, f"exit code {process.returncode}", process.returncode, False, tail)
    return _collect_outputs(template, root, tail)


def _collect_outputs(template: Mapping[str, Any], root: Path, tail: str) -> StepResult:
    outputs = template.get("outputs") or {}
    parameters: dict[str, str] = {}
    artifacts: dict[str, Path] = {}
    missing: list[str] = []
    for parameter in outputs.get("parameters") or []:
        path = (parameter.get("valueFrom") or {}).get("path")
        if not path:
            continue
        file = local_path(root, str(path))
        if file.is_file():
            # Argo's wait container trims one trailing newline from the file's content
            parameters[str(parameter["name"])] = file.read_text(errors="replace").removesuffix("\n")
        elif "default" in (parameter.get("valueFrom") or {}):
            parameters[str(parameter["name"])] = str(parameter["valueFrom"]["default"])
        else:
            missing.append(str(parameter["name"]))
    for artifact in outputs.get("artifacts") or []:
        file = local_path(root, str(artifact.get("path", "")))
        if file.exists():
            artifacts[str(artifact["name"])] = file
        elif not artifact.get("optional"):
            missing.append(str(artifact["name"]))
    if missing:
        return StepResult(
            True,
            False,
            f"outputs not written: {', '.join(missing)}",
            0,
            False,
            tail,
            parameters,
            artifacts,
            tuple(missing),
        )
    return StepResult(True, True, "", 0, False, tail, parameters, artifacts)
