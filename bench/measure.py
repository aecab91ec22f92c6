"""Wall time and peak resident memory of child processes.

Each measured command runs as its own child process, started by bench/spawn.py, which samples the memory of
its process tree and reaps it with os.wait4 for its CPU time and largest resident set (see spawn.py).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SPAWN_SCRIPT = Path(__file__).resolve().parent / "spawn.py"
_LOG_TAIL_CHARS = 4000


class StageError(RuntimeError):
    """A measured command exited with an error; the message names the command, its log and the log's tail."""


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    peak_rss_bytes: int
    # User + system time of the process tree: steadier than wall time on a machine others are using.
    cpu_seconds: float = 0.0
    # The process tree's summed memory, sampled (see spawn.py); peak_rss_bytes is its largest process.
    peak_tree_bytes: int = 0


def _log_tail(log_path: Path) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return text[-_LOG_TAIL_CHARS:]


def run_measured(cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path) -> ProcessRun:
    """Run `cmd` to completion with its output in `log_path`; raise StageError when it fails."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result_file = log_path.with_name(log_path.name + ".rusage.json")
    result_file.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        # -S: without `site` the launcher stays a few MiB, which is all the command inherits (see spawn.py).
        launcher = subprocess.run([sys.executable, "-S", str(SPAWN_SCRIPT), str(result_file), *cmd],
                                  cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, check=False)
    if launcher.returncode != 0:
        raise StageError(
            f"command failed with exit code {launcher.returncode}: {' '.join(cmd)}\n"
            f"full output: {log_path}\n--- last lines ---\n{_log_tail(log_path)}"
        )
    measured = json.loads(result_file.read_text(encoding="utf-8"))
    return ProcessRun(seconds=measured["seconds"], peak_rss_bytes=measured["peak_rss_bytes"],
                      cpu_seconds=measured["cpu_seconds"], peak_tree_bytes=measured["peak_tree_bytes"])


def combine_sequential(runs: Sequence[ProcessRun]) -> ProcessRun:
    """Commands run one after another: their times add up, memory peaks at the largest of them."""
    return ProcessRun(seconds=sum(run.seconds for run in runs),
                      peak_rss_bytes=max(run.peak_rss_bytes for run in runs),
                      cpu_seconds=sum(run.cpu_seconds for run in runs),
                      peak_tree_bytes=max(run.peak_tree_bytes for run in runs))


def repeat_measurement(run_once: Callable[[], ProcessRun], repeats: int,
                       slow_seconds: float) -> list[ProcessRun]:
    """Up to `repeats` runs; a first run taking `slow_seconds` or more is the only one."""
    runs = [run_once()]
    while len(runs) < repeats and runs[0].seconds < slow_seconds:
        runs.append(run_once())
    return runs


@dataclass(frozen=True)
class Timing:
    """Several measurements of one quantity, summarised the way the report shows them."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def minimum(self) -> float:
        return min(self.seconds)

    @property
    def maximum(self) -> float:
        return max(self.seconds)

    @property
    def runs(self) -> int:
        return len(self.seconds)


def python_module_cmd(module: str, *args: str) -> list[str]:
    """`python -m module args` with the interpreter running the benchmark (the project's venv)."""
    return [sys.executable, "-m", module, *args]
