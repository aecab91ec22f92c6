"""The machine and software a benchmark ran on, so its numbers can be compared with later runs."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb", "scikit-learn", "pandas", "numpy")


def _proc_field(path: Path, key: str) -> str | None:
    """First `key: value` line of a /proc file (Linux), or None elsewhere."""
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def _memory_gib() -> str:
    total_kib = _proc_field(Path("/proc/meminfo"), "MemTotal")
    return f"{int(total_kib.split()[0]) / 2**20:.1f} GiB" if total_kib else "unknown"


def _git_commit(repo_root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return f"{commit} (with uncommitted changes)" if git("status", "--porcelain") else commit


def describe_machine(repo_root: Path) -> dict[str, str]:
    load_1, load_5, _ = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _proc_field(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown",
        "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable",
        "memory": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        **{package: version(package) for package in PACKAGES},
        "commit": _git_commit(repo_root),
        "load_average_at_start": f"{load_1:.2f} (1 min), {load_5:.2f} (5 min)",
    }
