"""Kubernetes client objects written in a DAG (`k8s.V1Toleration(...)`, `V1EnvVar(...)`), carried as
the same constructor calls on `kubernetes.client.models` as `k8s`, whatever the DAG imported them as.
Its own module: it needs libcst, which a run served from the cache never loads."""

from __future__ import annotations

import libcst as cst


def onto_k8s(source: str) -> str | None:
    """`V1Xxx(...)` source rewritten onto `k8s.`, when it holds only literals and such calls."""
    try:
        node = cst.parse_expression(source)
    except cst.ParserSyntaxError:
        return None
    if not isinstance(node, cst.Call) or not _kubernetes_only(node):
        return None
    return cst.Module([]).code_for_node(node.visit(_OntoK8s()))


def _callee(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _kubernetes_only(node: cst.BaseExpression) -> bool:
    """Literals, containers and calls to Kubernetes model classes (V1..., V2...) only."""
    if isinstance(node, cst.Call):
        return _callee(node.func)[:2] in ("V1", "V2") and all(
            not arg.star and _kubernetes_only(arg.value) for arg in node.args
        )
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(_kubernetes_only(e.value) for e in node.elements if isinstance(e, cst.Element))
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _kubernetes_only(e.key) and _kubernetes_only(e.value)
            for e in node.elements
        )
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return _kubernetes_only(node.expression)
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float))


class _OntoK8s(cst.CSTTransformer):
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        return updated.with_changes(func=cst.Attribute(cst.Name("k8s"), cst.Name(_callee(original.func))))
