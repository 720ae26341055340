"""`python -m lint_rules` (and `-m codemods.asyncify`, `-m asyncmigrate`) run the
installed package even inside a project that has its own `lint_rules/` or
`codemods/`, and never import that project's code.

For `-m`, Python puts the working directory first on `sys.path` before it imports
the module, so a checkout's `lint_rules/__init__.py` would be imported (and run)
instead of ours: a crash at best, code execution from an untrusted pull request at
worst. Nothing in our packages can prevent it, since they are never imported. The
`asyncmigrate_guard.pth` start-up hook (installed with the package, see
`build_backend/`) calls `install()` while `site` runs, before that entry is added;
`install` puts a finder first on `sys.meta_path` that removes the entry at the next
import, the first of `runpy`'s: exactly what `python -P` does. It acts only when the
`-m` module is one of ours, so the user's own processes, and their own
`import codemods`, are untouched. It imports nothing but `sys` and `os`.
"""

from __future__ import annotations

import os
import sys

#: top-level packages whose `-m` runs are guarded
GUARDED = ("lint_rules", "codemods", "asyncmigrate")

#: interpreter options that take a value (`-X dev`, `-W error`, ...)
_WITH_VALUE = "XW"


def main_module(argv: list[str]) -> str | None:
    """The module a `python ... -m MODULE ...` command line runs, else None."""
    args = iter(argv[1:])
    for arg in args:
        if arg == "--check-hash-based-pycs":
            next(args, None)
            continue
        if not arg.startswith("-") or arg == "-" or arg.startswith("--"):
            return None  # a script, stdin, or a long option we do not know
        letters = arg[1:]
        for i, letter in enumerate(letters):
            if letter == "m":
                return letters[i + 1:] or next(args, None)
            if letter == "c":
                return None
            if letter in _WITH_VALUE:
                if not letters[i + 1:]:
                    next(args, None)
                break
    return None


class _DropWorkingDirectory:
    """Removes the working directory Python puts first on `sys.path` for `-m`, at
    the first import after it is there (or gives up at the guarded import itself)."""

    def __init__(self, cwd: str, top: str):
        self.cwd = cwd
        self.top = top
        self.done = False

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if not self.done:
            if sys.path and _same(sys.path[0], self.cwd):
                del sys.path[0]
                self.done = True
            elif name == self.top:
                self.done = True  # the path was not added (-I on 3.10): nothing to do
        # Never found anything, and never leaves sys.meta_path: removing itself while
        # the import system iterates the list would skip the next finder.
        return None


def install() -> None:
    """Guard this interpreter when it runs one of our modules with `-m`."""
    try:
        if getattr(sys.flags, "safe_path", False):
            return  # python -P, -I: the working directory is not added
        module = main_module(list(getattr(sys, "orig_argv", ())))
        if module is None or module.partition(".")[0] not in GUARDED:
            return
        cwd = os.getcwd()
        if sys.path and _same(sys.path[0], cwd):
            return  # put first on purpose (PYTHONPATH): not Python's `-m` entry
        sys.meta_path.insert(0, _DropWorkingDirectory(cwd, module.partition(".")[0]))
    except Exception:  # a start-up hook must never stop the interpreter
        return


def drop_working_directory(home: str) -> None:
    """For `__main__` modules: remove the working directory from the front of
    `sys.path` unless it is `home` (where our packages are), in case the start-up
    hook is not installed (a run from a source tree), so that a project's own
    `click/` or `libcst/` is not imported in place of the dependency either."""
    if getattr(sys.flags, "safe_path", False) or not sys.path:
        return
    first = sys.path[0] or os.curdir
    try:
        cwd = os.getcwd()
    except OSError:
        return
    if _same(first, cwd) and not _same(first, home):
        del sys.path[0]


def _same(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a or os.curdir)) == os.path.normcase(os.path.abspath(b))


def hold_interrupts():
    """Hold Ctrl-C back while a command's modules load, and return the function
    that lets it through again. A SIGINT that lands while LibCST builds its node
    classes surfaces as a RuntimeError from `type.__new__`, with a traceback; held
    back, it reaches the command, which exits 130 for it."""
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # Windows
        return lambda: None
    previous = mask(signal.SIG_BLOCK, {signal.SIGINT})
    return lambda: mask(signal.SIG_SETMASK, previous)


def run(entry: str, release) -> None:
    """Run command `module:function` for a `__main__`: load it, `release` the held
    interrupts, call it; Ctrl-C is one line and exit 130."""
    import importlib

    module, _, name = entry.partition(":")
    main = getattr(importlib.import_module(module), name)
    from asyncmigrate.errors import interrupted

    import signal

    try:
        release()
        main()
    except KeyboardInterrupt:
        interrupted()
    finally:
        # The command is done (its files written or not): a Ctrl-C that lands while
        # Python shuts down must not turn the result into death by SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
