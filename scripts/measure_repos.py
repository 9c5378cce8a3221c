"""Measure the converter on real DAG repositories against Airflow's own reading of them (issue #18's "Done when").

    .venv/bin/python scripts/measure_repos.py CORPUS/owner__repo [...] [--airflow-python PATH] [--work DIR]

For each repository folder (a DAG folder, as Airflow's `dags_folder` would be):

1. **Airflow's truth**: the folder is loaded with Airflow's DagBag in the Airflow interpreter (this same file,
   run as `--truth FOLDER`), the folder first on `sys.path` as Airflow puts it, under bubblewrap when it is
   installed (read-only file system, no network, a private /tmp): dag_ids, task ids and exact edges per DAG,
   and the files Airflow could not import. A DAG Airflow does not load (a missing provider, a removed
   argument) is not counted: it is Airflow's failure, not the converter's.
2. **The converter**: `airflow2kfp convert --mode static`, then `--mode auto` twice (cold: `--no-cache`), each
   into its own folder, timed side by side with the DagBag load.
3. **Per DAG Airflow loads**, in each mode: emitted (a conversion.json entry with its dag_id), emitted more
   than once, failed, an internal error (A2K108, A2K4xx, A2K5xx), the same task ids as Airflow, and an
   exact ordering: the compiled Argo YAML's ordering is read back with the project's self-check
   (`airflow2kfp.compiled.selfcheck.read_workflow`/`compare_ordering`) and compared with **Airflow's** edges,
   not with the converter's own reading (which is what the converter's self-check compares with).
4. **Determinism**: the two default-mode output folders must be byte-identical (text files compared after
   the volatile fields that the golden tests strip, tests/helpers.py `strip_volatile`, are stripped).

Prints a table per repository and the totals; `--json FILE` writes every figure. Exit 1 when the Done-when
fails (any Airflow-loaded DAG not exact in the default mode, an internal error or a DAG emitted twice in the
default mode, static mode under 90% exact, or two default-mode runs differing); 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INTERNAL_CODE = re.compile(r"^A2K(108|4\d\d|5\d\d)$")
STATIC_TARGET = 0.90
# the converter's own note on an ordering it adds on purpose (a mapped task group's loop waits for
# the upstreams of all its tasks); such pairs are reported apart, never counted as exact silently
INTENDED_WAIT = "Airflow does not make it wait"


# --------------------------------------------------------------------------------------------------
# 1. Airflow's truth (runs in the Airflow interpreter: no converter import here)


def inlined_subdags(dag: Any, prefix: str = "") -> tuple[list[str], list[list[str]]]:
    """Task ids and edges of `dag`, each SubDagOperator replaced by its SubDAG's tasks (`<task>.<id>`):
    what runs upstream of the operator runs before the SubDAG's roots, its leaves before what is downstream."""
    tasks: list[str] = []
    edges: list[list[str]] = []
    heads: dict[str, list[str]] = {}  # task id -> the ids an edge into it lands on
    tails: dict[str, list[str]] = {}  # task id -> the ids an edge out of it leaves from
    for task in dag.tasks:
        name = prefix + task.task_id
        subdag = getattr(task, "subdag", None)
        if subdag is None:
            tasks.append(name)
            heads[task.task_id] = tails[task.task_id] = [name]
            continue
        inner_tasks, inner_edges = inlined_subdags(subdag, name + ".")
        tasks += inner_tasks
        edges += inner_edges
        heads[task.task_id] = [name + "." + t.task_id for t in subdag.roots]
        tails[task.task_id] = [name + "." + t.task_id for t in subdag.leaves]
    for task in dag.tasks:
        for upstream in task.upstream_task_ids:
            edges += [[u, d] for u in tails[upstream] for d in heads[task.task_id]]
    return sorted(tasks), sorted(edges)


