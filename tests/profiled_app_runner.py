"""Running fixtures/profiled_app under `asyncmigrate profile` for the profiler tests:
the slow upstream server it talks to, the run itself, and the `# BLOCKS:` /
`# AWAITS:` markers that say what the report must (not) contain."""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from pathlib import Path

from conftest import run_cli

MARKER = re.compile(r"#\s*(BLOCKS|AWAITS):\s*([\w -]+?)\s*$")


def markers(root: Path) -> dict[str, dict[str, tuple[str, int]]]:
    """{"BLOCKS": {name: (abs file, line)}, "AWAITS": {...}} from the app's comments."""
    found: dict[str, dict[str, tuple[str, int]]] = {"BLOCKS": {}, "AWAITS": {}}
    for path in sorted(root.rglob("*.py")):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            match = MARKER.search(text)
            if match:
                found[match.group(1)][match.group(2)] = (str(path.resolve()), number)
    return found


def profile(*args: str, cwd: Path):
    """`asyncmigrate profile ARGS` (as `python -m asyncmigrate.profiler`)."""
    return run_cli(*args, cwd=cwd, module="asyncmigrate.profiler")


def profile_app(app: Path, report: Path, *, threshold: str = "25"):
    """Profile the app (a copy of fixtures/profiled_app) once; return (process, report).

    Every deliberate block lasts 50 ms or more; the 25 ms threshold keeps a step that
    a busy test machine merely descheduled for a while out of the report."""
    workdir = report.parent / "work"
    workdir.mkdir(exist_ok=True)
    with SlowUpstream(delay=0.15) as upstream:
        result = profile("--threshold", threshold, "--output", str(report), "--",
                         sys.executable, "-m", "profiled_app", "--port", str(upstream.port),
                         "--workdir", str(workdir), cwd=app)
    assert result.returncode == 0, result.stderr
    return result, json.loads(report.read_text())


class SlowUpstream:
    """A line-based TCP server on 127.0.0.1 that answers each `QUOTE ...` line after
    a delay, so a blocking client holds its event loop that long."""

    def __init__(self, delay: float = 0.15) -> None:
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SlowUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                line = conn.makefile("rb").readline()
                self._stop.wait(self.delay)
                conn.sendall(b"OK " + line)
            except OSError:
                pass
