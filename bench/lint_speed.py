"""How fast asyncmigrate lints, cold, warm, after a one-line edit and with one file
named (what pre-commit does), side by side with Ruff `--select ASYNC`, flake8 +
flake8-async and Fixit, in one run.

    python bench/lint_speed.py                          # HA 2024.3.3 (120k subset), Django 5.2.8
    python bench/lint_speed.py --corpus ha=/tmp/real/homeassistant-2024.3.3 --no-peers

Corpora come from the registry (`pip download --no-deps` of a pinned wheel into
bench/.corpus/, unpacked there): `ha120k` is Home Assistant's core plus the
integrations `a*` (the 120k-line corpus of issue 12), `ha` the whole package,
`django` a mostly-sync code base. `--corpus NAME=DIR` uses a directory already on
disk instead (NAME decides nothing but the label). The peers run from their own
virtualenv (bench/.corpus/tools-venv, as bench/lint_corpus.py makes it).

Each run is one child process, timed for wall time, CPU time (user + system of it
and its workers, from wait4) and peak resident memory. The script also checks that
asyncmigrate's findings are the same, finding for finding, cold, warm and with
--no-cache (and after the edit, against --no-cache of the edited tree).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint_corpus import CORPUS, HERE, count, tools_venv, unpack_wheel  # noqa: E402

PINNED = {"ha": "homeassistant==2024.3.3", "ha120k": "homeassistant==2024.3.3", "django": "django==5.2.8"}
#: the module edited and the file named, per corpus (relative to its root)
EDITED = {
    "ha": "homeassistant/components/airly/sensor.py",
    "ha120k": "homeassistant/components/airly/sensor.py",
    "django": "django/utils/text.py",
}
NAMED = {"ha": "homeassistant/core.py", "ha120k": "homeassistant/core.py", "django": "django/db/models/base.py"}


@dataclass
class Timing:
    label: str
    wall: float
    cpu: float
    peak_mb: float
    status: int
    stdout: str = ""


def run(label: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Timing:
    """Run `cmd` once; its wall time, CPU time and peak memory (wait4's rusage of
    the child covers the workers it waited for)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    if child.returncode not in (0, 1):
        print(f"  ! {label}: exit {child.returncode}: {stderr.strip()[-400:]}", file=sys.stderr)
    # ru_maxrss is in KiB on Linux
    return Timing(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode, stdout)


def fetch_pinned(name: str) -> Path:
    """The corpus `name`, downloaded and unpacked once under bench/.corpus/."""
    spec = PINNED[name]
    package, version = spec.split("==")
    unpacked = unpack_wheel(spec, CORPUS / f"{package}-{version}")
    if name != "ha120k":
        return unpacked
    return subset_120k(unpacked, CORPUS / "ha120k")


def subset_120k(ha: Path, target: Path) -> Path:
    """Home Assistant's core (everything but the integrations) plus the
    integrations whose name starts with `a`."""
    if target.exists():
        return target
    package = ha / "homeassistant"
    (target / "homeassistant" / "components").mkdir(parents=True)
    shutil.copy(ha / "pyproject.toml", target / "pyproject.toml")
    for entry in package.iterdir():
        if entry.name == "components":
            continue
        copy = shutil.copytree if entry.is_dir() else shutil.copy
        copy(entry, target / "homeassistant" / entry.name)
    shutil.copy(package / "components" / "__init__.py", target / "homeassistant" / "components")
    for entry in sorted((package / "components").glob("a*")):
        shutil.copytree(entry, target / "homeassistant" / "components" / entry.name)
    return target