def truth(folder: str) -> dict[str, Any]:
    """What Airflow's DagBag makes of `folder`: per DAG its file, task ids and edges; import errors."""
    sys.path.insert(0, folder)
    started = time.perf_counter()
    import inspect

    try:
        from airflow.dag_processing.dagbag import DagBag  # type: ignore[import-not-found]  # Airflow >= 3.1
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[import-not-found]
    imported = time.perf_counter()
    import airflow  # type: ignore[import-not-found]

    if int(airflow.__version__.split(".")[0]) < 3:
        # Airflow 2's SubDagOperator reads the metadata database when it is built; a real deployment
        # has one, so the DagBag gets an empty one (sqlite under the scratch AIRFLOW_HOME)
        from airflow.utils.db import initdb  # type: ignore[import-not-found]

        initdb(load_connections=False)
        imported = time.perf_counter()  # the database is set-up, not the DagBag's load
    kwargs: dict[str, Any] = {"dag_folder": folder}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:  # removed in 3.3
        kwargs["include_examples"] = False
    bag = DagBag(**kwargs)
    loaded = time.perf_counter()
    dags = {}
    for dag_id, dag in sorted(bag.dags.items()):
        if getattr(dag, "parent_dag", None) is not None:
            continue  # a SubDAG: its tasks are read into its parent's, as the converter inlines them
        tasks, edges = inlined_subdags(dag)
        dags[dag_id] = {"file": os.path.relpath(dag.fileloc, folder), "tasks": tasks, "edges": edges}

    return {
        "airflow_version": airflow.__version__,
        "import_seconds": imported - started,
        "load_seconds": loaded - imported,
        "dags": dags,
        "import_errors": {
            os.path.relpath(path, folder): str(message).strip().splitlines()[-1][:300]
            for path, message in sorted(bag.import_errors.items())
        },
    }


# --------------------------------------------------------------------------------------------------
# 2. comparison of one converted DAG with Airflow's (pure: tested with synthetic inputs)


@dataclass(frozen=True)
class DagVerdict:
    dag_id: str
    file: str
    outcome: str  # exact | ordering-differs | tasks-differ | failed | not-emitted
    emitted: int  # conversion.json entries with this dag_id
    internal: tuple[str, ...] = ()  # internal-error codes of its entries
    codes: tuple[str, ...] = ()  # error codes of its entries (why it failed)
    detail: str = ""
    intended_extra: int = 0  # pairs the converter orders on purpose (mapped task group loops)
    # steps that stand for no Airflow task (a cross product's items step), taken out of the ordering
    # before comparing: a step before one is before what follows it
    helper_steps: tuple[str, ...] = ()


def airflow_waits(
    edges: Iterable[Sequence[str]], records: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """Airflow's edges a step must wait on: all, except into a task with trigger rule `always` whose step
    waits for nothing (Airflow starts it at once; the converter's own rule, airflow2kfp.pipeline.airflow_ordering)."""
    free = {r["task_id"] for r in records if r.get("trigger_rule") == "always" and not r.get("after")}
    return [(u, d) for u, d in edges if d not in free]


def compare_dag(
    dag_id: str, expected: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], yaml_text: str | None
) -> DagVerdict:
    """The verdict for one DAG Airflow loaded (`expected`: its truth) from the conversion.json `entries`
    with its dag_id and the compiled YAML of the first of them."""
    from airflow2kfp.compiled.selfcheck import compare_ordering, read_workflow, without_steps

    file = expected["file"]
    if not entries:
        return DagVerdict(dag_id, file, "not-emitted", 0)
    codes = tuple(
        sorted({d["code"] for e in entries for d in e.get("diagnostics", ()) if d.get("severity") == "error"})
    )
    internal = tuple(
        sorted(
            {d["code"] for e in entries for d in e.get("diagnostics", ()) if INTERNAL_CODE.match(d["code"])}
        )
    )
    entry = entries[0]
    base = {"dag_id": dag_id, "file": file, "emitted": len(entries), "internal": internal, "codes": codes}
    records = entry.get("tasks", [])
    want, have = set(expected["tasks"]), {r["task_id"] for r in records}
    if entry.get("status") != "converted" or yaml_text is None:
        return DagVerdict(**base, outcome="failed", detail=", ".join(codes))
    if want != have:
        missing, extra = sorted(want - have), sorted(have - want)
        detail = "; ".join(
            part
            for part in (
                f"missing tasks {_few(missing)}" if missing else "",
                f"extra tasks {_few(extra)}" if extra else "",
            )
            if part
        )
        return DagVerdict(**base, outcome="tasks-differ", detail=detail)
    kfp_names = {r["task_id"]: r["kfp_name"] for r in records if r.get("kfp_name")}
    workflow = read_workflow(yaml_text)
    helpers = tuple(sorted(workflow.steps - set(kfp_names.values())))
    verdict = compare_ordering(
        without_steps(workflow, frozenset(helpers)),
        sorted(want),
        airflow_waits(expected["edges"], records),
        kfp_names,
    )
    base = {**base, "helper_steps": helpers}
    if verdict.exact and not verdict.problems:
        return DagVerdict(**base, outcome="exact")
    by_step = {step: task for task, step in kfp_names.items()}
    intended_into = {
        r["task_id"]
        for r in records
        if any(INTENDED_WAIT in d for d in r.get("semantics", {}).get("differences", ()))
    }
    unexplained = [(a, b) for a, b in verdict.extra if by_step.get(b) not in intended_into]
    intended = len(verdict.extra) - len(unexplained)
    if not (
        verdict.missing or unexplained or verdict.missing_steps or verdict.extra_steps or verdict.problems
    ):
        return DagVerdict(**base, outcome="exact", intended_extra=intended)
    detail = "; ".join(
        part
        for part in (
            f"missing {_few(verdict.missing)}" if verdict.missing else "",
            f"extra {_few(unexplained)}" if unexplained else "",
            f"missing steps {_few(verdict.missing_steps)}" if verdict.missing_steps else "",
            f"extra steps {_few(verdict.extra_steps)}" if verdict.extra_steps else "",
            "; ".join(verdict.problems),
        )
        if part
    )
    return DagVerdict(**base, outcome="ordering-differs", detail=detail, intended_extra=intended)


