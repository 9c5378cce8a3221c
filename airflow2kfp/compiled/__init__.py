"""The compiled output read back: what the compilers wrote, as the converter checks it.

`workflow.py` builds the outline of a compiled Argo workflow (from libyaml's events), `argo_expr.py`
evaluates Argo's `depends` and `when` expressions, `selfcheck.py` and `ir_check.py` check that the
workflow (v1) or the IR (v2) orders the steps as Airflow orders the tasks. Used by every convert
worker (the self-check), by the reports, and by `verify`'s local executor; it imports nothing above
the emitters.
"""
