"""airflow2kfp: convert Apache Airflow DAG repositories into Kubeflow Pipelines (KFP v1 SDK)."""

__version__ = "0.1.0"
