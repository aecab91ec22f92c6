"""Run a command; report its wall time, CPU time and peak memory (`python -S bench/spawn.py OUT.json CMD...`).

Two memory figures, because they answer different questions:
- peak_rss_bytes: ru_maxrss from os.wait4, the largest resident set reached by the command or any descendant
  it waited for. Exact, but per process: workers running side by side are not added up.
- peak_tree_bytes: the command's whole process tree, sampled every POLL_SECONDS from /proc: the sum of each
  process's proportional set size (PSS), so pages that forked workers share are counted once. A peak shorter
  than the interval can be missed.

Why a launcher: on Linux a child's ru_maxrss starts at the resident size of the process that spawned it
(exec records the old address space's high-water mark), so a command started straight from a large process
(the benchmark with DuckDB loaded, or pytest) would be charged for its parent's memory. This script is run
without `site` and imports only the standard library's core, so the command starts from a few MiB.
Exits with the command's exit code (128 + signal number when a signal ended it).
"""

import json
import os
import select
import sys
import time

# Linux reports ru_maxrss and /proc memory in KiB.
KIB = 1024
POLL_SECONDS = 0.1


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from every thread's children list; none once the process has gone."""
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as listing:
                found += [int(child) for child in listing.read().split()]
    except OSError:
        return []
    return found


def pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * KIB
    except OSError:
        pass
    return 0


def tree_bytes(root: int) -> int:
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += pss_bytes(pid)
        pending += children(pid)
    return total


def main(argv: list[str]) -> int:
    result_file, cmd = argv[0], argv[1:]
    start = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    # The pidfd turns readable when the command exits, so the end is seen at once, not at the next sample.
    exited = os.pidfd_open(pid)
    peak_tree = 0
    while not select.select([exited], [], [], POLL_SECONDS)[0]:
        peak_tree = max(peak_tree, tree_bytes(pid))
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with open(result_file, "w", encoding="utf-8") as result:
        json.dump({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                   "peak_rss_bytes": usage.ru_maxrss * KIB, "peak_tree_bytes": peak_tree}, result)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
