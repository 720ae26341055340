"""Call resolution: what a reference path names, the way Python would look it up.

This is the one shared service behind every rule and codemod. It follows Python's
scoping (function locals shadow enclosing functions, which shadow module globals,
then builtins; class bodies are not enclosing scopes for methods), imports and
aliases (absolute and relative, re-exports, star imports), attribute access on
modules, classes and instances through the C3 method resolution order (bases in
other modules included), `super()`, constructor calls, annotations, and the return
types of factory functions. Anything it cannot name statically comes back as an
external qualified name (for catalogue lookups) or None; it never guesses by bare
method name.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..catalogue import AsyncApiCatalogue
from .store import ProjectIndex
from ..config import DECLARED_TYPE
from .values import Value, join_id, split_id

_MAX_DEPTH = 24


class Resolver:
    def __init__(
        self, index: ProjectIndex, catalogue: AsyncApiCatalogue, declared: dict[str, str] | None = None
    ):
        self.index = index
        self.catalogue = catalogue
        #: the `types` configuration: what the code does not say, declared by the user
        #: (`mod:Cls.attr` / `mod:func.local` -> `mod:Cls`, dotted, or `list[mod:Cls]`)
        self.declared = dict(declared or {})
        self._value_cache: dict[tuple[str, str | None, tuple[str, ...]], Value | None] = {}
        self._mro_cache: dict[str, list[str]] = {}
        self._subclasses: dict[str, set[str]] | None = None
        self._decorators: dict[str, list[str]] = {}

    # -- definitions ---------------------------------------------------------

    def function(self, fid: str) -> dict[str, Any] | None:
        module, qualname = split_id(fid)
        summary = self.index.module(module)
        return summary["functions"].get(qualname) if summary else None

    def decorators(self, fid: str) -> list[str]:
        """The qualified names of a function's decorators (`contextlib.contextmanager`),
        as written where a decorator cannot be resolved."""
        found = self._decorators.get(fid)
        if found is None:
            fn = self.function(fid)
            module, _ = split_id(fid)
            found = []
            for written in fn["decorators"] if fn else ():
                value = self.value_of(module, fn["parent"], written.split("."))
                found.append(value.qualified if value is not None else written)
            self._decorators[fid] = found
        return found

    def class_(self, cid: str) -> dict[str, Any] | None:
        module, qualname = split_id(cid)
        summary = self.index.module(module)
        return summary["classes"].get(qualname) if summary else None

    def canonical_module(self, name: str) -> str:
        summary = self.index.module(name)
        return summary["name"] if summary else name

    # -- the entry points ----------------------------------------------------

    def value_of(
        self, module: str, scope: str | None, path: Iterable[str], depth: int = 0
    ) -> Value | None:
        """The value of reference path `path` inside function `scope` of `module`.

        `scope` is the qualified name of the innermost enclosing function, or None
        at module level (class bodies resolve like module level here).
        """
        path = tuple(path)
        key = (module, scope, path)
        if key in self._value_cache:
            return self._value_cache[key]
        self._value_cache[key] = None  # breaks cycles such as `x = x.parent`
        result = self._value_of(module, scope, path, depth) if depth < _MAX_DEPTH else None
        self._value_cache[key] = result
        return result

    def call_target(
        self, module: str, scope: str | None, callee: Iterable[str]
    ) -> Value | None:
        """What a call whose callee is the reference path `callee` calls."""
        return self.value_of(module, scope, callee)

    # -- lookup --------------------------------------------------------------

    def _value_of(
        self, module: str, scope: str | None, path: tuple[str, ...], depth: int
    ) -> Value | None:
        if not path:
            return None
        head, rest = path[0], path[1:]
        if head == "super" and rest[:1] == ("()",) and scope is not None:
            value = self._super(module, scope)
            rest = rest[1:]
        else:
            value = self._lookup_name(module, scope, head, depth)
        receiver = None  # the instance a method was read on: it binds type parameters
        for segment in rest:
            if value is None:
                return None
            if segment == "()":
                value = self.call_result(value, depth + 1, receiver=receiver)
                receiver = None
            elif segment == "[]":
                value = self._item(value, depth + 1)
                receiver = None
            else:
                receiver = value.name if value.kind == "instance" else None
                value = self.attribute(value, segment, depth + 1)
        return value

    def _super(self, module: str, scope: str) -> Value | None:
        fn = self.index.module(module)["functions"].get(scope)
        if fn is None or fn["owner"] is None:
            return None
        if self._lookup_name(module, scope, "super", 0) != Value("external", "builtins.super"):
            return None
        kind = "class" if fn["kind"] == "classmethod" else "instance"
        return Value("super", join_id(module, fn["owner"]), kind)

    def _lookup_name(
        self, module: str, scope: str | None, name: str, depth: int
    ) -> Value | None:
        summary = self.index.module(module)
        if summary is None or "functions" not in summary:
            return None
        module = summary["name"]
        functions = summary["functions"]
        fn = functions.get(scope) if scope else None
        while fn is not None:
            if name in fn.get("global_decls", ()):
                break
            params = fn["params"]
            for position, param in enumerate(params):
                if param["name"] != name:
                    continue
                if position == 0 and fn["owner"] and fn["kind"] in ("method", "property"):
                    return Value("instance", join_id(module, fn["owner"]))
                if position == 0 and fn["owner"] and fn["kind"] == "classmethod":
                    return Value("class", join_id(module, fn["owner"]))
                if param["annotation"]:
                    return self.instance_of(
                        self.value_of(module, fn["parent"], param["annotation"].split("."), depth + 1)
                    )
                return None
            declared = self.declared.get(join_id(module, f"{fn['qualname']}.{name}"))
            if declared is not None:
                return self._declared_instance(declared)
            if name in fn["locals"]:
                return self.eval_type(module, fn["qualname"], fn["locals"][name], depth + 1)
            nested = f"{fn['qualname']}.{name}"
            if nested in functions:
                return Value("function", join_id(module, nested))
            if nested in summary["classes"]:
                return Value("class", join_id(module, nested))
            if name in fn["local_names"]:
                return None  # a local without a known type shadows everything outside
            fn = functions.get(fn["parent"]) if fn["parent"] else None
        return self.module_attribute(module, name, depth)

    def is_module_global(self, module: str, scope: str | None, name: str) -> bool:
        """Whether `name` used inside function `scope` means the module's global:
        no enclosing function binds it (as a local or parameter) unless it is
        declared `global` there."""
        summary = self.index.module(module) or {}
        functions = summary.get("functions", {})
        fn = functions.get(scope) if scope else None
        while fn is not None:
            if name in fn.get("global_decls", ()):
                return True
            if name in fn["local_names"] or any(p["name"] == name for p in fn["params"]):
                return False
            fn = functions.get(fn["parent"]) if fn["parent"] else None
        return True

    def module_attribute(self, module: str, name: str, depth: int = 0) -> Value | None:
        """A module-level name of a project module, as `from module import name` sees it."""
        if depth >= _MAX_DEPTH:
            return None  # an import cycle (`a` re-exports from `b`, which imports `a`)
        summary = self.index.module(module)
        if summary is None:
            return Value("external", f"{module}.{name}")
        if "functions" not in summary:
            return None
        module = summary["name"]
        if name in summary["functions"]:
            return Value("function", join_id(module, name))
        if name in summary["classes"]:
            return Value("class", join_id(module, name))
        if name in summary["imports"]:
            return self.qualified_value(summary["imports"][name], depth + 1)
        if name in summary["globals"]:
            return self.eval_type(module, None, summary["globals"][name], depth + 1)
        if name in summary["global_names"]:
            return None
        submodule = f"{module}.{name}"
        if summary.get("is_package") and self.index.module(submodule) is not None:
            return Value("module", self.canonical_module(submodule))
        for star in summary["star_imports"]:
            if depth < _MAX_DEPTH and _star_exports(self.index.module(star), name):
                found = self.module_attribute(star, name, depth + 1)
                if found is not None:
                    return found
        if name in _BUILTINS:
            return Value("external", f"builtins.{name}")
        return None

    def qualified_value(self, qualified: str, depth: int = 0) -> Value | None:
        """The value of an absolute dotted name (an import target)."""
        if self.index.module(qualified) is not None:
            return Value("module", self.canonical_module(qualified))
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if self.index.module(prefix) is not None:
                value: Value | None = Value("module", self.canonical_module(prefix))
                for segment in parts[cut:]:
                    if value is None:
                        return None
                    value = self.attribute(value, segment, depth + 1)
                return value
        normalized = self.catalogue.normalize(qualified)
        return Value("module" if "." not in normalized else "external", normalized)

    # -- value operations ----------------------------------------------------

    def attribute(self, value: Value, name: str, depth: int = 0) -> Value | None:
        kind = value.kind
        if kind == "module":
            if self.index.module(value.name) is not None:
                return self.module_attribute(value.name, name, depth)
            return Value("external", self.catalogue.normalize(f"{value.name}.{name}"))
        if kind in ("external", "external_instance"):
            return Value("external", self.catalogue.normalize(f"{value.name}.{name}"))
        if kind in ("class", "instance"):
            return self._class_attribute(value.name, name, kind == "instance", None, depth)
        if kind == "super":
            return self._class_attribute(
                value.name, name, value.extra == "instance", value.name, depth
            )
        return None

    def _class_attribute(
        self, cid: str, name: str, on_instance: bool, after: str | None, depth: int
    ) -> Value | None:
        mro = self.mro(cid)
        if after is not None:
            mro = mro[mro.index(after) + 1 :] if after in mro else []
        for entry in mro:
            if ":" not in entry:  # an external base
                return Value("external", self.catalogue.normalize(f"{entry}.{name}"))
            cls = self.class_(entry)
            if cls is None:
                continue
            module, _ = split_id(entry)
            if name in cls["methods"]:
                fid = join_id(module, cls["methods"][name])
                fn = self.function(fid)
                if on_instance and fn is not None and fn["kind"] == "property":
                    return self.call_result(Value("function", fid), depth + 1)
                return Value("function", fid)
            nested = f"{cls['qualname']}.{name}"
            if nested in self.index.module(module)["classes"]:
                return Value("class", join_id(module, nested))
            declared = self.declared.get(f"{entry}.{name}")
            if declared is not None:
                return self._declared_instance(declared)
            if name in cls["attrs"]:
                texpr = cls["attrs"][name]
                return self.eval_type(module, None, texpr, depth + 1) if texpr else None
        return None

    def call_result(
        self, value: Value, depth: int = 0, literals: dict[str, str] | None = None, receiver: str | None = None
    ) -> Value | None:
        """What calling `value` returns, when that is statically known (`literals`:
        the call's mode-like string arguments, see `summary.mode_literals`;
        `receiver`: the class of the instance a method was read on, which binds the
        type parameters of a generic base)."""
        kind = value.kind
        if kind == "class":
            return Value("instance", value.name)
        if kind == "function":
            fn = self.function(value.name)
            if fn is None or not fn["returns"] or fn["is_generator"]:
                return None
            module, _ = split_id(value.name)
            if receiver is not None and fn["owner"]:
                bound = self._type_argument(receiver, join_id(module, fn["owner"]), fn["returns"], depth)
                if bound is not None:
                    return bound
            return self.instance_of(
                self.value_of(module, fn["parent"], fn["returns"].split("."), depth + 1)
            )
        if kind == "external":
            returned = self.catalogue.return_type(value.name, literals)
            if returned:
                return Value("external_instance", returned)
            last = value.name.rsplit(".", 1)[-1]
            # By convention (PEP 8) a CapWords callable is a class: its call is an
            # instance, so `requests.Session().get` is `requests.Session.get`.
            if last[:1].isupper() and not last.isupper():
                return Value("external_instance", value.name)
        return None

    def _item(self, value: Value, depth: int) -> Value | None:
        """What `value[...]` is: what the `__getitem__` of a project instance returns
        (`self[name]`), a generic class for a subscripted class (`Base[Conn]`)."""
        if value.kind == "class":
            return value
        if value.kind == "instance":
            method = self.method_in_mro(value.name, "__getitem__")
            if method is not None:
                return self.call_result(Value("function", method), depth + 1, receiver=value.name)
        return None

    def _type_argument(self, receiver: str, owner: str, param: str, depth: int) -> Value | None:
        """What type parameter `param` of the generic class `owner` stands for in
        instances of `receiver`: `class Base(Generic[T])`, `class Pool(Base[Conn])`,
        so a `Base` method returning `T` returns a `Conn` on a `Pool`."""
        owner_cls = self.class_(owner)
        if owner_cls is None:
            return None
        owner_module, _ = split_id(owner)
        params: list[str | None] = []
        for written, args in owner_cls.get("base_args", {}).items():
            base = self.value_of(owner_module, None, written.split("."), depth + 1)
            if base is not None and base.qualified in ("typing.Generic", "typing.Protocol"):
                params = args
        if param not in params:
            return None
        index = params.index(param)
        for entry in self.mro(receiver):
            cls = self.class_(entry) if ":" in entry else None
            if cls is None:
                continue
            module, _ = split_id(entry)
            for written, args in cls.get("base_args", {}).items():
                base = self.value_of(module, None, written.split("."), depth + 1)
                if base is not None and base.kind == "class" and base.name == owner and index < len(args):
                    argument = args[index]
                    if argument:
                        return self.instance_of(self.value_of(module, None, argument.split("."), depth + 1))
        return None

    def instance_of(self, value: Value | None) -> Value | None:
        """An instance of the class that an annotation names."""
        if value is None:
            return None
        if value.kind == "class":
            return Value("instance", value.name)
        if value.kind in ("external", "module"):
            return Value("external_instance", value.name)
        return None

    def eval_type(
        self, module: str, scope: str | None, texpr: list[Any], depth: int = 0
    ) -> Value | None:
        if depth >= _MAX_DEPTH:
            return None
        kind, arg = texpr[0], texpr[1]
        literals = texpr[2] if kind in ("call", "enter") and len(texpr) > 2 else None
        if kind == "call":
            callee = self.value_of(module, scope, arg, depth + 1)
            return self.call_result(callee, depth + 1, literals) if callee else None
        if kind == "inst":
            return self.instance_of(self.value_of(module, scope, arg.split("."), depth + 1))
        if kind == "ref":
            return self.value_of(module, scope, arg, depth + 1)
        if kind == "enter":
            callee = self.value_of(module, scope, arg, depth + 1)
            result = self.call_result(callee, depth + 1, literals) if callee else None
            return self._entered(result, depth)
        if kind == "alias":
            return self.qualified_value(arg, depth + 1)
        if kind == "builtin":
            return Value("external_instance", f"builtins.{arg}")
        if kind == "either":
            return self._common(
                self.eval_type(module, scope, arg, depth + 1),
                self.eval_type(module, scope, texpr[2], depth + 1),
            )
        if kind == "iter":
            return self._item_of(module, scope, arg, depth + 1)
        if kind == "narrow":
            # Dispatch on the most specific class known: the constructor's, when it
            # is a subclass of the declared type (its overrides are what runs).
            declared = self.eval_type(module, scope, arg, depth + 1)
            built = self.eval_type(module, scope, texpr[2], depth + 1)
            if (
                declared is not None
                and built is not None
                and built.kind == "instance"
                and declared.kind in ("instance", "external_instance")
                and declared.name in self.mro(built.name)[1:]
            ):
                return built
            return declared
        return None

    def named_type(self, module: str, text: str) -> Value | None:
        """An instance of the class a type checker names in `module` (`Client`,
        `Client | None`; pyrefly prints the short name): the name as `module` sees
        it, else the one project class of that name. Anything else is unknown."""
        parts = [p.strip() for p in text.split("|")]
        parts = [p for p in parts if p != "None"]
        if len(parts) != 1 or not parts[0].replace(".", "").replace("_", "").isalnum():
            return None
        value = self.value_of(module, None, parts[0].split("."))
        if value is not None and value.kind in ("class", "external", "module"):
            return self.instance_of(value)
        short = parts[0].rsplit(".", 1)[-1]
        found = {
            join_id(s["name"], qualname)
            for s in self.index.summaries()
            for qualname in s.get("classes", {})
            if qualname.rsplit(".", 1)[-1] == short
        }
        return Value("instance", found.pop()) if len(found) == 1 else None

    def _declared_instance(self, declared: str) -> Value | None:
        """The value a `types` entry declares: an instance of its class, or of its
        container (whose items `_texpr_of` gives)."""
        match = DECLARED_TYPE.fullmatch(declared)
        if match is None:
            return None
        if match["container"]:
            return Value("external_instance", f"builtins.{match['container']}")
        name = match["cls"]
        if ":" in name:
            return Value("instance", name) if self.class_(name) is not None else None
        return self.instance_of(self.qualified_value(name))

    def _common(self, a: Value | None, b: Value | None) -> Value | None:
        """One type for a value that is `a` or `b`: the same, or the nearest project
        base class of both (a method call then dispatches over the family, which
        holds both overrides)."""
        if a is None or b is None:
            return None
        if a == b:
            return a
        if a.kind == b.kind == "instance":
            theirs = set(self.mro(b.name))
            for base in self.mro(a.name):
                if ":" in base and base in theirs:
                    return Value("instance", base)
        return None

    def _item_of(self, module: str, scope: str | None, iterable: list[Any], depth: int) -> Value | None:
        """An item of iterating over `iterable` (a type expression): what a project
        generator yields, called directly or as a class's `__iter__`."""
        if iterable[0] == "inst" and len(iterable) > 2:  # `list[Conn]`: a Conn
            if ":" in iterable[2]:  # declared in `types` as a class id
                return self._declared_instance(iterable[2])
            return self.instance_of(self.value_of(module, scope, iterable[2].split("."), depth + 1))
        if iterable[0] == "ref":
            found = self._texpr_of(module, scope, tuple(iterable[1]))
            if found is not None and found[2] != iterable:
                item = self._item_of(*found, depth + 1)
                if item is not None:
                    return item
        generator = None
        if iterable[0] == "call":
            callee = self.value_of(module, scope, iterable[1], depth + 1)
            if callee is not None and callee.kind == "function":
                generator = callee.name
        if generator is None:
            value = self.eval_type(module, scope, iterable, depth + 1)
            if value is not None and value.kind == "instance":
                generator = self.method_in_mro(value.name, "__iter__")
        fn = self.function(generator) if generator else None
        if fn is None or not fn["is_generator"] or not fn.get("yields"):
            return None
        gen_module, qualname = split_id(generator)
        return self.eval_type(gen_module, qualname, fn["yields"], depth + 1)

    def _texpr_of(
        self, module: str, scope: str | None, path: tuple[str, ...]
    ) -> tuple[str, str | None, list[Any]] | None:
        """How `name` or `self.attr` got its value, as a type expression, with the
        module and scope to read it in: what iterating over it needs beyond its
        class (the items of `list[Conn]`)."""
        summary = self.index.module(module)
        fn = summary["functions"].get(scope) if summary and scope else None
        if fn is None:
            return None
        keys = [join_id(module, f"{scope}.{path[0]}")] if len(path) == 1 else []
        if len(path) == 2 and fn["owner"]:
            keys += [f"{entry}.{path[1]}" for entry in self.mro(join_id(module, fn["owner"]))]
        for key in keys:
            match = DECLARED_TYPE.fullmatch(self.declared.get(key, ""))
            if match is not None and match["container"]:
                return module, None, ["inst", match["container"], match["items"]]
        if len(path) == 1:
            for param in fn["params"]:
                if param["name"] == path[0] and param.get("items"):
                    return module, fn["parent"], ["inst", param["annotation"], param["items"]]
            if path[0] in fn["locals"]:
                return module, scope, fn["locals"][path[0]]
            return None
        if len(path) == 2 and fn["owner"] and fn["params"] and fn["params"][0]["name"] == path[0]:
            for entry in self.mro(join_id(module, fn["owner"])):
                cls = self.class_(entry) if ":" in entry else None
                if cls is not None and cls["attrs"].get(path[1]):
                    return split_id(entry)[0], None, cls["attrs"][path[1]]
        return None

    def _entered(self, value: Value | None, depth: int) -> Value | None:
        """The `as` target of `with value:` (what __enter__/__aenter__ returns)."""
        if value is None or value.kind != "instance":
            return value
        for dunder in ("__enter__", "__aenter__"):
            method = self._class_attribute(value.name, dunder, False, None, depth + 1)
            if method is not None and method.kind == "function":
                fn = self.function(method.name)
                if fn and fn["returns"]:
                    return self.call_result(method, depth + 1)
        return value  # `return self` is the overwhelmingly common __enter__

    # -- classes -------------------------------------------------------------

    def class_bases(self, cid: str) -> list[str]:
        """Base classes as class ids (project) or qualified names (external)."""
        cls = self.class_(cid)
        if cls is None:
            return []
        module, _ = split_id(cid)
        bases = []
        for path in cls["bases"]:
            value = self.value_of(module, None, path)
            if value is None:
                continue
            if value.kind == "class":
                bases.append(value.name)
            elif value.kind in ("external", "module") and value.name not in (
                "builtins.object",
                "object",
            ):
                bases.append(value.name)
        return bases

    def mro(self, cid: str) -> list[str]:
        """C3 linearisation over project classes; external bases end their branch."""
        if cid in self._mro_cache:
            return self._mro_cache[cid]
        self._mro_cache[cid] = [cid]  # guard against inheritance cycles
        bases = self.class_bases(cid)
        sequences = [self.mro(b) if ":" in b else [b] for b in bases] + [list(bases)]
        result = [cid]
        sequences = [list(s) for s in sequences if s]
        while sequences:
            for seq in sequences:
                head = seq[0]
                if not any(head in other[1:] for other in sequences):
                    break
            else:  # inconsistent hierarchy: Python would refuse it; fall back to DFS
                head = sequences[0][0]
            result.append(head)
            sequences = [[x for x in s if x != head] for s in sequences]
            sequences = [s for s in sequences if s]
        self._mro_cache[cid] = result
        return result

    def subclasses(self, cid: str) -> set[str]:
        """Every project class that has `cid` in its MRO (not `cid` itself)."""
        if self._subclasses is None:
            table: dict[str, set[str]] = {}
            for summary in self.index.summaries():
                for qualname in summary.get("classes", {}):
                    sub = join_id(summary["name"], qualname)
                    for base in self.mro(sub)[1:]:
                        table.setdefault(base, set()).add(sub)
            self._subclasses = table
        return self._subclasses.get(cid, set())

    def method_in_mro(self, cid: str, name: str) -> str | None:
        """The function id that `instance.name` finds, if a project method."""
        value = self._class_attribute(cid, name, False, None, 0)
        return value.name if value is not None and value.kind == "function" else None


def _star_exports(summary: dict[str, Any] | None, name: str) -> bool:
    """Whether `from module import *` binds `name`: the names in `__all__`, or
    else every name not starting with an underscore."""
    if summary is None:
        return False
    exports = summary.get("exports")
    return name in exports if exports is not None else not name.startswith("_")


_BUILTINS = frozenset(
    """abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr
    classmethod compile complex delattr dict dir divmod enumerate eval exec filter float
    format frozenset getattr globals hasattr hash help hex id input int isinstance
    issubclass iter len list locals map max memoryview min next object oct open ord pow
    print property range repr reversed round set setattr slice sorted staticmethod str
    sum super tuple type vars zip __import__""".split()
)
