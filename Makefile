# The two set-up commands of the README. Each creates what it needs (virtual environments,
# system packages) first; every step is idempotent, so a second run only does the work itself.
.PHONY: demo test venv airflow-env

DEMO_OUT ?= demo-out

venv:
	@scripts/bootstrap.sh

# Airflow (3.x) in its own venv: it needs pydantic 2, kfp 1.8 needs pydantic 1.
airflow-env:
	@scripts/setup_airflow_env.sh >/dev/null

demo: venv airflow-env
	.venv/bin/airflow2kfp convert fixtures/airflow_dags --out $(DEMO_OUT); status=$$?; \
	[ $$status -le 1 ] || exit $$status

test: venv airflow-env
	@scripts/system_packages.sh --test
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)