def _few(items: Sequence[Any], limit: int = 4) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" (+{len(items) - limit})" if len(items) > limit else "")


def compare_mode(
    truth_dags: Mapping[str, Mapping[str, Any]], conversion: Mapping[str, Any], out: Path
) -> list[DagVerdict]:
    """A verdict per DAG Airflow loaded, from one mode's conversion.json and output folder."""
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for entry in conversion.get("dags", []):
        by_id.setdefault(entry["dag_id"], []).append(entry)
    verdicts = []
    for dag_id, expected in sorted(truth_dags.items()):
        entries = by_id.get(dag_id, [])
        yaml_path = entries[0].get("yaml") if entries else None
        yaml_text = (
            (out / yaml_path).read_text(encoding="utf-8")
            if yaml_path and (out / yaml_path).is_file()
            else None
        )
        verdicts.append(compare_dag(dag_id, expected, entries, yaml_text))
    return verdicts


def false_file_failures(
    truth_result: Mapping[str, Any], conversion: Mapping[str, Any], folder: Path
) -> list[str]:
    """Files the run failed although Airflow imports them cleanly and finds no DAG in them (helpers)."""
    with_dags = {d["file"] for d in truth_result["dags"].values()}
    failed = []
    for record in conversion.get("files", []):
        relative = os.path.relpath(record["path"], folder)
        if (
            record.get("status") == "failed"
            and relative not in with_dags
            and relative not in truth_result["import_errors"]
        ):
            failed.append(relative)
    return sorted(failed)


def internal_errors(conversion: Mapping[str, Any], folder: Path) -> list[str]:
    """Every internal-error diagnostic of the run, wherever it is (a DAG Airflow does not load included):
    `file: CODE message`."""
    found = []
    records = [*conversion.get("files", []), *conversion.get("dags", [])]
    for record in records:
        for d in record.get("diagnostics", ()):
            if INTERNAL_CODE.match(d.get("code", "")):
                where = os.path.relpath(
                    d.get("file") or record.get("path") or record.get("source", "?"), folder
                )
                found.append(f"{where}: {d['code']} {d.get('message', '')[:140]}")
    return sorted(set(found))


def folder_differences(first: Path, second: Path) -> list[str]:
    """Files that differ between two output folders (texts compared after the goldens' volatile fields)."""
    strip = _strip_volatile()
    names = sorted(
        {p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file()}
        | {p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file()}
    )
    differing = []
    for name in names:
        a, b = first / name, second / name
        if not (a.is_file() and b.is_file()):
            differing.append(f"{name} (only in {'the first' if a.is_file() else 'the second'})")
            continue
        left, right = a.read_bytes(), b.read_bytes()
        if left == right:
            continue
        try:
            if strip(left.decode("utf-8")) == strip(right.decode("utf-8")):
                continue
        except UnicodeDecodeError:
            pass
        differing.append(name)
    return differing


