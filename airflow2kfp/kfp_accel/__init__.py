"""kfp 1.8's compiler made cheaper in the converter's process, behind one boundary: same bytes, or plain kfp.

kfp spends most of a compilation in PyYAML's pure-Python emitter and parser, in rebuilding a
component spec per task through typing introspection, and in lib2to3. `accelerated()` replaces
the kfp (and kubernetes) attributes listed in `patches.PATCHES` with code that gives kfp's own
results, and puts kfp's back on the last exit. The generated pipeline files, run on their own, use
plain kfp and give the same bytes (tests/kfp_accel/ checks each patch, and every golden both ways).

- `guard`: the versions the patches were checked against; anything else (or AIRFLOW2KFP_PLAIN_KFP
  set) runs plain kfp, with a warning once when the versions are the reason.
- `patch`, `patches`, `install`: what a patch is, the table, applying and undoing it.
- one module per mechanism: `yaml_io` (libyaml), `deferred_write` (the compiled workflow handed to
  the post-compile step in memory), `specs`, `introspection`, `names`, `params` (memos and
  shortcuts), `copies` (kfp functions copied or recompiled with one line changed), `strip`
  (type hints stripped with `ast`), `ops` (kfp's ops), `lazy_import` (kfp imported without the
  modules a compilation never reads).

docs/kfp-accel.md has the table, the switch and how to check the patches against a new kfp.
"""

from __future__ import annotations

from airflow2kfp.kfp_accel.guard import PLAIN_KFP_SWITCH, KfpAccelWarning, Verdict, verdict
from airflow2kfp.kfp_accel.install import Acceleration, accelerated, active, keep

__all__ = [
    "PLAIN_KFP_SWITCH",
    "Acceleration",
    "KfpAccelWarning",
    "Verdict",
    "accelerated",
    "active",
    "keep",
    "verdict",
]
