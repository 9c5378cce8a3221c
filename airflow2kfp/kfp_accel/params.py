"""Serialised PipelineParams (`{{pipelineparam:op=...;name=...}}`), looked for only where they can be.

kfp looks for them in every string of every op (`match_serialized_pipelineparam` and
`_extract_pipelineparams` in kfp.dsl._pipeline_param), with a regex whose match starts with the
literal `{{pipelineparam:op=`; a string without it has none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

PARAM_MARK = "{{pipelineparam:op="  # what kfp's pattern for a serialised PipelineParam starts with


@functools.cache  # one function wherever kfp refers to it
def without_params_first(kfp_function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """kfp's `kfp_function(payload)`, answering [] at once for a str without the pattern's literal
    start (kfp's regex finds nothing there, so its loop makes the same new empty list)."""

    @functools.wraps(kfp_function)
    def search(payload: Any) -> Any:
        if type(payload) is str and PARAM_MARK not in payload:
            return []
        return kfp_function(payload)

    return search
