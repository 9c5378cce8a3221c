# The two set-up commands of the README. Each creates what it needs (virtual environments) first.
.PHONY: demo test venv

DEMO_OUT ?= demo-out

venv:
	@scripts/bootstrap.sh

demo: venv
	.venv/bin/airflow2kfp convert fixtures/airflow_dags --out $(DEMO_OUT); status=$$?; \
	echo "Report: $(DEMO_OUT)/index.html"; \
	[ $$status -le 1 ] || exit $$status

test: venv
	@scripts/system_packages.sh --test
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)
