"""`airflow2kfp verify`: run each DAG on both sides and compare.

`airflow_run` runs the DAG once with Airflow, `argo_local` its compiled workflow locally (running
steps with `host_step`; `v2_local` the v2 IR through kfp 2), `compare` compares them, and `command`
ties them to the CLI. The self-check every conversion runs is not here: it reads the compiled output
in `airflow2kfp.compiled`. Nothing is imported here: import the module you need.
"""
