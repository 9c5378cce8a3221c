"""Verification: the self-check of the compiled ordering, and `verify`, which runs both sides.

`verify` runs each DAG once with Airflow (`airflow_run`), its compiled workflow locally
(`argo_local`, running steps with `host_step`), and compares them (`compare`); `command` ties
them to the CLI.
"""

from converter.verify.airflow_run import AirflowDagRun, AirflowRunResult, AirflowTaskRun, run_dags
from converter.verify.argo_local import LocalOptions, NodeRun, Phase, WorkflowRun, run_workflow
from converter.verify.compare import Comparison, Difference, TaskCheck, Verdict, compare

__all__ = [
    "AirflowDagRun",
    "AirflowRunResult",
    "AirflowTaskRun",
    "Comparison",
    "Difference",
    "LocalOptions",
    "NodeRun",
    "Phase",
    "TaskCheck",
    "Verdict",
    "WorkflowRun",
    "compare",
    "run_dags",
    "run_workflow",
]
