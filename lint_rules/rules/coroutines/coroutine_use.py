"""How a coroutine object is used where it is created: the logic AM101 and AM102 share.

A call is classified top-down: each parent node marks the child expressions it
consumes (an `await` marks its operand AWAITED, an expression statement marks its
value DROPPED, and so on) before the child is visited. A coroutine bound to a
local name is followed to the end of the function: one use that hands it on
(awaited, passed to a call, yielded, stored, returned from a sync factory) clears it.
"""

from __future__ import annotations

from enum import Enum
import libcst as cst

from asyncmigrate.catalogue import PROTOCOLS
from asyncmigrate.index.values import Value
from lint_rules.rule import ProjectRule


class Use(Enum):
    AWAITED = "awaited"
    HANDED_ON = "handed on"  # passed to a call, yielded, stored, `async with`
    DROPPED = "dropped"
    RETURNED = "returned"
    VALUE = "used as a value"
    ASSIGNED = "assigned"


class _Binding:
    __slots__ = ("call", "target", "uses")

    def __init__(self, call: cst.Call, target: Value | None):
        self.call = call
        self.target = target
        self.uses: list[Use] = []


class CoroutineUseTracker(ProjectRule):
    """Finds coroutine calls and tells the subclass how each one is used.

    Subclasses implement `wants_scope()` (is this code scope checked?) and
    `on_misuse(call, target, use)`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._marks: dict[cst.CSTNode, Use] = {}
        # One frame per function scope: local name -> binding of a coroutine
        self._bindings: list[dict[str, _Binding]] = [{}]
        self._store_targets: set[cst.CSTNode] = set()
        self._assigned_names: dict[cst.CSTNode, str] = {}
        #: operands of `.attr` and `[...]`, where `await` needs parentheses
        self.tight_operands: set[cst.CSTNode] = set()

    # -- subclass API ----------------------------------------------------------

    def wants_scope(self) -> bool:
        raise NotImplementedError

    def on_misuse(self, call: cst.Call, target: Value, use: Use) -> None:
        raise NotImplementedError

    def describe_target(self, target: Value) -> str:
        return self.project.describe(target)

    # -- marking ---------------------------------------------------------------

    def _mark(self, node: cst.CSTNode | None, use: Use) -> None:
        if node is not None:
            self._marks[node] = use

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self._marks = {}
        self._bindings = [{}]
        self._store_targets = set()
        self._assigned_names = {}
        self.tight_operands = set()

    def leave_Module(self, original_node: cst.Module) -> None:
        self._check_bindings(self._bindings[0])

    def visit_Await(self, node: cst.Await) -> None:
        self._mark(node.expression, Use.AWAITED)

    def visit_Expr(self, node: cst.Expr) -> None:
        self._mark(node.value, Use.DROPPED)

    def visit_Return(self, node: cst.Return) -> None:
        self._mark(node.value, Use.RETURNED)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self._mark(node.value, Use.HANDED_ON)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._mark(node.value, Use.ASSIGNED)
        for target in node.targets:
            self._store_targets.add(target.target)
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._assigned_names[node.value] = node.targets[0].target.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._mark(node.value, Use.ASSIGNED)
        self._store_targets.add(node.target)
        if node.value is not None and isinstance(node.target, cst.Name):
            self._assigned_names[node.value] = node.target.value

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._mark(node.value, Use.VALUE)
        self._store_targets.add(node.target)

    def visit_If(self, node: cst.If) -> None:
        self._mark(node.test, Use.VALUE)

    def visit_While(self, node: cst.While) -> None:
        self._mark(node.test, Use.VALUE)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._mark(node.test, Use.VALUE)

    def visit_For(self, node: cst.For) -> None:
        self._mark(node.iter, Use.VALUE)
        self._store_targets.add(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._mark(node.item, Use.HANDED_ON)
        if node.asname is not None:
            self._store_targets.add(node.asname.name)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # `coro().__await__()`, `.send()`, `.throw()` and `.close()` drive or finish the
        # coroutine by hand (custom awaitables do this in `__await__`).
        driven = node.attr.value in PROTOCOLS.coroutine_methods
        self._mark(node.value, Use.HANDED_ON if driven else Use.VALUE)
        self.tight_operands.add(node.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self._mark(node.value, Use.VALUE)
        self.tight_operands.add(node.value)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._mark(node.left, Use.VALUE)
        self._mark(node.right, Use.VALUE)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self._mark(node.left, Use.VALUE)
        self._mark(node.right, Use.VALUE)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        self._mark(node.expression, Use.VALUE)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._mark(node.left, Use.VALUE)
        for target in node.comparisons:
            self._mark(target.comparator, Use.VALUE)

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        self._mark(node.expression, Use.VALUE)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._mark(node.test, Use.VALUE)
        outer = self._marks.get(node)
        if outer is not None:
            self._mark(node.body, outer)
            self._mark(node.orelse, outer)

    def visit_Call(self, node: cst.Call) -> None:
        callee = node.func
        # Builtins that use their argument as a plain value (`[value_consumers]`).
        consumes_value = (
            isinstance(callee, cst.Name)
            and f"builtins.{callee.value}" in self.project.catalogue.value_consumers
        )
        if consumes_value:
            value = self.value_of(callee)
            consumes_value = value is not None and value.name == f"builtins.{callee.value}"
        plain = [False] * len(node.args)
        if not consumes_value and any(self._marks_coroutine(arg.value) for arg in node.args):
            plain = self._plain_value_arguments(node)
        for arg, plain_value in zip(node.args, plain):
            self._mark(arg.value, Use.VALUE if consumes_value or plain_value else Use.HANDED_ON)
        if not self.wants_scope():
            return
        target = self.call_target(node)
        if not self.project.is_coroutine_function(target):
            return
        use = self._marks.get(node, Use.HANDED_ON)
        if use is Use.ASSIGNED:
            self._track_assignment(node, target)
        elif use is Use.RETURNED:
            if self.in_async_function:
                self.on_misuse(node, target, use)
        elif use in (Use.DROPPED, Use.VALUE):
            self.on_misuse(node, target, use)

    def _marks_coroutine(self, expr: cst.BaseExpression) -> bool:
        """Could `expr` be a coroutine this rule tracks (a call, or a bound name)?"""
        if isinstance(expr, cst.Call):
            return True
        return isinstance(expr, cst.Name) and any(expr.value in frame for frame in self._bindings)

    def _plain_value_arguments(self, call: cst.Call) -> list[bool]:
        """`show(fetch())` with `def show(value: int)`: per argument, whether it goes
        to a parameter of a project function that no coroutine can be passed for."""
        func = call.func
        receiver = self.value_of(func.value) if isinstance(func, cst.Attribute) else None
        through_class = receiver is not None and receiver.kind == "class"
        arguments = [arg.keyword.value if arg.keyword is not None else (arg.star or None) for arg in call.args]
        return self.project.plain_value_arguments(self.call_target(call), through_class, arguments)

    # -- names bound to coroutines ---------------------------------------------

    def _track_assignment(self, call: cst.Call, target: Value) -> None:
        name = self._assigned_names.get(call)
        if name is not None:
            self._bindings[-1][name] = _Binding(call, target)
        # Stored into an attribute, a subscript or a tuple: handed on.

    def visit_Name(self, node: cst.Name) -> None:
        if node in self._store_targets:
            return
        for frame in reversed(self._bindings):
            binding = frame.get(node.value)
            if binding is not None:
                use = self._marks.get(node, Use.HANDED_ON)
                if use is Use.RETURNED and not self.in_async_function:
                    use = Use.HANDED_ON
                binding.uses.append(use)
                return

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._bindings.append({})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._check_bindings(self._bindings.pop())
        super().leave_FunctionDef(original_node)

    def _check_bindings(self, frame: dict[str, _Binding]) -> None:
        """Report coroutines bound to a name that nothing awaited or handed on."""
        for binding in frame.values():
            if any(use in (Use.AWAITED, Use.HANDED_ON) for use in binding.uses):
                continue
            bad = [u for u in binding.uses if u in (Use.VALUE, Use.RETURNED)]
            self.on_misuse(binding.call, binding.target, bad[0] if bad else Use.ASSIGNED)
