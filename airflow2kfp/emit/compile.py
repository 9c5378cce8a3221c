"""Compile generated pipeline source with the real KFP v1 compiler.

The generated file's own `compile_pipeline` is what runs, so `python <file>` and the converter
produce the same YAML. The source is our own output, never user code, so running it in-process is
safe and spares a Python start-up per DAG.

kfp 1.8 reads and writes YAML with PyYAML's pure-Python parser and emitter, which is most of its
time. The compilation runs within `kfp_accel.accelerated()`, which replaces kfp's hot spots with
code giving the same results (airflow2kfp/kfp_accel, docs/kfp-accel.md), hands the compiler's workflow
to the post-compile step's re-read in memory, and puts kfp back afterwards; outside its version
guard, or with AIRFLOW2KFP_PLAIN_KFP set, plain kfp compiles. Once the compilation is over, the ops
kfp built and the generated module are emptied: their reference cycles would otherwise leave
everything they hold (~500 objects a task) to a pass of the cyclic GC.
"""

from __future__ import annotations

import gc
import io
import linecache
import traceback
import types
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from airflow2kfp import kfp_accel
from airflow2kfp.kfp_accel import deferred_write, ops


@dataclass(frozen=True)
class CompileResult:
    yaml_text: str | None
    error: str | None  # the compiler's complaint, when it failed


def compile_source(source: str, module_name: str, workdir: Path) -> CompileResult:
    """Run the generated module's compile_pipeline into `workdir` and return the YAML text."""
    with kfp_accel.accelerated() as accelerated:
        result = _compile(source, module_name, workdir, accelerated, defer_write=accelerated)
        if result is None:  # the deferred write cannot vouch for it: as kfp does it
            result = _compile(source, module_name, workdir, accelerated, defer_write=False)
    assert result is not None  # only a deferred write is ever unsure
    return result


def _compile(
    source: str, module_name: str, workdir: Path, accelerated: bool, defer_write: bool
) -> CompileResult | None:
    module = types.ModuleType(module_name)
    module.__file__ = str(workdir / f"{module_name}.py")
    target = workdir / f"{module_name}.yaml"
    captured = io.StringIO()
    # Python components are made with create_component_from_func, which reads the function's source
    # with `inspect`; the module exists only in memory, so its text is registered with linecache
    linecache.cache[module.__file__] = (len(source), None, source.splitlines(keepends=True), module.__file__)
    # no cyclic GC while compiling: kfp's objects are short-lived, but each full collection walks all
    # of this process's objects (~15% of a compilation); what is left is collected once GC is back on
    collecting = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings(), redirect_stdout(captured), redirect_stderr(captured):
            warnings.simplefilter("ignore")
            # dont_inherit: this module's `from __future__ import annotations` must not turn the
            # generated file's annotations (component signatures KFP reads) into strings
            code = compile(source, module.__file__, "exec", dont_inherit=True)
            # the ops kfp builds are emptied once the compilation is over: their cycles would leave
            # them all to the cyclic GC (kfp_accel/ops.py; nothing is noted without the patches)
            with ops.released_ops():
                exec(code, module.__dict__)  # noqa: S102 - our own output
                # its post-compile re-read and re-write on libyaml too; the re-read takes the workflow
                # the compiler kept in memory in place of writing it (kfp_accel/deferred_write.py)
                bound = accelerated and deferred_write.bind(module.__dict__)
                with deferred_write.deferred_write(armed=defer_write and bound) as written:
                    try:
                        module.compile_pipeline(str(target))
                    except Exception:
                        if written.pending():  # its placeholder, read by something else, may be the cause
                            raise deferred_write.Unsure from None
                        raise
                    return CompileResult(written.result(target.read_text(encoding="utf-8")), None)
    except deferred_write.Unsure:
        return None
    except Exception as error:  # noqa: BLE001 - the compiler's failure is a diagnostic, not raised
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        return CompileResult(None, last)
    finally:
        linecache.cache.pop(module.__file__, None)
        # the module's functions and its dict refer to each other: emptied, it is freed at once
        # rather than left (with all it holds) to the cyclic GC; nothing runs its code any more
        module.__dict__.clear()
        if collecting:
            gc.enable()
        target.unlink(missing_ok=True)
