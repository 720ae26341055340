"""Lint a large real code base; print files, lines, seconds and lines/second, cold and
warm, side by side with the tools users would otherwise run.

    python bench/lint_corpus.py                    # Django from PyPI, all cores
    python bench/lint_corpus.py --package sqlalchemy --jobs 1 --no-compare

The corpus is downloaded once (`pip download --no-deps`) into bench/.corpus/ and
unpacked there, and the compared tools are installed into their own virtualenv
there (bench/.corpus/tools-venv); nothing of it is committed. "Cold" removes asyncmigrate's index
cache first; "warm" runs again on the unchanged tree. The comparison runs Ruff's
ASYNC rules, flake8 with flake8-async, and Fixit's bundled async rule, each on the
same tree, and reports asyncmigrate's time as a ratio to theirs (they do less: no
cross-module analysis, and a short hard-coded list of calls).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / ".corpus"


def unpack_wheel(spec: str, target: Path) -> Path:
    """The wheel of `spec` ("django" or "django==5.2.8") from the registry, unpacked
    into `target` as a project of its own (once: an existing `target` is kept)."""
    if target.exists():
        return target
    package, _, version = spec.partition("==")
    download = CORPUS / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
         "-d", str(download), spec],
        check=True,
    )
    prefix = f"{package.replace('-', '_')}-{version + '-' if version else ''}".lower()
    wheels = [w for w in download.glob("*.whl") if w.name.lower().startswith(prefix)]
    wheel = max(wheels, key=os.path.getmtime)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    (target / "pyproject.toml").write_text(f"[project]\nname = 'corpus-{package}'\n")
    return target


def fetch(package: str) -> Path:
    return unpack_wheel(package, CORPUS / package)


def tools_venv() -> Path:
    """A separate virtualenv with the tools compared against. It must not contain
    asyncmigrate: flake8 runs every installed plugin whatever `--select` says, so
    asyncmigrate's own flake8 plugin would be timed as part of flake8."""
    venv = CORPUS / "tools-venv"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    if not (bin_dir / "fixit").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "ruff",
                        "flake8", "flake8-async", "fixit"], check=True)
    return bin_dir


def count(root: Path) -> tuple[int, int]:
    files = lines = 0
    for path in root.rglob("*.py"):
        files += 1
        with open(path, "rb") as f:
            lines += sum(1 for _ in f)
    return files, lines


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        print(f"  ! {' '.join(cmd[:4])} exited {result.returncode}: {result.stderr.strip()[:300]}")
    return elapsed, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description="asyncmigrate lint benchmark")
    parser.add_argument("--package", default="django", help="PyPI package to use as corpus")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: all cores)")
    parser.add_argument("--no-compare", action="store_true", help="skip Ruff/flake8-async/Fixit")
    args = parser.parse_args()

    root = fetch(args.package)
    files, lines = count(root)
    print(f"corpus: {args.package} ({root}) — {files} files, {lines} lines")
    lint = [sys.executable, "-m", "lint_rules", ".", "--jobs", str(args.jobs), "--format", "json"]
    from asyncmigrate.index.store import cache_dir  # in the user's cache directory

    cache = cache_dir(root)
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    cold, _ = timed(lint, root)
    warm, _ = timed(lint, root)
    rows = [("asyncmigrate (cold)", cold), ("asyncmigrate (warm cache)", warm)]

    if not args.no_compare:
        tools = tools_venv()
        others = {
            "ruff --select ASYNC": [tools / "ruff", "check", "--select", "ASYNC", "--no-cache", "--quiet", "."],
            "flake8 + flake8-async": [tools / "flake8", "--select", "ASYNC", "-j",
                                      str(args.jobs or os.cpu_count()), "."],
            "fixit (UseAsyncSleepInAsyncDef)": [tools / "fixit", "--config-file", str(HERE / "fixit.toml"),
                                                "lint", "."],
        }
        for name, cmd in others.items():
            seconds, _ = timed([str(part) for part in cmd], root)
            rows.append((name, seconds))

    print("\n| tool | seconds | lines/s | asyncmigrate warm / tool |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        ratio = warm / seconds if seconds else float("nan")
        print(f"| {name} | {seconds:.2f} | {lines / seconds:,.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
