"""Code written for a newer Python than the one running is analysed, not skipped:
`asyncmigrate.syntax` rewrites what this Python's `ast` rejects into an equivalent it
reads, with the same calls on the same lines, and the index, the rules and asyncify
all see it."""

from __future__ import annotations

import ast
import sys
import textwrap

import pytest

from asyncmigrate import syntax
from conftest import lint_json, py_sources, run_cli, write_files

NEWER = textwrap.dedent('''\
    import time

    type Pair[K, V = int] = tuple[K, V]

    class Box[T: (int, str)](object):
        def get[U](self, x: U) -> T:
            return fetch(x)

    def handler(x, w):
        try:
            pass
        except ValueError, TypeError:
            pass
        print(t"{x!r:>{w}}", f"{"nested"}")
        return f"""{
            time.sleep(1)  # a comment, legal in 3.12
        }"""
    ''')

LOWERED = (
    'import time\n'
    '\n'
    'Pair                  = tuple[K, V]\n'
    '\n'
    'class Box               (object):\n'
    '    def get   (self, x: U) -> T:\n'
    '        return fetch(x)\n'
    '\n'
    'def handler(x, w):\n'
    '    try:\n'
    '        pass\n'
    '    except(ValueError, TypeError):\n'
    '        pass\n'
    '    print((  x,    w, ), (  "nested",))\n'
    '    return (    \n'
    '        time.sleep(1),                           \n'
    '       )\n'
)


def _calls(tree: ast.AST) -> list[tuple[int, int, str]]:
    return sorted(
        (node.lineno, node.col_offset, ast.unparse(node.func))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    )


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses all of it itself")
def test_downlevel_rewrites_only_what_this_python_rejects_and_keeps_positions():
    """Every call keeps its line and column (the only shift is the `)` an
    `except A, B:` gains), so facts keyed by position match the LibCST tree."""
    assert syntax.downlevel(NEWER) == LOWERED
    assert _calls(syntax.parse(NEWER)) == [(7, 15, "fetch"), (14, 4, "print"), (16, 8, "time.sleep")]
    assert [line.index("time.sleep") for line in NEWER.splitlines() if "time.sleep" in line] == [8]


def test_code_this_python_reads_is_left_as_it_is():
    plain = 'print(f"{x!r:>{w}}")\ntry:\n    pass\nexcept (A, B):\n    pass\n'
    assert syntax.downlevel(plain) == plain


def test_what_no_parser_reads_is_a_syntax_error():
    assert syntax.downlevel("def f[:\n    pass\n") is None
    with pytest.raises(SyntaxError):
        syntax.parse("def f[:\n    pass\n")


def test_compile_error_checks_newer_syntax_in_its_downlevel_form():
    assert syntax.compile_error("def f[T](x: T) -> T:\n    return x\n", "m.py") is None
    error = syntax.compile_error("def f[T](x: T) -> T:\n    await x\n", "m.py")
    assert error is not None and "await" in error
    assert syntax.compile_error("x = (\n", "m.py") is not None


def test_facts_of_newer_syntax_reach_other_modules(tmp_path):
    """A coroutine defined with PEP 695 type parameters in one module, called without
    `await` in another: only the index's facts about the first connect them."""
    write_files(tmp_path, {
        "pyproject.toml": "[project]\nname = 'app'\n",
        "app/__init__.py": "",
        "app/store.py": """\
            class Store[T]:
                async def load[K](self, key: K) -> T:
                    return key

            type Loader = Store[int]
            """,
        "app/views.py": """\
            from app.store import Store

            async def view(store: Store[int]):
                try:
                    store.load("k")
                except ValueError, TypeError:
                    pass
            """,
    })
    status, findings = lint_json("app", cwd=tmp_path)
    assert [(f["path"], f["line"], f["code"]) for f in findings] == [("app/views.py", 5, "AM101")]


def test_asyncify_converts_a_chain_through_newer_syntax(tmp_path):
    write_files(tmp_path, {
        "pyproject.toml": "[project]\nname = 'app'\n",
        "app/__init__.py": "",
        "app/io.py": """\
            import time

            def pause[T](value: T) -> T:
                time.sleep(0)
                return value
            """,
        "app/main.py": """\
            from app.io import pause

            type Ids = list[int]

            def run(ids: Ids) -> str:
                return f"{", ".join(str(pause(i)) for i in ids)}"
            """,
    })
    result = run_cli("app", "--bridge", "asyncio", cwd=tmp_path, module="codemods.asyncify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert py_sources(tmp_path) == {
        "app/__init__.py": "",
        "app/io.py": textwrap.dedent("""\
            import asyncio

            async def pause[T](value: T) -> T:
                await asyncio.sleep(0)
                return value
            """),
        "app/main.py": textwrap.dedent("""\
            from app.io import pause

            type Ids = list[int]

            async def run(ids: Ids) -> str:
                return f"{", ".join([str(await pause(i)) for i in ids])}"
            """),
    }
    again = run_cli("app", "--bridge", "asyncio", "--check", cwd=tmp_path, module="codemods.asyncify")
    assert again.returncode == 0, again.stdout + again.stderr
