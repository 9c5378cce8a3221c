# The two set-up commands of the README. Each creates what it needs (virtual environments,
# system packages) first; every step is idempotent, so a second run only does the work itself.
.PHONY: demo test test-fast coverage lint venv airflow-env kfp2-env

DEMO_OUT ?= demo-out

venv:
	@scripts/bootstrap.sh

# Airflow (3.x) in its own venv: it needs pydantic 2, kfp 1.8 needs pydantic 1.
airflow-env:
	@scripts/setup_airflow_env.sh >/dev/null

# kfp 2.x (the --target v2 compiler and local runner) in its own venv: it pins its own protobuf and
# kubernetes clients, which kfp 1.8.22 cannot share.
kfp2-env:
	@scripts/setup_kfp2_env.sh >/dev/null

demo: venv airflow-env kfp2-env
	.venv/bin/airflow2kfp convert fixtures/airflow_dags --out $(DEMO_OUT); status=$$?; \
	[ $$status -le 1 ] || exit $$status

test: venv airflow-env kfp2-env
	@scripts/system_packages.sh --test
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

# The tests without the tiers that need Airflow, a browser or whole fixture folders run (markers:
# pyproject.toml; which tests carry them: tests/conftest.py).
test-fast: venv
	.venv/bin/python -m pytest -q -m "not airflow and not browser and not slow" $(PYTEST_ARGS)

# The whole suite with coverage measured (configuration: pyproject's [tool.coverage]): the total,
# each package's figure (scripts/coverage_by_package.py) and an HTML report in build/coverage/html.
coverage: venv airflow-env kfp2-env
	@scripts/system_packages.sh --test
	.venv/bin/python -m pytest -q --cov --cov-report= $(PYTEST_ARGS)
	.venv/bin/coverage html -q -d build/coverage/html
	.venv/bin/coverage json -q -o build/coverage/coverage.json
	.venv/bin/python scripts/coverage_by_package.py build/coverage/coverage.json

# ruff (rules and format) over the tree and mypy over the core modules (configured in pyproject.toml).
lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
