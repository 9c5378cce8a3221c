"""Nightly warehouse load: one extract/load pair per table, exports per region, a chain of
housekeeping steps, and a fan-in whose trigger rule depends on every load."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

TABLES = ["orders", "order_items", "customers", "Payments"]
REGIONS = {"eu": "eu-west-1", "us": "us-east-1", "apac": "ap-southeast-2"}
HOUSEKEEPING = ["vacuum", "analyze", "refresh_views"]

default_args = {"owner": "data-eng", "retries": 2, "retry_delay": timedelta(minutes=5)}

with DAG(
    dag_id="warehouse_loops",
    start_date=datetime(2024, 1, 1),
    schedule="@daily",
    catchup=False,
    default_args=default_args,
) as dag:
    start = EmptyOperator(task_id="start")
    loaded = BashOperator(
        task_id="loaded",
        bash_command="echo 'loaded {{ ds }}'",
        trigger_rule="none_failed_min_one_success",
    )
    for table in TABLES:
        extract = BashOperator(
            task_id=f"extract_{table}",
            bash_command=f"extract.sh --table {table} --date {{{{ ds }}}}",
        )
        load = BashOperator(
            task_id=f"load_{table}",
            bash_command=f"load.sh --table {table} --run {{{{ run_id }}}}",
        )
        start >> extract >> load >> loaded

    for region, bucket in REGIONS.items():
        export = BashOperator(
            task_id=f"export_{region}",
            bash_command=f"aws s3 sync /data s3://{bucket}/warehouse/{{{{ ds_nodash }}}}",
        )
        loaded >> export

    previous = loaded
    for step in HOUSEKEEPING:
        task = BashOperator(task_id=step, bash_command=f"psql -c '{step.upper()}'")
        previous >> task
        previous = task
