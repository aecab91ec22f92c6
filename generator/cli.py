"""Command line of the synthetic MIMIC-IV generator.

    python -m generator --patients N --seed S --db PATH [--release-end-year Y]
                        [--csv-dir DIR [--overwrite-csv-dir]]
                        [--skip-if-current]

Bad arguments end with one error line and exit status 2; a generation that cannot complete ends with one
error line and exit status 1, leaving the warehouse as it was. The run holds the warehouse's pipeline lock
(publish/lock.py), and records the generation in pipeline_log.raw_loads (generator/load_log.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.warehouse import Generation

PROG = "generator"
# Below this many patients a run takes a second or two and needs no progress lines.
PROGRESS_MIN_PATIENTS = 100_000
MAX_SEED = 2**63 - 1


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is a single line on stderr (no usage block) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_patients(text: str) -> int:
    from generator.pipeline import MAX_PATIENTS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 < value <= MAX_PATIENTS:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..{MAX_PATIENTS:,}")
    return value


def seed_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..{MAX_SEED}")
    return value


def release_end_year(text: str) -> int:
    from generator.vocab import RELEASE_END_YEARS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    first, last = RELEASE_END_YEARS
    if not first <= value <= last:
        raise argparse.ArgumentTypeError(f"{value} is outside {first}..{last}")
    return value


def writable_file(text: str) -> Path:
    path = Path(text)
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist")
    if path.exists() and not path.is_file():
        raise argparse.ArgumentTypeError(f"{path} is not a file")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{path} is not writable")
    return path


def writable_folder(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is not a folder")
    existing = path if path.exists() else path.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"folder {existing} does not exist")
    if not os.access(existing, os.W_OK):
        raise argparse.ArgumentTypeError(f"{existing} is not writable")
    return path


def refuse_mixed_csv_dir(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--csv-dir must be empty (or absent) unless --overwrite-csv-dir: new files written among old ones make a
    folder that is neither generation, and a leftover plain .csv beside a new .csv.gz stops the loader."""
    if args.csv_dir is None or not args.csv_dir.is_dir() or args.overwrite_csv_dir:
        return
    present = sorted(path.relative_to(args.csv_dir).as_posix() for path in args.csv_dir.rglob("*")
                     if not path.is_dir())
    if present:
        shown = ", ".join(present[:3]) + (f" and {len(present) - 3} more" if len(present) > 3 else "")
        parser.error(f"--csv-dir {args.csv_dir} is not empty (it holds {shown}); choose an empty folder or "
                     "pass --overwrite-csv-dir to replace the generated files in it")


def build_parser() -> argparse.ArgumentParser:
    from generator.vocab import DEFAULT_RELEASE_END_YEAR

    parser = OneLineParser(prog=PROG, description="Write a synthetic population shaped exactly like MIMIC-IV "
                                                  "(hosp and icu tables) into a DuckDB warehouse.")
    parser.add_argument("--patients", required=True, type=positive_patients, help="number of patients")
    parser.add_argument("--seed", required=True, type=seed_value, help="random seed (same seed, same data)")
    parser.add_argument("--db", required=True, type=writable_file, help="DuckDB file to write")
    parser.add_argument("--release-end-year", type=release_end_year, default=DEFAULT_RELEASE_END_YEAR,
                        help="last real calendar year of the release the population imitates, 2019 (MIMIC-IV "
                             "v1.0-v2.2, like the open demo) to 2022 (v3.0-v3.1, the default): no admission "
                             "lies after it and no anchor_year_group starts after it")
    parser.add_argument("--csv-dir", type=writable_folder,
                        help="also write PhysioNet's file layout (hosp/*.csv.gz, icu/icustays.csv.gz) here")
    parser.add_argument("--overwrite-csv-dir", action="store_true",
                        help="write into a --csv-dir that already holds files, replacing the generated ones")
    parser.add_argument("--skip-if-current", action="store_true",
                        help="do nothing when the warehouse already holds this generation")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(arguments)
    refuse_mixed_csv_dir(parser, args)
    import duckdb

    from generator.datafiles import DataFileError
    from generator.errors import GenerationError
    from publish.lock import WarehouseBusyError, in_use_message, warehouse_lock

    progress = stderr_progress if args.patients >= PROGRESS_MIN_PATIENTS else silent
    try:
        with warehouse_lock(args.db, f"python -m {PROG} {' '.join(arguments)}"):
            run(args, progress)
    except duckdb.Error as error:
        message = in_use_message(args.db, error) or " ".join(str(error).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except (GenerationError, DataFileError, WarehouseBusyError, OSError) as error:
        message = " ".join(str(error).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace, progress: Callable[[str], None]) -> None:
    from generator.pipeline import GENERATOR_VERSION
    from generator.warehouse import Generation, export_csv, holds_generation

    wanted = Generation(GENERATOR_VERSION, args.patients, args.seed, args.release_end_year)
    if args.skip_if_current and holds_generation(args.db, wanted):
        print(f"{args.db} already holds generator {GENERATOR_VERSION} data for {args.patients:,} patients "
              f"with seed {args.seed} and release end year {args.release_end_year}; left as it is")
    else:
        started = time.perf_counter()
        written = generate(args.db, wanted, progress)
        print(f"wrote {written.patients:,} patients, {written.admissions:,} admissions, "
              f"{written.diagnoses:,} diagnoses and {written.icu_stays:,} ICU stays (seed {written.seed}, "
              f"release end year {written.release_end_year}) "
              f"to {args.db} in {time.perf_counter() - started:.1f} s")
    if args.csv_dir is not None:
        files = export_csv(args.db, args.csv_dir)
        progress(f"wrote {len(files)} files under {args.csv_dir}")


def generate(db_path: Path, wanted: Generation, progress: Callable[[str], None]) -> Generation:
    """Simulate and write the generation. The warehouse is opened first, so that a file that cannot be used
    fails at once; a warehouse file this run created is removed again when the run fails."""
    import duckdb

    from generator.icd10 import shipped_dictionary
    from generator.pipeline import dictionary_table, prefetched, prepare, simulate_chunks
    from generator.warehouse import write_generation

    created = not db_path.exists()
    try:
        with duckdb.connect(str(db_path)) as con:
            simulation = prepare(wanted.seed, wanted.release_end_year)
            progress(f"simulating {wanted.patients:,} patients")
            chunks = prefetched(simulate_chunks(simulation, wanted.patients, wanted.seed))
            with contextlib.closing(chunks):
                return write_generation(
                    con, chunks, lambda: dictionary_table(simulation, *shipped_dictionary()), wanted, progress
                )
    except BaseException:
        if created:
            for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise


def stderr_progress(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def silent(message: str) -> None:
    """Progress sink of small runs."""
