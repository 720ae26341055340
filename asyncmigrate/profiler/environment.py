"""Start the finder from environment variables set by `asyncmigrate profile`.

    ASYNCMIGRATE_PROFILE_DIR           each process writes report-<pid>.json here
    ASYNCMIGRATE_PROFILE_THRESHOLD_MS  the threshold (default 10)

The watchdog is installed when `asyncio.events` is first imported, not before, so a
process of the command that never uses asyncio (a build step, a helper script) pays
for one small import and nothing else. A forked child (multiprocessing, pre-fork
servers) restarts the watchdog and writes its own report.
"""

from __future__ import annotations

import os
import sys
from typing import Any

DIR_VARIABLE = "ASYNCMIGRATE_PROFILE_DIR"
THRESHOLD_VARIABLE = "ASYNCMIGRATE_PROFILE_THRESHOLD_MS"
ROOT_VARIABLE = "ASYNCMIGRATE_PROFILE_ROOT"

_installed = False


def _output_path(directory: str) -> str:
    return os.path.join(directory, f"report-{os.getpid()}.json")


def install_from_environment() -> None:
    global _installed
    directory = os.environ.get(DIR_VARIABLE)
    if not directory or _installed:
        return
    _installed = True
    try:
        threshold = float(os.environ.get(THRESHOLD_VARIABLE, "10"))
    except ValueError:
        threshold = 10.0
    if "asyncio.events" in sys.modules:
        _start(directory, threshold)
    else:
        sys.meta_path.insert(0, _AsyncioEventsHook(lambda: _start(directory, threshold)))


def _start(directory: str, threshold: float) -> None:
    from .session import BlockingProfiler

    profiler = BlockingProfiler(threshold, _output_path(directory), flush_interval=2.0)
    try:
        profiler.start()
    except Exception as exc:
        print(f"asyncmigrate profile: the blocking-call finder did not start: {exc!r}", file=sys.stderr)
        return
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: _restart_in_child(profiler, directory))


def _restart_in_child(profiler: Any, directory: str) -> None:
    profiler.after_fork_in_child(_output_path(directory))
    # Forked workers (multiprocessing, pre-fork servers) often end with os._exit,
    # which skips atexit: write the child's report first.
    real_exit = os._exit

    def _exit(status: int) -> None:
        try:
            profiler.stop()
        finally:
            real_exit(status)

    os._exit = _exit


class _AsyncioEventsHook:
    """A one-shot meta-path finder: let the real finders find asyncio.events, and run
    `on_loaded` right after the module has executed."""

    def __init__(self, on_loaded: Any) -> None:
        self._on_loaded = on_loaded

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "asyncio.events":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, self._on_loaded)
                return spec
        return None


class _PatchingLoader:
    def __init__(self, loader: Any, on_loaded: Any) -> None:
        self._loader = loader
        self._on_loaded = on_loaded

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        self._on_loaded()

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for tracebacks
        return getattr(self._loader, name)