def _strip_volatile() -> Any:
    """tests/helpers.strip_volatile: the one place the project strips volatile output."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from helpers import strip_volatile  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return strip_volatile


# --------------------------------------------------------------------------------------------------
# 3. running one repository


@dataclass
class RepoResult:
    name: str
    airflow_version: str = ""
    airflow_dags: int = 0
    airflow_import_errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    verdicts: dict[str, list[DagVerdict]] = field(default_factory=dict)  # mode -> per DAG
    extra_dags: dict[str, list[str]] = field(default_factory=dict)  # mode -> dag_ids Airflow has not
    false_file_failures: dict[str, list[str]] = field(default_factory=dict)
    internal_anywhere: dict[str, list[str]] = field(default_factory=dict)  # mode -> every internal error
    exit_codes: dict[str, int] = field(default_factory=dict)
    crashed: dict[str, str] = field(default_factory=dict)  # mode -> traceback tail when the run crashed
    nondeterministic: list[str] = field(default_factory=list)


ENV_FILE = "airflow.env"  # optional, in a repository folder: AIRFLOW_VAR_*/AIRFLOW_CONN_* lines its DAGs need


def env_file_values(folder: Path) -> dict[str, str]:
    """The NAME=VALUE lines of the folder's airflow.env (Variables and Connections its DAGs read at import)."""
    path = folder / ENV_FILE
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith(("AIRFLOW_VAR_", "AIRFLOW_CONN_")):
            values[name] = value
    return values


def run_truth(folder: Path, airflow_python: str, sandbox: bool) -> tuple[dict[str, Any], float]:
    home = Path(tempfile.mkdtemp(prefix="measure-airflow-home-"))
    env = {
        **env_file_values(folder),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    command = [airflow_python, str(Path(__file__).resolve()), "--truth", str(folder)]
    if sandbox and shutil.which("bwrap"):
        command = [
            "bwrap",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--bind",
            str(home),
            str(home),
            "--chdir",
            str(home),
            "--unshare-all",
            "--die-with-parent",
            "--",
            *command,
        ]
    started = time.perf_counter()
    try:
        # the working folder is a scratch one: DAG files write relative paths at import time
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=1800, check=False, cwd=str(home)
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    wall = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"Airflow's DagBag failed on {folder}: {done.stderr.strip()[-2000:]}")
    return json.loads(lines[-1]), wall


def run_convert(
    folder: Path, out: Path, mode: str, airflow_python: str, extra: Sequence[str], checkout: Path = ROOT
) -> tuple[int, float, str]:
    """One cold convert run with the converter of `checkout` (its cli.py, with this interpreter's packages)."""
    shutil.rmtree(out, ignore_errors=True)
    command = [
        sys.executable,
        str(checkout / "cli.py"),
        "convert",
        str(folder),
        "--out",
        str(out),
        "--mode",
        mode,
        "--no-cache",
        "--airflow-python",
        airflow_python,
        *extra,
    ]
    if (folder / ENV_FILE).is_file():
        command += ["--airflow-env-file", str(folder / ENV_FILE)]
    env = dict(os.environ, XDG_CACHE_HOME=str(out.parent / ".cache"))
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=str(folder))
    return done.returncode, time.perf_counter() - started, done.stdout[-3000:] + done.stderr[-3000:]


def measure(
    folder: Path, work: Path, airflow_python: str, sandbox: bool, extra: Sequence[str], checkout: Path = ROOT
) -> RepoResult:
    result = RepoResult(folder.name)
    airflow, wall = run_truth(folder, airflow_python, sandbox)
    result.airflow_version = airflow["airflow_version"]
    result.airflow_dags = len(airflow["dags"])
    result.airflow_import_errors = airflow["import_errors"]
    result.seconds["dagbag"] = airflow["load_seconds"]
    result.seconds["dagbag_process"] = wall
    runs = [("static", "static"), ("auto", "auto"), ("auto-again", "auto")]
    for label, mode in runs:
        out = work / folder.name / label
        code, seconds, log = run_convert(folder, out, mode, airflow_python, extra, checkout)
        result.seconds[label] = seconds
        result.exit_codes[label] = code
        conversion_path = out / "conversion.json"
        if code == 2 or not conversion_path.is_file():
            result.crashed[label] = log.strip()[-1500:]
        if not conversion_path.is_file():
            continue
        conversion = json.loads(conversion_path.read_text(encoding="utf-8"))
        if label == "auto-again":
            result.nondeterministic = folder_differences(work / folder.name / "auto", out)
            continue
        result.verdicts[label] = compare_mode(airflow["dags"], conversion, out)
        result.extra_dags[label] = sorted(
            {d["dag_id"] for d in conversion.get("dags", [])} - set(airflow["dags"])
        )
        result.false_file_failures[label] = false_file_failures(airflow, conversion, folder)
        result.internal_anywhere[label] = internal_errors(conversion, folder)
    return result


