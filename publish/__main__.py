"""python -m publish --db WAREHOUSE --out EXPORTS [--keep N]

Exports the marts of schema bi (see publish/__init__.py). Exit codes: 0 exported, 1 the warehouse cannot be
exported (the message names why), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from publish.export import PublishError, publish

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m publish", description="Export the BI marts.")
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("WAREHOUSE", "warehouse.duckdb")),
                        help="warehouse DuckDB file (default: $WAREHOUSE or warehouse.duckdb)")
    parser.add_argument("--out", type=Path, default=Path("exports"), help="export folder (default: exports)")
    parser.add_argument("--keep", type=int, default=2,
                        help="exported builds kept on disk, the new one included (default: 2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        export = publish(args.db, args.out, keep=args.keep)
    except (PublishError, duckdb.Error, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"exported {len(export.marts)} tables of build {export.build_id} to {export.folder}; "
          f"BI tools read {args.out / 'bi.duckdb'} (read-only) or {args.out / 'current'}/*.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
