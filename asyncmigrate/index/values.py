"""The static values that call resolution computes for an expression."""

from __future__ import annotations

from typing import NamedTuple


class Value(NamedTuple):
    """What an expression evaluates to, as far as static analysis can tell.

    kind is one of:
    - "module": a module, `name` is its dotted name (project or external);
    - "function": a project function or method, `name` is `module:Qual.name`;
    - "class": a project class, `name` is `module:Qual`;
    - "instance": an instance of the project class `name`;
    - "external": an object outside the project, `name` its qualified name
      (`requests.get`, `requests.Session.get`, `builtins.open`);
    - "external_instance": an instance of the external class `name`;
    - "super": the `super()` proxy inside class `name` (`extra` is "instance" or
      "class").
    """

    kind: str
    name: str
    extra: str = ""

    @property
    def qualified(self) -> str:
        """The dotted qualified name used for catalogue and configuration lookups."""
        return self.name.replace(":", ".")


def join_id(module: str, qualname: str) -> str:
    """(`pkg.mod`, `Cls.meth`) -> `pkg.mod:Cls.meth`: the id of a project function or
    class, the same syntax as `--seed`. Every layer names definitions through this."""
    return f"{module}:{qualname}"


def split_id(ident: str) -> tuple[str, str]:
    """`pkg.mod:Cls.meth` -> (`pkg.mod`, `Cls.meth`)."""
    module, _, qualname = ident.partition(":")
    return module, qualname


def nested_qualname(enclosing: str | None, name: str) -> str:
    """The qualname of `name` defined in the class or function `enclosing` (None at
    module level). Unlike Python's `__qualname__` there is no `<locals>` segment:
    `outer.inner`, so the index, the rules and the codemods name a nested def alike."""
    return f"{enclosing}.{name}" if enclosing else name