# --------------------------------------------------------------------------------------------------
# 4. report


@dataclass(frozen=True)
class Totals:
    dags: int
    exact: dict[str, int]
    internal: dict[str, int]
    twice: dict[str, int]
    false_failures: dict[str, int]
    internal_anywhere: dict[str, int]
    nondeterministic: int
    crashed: int

    def percent(self, mode: str) -> float:
        return 100.0 * self.exact.get(mode, 0) / self.dags if self.dags else 100.0

    def done(self) -> list[str]:
        """What keeps #18's Done-when from holding (empty when it holds)."""
        failing = []
        if self.exact.get("auto", 0) != self.dags:
            failing.append(
                f"default mode: {self.dags - self.exact.get('auto', 0)} of {self.dags} DAGs not exact"
            )
        if self.internal.get("auto"):
            failing.append(f"default mode: {self.internal['auto']} DAGs with an internal error")
        if self.twice.get("auto"):
            failing.append(f"default mode: {self.twice['auto']} DAGs emitted twice")
        if self.percent("static") < 100 * STATIC_TARGET:
            failing.append(f"static mode: {self.percent('static'):.1f}% exact (< {100 * STATIC_TARGET:.0f}%)")
        if self.nondeterministic:
            failing.append(f"{self.nondeterministic} repositories whose two default-mode runs differ")
        if self.crashed:
            failing.append(f"{self.crashed} runs crashed or wrote no conversion.json")
        return failing


def totals(results: Sequence[RepoResult]) -> Totals:
    modes = ("static", "auto")
    return Totals(
        dags=sum(r.airflow_dags for r in results),
        exact={m: sum(v.outcome == "exact" for r in results for v in r.verdicts.get(m, ())) for m in modes},
        internal={m: sum(bool(v.internal) for r in results for v in r.verdicts.get(m, ())) for m in modes},
        twice={m: sum(v.emitted > 1 for r in results for v in r.verdicts.get(m, ())) for m in modes},
        false_failures={m: sum(len(r.false_file_failures.get(m, ())) for r in results) for m in modes},
        internal_anywhere={m: sum(len(r.internal_anywhere.get(m, ())) for r in results) for m in modes},
        nondeterministic=sum(bool(r.nondeterministic) for r in results),
        crashed=sum(len(r.crashed) for r in results),
    )


def print_repo(result: RepoResult) -> None:
    _print_repo(result)
    sys.stdout.flush()


def _print_repo(result: RepoResult) -> None:
    s = result.seconds
    print(
        f"\n== {result.name}  (Airflow {result.airflow_version}: {result.airflow_dags} DAGs loaded, "
        f"{len(result.airflow_import_errors)} files not imported)"
    )
    for path, message in sorted(result.airflow_import_errors.items()):
        print(f"   airflow import error  {path}: {message[:160]}")
    print(
        f"   wall s: dagbag {s.get('dagbag', 0):.2f} (process {s.get('dagbag_process', 0):.1f})  "
        f"static {s.get('static', 0):.1f}  auto {s.get('auto', 0):.1f}  auto-again {s.get('auto-again', 0):.1f}"
        f"  exit codes {result.exit_codes}"
    )
    auto = {v.dag_id: v for v in result.verdicts.get("auto", ())}
    static = {v.dag_id: v for v in result.verdicts.get("static", ())}
    if auto or static:
        print(f"   {'dag_id':<40} {'auto':<17} {'static':<17} detail")
    for dag_id in sorted(set(auto) | set(static)):
        a, st = auto.get(dag_id), static.get(dag_id)
        detail = "; ".join(
            f"{mode}: {v.detail}" for mode, v in (("auto", a), ("static", st)) if v and v.detail
        )
        print(f"   {dag_id[:40]:<40} {_cell(a):<17} {_cell(st):<17} {detail[:220]}")
    for mode in ("auto", "static"):
        if result.extra_dags.get(mode):
            print(f"   {mode}: DAGs Airflow does not have: {_few(result.extra_dags[mode], 6)}")
        if result.false_file_failures.get(mode):
            print(f"   {mode}: files failed that define no DAG: {_few(result.false_file_failures[mode], 6)}")
        for line in result.internal_anywhere.get(mode, ()):
            print(f"   {mode}: internal error: {line}")
    for label, log in result.crashed.items():
        print(f"   {label}: CRASHED or no conversion.json:\n      " + log[-600:].replace("\n", "\n      "))
    print(
        f"   deterministic (two default-mode runs): "
        f"{'yes' if not result.nondeterministic else 'NO: ' + _few(result.nondeterministic, 6)}"
    )


