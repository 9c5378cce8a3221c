"""The statement walker: an abstract interpreter of a DAG file's module-level code.

It walks module statements, `with` blocks (DAGs, groups, setup/teardown contexts), `for` loops over
literal iterables, `while` loops and `if`s whose test is known, and the bodies of functions the
file calls (plain helpers, `@dag` and `@task_group` functions). Calls to Airflow names build DAG,
task group and task records; `>>`, `set_upstream`, `chain` and XCom arguments add edges, exactly
when the file's own code would add them at import.
Nothing of the file is ever executed: every value is computed by `Evaluator` from literals.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from airflow2kfp.diagnostics import Severity
from airflow2kfp.model import Unresolved
from airflow2kfp.parse import imports
from airflow2kfp.parse.data_calls import DataCalls
from airflow2kfp.parse.data_files import Unordered
from airflow2kfp.parse.dependencies import handles_in
from airflow2kfp.parse.evaluate import make_datetime, make_duration
from airflow2kfp.parse.setup_teardown import EndlessSearch
from airflow2kfp.parse.state import short
from airflow2kfp.parse.values import (
    BoundMethodValue,
    Builtin,
    DagRecord,
    DataFileValue,
    Function,
    GlobalsValue,
    GroupRecord,
    InstanceValue,
    LabelRecord,
    LambdaValue,
    LocalClass,
    LocalModule,
    MappedArgValue,
    Partial,
    PartialValue,
    Ref,
    Scope,
    TaskDecorator,
    TaskFlow,
    TaskRecord,
    XComDerived,
    XComValue,
    defaults_read,
)

_PATH_PARTS = frozenset({"stem", "name", "suffix", "suffixes", "parent", "parts"})
# builtins that read the repository's files or the module's namespace (parse/data_calls.py)
_DATA_BUILTINS = frozenset({"open", "globals"})
MAX_CALL_DEPTH = 16  # helpers calling helpers: enough for real files, bounded for recursion


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Interpreter(DataCalls):
    # -- statements ------------------------------------------------------------------------
    def run_module(self, scope: Scope) -> None:
        self.run_block(self.module.body, scope)

    def run_block(self, statements: Any, scope: Scope) -> None:
        for statement in statements:
            self.run_statement(statement, scope)

    def run_statement(self, node: cst.CSTNode, scope: Scope) -> None:
        self.statements.append(node)
        self.steps += 1
        if self.steps >= self._next_check:
            self._checkpoint(node)
        try:
            self._run_statement(node, scope)
        finally:
            self.statements.pop()

    def _run_statement(self, node: cst.CSTNode, scope: Scope) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.run_small(small, scope)
        elif isinstance(node, cst.FunctionDef):
            scope.vars[node.name.value] = self.define_function(node, scope)
        elif isinstance(node, cst.ClassDef):
            scope.vars[node.name.value] = self.define_class(node, scope)
        elif isinstance(node, cst.With):
            self.run_with(node, scope)
        elif isinstance(node, cst.For):
            self.run_for(node, scope)
        elif isinstance(node, cst.If):
            self.run_if(node, scope)
        elif isinstance(node, cst.While):
            self.run_while(node, scope)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            # the try body is what runs when nothing fails (the usual `except ImportError` fallback)
            self.run_block(node.body.body, scope)
            for extra in (node.orelse, node.finalbody):
                if extra is not None:
                    self.run_block(extra.body.body, scope)
        elif isinstance(node, cst.Match):
            self.unread_block(node, "a match statement")
        # anything else (async blocks, ...) builds nothing Airflow would see

    def run_small(self, node: cst.BaseSmallStatement, scope: Scope) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            self.run_import(node, scope)
        elif isinstance(node, cst.Assign):
            value = self.eval(node.value, scope)
            for target in node.targets:
                self.assign(target.target, value, scope)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            self.assign(node.target, self.eval(node.value, scope), scope)
        elif isinstance(node, cst.AugAssign):
            self.aug_assign(node, scope)
        elif isinstance(node, cst.Expr):
            self.eval(node.value, scope)
        elif isinstance(node, cst.Return):
            raise _Return(None if node.value is None else self.eval(node.value, scope))
        elif isinstance(node, cst.Break):
            raise _Break
        elif isinstance(node, cst.Continue):
            raise _Continue

    def assign(self, target: cst.BaseExpression, value: Any, scope: Scope) -> None:
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            container = self.eval(target.value, scope)
            key = self._slice(target.slice[0].slice, scope)
            if isinstance(container, GlobalsValue) and isinstance(key, str):  # globals()[dag_id] = dag
                container.scope.vars[key] = value
                return
            if isinstance(container, (dict, list)) and self.is_data(key, target):
                try:
                    container[key] = value
                except (TypeError, IndexError):
                    pass
            return
        self.bind(target, value, scope)

    def aug_assign(self, node: cst.AugAssign, scope: Scope) -> None:
        current = self.eval(node.target, scope)
        value = self.eval(node.value, scope)
        if (
            isinstance(node.operator, cst.AddAssign)
            and isinstance(current, list)
            and isinstance(value, (list, tuple))
        ):
            self.over_items(len(current) + len(value), node)
            current.extend(value)  # in place, as Python does for lists
            return
        if isinstance(node.operator, (cst.RightShiftAssign, cst.LeftShiftAssign)) and not isinstance(
            current, int
        ):
            self.shift_values(
                node, current, value, downstream=isinstance(node.operator, cst.RightShiftAssign)
            )
            return
        operation = _AUG.get(type(node.operator))
        result = self.binary(node, operation, current, value) if operation else Unresolved(self.source(node))
        self.assign(node.target, result, scope)

    def run_with(self, node: cst.With, scope: Scope) -> None:
        entered = 0
        contexts = 0  # setup/teardown contexts entered, left in reverse order after the body
        unknown: list[cst.BaseExpression] = []  # context managers the reader does not know
        try:
            for item in node.items:
                value = self.eval(item.item, scope)
                if isinstance(value, DagRecord):
                    self.context.append(value.root)
                    entered += 1
                elif isinstance(value, GroupRecord):
                    self.context.append(value)
                    entered += 1
                elif self.is_task_like(value) and isinstance(value, (list, tuple)):
                    self.report(
                        "A2K203",
                        f"`with {short(self.source(item.item))}:` enters a list, which Python "
                        "refuses (Airflow's context_wrapper(...) makes a list a context).",
                        item.item,
                    )
                    self.leave_setup_teardown(node, contexts)
                    return
                elif self.is_task_like(value):
                    if not self.enter_setup_teardown(item.item, value):
                        self.leave_setup_teardown(node, contexts)
                        return
                    contexts += 1
                    value = Unresolved(self.source(item.item))  # `as` binds Airflow's context class
                elif not isinstance(value, DataFileValue) and not self.harmless_context(item.item, scope):
                    unknown.append(item.item)
                if item.asname is not None:
                    self.assign(item.asname.name, value, scope)
            before = self.footprint()
            try:
                self.run_block(node.body.body, scope)
            except (_Return, _Break, _Continue):
                self.leave_setup_teardown(node, contexts)
                raise
            self.leave_setup_teardown(node, contexts)
            if unknown and self.footprint() != before:
                self.report_unsure(
                    f"`with {short(self.source(unknown[0]))}:` is a context manager the reader "
                    "does not know; what it adds to the tasks built in its body is not seen.",
                    node,
                )
        finally:
            del self.context[len(self.context) - entered :]

    def harmless_context(self, expression: cst.BaseExpression, scope: Scope) -> bool:
        """`with open(...)`, `with warnings.catch_warnings():`, ...: a context manager of the standard
        library or a value library, which cannot place or wire tasks."""
        func = expression.func if isinstance(expression, cst.Call) else expression
        if imports.dotted(func) in ("open", "print"):
            return True
        callee = (
            self.eval(func, scope) if imports.dotted(func) else None
        )  # names and attributes: no call made
        return isinstance(callee, Ref) and not imports.may_build_tasks(callee)

    def enter_setup_teardown(self, expression: cst.BaseExpression, value: Any) -> bool:
        """`with task:` on a setup or teardown task (Airflow's SetupTeardownContext); False when
        Airflow would refuse it (the import fails)."""
        task = value.task if isinstance(value, XComValue) else value
        if not (task.is_setup or task.is_teardown):
            self.report(
                "A2K203",
                f"`with {short(self.source(expression))}:` enters a task that is neither a "
                "setup nor a teardown, which Airflow refuses.",
                expression,
                dag=task.dag,
            )
            return False
        try:
            self.setup_teardown.push((task,))
        except EndlessSearch:
            self.report(
                "A2K203",
                f"`with {short(self.source(expression))}:`: Airflow's search for the "
                f"{'setup' if task.is_teardown else 'teardown'} of this task never ends (its import "
                "fails with RecursionError).",
                expression,
                dag=task.dag,
            )
            return False
        return True

    def leave_setup_teardown(self, node: cst.With, contexts: int) -> None:
        self.linking = node
        try:
            for _ in range(contexts):
                self.setup_teardown.exit()
        finally:
            self.linking = None

    def truth(self, value: Any) -> bool | None:
        # tasks, XCom results, groups and DAGs define neither __bool__ nor __len__: always true
        if isinstance(value, (TaskRecord, XComValue, GroupRecord, DagRecord)):
            return True
        return super().truth(value)

    @staticmethod
    def is_task_like(value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return bool(value) and all(isinstance(v, (TaskRecord, XComValue)) for v in value)
        return isinstance(value, (TaskRecord, XComValue))

    def run_for(self, node: cst.For, scope: Scope) -> None:
        iterated = self.eval(node.iter, scope)
        items = self.iterate(iterated)
        if items is None:
            before = self.footprint()
            self.bind(node.target, Unresolved(self.source(node.target)), scope)
            self.run_loop_body(node, scope)
            if self.footprint() != before:
                self.report(
                    "A2K203",
                    f"The loop over `{self.source(node.iter)}` cannot be unrolled "
                    "statically; tasks or dependencies it builds are incomplete.",
                    node,
                )
            return
        listing = isinstance(iterated, Unordered)
        turns: dict[int, int] = {}  # DAG -> turns of the loop that added to it
        before = self.shapes() if listing else {}
        for item in items:
            self.bind(node.target, item, scope)
            shapes = self.shapes() if listing else {}
            ended = not self.run_loop_body(node, scope)
            if listing:
                for key, shape in self.shapes().items():
                    if shapes.get(key) != shape:
                        turns[key] = turns.get(key, 0) + 1
            if ended:
                break
        else:
            if node.orelse is not None:
                self.run_block(node.orelse.body.body, scope)
        if listing:
            self.unordered_loop(node, iterated, turns, before)

    def shapes(self) -> dict[int, tuple[int, int]]:
        """Tasks and edges of each DAG so far, by identity: what a turn of a loop added to."""
        self.charge(len(self.dags) // 8 + 1, None)
        return {id(d): (len(d.tasks), len(d.edges)) for d in self.dags}

    def unordered_loop(
        self, node: cst.For, items: Unordered, turns: dict[int, int], before: dict[int, tuple[int, int]]
    ) -> None:
        """A loop over a listing in the file system's order (read here sorted): a DAG that more than
        one turn added to, or one made before the loop, may be built in another order by Airflow; so
        may every DAG it added to when it counts the turns (`enumerate`)."""
        counted = items.counted
        for dag in self.dags:
            count = turns.get(id(dag), 0)
            if count and (count > 1 or id(dag) in before or counted):
                self.report_unsure(
                    f"The loop over `{short(self.source(node.iter))}` visits a folder listing, whose order "
                    "is the file system's in Python (the reading took it sorted); the tasks or "
                    "dependencies it builds may come in another order. `sorted(...)` around the "
                    "listing makes it certain.",
                    node,
                    dag,
                )

    def run_loop_body(self, node: cst.For | cst.While, scope: Scope) -> bool:
        """Run one iteration; False when it ended with `break`."""
        try:
            self.run_block(node.body.body, scope)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def run_while(self, node: cst.While, scope: Scope) -> None:
        """A `while` loop, run as Python runs it while its test is known, under the step budget. One
        that can never end (`while True:` with no break, raise or return of its own) is what Airflow's
        import never gets past: reported, not run."""
        literal = isinstance(node.test, (cst.Integer, cst.SimpleString)) or (
            isinstance(node.test, cst.Name) and node.test.value == "True"
        )
        if literal and self.truth(self.eval(node.test, scope)) and not _can_leave(node):
            self.report(
                "A2K109",
                "this `while` loop never ends: Airflow's import of the file never gets past "
                "it (the static reading goes on without it)",
                node,
                severity=Severity.WARNING,
            )
            return
        while True:
            truth = self.truth(self.eval(node.test, scope))
            if truth is None:
                self.unread_block(
                    node,
                    f"the loop `while {short(self.source(node.test))}:`, whose test is not known statically,",
                    scope,
                )
                return
            if not truth:
                break
            if not self.run_loop_body(node, scope):
                return
        if node.orelse is not None:
            self.run_block(node.orelse.body.body, scope)

    def unread_block(self, node: cst.While | cst.Match, what: str, scope: Scope | None = None) -> None:
        """A block the reader cannot run faithfully: read once, and said to be incomplete if it builds
        tasks or dependencies (an error, as for a loop over an unknown value)."""
        before = self.footprint()
        if isinstance(node, cst.While) and scope is not None:
            self.run_loop_body(node, scope)
        if self.footprint() != before or (isinstance(node, cst.Match) and self.builds_graph(node)):
            self.report(
                "A2K203",
                f"{what[0].upper()}{what[1:]} cannot be read statically; tasks or "
                "dependencies it builds are incomplete.",
                node,
            )

    def builds_graph(self, node: cst.CSTNode) -> bool:
        """Whether a block not run calls anything at all or shifts with `>>`: what could build tasks."""
        return any(isinstance(n, (cst.Call, cst.BinaryOperation, cst.AugAssign)) for n in _descendants(node))

    def run_if(self, node: cst.If, scope: Scope) -> None:
        test = self.eval(node.test, scope)
        if isinstance(test, (Ref, Function, TaskFlow, LocalClass, LocalModule)):
            # an imported module or a defined function is truthy; that the import succeeded is what
            # reading a `try` body assumes (`try: import x except ImportError: x = None` ... `if x:`)
            test = True
        orelse = node.orelse
        truth = self.truth(test)
        if truth is not None:
            if truth:
                self.run_block(node.body.body, scope)
            elif isinstance(orelse, cst.If):
                self.run_if(orelse, scope)
            elif orelse is not None:
                self.run_block(orelse.body.body, scope)
            return
        # an unknown condition: read both branches, and say so if either shapes the graph
        before = self.footprint()
        self.run_block(node.body.body, scope)
        if isinstance(orelse, cst.If):
            self.run_if(orelse, scope)
        elif orelse is not None:
            self.run_block(orelse.body.body, scope)
        if self.footprint() != before:
            self.report(
                "A2K203",
                f"The condition `{self.source(node.test)}` cannot be evaluated statically; "
                "tasks or dependencies from both branches were read.",
                node,
            )

    # -- definitions -----------------------------------------------------------------------
    def define_function(self, node: cst.FunctionDef, scope: Scope) -> Any:
        source = self.positions.definition(node).strip("\n")
        function = Function(
            node, scope, self.span(node), source, defaults=defaults_read(node.params, scope), origin=self.here
        )
        result: Any = function
        is_setup = is_teardown = False
        for decorator in reversed(node.decorators):  # innermost decorator applies first
            expr = decorator.decorator
            target = self.eval(expr.func if isinstance(expr, cst.Call) else expr, scope)
            options: dict[str, Any] = {}
            positional: list[Any] = []
            if isinstance(expr, cst.Call):
                args, kwargs = self.arguments(expr, scope)
                options, positional = kwargs or {}, args or []
            if isinstance(target, TaskDecorator):  # `@dag.task`, `@dag.task(retries=2)`: task(dag=dag)
                options = {**target.options, **options}
                result = TaskFlow(function, target.operator, target.module, options, frozenset(options))
                continue
            if isinstance(target, Builtin) or imports.dotted(expr) in _HARMLESS_BUILTINS:
                continue  # @staticmethod, @property, ...: no task can come of them
            if not isinstance(target, Ref) or (
                imports.kind(target) is None and imports.may_build_tasks(target)
            ):
                # a decorator of the file or of another module of the repo: it may make the function a
                # task (or anything); the function is read as written, a call of it is a doubt
                function.unknown_decorator = self.source(expr)
                continue
            kind = imports.kind(target)
            if target.qualname.endswith(".asset.multi") and imports.is_airflow(target):
                self.report(
                    "A2K203", "@asset.multi is not read statically; the DAG it defines is missing.", decorator
                )
            if kind == "asset_decorator":
                self.define_asset(node, function, target, options)
            elif kind == "dag_decorator":
                # @dag("id", ...): a positional dag_id (a non-empty string) names the DAG, dag_id= first
                if (
                    positional
                    and "dag_id" not in options
                    and (not isinstance(positional[0], str) or positional[0].strip())
                ):
                    options = {**options, "dag_id": positional[0]}
                function.kind, function.options = "dag", options
            elif kind == "task_group_decorator":
                function.kind, function.options = "task_group", options
            elif kind == "task_decorator":
                operator, module = imports.taskflow_parts(target)  # type: ignore[misc]
                result = TaskFlow(function, operator, module, options, frozenset(options))
            elif kind in ("setup_decorator", "teardown_decorator"):
                is_setup |= kind == "setup_decorator"
                is_teardown |= kind == "teardown_decorator"
                if not isinstance(result, TaskFlow):  # `@setup` alone makes a python task
                    result = TaskFlow(function, "task", target.module, options, frozenset(options))
        if isinstance(result, TaskFlow) and (is_setup or is_teardown):
            result = replace(result, is_setup=is_setup, is_teardown=is_teardown)
        return result

    def define_asset(
        self, node: cst.FunctionDef, function: Function, target: Ref, options: dict[str, Any]
    ) -> None:
        """`@asset` (Airflow 3): the decoration itself defines a DAG named after the asset, with one
        task named after the function that materialises it."""
        settings = {k: v for k, v in options.items() if k != "name"}
        dag = self.make_dag(node, options.get("name", function.name), settings)
        dag.span = function.span
        task = TaskRecord(
            function.name, "asset", target.module, function.span, dag, dag.root, python_callable=function
        )
        self.register(node, task)

    def define_class(self, node: cst.ClassDef, scope: Scope) -> LocalClass:
        bases: list[str] = []
        is_operator = False
        for base in node.bases:
            value = self.eval(base.value, scope)
            if isinstance(value, Ref):
                bases.append(value.qualname)
                is_operator |= imports.is_operator_base(value)  # not BaseNotifier, hooks, ...
            elif isinstance(value, LocalClass):
                bases.append(value.name)
                bases.extend(
                    b for b in value.bases if b not in bases
                )  # its ancestors too, as an MRO lists them
                is_operator |= value.is_operator
        # only plain class-level assignments are read: constants, not methods or nested logic; the
        # methods' source is kept for a bound method passed as a task's callable
        body = Scope(parent=scope)
        methods: dict[str, Callable[[], str]] = {}
        for statement in node.body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)):
                        self.run_small(small, body)
            elif isinstance(statement, cst.FunctionDef):
                methods[statement.name.value] = partial(_method_source, self.positions, statement)
        imported = self.here is not self.dag_module
        name = scope.lookup("__name__")[1] if imported else ""
        return LocalClass(
            node.name.value,
            tuple(bases),
            is_operator,
            body.vars,
            methods,
            module=name if isinstance(name, str) else "",
            module_source=self.here.text if imported else None,
        )

    def call_function(
        self, function: Function, node: cst.Call, args: list[Any] | None, kwargs: dict[str, Any] | None
    ) -> Any:
        """Run a function body with its parameters bound; its return value, or Unresolved."""
        if self.depth >= MAX_CALL_DEPTH or args is None or kwargs is None:
            return self.unresolved(node)
        scope = Scope(parent=function.scope)
        package = function.scope.lookup("__package__")[1]  # set in the scope of an imported module
        with self.in_module(function.origin or self.here, package if isinstance(package, str) else None):
            self.bind_parameters(function.node.params, args, kwargs, scope)
            self.depth += 1
            try:
                self.run_block(function.node.body.body, scope)
            except _Return as returned:
                return returned.value
            finally:
                self.depth -= 1
        return None

    def bind_parameters(
        self, params: cst.Parameters, args: list[Any], kwargs: dict[str, Any], scope: Scope
    ) -> None:
        positional = [*params.posonly_params, *params.params]
        for index, param in enumerate(positional):
            name = param.name.value
            if index < len(args):
                scope.vars[name] = args[index]
            elif name in kwargs:
                scope.vars[name] = kwargs[name]
            elif param.default is not None:
                scope.vars[name] = self.eval(param.default, scope.parent or scope)
            else:
                scope.vars[name] = Unresolved(name)
        for param in params.kwonly_params:
            name = param.name.value
            default = self.eval(param.default, scope.parent or scope) if param.default else Unresolved(name)
            scope.vars[name] = kwargs.get(name, default)
        if isinstance(params.star_arg, cst.Param):
            scope.vars[params.star_arg.name.value] = tuple(args[len(positional) :])
        if params.star_kwarg is not None:
            known = {p.name.value for p in [*positional, *params.kwonly_params]}
            scope.vars[params.star_kwarg.name.value] = {k: v for k, v in kwargs.items() if k not in known}

    def text_of(self, value: Any) -> Any:
        # str(XComArg) is the template pulling it (Airflow's "old-style Jinja" for an f-string); no edge
        if isinstance(value, XComValue) and value.task.task_id is not None:
            dag_id = value.task.dag.dag_id
            where = f"dag_id='{dag_id}', " if isinstance(dag_id, str) else ""
            return f"{{{{ task_instance.xcom_pull(task_ids='{value.task.task_id}', {where}key='{value.key}') }}}}"
        return value

    # -- attribute and subscript hooks -----------------------------------------------------
    def attribute(self, node: cst.Attribute, value: Any, scope: Scope) -> Any:
        name = node.attr.value
        if isinstance(value, TaskRecord) and name == "output":
            return XComValue(value, "return_value")
        if isinstance(value, TaskRecord) and name == "task_id" and value.task_id is not None:
            return value.task_id
        if isinstance(value, DagRecord):
            return self.dag_attribute(node, value, name)
        if isinstance(value, GroupRecord) and name == "group_id" and value.group_id is not None:
            return value.group_id
        if isinstance(value, XComValue) and name == "output":
            return value
        if isinstance(value, LocalClass) and name in value.attrs:
            return value.attrs[name]
        if isinstance(value, InstanceValue) or (isinstance(value, LocalClass) and name in value.methods):
            return BoundMethodValue(self.source(node), owner=value, method=name)
        if isinstance(value, PurePosixPath) and name in _PATH_PARTS:  # Path(__file__).stem as a dag_id
            return getattr(value, name)
        if isinstance(value, LocalModule):  # `tasks.extract` after `from common import tasks`
            found = self.module_attribute(value, name)
            return found if found is not None else Ref(f"{value.name}.{name}")
        return self.unresolved(node)

    def dag_attribute(self, node: cst.Attribute, dag: DagRecord, name: str) -> Any:
        """What a DAG object tells about itself as the file has built it so far."""
        if name == "dag_id":
            return dag.dag_id
        if name in ("task_dict", "tasks", "task_ids", "roots", "leaves"):
            self.charge(len(dag.tasks) + 1, node)
            if name == "task_dict":
                return dict(dag.tasks)  # a copy: the reader's own record is changed only by reading the file
            if name == "tasks":
                return list(dag.tasks.values())
            if name == "task_ids":
                return list(dag.tasks)
            return dag.root.roots() if name == "roots" else dag.root.leaves()
        if name == "default_args":
            return dag.default_args
        if name == "task_group":
            return dag.root
        if name == "task":  # DAG.task: functools.partial(task, dag=self)
            return TaskDecorator("task", "airflow.decorators", {"dag": dag})
        if name in dag.settings and self.is_data(dag.settings[name], node):
            return dag.settings[name]  # dag.start_date, dag.schedule_interval, ... as written
        return self.unresolved(node)

    def dag_method(self, node: cst.Call, dag: DagRecord, name: str, scope: Scope) -> Any:
        args, kwargs = self.arguments(node, scope)
        if args is None or kwargs is None:
            return self.unknown_call(node, args, kwargs)
        if name in ("get_task", "has_task"):
            task_id = args[0] if args else kwargs.get("task_id")
            if not isinstance(task_id, str):
                self.report(
                    "A2K203",
                    f"`{short(self.source(node))}`: the task_id cannot be evaluated statically; "
                    "the task and its dependencies are not known.",
                    node,
                    dag=dag,
                )
                return self.unresolved(node)
            if name == "has_task":
                return task_id in dag.tasks
            if task_id not in dag.tasks:
                self.report(
                    "A2K203",
                    f"`{short(self.source(node))}`: the DAG has no task {task_id!r} at this "
                    "point (Airflow raises TaskNotFound).",
                    node,
                    dag=dag,
                )
                return self.unresolved(node)
            return dag.tasks[task_id]
        return self.unknown_call(node, args, kwargs)

    def subscript(self, node: cst.Subscript, value: Any, index: Any) -> Any:
        if isinstance(value, XComValue) and isinstance(index, str):
            return XComValue(value.task, index)
        if isinstance(value, TaskRecord) and isinstance(index, str):  # `op.output["k"]` spelled short
            return XComValue(value, index)
        if isinstance(value, GlobalsValue) and isinstance(index, str):
            found, known = value.scope.lookup(index)
            return known if found else self.unresolved(node)
        return super().subscript(node, value, index)

    def _eval_Attribute(self, node: cst.Attribute, scope: Scope) -> Any:
        value = self.eval(node.value, scope)
        if isinstance(value, Ref):
            owner = value.name
            if owner == "TriggerRule" and imports.is_airflow(value):
                return node.attr.value.lower()  # TriggerRule.ALL_DONE == "all_done"
            return value.attr(node.attr.value)
        return self.attribute(node, value, scope)

    def _eval_Lambda(self, node: cst.Lambda, scope: Scope) -> Any:
        return LambdaValue(
            self.source(node),
            span=self.span(node),
            scope=scope,
            defaults=defaults_read(node.params, scope),
            module_source=self.here.text if self.here is not self.dag_module else None,
        )

    # -- calls -----------------------------------------------------------------------------
    def call(self, node: cst.Call, scope: Scope) -> Any:
        func = node.func
        if isinstance(func, cst.Name) and func.value in _DATA_BUILTINS and not scope.lookup(func.value)[0]:
            return self.data_builtin(node, func.value, scope)
        if isinstance(func, cst.Attribute):
            receiver = self.eval(func.value, scope)
            if isinstance(receiver, LocalModule):  # `tasks.extract()`: what the module defines
                found = self.module_attribute(receiver, func.attr.value)
                receiver = Ref(receiver.name) if found is None else receiver
                if found is not None:
                    return self.call_value(node, found, scope)
            if not isinstance(receiver, Ref):
                return self.call_method(node, receiver, func.attr.value, scope)
            if func.attr.value == "partial" and imports.is_class_like(receiver):
                return self.make_partial(node, receiver, scope)
            callee: Any = receiver.attr(func.attr.value)
        else:
            callee = self.eval(func, scope)
        return self.call_value(node, callee, scope)

    def call_value(self, node: cst.Call, callee: Any, scope: Scope) -> Any:
        if isinstance(callee, Builtin):
            return self.call_data(node, scope)
        args, kwargs = self.arguments(node, scope)
        if isinstance(callee, Function):
            if callee.kind == "dag":
                return self.call_dag_function(node, callee, args, kwargs)
            if callee.kind == "task_group":
                return self.call_group_function(node, callee, args, kwargs)
            if callee.unknown_decorator is not None and self.context:
                self.report_unsure(
                    f"`{short(self.source(node))}` calls `{callee.name}`, decorated with "
                    f"`@{short(callee.unknown_decorator)}`, which the static reader does not know "
                    "(it may make the function a task); tasks or dependencies it adds are not seen.",
                    node,
                )
            return self.call_function(callee, node, args, kwargs)
        if isinstance(callee, TaskFlow):
            return self.call_taskflow(node, callee, args, kwargs)
        if isinstance(callee, LocalClass):
            if callee.is_operator:
                return self.make_operator(node, callee.name, callee.module, kwargs, bases=callee.bases)
            return InstanceValue(self.source(node), cls=callee, scope=scope)
        if isinstance(callee, Ref):
            return self.call_ref(node, callee, args, kwargs, scope)
        if isinstance(callee, TaskDecorator):
            return self.apply_decorator(node, callee, args, kwargs)
        result = self.unknown_call(node, args, kwargs)
        if (
            self.context
            and isinstance(callee, Unresolved)
            and not handles_in([*(args or []), *(kwargs or {}).values()])
        ):
            name = imports.dotted(node.func)
            if name not in _HARMLESS_BUILTINS:  # a lambda, a name from `import *`, map(make_task, ...)
                self.report_unsure(
                    f"`{short(self.source(node))}` calls something the static reader cannot "
                    "follow inside the DAG's context; tasks or dependencies it adds there are not "
                    "seen.",
                    node,
                )
        return result

    def call_ref(
        self,
        node: cst.Call,
        ref: Ref,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
        scope: Scope | None = None,
    ) -> Any:
        kind = imports.kind(ref)
        if args is None or kwargs is None:  # a `*`/`**` spread that cannot be evaluated
            if imports.is_known_operator(ref) or (kwargs is not None and "task_id" in kwargs):
                return self.make_operator(node, ref.name, ref.module, kwargs, airflow_ref=ref)
            if kind in ("chain", "cross_downstream", "chain_linear"):
                self.report(
                    "A2K203",
                    f"`{short(self.source(node))}`: the tasks it chains cannot be evaluated "
                    "statically; its dependencies are missing.",
                    node,
                )
                return None
            return self.unknown_call(node, args, kwargs)
        if kind == "task_decorator":  # task(fn), task.bash(retries=1)(fn)
            operator, module = imports.taskflow_parts(ref)  # type: ignore[misc]
            return self.apply_decorator(node, TaskDecorator(operator, module, {}), args, kwargs)
        if kind == "dag_class":
            return self.make_dag(node, args[0] if args else kwargs.get("dag_id"), kwargs)
        if kind == "task_group_class":
            return self.make_group(node, args[0] if args else kwargs.get("group_id"), kwargs)
        if kind == "label":
            text = args[0] if args else kwargs.get("label")
            return LabelRecord(text) if isinstance(text, str) else self.unresolved(node)
        if kind == "xcom_arg":
            task = args[0] if args else kwargs.get("operator")
            key = args[1] if len(args) > 1 else kwargs.get("key", "return_value")
            if isinstance(task, TaskRecord) and isinstance(key, str):
                return XComValue(task, key)
            return self.unresolved(node)
        if kind in ("chain", "cross_downstream", "chain_linear"):
            return self.dependency_helper(node, kind, args, kwargs)
        if kind == "path" and args and all(isinstance(a, (str, PurePosixPath)) for a in args) and not kwargs:
            return PurePosixPath(*args)
        if (
            kind == "os_path"
            and args
            and all(isinstance(a, (str, PurePosixPath)) for a in args)
            and not kwargs
        ):
            return getattr(posixpath, ref.name)(*map(str, args))
        if kind == "data":
            return self.data_call(node, ref, args, kwargs)
        if kind == "timedelta":
            return make_duration(args, kwargs) or self.unresolved(node)
        if kind in ("datetime", "date"):
            style = "pendulum" if ref.qualname.startswith("pendulum") else kind
            return make_datetime(style, args, kwargs) or self.unresolved(node)
        if imports.is_class_like(ref) and ("task_id" in kwargs or imports.is_known_operator(ref)):
            return self.make_operator(node, ref.name, ref.module, kwargs, airflow_ref=ref)
        if ref.qualname == "functools.partial" and args:
            return self.make_callable_partial(node, args, kwargs)
        unknown = self.unknown_call(node, args, kwargs)
        if imports.is_class_like(ref) and not imports.is_airflow(ref):
            return InstanceValue(unknown.source, cls=ref, scope=scope)
        if self.context and imports.may_build_tasks(ref) and not handles_in([*args, *kwargs.values()]):
            # inside `with DAG`, a helper from another module may create tasks there (Airflow's DAG
            # context reaches it), and return their results
            self.report_unsure(
                f"`{short(self.source(node))}` calls `{ref.qualname}`, a function of another "
                "module the static reader does not follow, inside the DAG's context; tasks or "
                "dependencies it adds there are not seen.",
                node,
            )
        return unknown

    def make_callable_partial(self, node: cst.Call, args: list[Any], kwargs: dict[str, Any]) -> PartialValue:
        """`functools.partial(f, ...)`: a partial of a partial is one partial, as Python flattens it."""
        target, bound = args[0], tuple(args[1:])
        if isinstance(target, PartialValue):
            return PartialValue(
                self.source(node), target.target, target.args + bound, {**target.kwargs, **kwargs}
            )
        return PartialValue(self.source(node), target, bound, dict(kwargs))

    def apply_decorator(
        self, node: cst.Call, decorator: TaskDecorator, args: list[Any] | None, kwargs: dict[str, Any] | None
    ) -> Any:
        if args and isinstance(args[0], Function):
            options = {**decorator.options, **(kwargs or {})}
            return TaskFlow(args[0], decorator.operator, decorator.module, options, frozenset(options))
        if not args and kwargs is not None:
            return replace(decorator, options={**decorator.options, **kwargs})
        return self.unknown_call(node, args, kwargs)

    def unknown_call(
        self, node: cst.Call, args: list[Any] | None, kwargs: dict[str, Any] | None
    ) -> Unresolved:
        """A call the reader does not understand. Handed a DAG, group or task, it may well build
        tasks or dependencies the reader cannot see, and that must not pass silently."""
        self.walk([args, kwargs], node)  # counts the steps handles_in takes below
        handles = handles_in([*(args or []), *(kwargs or {}).values()])
        name = imports.dotted(node.func) or ""
        if (
            handles
            and name not in _HARMLESS_BUILTINS
            and not name.startswith(("logging.", "log.", "logger."))
        ):
            self.report_unsure(
                f"`{short(self.source(node))}` is passed a DAG, group or task but cannot be read "
                "statically; tasks or dependencies it may add are not seen.",
                node,
                handles[0],
            )
        return self.unresolved(node)

    def call_method(self, node: cst.Call, receiver: Any, name: str, scope: Scope) -> Any:
        if isinstance(receiver, (TaskRecord, XComValue, GroupRecord, LabelRecord)):
            return self.node_method(node, receiver, name, scope)
        if isinstance(receiver, TaskFlow):
            args, kwargs = self.arguments(node, scope)
            if kwargs is None:
                return self.unresolved(node)
            if name == "override":
                options = {**receiver.options, **kwargs}
                return replace(receiver, options=options, explicit=receiver.explicit | frozenset(kwargs))
            if name == "partial":
                return Partial(receiver, kwargs, node)
            if name in ("expand", "expand_kwargs"):
                return self.expand(node, Partial(receiver, {}, node), name, args, kwargs)
            return self.unresolved(node)
        if isinstance(receiver, Partial) and name in ("expand", "expand_kwargs"):
            args, kwargs = self.arguments(node, scope)
            return self.expand(node, receiver, name, args, kwargs)
        if isinstance(receiver, Function) and receiver.kind == "task_group":
            args, kwargs = self.arguments(node, scope)
            if name == "partial" and kwargs is not None:
                return Partial(receiver, kwargs, node)
            if name in ("expand", "expand_kwargs"):
                return self.expand(node, Partial(receiver, {}, node), name, args, kwargs)
            return self.unknown_call(node, args, kwargs)
        if isinstance(receiver, LocalClass) and name == "partial" and receiver.is_operator:
            return self.make_partial(node, receiver, scope)
        if isinstance(receiver, DagRecord):
            return self.dag_method(node, receiver, name, scope)
        if isinstance(receiver, XComDerived) and name in ("map", "zip", "concat"):  # a.zip(b).map(f)
            args, kwargs = self.arguments(node, scope)
            if args is None or kwargs is None:
                return self.unknown_call(node, args, kwargs)
            return self.derived_xcom(node, receiver, name, args, kwargs)
        if isinstance(receiver, (str, list, dict, tuple, set)):
            return self.call_data(node, scope, receiver)
        if isinstance(receiver, PurePosixPath):
            return self.path_method(node, receiver, name, scope)
        if isinstance(receiver, DataFileValue):
            return self.file_method(node, receiver, name, scope)
        if isinstance(receiver, GlobalsValue):
            return self.globals_method(node, receiver, name, scope)
        # a method of something the reader does not know (a function its decorator made unknown, an
        # object of another module): handed tasks, it may wire them, which must not pass silently
        args, kwargs = self.arguments(node, scope)
        return self.unknown_call(node, args, kwargs)

    def node_method(self, node: cst.Call, receiver: Any, name: str, scope: Scope) -> Any:
        args, kwargs = self.arguments(node, scope)
        if args is None or kwargs is None:
            return self.unresolved(node)
        if name in ("set_downstream", "set_upstream"):
            other = args[0] if args else kwargs.get("task_or_task_list")
            label = kwargs.get("edge_modifier")
            downstream = name == "set_downstream"
            if isinstance(label, LabelRecord):  # a >> Label >> b, spelled as one call
                self.shift_values(node, receiver, label, downstream=downstream)
                receiver = label
            self.shift_values(node, receiver, other, downstream=downstream)
            return None
        task = receiver.task if isinstance(receiver, XComValue) else receiver
        if name in ("map", "zip", "concat") and isinstance(receiver, XComValue):
            return self.derived_xcom(node, receiver, name, args, kwargs)
        if name == "as_setup" and isinstance(task, TaskRecord):
            task.is_setup = True
            return receiver
        if name == "as_teardown" and isinstance(task, TaskRecord):
            task.is_teardown = True
            setups = kwargs.get("setups", args[0] if args else None)
            if setups is not None:
                for setup in setups if isinstance(setups, (list, tuple)) else [setups]:
                    upstream = setup.task if isinstance(setup, XComValue) else setup
                    if isinstance(upstream, TaskRecord):
                        upstream.is_setup = True  # Airflow marks each of them a setup
                    self.shift_values(node, setup, receiver, downstream=True)
            return receiver
        if name in _TASK_READERS:
            return self.unresolved(node)
        return self.unknown_call(node, [receiver, *args], kwargs)

    def derived_xcom(
        self, node: cst.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        """XComArg.map/zip/concat: a new XComArg whose upstream are the tasks it reads (the receiver's, and
        for zip/concat the other XComArgs'), built as Airflow builds it: `a.map(f).map(g)` is one map
        with both functions, `a.concat(b).concat(c)` one concat; `a.zip(b).zip(c)` zips a zip."""
        tasks = receiver.tasks if isinstance(receiver, XComDerived) else (receiver.task,)
        if name == "map":
            functions = [*args, *kwargs.values()] if set(kwargs) <= {"f"} else []
            if len(functions) != 1:
                return XComDerived(self.source(node), tasks=tasks)  # Airflow's TypeError: kept as text
            if isinstance(receiver, XComDerived) and receiver.kind == "map":
                return XComDerived(
                    self.source(node),
                    tasks=tasks,
                    kind="map",
                    args=receiver.args,
                    callables=(*receiver.callables, functions[0]),
                )
            return XComDerived(
                self.source(node), tasks=tasks, kind="map", args=(receiver,), callables=(functions[0],)
            )
        others = [
            a.tasks if isinstance(a, XComDerived) else (a.task,)
            for a in args
            if isinstance(a, (XComValue, XComDerived))
        ]
        if len(others) != len(args) or set(kwargs) - {"fillvalue"} or (name == "concat" and kwargs):
            return self.unknown_call(node, args, kwargs)
        read = (receiver, *args)
        if name == "concat" and isinstance(receiver, XComDerived) and receiver.kind == "concat":
            read = (*receiver.args, *args)
        return XComDerived(
            self.source(node),
            tasks=tuple(dict.fromkeys([*tasks, *(t for o in others for t in o)])),
            kind=name,
            args=read,
            filled="fillvalue" in kwargs,
            fillvalue=kwargs.get("fillvalue"),
        )

    # -- DAGs and groups -------------------------------------------------------------------
    def call_dag_function(
        self, node: cst.Call, function: Function, args: list[Any] | None, kwargs: dict[str, Any] | None
    ) -> Any:
        options = dict(function.options)
        dag = self.make_dag(node, options.pop("dag_id", function.name), options)
        dag.span = function.span  # the decorated function is where the DAG is written
        if "doc_md" not in dag.settings and function.node.get_docstring():
            dag.settings["doc_md"] = function.node.get_docstring()
        self.context.append(dag.root)
        try:
            # the function's parameters become DAG params: templated at run time, unknown here
            params = [p.name.value for p in function.node.params.params]
            self.call_function(function, node, [Unresolved(f"params.{p}") for p in params], {})
        finally:
            self.context.pop()
        return dag

    def call_group_function(
        self,
        node: cst.Call,
        function: Function,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
        mapped: dict[str, Any] | None = None,
    ) -> Any:
        options = dict(function.options)
        group = self.make_group(node, options.pop("group_id", function.name), options, suffix=True)
        if not isinstance(group, GroupRecord):
            return group
        if group.tooltip is None and function.node.get_docstring():
            group.tooltip = function.node.get_docstring()
        if mapped is not None and kwargs is not None:
            # inside a mapped group, each mapped parameter is one item per group instance
            group.mapped_args = mapped
            names = [
                p.name.value for p in (*function.node.params.params, *function.node.params.kwonly_params)
            ]
            keys = [n for n in names if n not in kwargs] if "*" in mapped else list(mapped)
            kwargs = {**kwargs, **{key: MappedArgValue(group, key) for key in keys}}
        self.context.append(group)
        try:
            result = self.call_function(function, node, args, kwargs)
        finally:
            self.context.pop()
        # Airflow forwards whatever the function returns (a task, an XCom, a dict of them) so that
        # dependencies bind to it; a function that returns nothing stands for its group
        return group if result is None else result

    # -- tasks -----------------------------------------------------------------------------
    def expand(
        self,
        node: cst.Call,
        partial: Partial,
        how: str,
        args: list[Any] | None,
        kwargs: dict[str, Any] | None,
    ) -> Any:
        if how == "expand_kwargs":
            mapped = {"*": args[0]} if args else (kwargs or {})
        else:
            mapped = kwargs if kwargs is not None else {"*": Unresolved(self.source(node))}
        target = partial.target
        if isinstance(target, Function):
            return self.expand_group(node, target, partial.kwargs, mapped)
        if isinstance(target, TaskFlow):  # TaskFlow partial() fixes function arguments, not operator ones
            return self.call_taskflow(node, target, [], dict(partial.kwargs), mapped=mapped)
        if isinstance(target, LocalClass):
            return self.make_operator(
                node, target.name, target.module, partial.kwargs, bases=target.bases, mapped=mapped
            )
        assert isinstance(target, Ref)
        task = self.make_operator(
            node, target.name, target.module, partial.kwargs, airflow_ref=target, mapped=mapped
        )
        return task

    def expand_group(
        self, node: cst.Call, function: Function, fixed: dict[str, Any], mapped: dict[str, Any]
    ) -> Any:
        """A mapped @task_group: its body read once, each mapped parameter a MappedArgValue (one item
        per group instance), as Airflow reads it; the group records what it maps over."""
        return self.call_group_function(node, function, [], dict(fixed), mapped=mapped)

    # -- dependencies ----------------------------------------------------------------------


def _method_source(positions: Any, node: cst.FunctionDef) -> str:
    """A method's `def` as its own module prints it (made when a bound method needs it)."""
    return positions.definition(node).strip("\n")


def _can_leave(loop: cst.While) -> bool:
    """Whether a loop has a way out of its own: a `break` (not one of a loop or function inside it),
    a `raise` or a `return`."""
    pending: list[cst.CSTNode] = list(loop.body.children)
    while pending:
        node = pending.pop()
        if isinstance(node, (cst.Break, cst.Raise, cst.Return)):
            return True
        if isinstance(node, (cst.For, cst.While)):
            if node.orelse is not None:
                pending.append(node.orelse)  # a break in a loop's else clause leaves the outer loop
            continue
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        pending.extend(node.children)
    return False


def _descendants(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    pending = [node]
    while pending:
        item = pending.pop()
        found.append(item)
        pending.extend(item.children)
    return found


# builtins that cannot create or wire a task (map, filter, exec, getattr... can: not listed)
_HARMLESS_BUILTINS = frozenset(
    {
        "print",
        "isinstance",
        "issubclass",
        "hasattr",
        "repr",
        "format",
        "open",
        "hash",
        "id",
        "type",
        "callable",
        "iter",
        "next",
        "ord",
        "chr",
        "hex",
        "oct",
        "bin",
        "divmod",
        "pow",
        "frozenset",
        "bytes",
        "object",
        "super",
        "vars",
        "dir",
        "locals",
        "globals",
        "ascii",
        "slice",
        "property",
        "staticmethod",
        "classmethod",
    }
)

# methods of tasks and groups that read or configure them, and add no task or dependency
_TASK_READERS = frozenset(
    {
        "get_direct_relatives",
        "get_direct_relative_ids",
        "get_flat_relatives",
        "get_flat_relative_ids",
        "get_children_by_selector",
        "has_dag",
        "get_dag",
        "get_template_env",
        "render_template",
        "prepare_template",
        "resolve_template_files",
        "dry_run",
        "add_inlets",
        "add_outlets",
        "get_inlet_defs",
        "get_outlet_defs",
        "child_id",
        "get_roots",
        "get_leaves",
        "get_task_group_dict",
        "hierarchical_alphabetical_sort",
        "iter_tasks",
        "topological_sort",
        "get_parent",
        "get_current",
    }
)

# augmented assignments as the binary operations they are (which check their budgets)
_AUG: dict[type, type[cst.BaseBinaryOp]] = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.ModuloAssign: cst.Modulo,
    cst.FloorDivideAssign: cst.FloorDivide,
}
