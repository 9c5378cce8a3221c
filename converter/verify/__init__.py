"""Verification: the self-check of the compiled ordering, and `verify`, which runs both sides.

The self-check (`selfcheck`, `ir_check`, over the compiled workflow's outline in `workflow`) runs in
every convert worker; `verify` runs each DAG once with Airflow (`airflow_run`), its compiled workflow
locally (`argo_local`, running steps with `host_step`), and compares them (`compare`); `command` ties
them to the CLI. Nothing is imported here, so a convert worker loading the self-check does not load
the local executor: import the module you need.
"""