def _cell(verdict: DagVerdict | None) -> str:
    if verdict is None:
        return "-"
    text = verdict.outcome
    if verdict.emitted > 1:
        text += f" x{verdict.emitted}"
    if verdict.internal:
        text += " " + ",".join(verdict.internal)
    return text


def print_totals(results: Sequence[RepoResult], total: Totals) -> None:
    print("\n== totals")
    print(
        f"   repositories {len(results)}; DAGs Airflow loads {total.dags}; "
        f"files Airflow could not import {sum(len(r.airflow_import_errors) for r in results)}"
    )
    for mode in ("auto", "static"):
        with_helpers = sum(
            1 for r in results for v in r.verdicts.get(mode, []) if v.outcome == "exact" and v.helper_steps
        )
        print(
            f"   {mode:<7} exact {total.exact.get(mode, 0)}/{total.dags} ({total.percent(mode):.1f}%; "
            f"{with_helpers} of them with steps that stand for no task taken out), "
            f"internal errors {total.internal.get(mode, 0)}, emitted twice {total.twice.get(mode, 0)}, "
            f"files failed that define no DAG {total.false_failures.get(mode, 0)}, "
            f"internal errors anywhere (DAGs Airflow does not load included) {total.internal_anywhere.get(mode, 0)}"
        )
    print(
        f"   determinism: {len(results) - total.nondeterministic}/{len(results)} repositories byte-identical"
    )
    dagbag = sum(r.seconds.get("dagbag", 0) for r in results)
    static = sum(r.seconds.get("static", 0) for r in results)
    auto = sum(r.seconds.get("auto", 0) for r in results)
    print(
        f"   wall s (sum): dagbag load {dagbag:.1f}, static {static:.1f}, default {auto:.1f}; "
        f"default / static {auto / static if static else 0:.1f}x; "
        f"(default - static) / dagbag {(auto - static) / dagbag if dagbag else 0:.1f} (#18 target <= 1.5)"
    )
    failing = total.done()
    print("   Done-when: " + ("HOLDS" if not failing else "FAILS: " + "; ".join(failing)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="*", type=Path, help="repository DAG folders (e.g. /work/corpus/*/)")
    parser.add_argument("--truth", metavar="FOLDER", help=argparse.SUPPRESS)  # inside the Airflow interpreter
    parser.add_argument(
        "--airflow-python",
        default=os.environ.get("AIRFLOW2KFP_AIRFLOW_PYTHON")
        or str(ROOT / ".venv-airflow" / "bin" / "python"),
    )
    parser.add_argument(
        "--work", type=Path, help="folder for the outputs (default: a temporary folder, removed)"
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--no-sandbox", action="store_true", help="load the DagBag without bubblewrap")
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="measure the converter of this checkout (a worktree of another branch; default: this one)",
    )
    parser.add_argument(
        "--convert-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra argument for every convert run (repeatable), e.g. --convert-arg=-j2",
    )
    args = parser.parse_args(argv)
    if args.truth:
        print(json.dumps(truth(args.truth)))
        return 0
    if not args.repos or not all(r.is_dir() for r in args.repos):
        parser.error("give one or more repository folders")
    airflow_python = str(Path(args.airflow_python).absolute())
    work = args.work or Path(tempfile.mkdtemp(prefix="measure-repos-"))
    commit = subprocess.run(
        ["git", "-C", str(args.checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(
        f"converter: {args.checkout.resolve()} at {commit or 'an unknown commit'}; Airflow: {airflow_python}"
    )
    results = []
    try:
        for repo in sorted(args.repos, key=lambda p: p.name):
            result = measure(
                repo.resolve(),
                work.resolve(),
                airflow_python,
                not args.no_sandbox,
                args.convert_arg,
                args.checkout.resolve(),
            )
            print_repo(result)
            results.append(result)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    total = totals(results)
    print_totals(results, total)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"repos": [asdict(r) for r in results], "totals": asdict(total)}, indent=1, sort_keys=True
            )
            + "\n"
        )
    return 1 if total.done() else 0


if __name__ == "__main__":
    raise SystemExit(main())
