"""The step computing the items of a task mapped over a cross product (control_flow.Product).

Airflow maps `.expand(a=x(), b=y())` over every combination of the lists, the last argument fastest
(map index 0 is a[0], b[0]; 1 is a[0], b[1]; ...). KFP 1.8 cannot compile a loop over an upstream's
output nested in another loop, so this step, run before the task's loop, reads every list (an
upstream's output, a mapped task's collected results, a literal, a pipeline parameter) and returns
the combinations as one JSON list of objects, one field per mapped argument: the loop runs over
it, and each argument is the item's field (Argo's `{{item.<name>}}`), as Airflow passes it.

The inputs carry no type: an upstream's output may be declared a JsonArray (a placeholder's) or a
String, and both are passed as text.
"""

from __future__ import annotations

import json
from typing import Any

from airflow2kfp.mapping.base import ComponentDef
from airflow2kfp.mapping.control_flow import Product
from airflow2kfp.mapping.fan_in import Collected, decoding
from airflow2kfp.model import XComRef
from airflow2kfp.names import python_identifier

PRODUCT_SUFFIX = " items"  # the product step's id: the task's id and this (no Airflow id has a space)


def product_id(task_id: str) -> str:
    return task_id + PRODUCT_SUFFIX


def product_component(product: Product, image: str) -> tuple[ComponentDef, dict[str, Any]]:
    """The step's component and its arguments (input name -> value: an upstream's output, a
    pipeline parameter, or a literal list as JSON text)."""
    ident = python_identifier(product.task_id)
    step = f"{ident}_cross_product"  # no mapping's step function: theirs end in `_step`
    names: list[str] = []
    arguments: dict[str, Any] = {}
    decode: list[str] = []
    reserved = {step, "_json", "_itertools", "_lists", "_combination"}
    for field, loop in product.fields:
        name = python_identifier(field)
        while name in reserved:
            name = f"{name}_input"
        reserved.add(name)
        names.append(name)
        over = loop.over
        if isinstance(over, Collected):
            decode += decoding(name, over.depth)
            arguments[name] = over
        elif isinstance(over, XComRef):
            decode.append(f"{name} = _json.loads({name})")
            arguments[name] = over
        elif isinstance(over, (list, tuple)):
            decode.append(f"{name} = _json.loads({name})")
            arguments[name] = json.dumps(list(over))
        else:  # a pipeline parameter holding the list (JSON text)
            decode.append(f"{name} = _json.loads({name})")
            arguments[name] = over
    fields = tuple(field for field, _ in product.fields)
    doc = (
        f'"""The items Airflow task {product.task_id!r} is mapped over: the cross product of '
        f'{", ".join(fields)}, in Airflow\'s map-index order (the last argument fastest)."""'
    )
    body = [
        doc,
        "import itertools as _itertools",
        "import json as _json",
        "",
        *decode,
        f"_lists = [{', '.join(names)}]",
        f"return _json.dumps([dict(zip({fields!r}, _combination)) for _combination in _itertools.product(*_lists)])",
    ]
    key = f"CROSS_PRODUCT_{ident.upper()}"  # no mapping's component key starts so
    code = "\n".join(
        [
            f"def {step}({', '.join(names)}) -> str:",
            *(f"    {line}" if line else "" for line in body),
            "",
            "",
            f"{key} = components.create_component_from_func({step}, base_image={image!r})",
        ]
    )
    component = ComponentDef(
        key=key,
        description=f"The items of Airflow task {product.task_id!r}: the cross product of its mapped arguments.",
        code=code,
    )
    return component, arguments
