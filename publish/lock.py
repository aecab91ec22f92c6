"""One pipeline at a time per warehouse: a lock held from the load to the export.

    python -m publish.lock --db WAREHOUSE [--read-only] -- COMMAND [ARG ...]

runs COMMAND while holding the warehouse's lock, the file <warehouse>.lock beside it. The loader, the
generator and the export take the same lock themselves, so a second `make run`, or a load started by hand
while a build runs, stops at once with one line naming the holder (pid, command, start time) instead of
swapping the raw tables under a running build.

The lock is an advisory `flock` on that file: the kernel releases it when the holder exits, however it exits,
so a crashed or killed run never leaves a lock behind. The file also records the holder; a record left by a
holder that died (kill -9) is reported once and replaced.

Commands started under the lock inherit it through the environment variable PIPELINE_LOCK (the lock file and
a token), so `make run` takes it once and its steps (load, dbt build, export) run inside it.

Before COMMAND starts, the warehouse file is opened once: when another process (a DuckDB shell, a notebook, a
dashboard) holds it, the command is not started and one line says so, rather than dbt's long traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ENV_VAR = "PIPELINE_LOCK"
LOCK_SUFFIX = ".lock"
# DuckDB's message when another process holds the database file, e.g. "Could not set lock on file
# "/w.duckdb": Conflicting lock is held in /usr/bin/python3.11 (PID 4242) by user ana. See also ..."
_DUCKDB_CONFLICT = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseBusyError(RuntimeError):
    """Another pipeline or process holds the warehouse; the message names it."""


@dataclass(frozen=True)
class Lease:
    """A held lock: the value of PIPELINE_LOCK for commands run inside it, and the locked file descriptor
    (None when the lock is inherited from a parent)."""

    env_value: str
    fd: int | None


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    started_at: str
    token: str

    def describe(self) -> str:
        return f"pid {self.pid}, `{self.command}`, running since {self.started_at}"


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + LOCK_SUFFIX)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(fd: int) -> Holder | None:
    """The holder recorded in the lock file, or None when it is empty or unreadable (being written)."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 65536).decode("utf-8", errors="replace")
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return None


def write_holder(fd: int, holder: Holder | None) -> None:
    os.ftruncate(fd, 0)
    if holder is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(holder.__dict__).encode())


def inherited(path: Path, fd: int) -> bool:
    """True when this process runs under the holder of `path` (PIPELINE_LOCK names the file and its token)."""
    value = os.environ.get(ENV_VAR, "")
    file_name, _, token = value.rpartition(":")
    if not file_name or Path(file_name) != path.resolve():
        return False
    holder = read_holder(fd)
    return holder is not None and holder.token == token and pid_alive(holder.pid)


@contextlib.contextmanager
def warehouse_lock(warehouse: Path, command: str) -> Iterator[Lease]:
    """Hold the warehouse's lock for the block.

    Raises WarehouseBusyError at once when another pipeline holds it."""
    path = lock_path(warehouse)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if inherited(path, fd):
            yield Lease(os.environ[ENV_VAR], None)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(fd)
            who = holder.describe() if holder else "a process that is still starting"
            raise WarehouseBusyError(f"{warehouse} is in use by another pipeline ({who}); "
                                "wait for it to finish, then run again") from None
        stale = read_holder(fd)
        if stale is not None:
            # flock is free, so whoever is recorded here has died without clearing the record.
            print(f"note: the previous holder of {path} ({stale.describe()}) ended without releasing it "
                  "(killed?); its partial work is not trusted by publish", file=sys.stderr)
        holder = Holder(os.getpid(), command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                        secrets.token_hex(8))
        write_holder(fd, holder)
        try:
            yield Lease(f"{path.resolve()}:{holder.token}", fd)
        finally:
            write_holder(fd, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def in_use_message(warehouse: Path, error: duckdb.Error) -> str | None:
    """One line for DuckDB's 'Could not set lock on file' (another process has the file open), else None."""
    match = _DUCKDB_CONFLICT.search(str(error))
    if match is None:
        return None
    return (f"{warehouse} is open in another process ({Path(match['program']).name}, PID {match['pid']}): "
            "close it (a DuckDB shell, notebook or dashboard holding the warehouse) and run again")


def check_openable(warehouse: Path, read_only: bool) -> None:
    """Open and close the warehouse once, so that a file held by another process fails here in one line."""
    if not warehouse.exists():
        return
    try:
        duckdb.connect(str(warehouse), read_only=read_only).close()
    except duckdb.Error as error:
        message = in_use_message(warehouse, error)
        if message is None:
            raise
        raise WarehouseBusyError(message) from error


def run_locked(warehouse: Path, command: Sequence[str], read_only: bool = False) -> int:
    """Run `command` holding the warehouse's lock; returns its exit status."""
    with warehouse_lock(warehouse, shlex.join(command)) as lease:
        check_openable(warehouse, read_only)
        # The child holds the locked descriptor too: should this process be killed, the lock lasts as long
        # as the command still runs.
        child = subprocess.Popen(list(command), env={**os.environ, ENV_VAR: lease.env_value},
                                 pass_fds=() if lease.fd is None else (lease.fd,))
        # The child gets Ctrl-C from the terminal itself; the lock is released only after it has exited.
        forwarded = {sig: signal.signal(sig, lambda number, _: child.send_signal(number))
                     for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            return child.wait()
        finally:
            for sig, handler in forwarded.items():
                signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m publish.lock",
                                     description="Run a command holding the warehouse's pipeline lock.")
    parser.add_argument("--db", type=Path, required=True, help="warehouse DuckDB file")
    parser.add_argument("--read-only", action="store_true",
                        help="the command only reads the warehouse (readers elsewhere may keep it open)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG ...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (usage: python -m publish.lock --db PATH -- COMMAND ...)")
    try:
        return run_locked(args.db, command, args.read_only)
    except WarehouseBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot run {shlex.join(command)} under the lock of {args.db}: {error}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
