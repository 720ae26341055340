"""Overhead of the runtime blocking-call finder on a healthy (non-blocking) loop.

    python bench/profile_overhead.py [--repeat 7] [--threshold 10]

Two workloads, each timed without and with the finder (`asyncmigrate.profiler.watch`)
in alternation, best of --repeat runs each:

- `echo`: a TCP echo server on 127.0.0.1 and 50 clients with asyncio streams, each
  sending 200 small messages (a realistic server loop: I/O callbacks, task steps,
  stream buffers);
- `steps`: 1000 tasks doing `await asyncio.sleep(0)` 200 times (the worst case: a
  loop step that does almost nothing, so the per-step wrapper is most visible).

Prints wall and CPU time per run and the with/without ratios for each.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from asyncmigrate import profiler


async def _echo_workload(clients: int = 50, messages: int = 200) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(messages):
            writer.write(b"ping %d\n" % i)
            await writer.drain()
            await reader.readline()
        writer.close()
        await writer.wait_closed()

    async with server:
        await asyncio.gather(*(client() for _ in range(clients)))


async def _steps_workload(tasks: int = 1000, steps: int = 200) -> None:
    async def worker() -> None:
        for _ in range(steps):
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(tasks)))


WORKLOADS = {"echo": _echo_workload, "steps": _steps_workload}


def _timed(workload, watched: bool, threshold: float) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the whole process, slow steps reported)."""
    wall, cpu = time.perf_counter(), time.process_time()
    slow = 0
    if watched:
        with profiler.watch(threshold_ms=threshold) as watch:
            asyncio.run(workload())
        # the workload never blocks: a report here is the machine (a busy CPU
        # descheduling the loop thread) or a garbage collection
        slow = sum(site.count for site in watch.report().sites)
    else:
        asyncio.run(workload())
    return time.perf_counter() - wall, time.process_time() - cpu, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=10.0, help="ms (default 10)")
    args = parser.parse_args()
    print(f"best of {args.repeat}; CPU time is the process's (the watchdog thread included) "
          "and is the steadier figure on a busy machine")
    for name, workload in WORKLOADS.items():
        _timed(workload, False, args.threshold)  # warm up (imports, caches)
        plain, watched, slow = [], [], 0
        for _ in range(args.repeat):
            plain.append(_timed(workload, False, args.threshold))
            run = _timed(workload, True, args.threshold)
            watched.append(run)
            slow += run[2]
        wall_plain, wall_watched = min(r[0] for r in plain), min(r[0] for r in watched)
        cpu_plain, cpu_watched = min(r[1] for r in plain), min(r[1] for r in watched)
        print(f"{name:6} wall {wall_plain * 1000:7.1f} -> {wall_watched * 1000:7.1f} ms  ratio {wall_watched / wall_plain:.3f}"
              f"   cpu {cpu_plain * 1000:7.1f} -> {cpu_watched * 1000:7.1f} ms  ratio {cpu_watched / cpu_plain:.3f}"
              f"   slow steps seen: {slow}")


if __name__ == "__main__":
    main()
