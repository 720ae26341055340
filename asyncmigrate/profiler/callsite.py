"""Naming what a sampled frame was doing: which file is the user's, the function id of
a frame, and the qualified name of the call a frame is blocked in.

Everything here runs on the watchdog thread, only while the loop is already stuck, so
it may be slower than the per-step path; results are cached per code object.
"""

from __future__ import annotations

import ast
import builtins
import dis
import linecache
import os
import site
import sys
import sysconfig
import types

# Code flags of frames that belong to a coroutine (async def, @types.coroutine
# generators, async generators).
_COROUTINE_FLAGS = (
    0x80  # CO_COROUTINE
    | 0x100  # CO_ITERABLE_COROUTINE
    | 0x200  # CO_ASYNC_GENERATOR
)

# Opcodes a frame sits on while it waits for a callee (C or Python) to return. A leaf
# frame anywhere else is running its own bytecode: pure-Python CPU work.
_CALL_OPCODES = frozenset(
    dis.opmap[name]
    for name in (
        "CALL", "PRECALL", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
        "CALL_METHOD", "CALL_KW", "CALL_INTRINSIC_1", "CALL_INTRINSIC_2",
        "FOR_ITER", "BEFORE_WITH", "IMPORT_NAME", "SEND", "YIELD_VALUE",
    )
    if name in dis.opmap
)

_PROFILER_DIR = os.path.dirname(os.path.abspath(__file__))


def _library_roots() -> tuple[str, ...]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(sysconfig.get_paths()[key])
        except KeyError:
            pass
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # old virtualenv's site.py
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        roots.add(user_site)
    roots.add(_PROFILER_DIR)
    return tuple(os.path.join(os.path.realpath(root), "") for root in roots if root)


class FrameNamer:
    """Caches what the watchdog needs to know about code objects and files."""

    def __init__(self) -> None:
        self._library_roots = _library_roots()
        self._is_library: dict[str, bool] = {}
        self._abspath: dict[str, str] = {}
        self._function_ids: dict[types.CodeType, str] = {}
        self._calls: dict[tuple[types.CodeType, int], str | None] = {}

    # -- files ----------------------------------------------------------------------

    def abspath(self, filename: str) -> str:
        path = self._abspath.get(filename)
        if path is None:
            path = filename if filename.startswith("<") else os.path.abspath(filename)
            self._abspath[filename] = path
        return path

    def is_library(self, filename: str) -> bool:
        """True for the standard library, installed packages and the profiler itself:
        frames the user cannot change, so a blocking call is charged to their caller."""
        known = self._is_library.get(filename)
        if known is None:
            if filename.startswith("<"):
                # <frozen importlib._bootstrap> is stdlib; <string>/<stdin> are the user's
                known = filename.startswith("<frozen")
            else:
                real = os.path.realpath(self.abspath(filename))
                parts = real.split(os.sep)
                known = (
                    real.startswith(self._library_roots)
                    or "site-packages" in parts
                    or "dist-packages" in parts
                )
            self._is_library[filename] = known
        return known

    # -- functions ------------------------------------------------------------------

    def function_id(self, frame: types.FrameType) -> str:
        """`package.module:Qual.name` (nested functions as `outer.inner`, as the index
        spells them)."""
        code = frame.f_code
        name = self._function_ids.get(code)
        if name is None:
            name = f"{_module_name(frame)}:{_qualname(code)}"
            self._function_ids[code] = name
        return name

    def function_id_of_code(self, code: types.CodeType) -> str:
        """The function id when there is no frame left (a finished coroutine): the
        module is the loaded one whose file the code came from."""
        name = self._function_ids.get(code)
        if name is None:
            module = os.path.splitext(os.path.basename(code.co_filename))[0]
            for loaded in list(sys.modules.values()):
                if getattr(loaded, "__file__", None) == code.co_filename:
                    module = loaded.__name__
                    break
            name = self._function_ids[code] = f"{module}:{_qualname(code)}"
        return name

    @staticmethod
    def is_coroutine(code: types.CodeType) -> bool:
        return bool(code.co_flags & _COROUTINE_FLAGS)

    @staticmethod
    def is_waiting_on_call(code: types.CodeType, lasti: int) -> bool:
        bytecode = code.co_code
        return 0 <= lasti < len(bytecode) and bytecode[lasti] in _CALL_OPCODES

    # -- callees --------------------------------------------------------------------

    @staticmethod
    def public_name(obj: object) -> str | None:
        return _public_name(obj)

    def call_name(self, frame: types.FrameType, lasti: int, lineno: int) -> str | None:
        """Qualified name of the call `frame` was executing at instruction `lasti`
        (`time.sleep`, `socket.socket.recv`), or None when it cannot be named without
        running code."""
        key = (frame.f_code, lasti)
        if key in self._calls:
            return self._calls[key]
        try:
            name = _qualified_callee(frame, lasti, lineno)
        except Exception:  # naming is best effort; never disturb the program
            name = None
        self._calls[key] = name
        return name


