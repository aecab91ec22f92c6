"""python -m report [--exports EXPORTS] [--out FILE] [--docs target/static_index.html]

Writes the population report from the BI export. Exit codes: 0 written, 1 no usable export, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from report.page import REPORT_FILE, write_report
from report.source import ExportMissingError, read_export

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m report", description="Write the population report.")
    parser.add_argument(
        "--exports",
        type=Path,
        default=Path("exports"),
        help="export folder written by python -m publish (default: exports)",
    )
    parser.add_argument("--out", type=Path, help=f"report file (default: EXPORTS/{REPORT_FILE})")
    parser.add_argument(
        "--docs",
        type=Path,
        default=Path("target/static_index.html"),
        help="dbt docs page the report links to (default: target/static_index.html, see make docs)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        export = read_export(args.exports)
    except ExportMissingError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    out = write_report(export, args.out or args.exports / REPORT_FILE, args.docs)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; open it in a browser, it needs no network)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
