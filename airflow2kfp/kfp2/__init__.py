"""The KFP v2 target's link to kfp 2.x, which runs in an interpreter of its own (`.venv-kfp2`).

kfp 1.8.22 (the converter's, for v1) and kfp 2.x pin different protobuf, kubernetes and urllib3
versions, so kfp 2.x never runs in the converter's process: `kfp2_side/worker.py` runs under the kfp 2
interpreter as a long-lived process (kfp is imported once) and answers JSON lines: compile a
generated v2 pipeline with kfp's own compiler, or run a compiled pipeline with `kfp.local`.
`client.py` finds the interpreter and talks to the worker.
"""
