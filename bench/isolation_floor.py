"""What one process per DAG file costs by itself, in CPU per file (run by bench/run.py --floor).

    <airflow python> bench/isolation_floor.py DAG_FOLDER [--files 100]

Runs in the Airflow interpreter, not the converter's. A worker is made warm as the converter's
Airflow worker makes itself (airflow2kfp/airflow_side/probe.py: hooks, the warm-up DAG, the
`airflow.*` modules the files import, a frozen heap), then the same files are parsed four ways,
each figure the CPU of this process and of the children it waited for, divided by the files:

- `in_process`: `DagBag.process_file` for every file in this one process (what DagBag's load does);
- `fork_only`: a fork and exit of the warm worker per file, nothing parsed;
- `fork_parse`: a forked child per file that runs `DagBag.process_file` and exits (no answer, no
  sandbox): the least a parse in its own process can cost;
- `probe`: the probe's own per-file path outside bubblewrap (`serve_one`: limits, parse, the answer
  read and serialised, sent on its own pipe).

`fork_parse - in_process` is what the per-file process costs whatever the converter does: the fork,
Python's and Airflow's at-fork handlers, and the first write of every shared page the parse touches
(copy-on-write; CPython before 3.12 writes reference counts into every object it uses).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow2kfp.airflow_side import probe  # noqa: E402 - the probe runs in this interpreter
from airflow2kfp.local_imports import FileScanner  # noqa: E402 - standard library only


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _airflow_modules(files: list[str], folder: str) -> list[str]:
    """The `airflow.*` modules the files import, themselves or through the folder's modules: what
    the converter asks its worker to import before it forks (AirflowReader.airflow_imports)."""
    scanner, found = FileScanner(), set()
    for path in files:
        found.update(scanner.dependencies(Path(path), (Path(folder),))[1])
    return sorted(name for name in found if name.startswith("airflow."))


def _per_file(files: list[str], one: object) -> float:
    started = _cpu()
    for path in files:
        one(path)  # type: ignore[operator]
    return (_cpu() - started) / len(files) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args()
    folder = os.path.abspath(args.folder)
    every = sorted(str(p) for p in Path(folder).rglob("*.py") if p.parent != Path(folder) / "common")
    files = [p for p in every if probe._might_contain_dag(p)][: args.files]

    af = probe._Airflow()
    probe._install_hooks(af)
    probe.preload(_airflow_modules(files, folder))
    probe.warm_up(af)
    probe.remember_classes(af)
    probe._freeze()
    sys.path.insert(0, folder)
    probe._isolate_stdout()  # as in the worker: stdout is the answer channel, Airflow's noise goes to stderr
    exits = probe._ChildExits()

    def in_process(path: str) -> None:
        probe._make_bag(af, folder).process_file(path, only_if_updated=False, safe_mode=True)

    def forked(parse: bool) -> object:
        def one(path: str) -> None:
            with probe._idle_engines_hidden():
                pid = os.fork()
            if pid == 0:
                if parse:
                    in_process(path)
                os._exit(0)
            os.waitpid(pid, 0)

        return one

    def served(path: str) -> None:
        request = {"path": path, "nonce": "floor", "dag_folder": folder, "timeout": 60}
        header, payload = probe.serve_one(request, af, None, exits)
        if header.get("status") != "ok" or not json.loads(payload).get("dags"):
            raise SystemExit(f"{path}: the probe did not read a DAG: {header}")

    # the in-process round last: it imports the folder's own modules into this process (once, as
    # DagBag's load does), which the forked rounds must not inherit
    figures = {
        "fork_only": _per_file(files, forked(parse=False)),
        "fork_parse": _per_file(files, forked(parse=True)),
        "probe": _per_file(files, served),
        "in_process": _per_file(files, in_process),
    }
    probe._emit({"files": len(files), **{name: round(ms, 2) for name, ms in figures.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
