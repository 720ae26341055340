"""Installed by `asyncmigrate profile` (this directory goes first on PYTHONPATH): start
the blocking-call finder in every Python process of the profiled command, then run
the sitecustomize this one shadows, if there is one."""

import os
import sys


def _start_finder() -> None:
    try:
        from asyncmigrate.profiler import environment
    except ImportError:
        # the profiled command runs another interpreter or environment: use the
        # asyncmigrate that started it (the finder needs only the standard library)
        root = os.environ.get("ASYNCMIGRATE_PROFILE_ROOT")
        if not root:
            raise
        # Only long enough to import the package: its submodules are found through
        # the package's own path, and the root may be another interpreter's
        # site-packages, which must not shadow this one's modules.
        sys.path.append(root)
        try:
            from asyncmigrate.profiler import environment
        finally:
            sys.path.remove(root)
    environment.install_from_environment()


def _run_shadowed_sitecustomize() -> None:
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


try:
    _start_finder()
except Exception as exc:  # never stop the user's program from starting
    print(f"asyncmigrate profile: the blocking-call finder did not start: {exc!r}", file=sys.stderr)
_run_shadowed_sitecustomize()
