"""Load a DAG folder with Airflow's own DagBag and print the time it took, as JSON (run by bench/run.py).

    <airflow python> bench/dagbag_load.py DAG_FOLDER

Runs in the Airflow interpreter, not the converter's. The DAG folder goes on sys.path first, as
Airflow's DAG processor puts it: without it every helper-module import fails fast and the time
means nothing, so import errors are counted and reported.
"""

from __future__ import annotations

import inspect
import json
import sys
import time


def main() -> int:
    folder = sys.argv[1]
    sys.path.insert(0, folder)
    started = time.perf_counter()
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow before 3.1
        from airflow.models.dagbag import DagBag
    imported = time.perf_counter()
    kwargs: dict = {"dag_folder": folder}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:  # removed in 3.3
        kwargs["include_examples"] = False
    cpu = time.process_time()
    bag = DagBag(**kwargs)
    loaded = time.perf_counter()
    load_cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "import_seconds": imported - started,
                "load_seconds": loaded - imported,
                "load_cpu_seconds": load_cpu,  # what the load used of a core, however busy the machine
                "dags": len(bag.dags),
                "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
                "import_errors": len(bag.import_errors),
                "first_error": next(iter(bag.import_errors.values()), None),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
