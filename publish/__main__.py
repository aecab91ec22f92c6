"""python -m publish --db WAREHOUSE --out EXPORTS [--keep N] [--status]

Exports the marts of schema bi (see publish/__init__.py). Exit codes: 0 exported, 1 the warehouse cannot be
exported (the message names why), 2 bad arguments. --status exports nothing: it prints one line saying
whether BI tools read the warehouse's latest build (`make build` shows it after every build).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from publish.build_check import StaleBuildError
from publish.export import SMALL_CELLS_FLAG, PublishError, export_status, publish
from publish.lock import WarehouseBusyError

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m publish", description="Export the BI marts.")
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("WAREHOUSE", "warehouse.duckdb")),
                        help="warehouse DuckDB file (default: $WAREHOUSE or warehouse.duckdb)")
    parser.add_argument("--out", type=Path, default=Path("exports"), help="export folder (default: exports)")
    parser.add_argument("--keep", type=int, default=2,
                        help="exported builds kept on disk, the new one included (default: 2)")
    parser.add_argument(SMALL_CELLS_FLAG, dest="allow_small_cells", action="store_true",
                        help="export marts built with min_cell_size below 11 (publishes small counts)")
    parser.add_argument("--status", action="store_true",
                        help="export nothing; say whether the export holds the warehouse's latest build")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.status:
            print(export_status(args.db, args.out))
            return 0
        export = publish(args.db, args.out, keep=args.keep, allow_small_cells=args.allow_small_cells)
    except StaleBuildError as error:
        print(f"error: nothing exported, the export keeps its current build: {error}", file=sys.stderr)
        return EXIT_ERROR
    except (PublishError, WarehouseBusyError, duckdb.Error, OSError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_ERROR
    print(f"exported {len(export.marts)} tables of build {export.build_id} to {export.folder}; "
          f"BI tools read {args.out / 'bi.duckdb'} (read-only, see docs/bi.md) or "
          f"{args.out / 'current'}/*.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