def _module_name(frame: types.FrameType) -> str:
    f_globals = frame.f_globals
    name = f_globals.get("__name__") or "?"
    if name == "__main__":
        spec = f_globals.get("__spec__")
        if spec is not None and getattr(spec, "name", None):
            name = spec.name
            if name.endswith(".__main__"):
                return name
        else:
            # `python app.py`: the module the index would call it
            name = os.path.splitext(os.path.basename(frame.f_code.co_filename))[0]
    return name


def _qualname(code: types.CodeType) -> str:
    qualname = getattr(code, "co_qualname", code.co_name)
    return qualname.replace(".<locals>", "")


def _call_expression(frame: types.FrameType, lasti: int, lineno: int) -> ast.expr | None:
    """The callee expression of the call at the frame's current instruction, from the
    instruction's source position (3.11+) or, failing that, the only call on the
    line."""
    code = frame.f_code
    filename = code.co_filename
    positions = getattr(code, "co_positions", None)
    if positions is not None:
        try:
            start, end, col, end_col = list(positions())[lasti // 2]
        except (IndexError, ValueError):
            start = None
        if start is not None and end is not None and col is not None and end_col is not None:
            lines = [linecache.getline(filename, n, frame.f_globals) for n in range(start, end + 1)]
            if all(lines):
                encoded = [line.encode("utf-8") for line in lines]
                if start == end:
                    segment = encoded[0][col:end_col]
                else:
                    segment = b"".join([encoded[0][col:], *encoded[1:-1], encoded[-1][:end_col]])
                try:
                    node = ast.parse(segment.decode("utf-8").strip(), mode="eval").body
                except (SyntaxError, UnicodeDecodeError, ValueError):
                    node = None
                if isinstance(node, ast.Call):
                    return node.func
    line = linecache.getline(filename, lineno, frame.f_globals).strip()
    try:
        tree = ast.parse(line)
    except SyntaxError:
        return None
    # Python 3.10 has no instruction positions: take the line's outermost call if it
    # has only one (`return sum(range(n))` -> sum)
    nested = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Call)
              for inner in ast.walk(node) if inner is not node}
    outermost = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and id(node) not in nested]
    return outermost[0].func if len(outermost) == 1 else None


def _qualified_callee(frame: types.FrameType, lasti: int, lineno: int) -> str | None:
    func = _call_expression(frame, lasti, lineno)
    if func is None:
        return None
    attrs: list[str] = []
    node = func
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    attrs.reverse()
    instance = False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        # `Path(p).read_bytes()`: a method of what the constructor builds
        node = node.func
        instance = True
    if not isinstance(node, ast.Name):
        return None
    head = node.id
    code = frame.f_code
    if head in code.co_varnames or head in code.co_cellvars or head in code.co_freevars:
        # a local: name the method by the type of the object it holds
        try:
            value = frame.f_locals.get(head)
        except Exception:
            return None
        if value is None:
            return None
        return _join(_public_name(type(value)), attrs)
    if head in frame.f_globals:
        value = frame.f_globals[head]
    elif hasattr(builtins, head):
        value = getattr(builtins, head)
    else:
        return None
    if isinstance(value, types.ModuleType) and not instance:
        return _join(value.__name__, attrs)
    if instance and isinstance(value, type):
        return _join(_public_name(value), attrs)
    if isinstance(value, type) or callable(value):
        name = _public_name(value)
        return _join(name, attrs) if name else None
    return _join(_public_name(type(value)), attrs)


def _join(base: str | None, attrs: list[str]) -> str | None:
    if not base:
        return None
    return ".".join([base, *attrs])


def _public_name(obj: object) -> str | None:
    """`module.Qual.name`, preferring the public module that re-exports a private one
    (`_io.TextIOWrapper` -> `io.TextIOWrapper`, `_hashlib.pbkdf2_hmac` ->
    `hashlib.pbkdf2_hmac`, `posix.stat` -> `os.stat`)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        return None
    candidates = [module.lstrip("_")] if module.startswith("_") else []
    if module in ("posix", "nt"):
        candidates.append("os")
    top = qualname.split(".")[0]
    for candidate in candidates:
        public = sys.modules.get(candidate)
        if public is not None and getattr(public, top, None) is _resolve(module, top):
            return f"{candidate}.{qualname}"
    return f"{module}.{qualname}"


def _resolve(module: str, name: str) -> object:
    return getattr(sys.modules.get(module), name, _MISSING)


_MISSING = object()