def asyncmigrate_runs(
    name: str, root: Path, jobs: int, check: bool, edit: bool = True
) -> tuple[list[Timing], list[str]]:
    """Cold, warm, one-line edit, one file named; and the identity checks."""
    cache = Path(tempfile.mkdtemp(prefix="am-bench-cache-"))
    env = dict(os.environ, ASYNCMIGRATE_CACHE_DIR=str(cache))
    lint = [sys.executable, "-m", "lint_rules", "--format", "json", "--jobs", str(jobs)]
    notes = []
    try:
        cold = run("asyncmigrate cold", [*lint, "."], root, env)
        warm = run("asyncmigrate warm, nothing changed", [*lint, "."], root, env)
        timings = [cold, warm]
        if check:
            uncached = run("asyncmigrate --no-cache", [*lint, "--no-cache", "."], root, env)
            timings.append(uncached)
            same = cold.stdout == warm.stdout == uncached.stdout
            notes.append(f"{name}: cold, warm and --no-cache findings identical: {same} "
                         f"({len(json.loads(cold.stdout or '[]'))} findings)")
        if edit:
            timings += edited_run(name, root, lint, env, check, notes)
        named = NAMED[name]
        run("(warm up)", [*lint, "."], root, env)
        first = run("asyncmigrate one file named, first run", [*lint, named], root, env)
        again = run("asyncmigrate one file named, warm", [*lint, named], root, env)
        timings += [first, again]
        # What pre-commit really sees: the file named is the one that changed.
        named_path = root / named
        original = named_path.read_bytes()
        try:
            named_path.write_bytes(original + b"\n_ASYNCMIGRATE_BENCH_EDIT = 1\n")
            timings.append(run("asyncmigrate one file named, just edited", [*lint, named], root, env))
        finally:
            named_path.write_bytes(original)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return timings, notes


def edited_run(
    name: str, root: Path, lint: list[str], env: dict[str, str], check: bool, notes: list[str]
) -> list[Timing]:
    """The whole tree linted again after a one-line edit to one module (restored after)."""
    edited = root / EDITED[name]
    original = edited.read_bytes()
    try:
        edited.write_bytes(original + b"\n_ASYNCMIGRATE_BENCH_EDIT = 1\n")
        edit = run("asyncmigrate after a one-line edit", [*lint, "."], root, env)
        if check:
            fresh = run("(--no-cache on the edited tree)", [*lint, "--no-cache", "."], root, env)
            notes.append(f"{name}: one-line-edit findings identical to --no-cache: {edit.stdout == fresh.stdout}")
    finally:
        edited.write_bytes(original)
    return [edit]


def peer_runs(root: Path, jobs: int) -> list[Timing]:
    tools = tools_venv()
    return [
        # --isolated: the corpus's own settings (Home Assistant's select rules this
        # Ruff no longer has) are not what is measured
        run("ruff --select ASYNC (no cache)",
            [tools / "ruff", "check", "--isolated", "--select", "ASYNC", "--no-cache", "--quiet", "."], root),
        run("flake8 + flake8-async",
            [tools / "flake8", "--isolated", "--select", "ASYNC", "-j", str(jobs), "."], root),
        run("fixit (UseAsyncSleepInAsyncDef)",
            [tools / "fixit", "--config-file", str(HERE / "fixit.toml"), "lint", "."], root),
    ]


def table(name: str, root: Path, timings: list[Timing]) -> str:
    files, lines = count(root)
    cold = next((t for t in timings if t.label == "asyncmigrate cold"), None)
    out = [f"\n### {name}: {files} files, {lines:,} lines ({root})\n",
           "| run | wall s | CPU s | lines / CPU-s | peak MB | wall / asyncmigrate cold |",
           "|---|---:|---:|---:|---:|---:|"]
    for t in timings:
        if t.label.startswith("("):
            continue
        rate = lines / t.cpu if t.cpu else float("nan")
        ratio = t.wall / cold.wall if cold else float("nan")
        out.append(f"| {t.label} | {t.wall:.2f} | {t.cpu:.2f} | {rate:,.0f} | {t.peak_mb:.0f} | {ratio:.3g}x |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="asyncmigrate lint speed, side by side")
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME[=DIR]",
                        help="ha120k, ha or django, optionally from a directory on disk (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-peers", action="store_true", help="time asyncmigrate only")
    parser.add_argument("--no-check", action="store_true", help="skip the --no-cache identity runs")
    parser.add_argument("--no-edit", action="store_true",
                        help="skip the whole-tree run after a one-line edit (minutes on the whole of HA)")
    args = parser.parse_args()
    corpora = args.corpus or ["ha120k", "django"]
    print(f"{os.cpu_count()} CPUs, jobs={args.jobs}, Python {sys.version.split()[0]}")
    for spec in corpora:
        name, _, directory = spec.partition("=")
        if name not in EDITED:
            parser.error(f"unknown corpus {name!r} (ha120k, ha, django)")
        root = Path(directory).resolve() if directory else fetch_pinned(name)
        timings, notes = asyncmigrate_runs(name, root, args.jobs, not args.no_check, not args.no_edit)
        if not args.no_peers:
            timings += peer_runs(root, args.jobs)
        print(table(name, root, timings))
        for note in notes:
            print(f"- {note}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
