"""kfp's name sanitisers, remembered: pure functions of their text, asked again and again.

`sanitize_k8s_name` of kfp.compiler._k8s_helper and kfp.dsl._pipeline_param,
`_naming._normalize_identifier_name` and `dsl_utils._sanitize_name` are a few regex substitutions
each, ~60k calls for 2,000 tasks, over and over for the same names.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_MAX_NAMES = 65536  # names remembered per sanitiser (the least recently used dropped beyond)


@functools.cache  # one memo per kfp function, wherever kfp refers to it
def memoised(kfp_sanitise: Callable[..., Any]) -> Callable[..., Any]:
    """kfp's name sanitiser `kfp_sanitise(name[, flag])` remembered for a str name and a bool flag
    (a pure function of them: regex substitutions); any other argument is kfp's call."""
    remembered = functools.lru_cache(maxsize=_MAX_NAMES)(kfp_sanitise)

    @functools.wraps(kfp_sanitise)
    def sanitise(name: Any, *flag: Any, **keywords: Any) -> Any:
        # exact types only: lru_cache would take 1 for True, and a str subclass for its text
        if type(name) is not str or keywords or len(flag) > 1 or (flag and type(flag[0]) is not bool):
            return kfp_sanitise(name, *flag, **keywords)
        return remembered(name, *flag)

    return sanitise
