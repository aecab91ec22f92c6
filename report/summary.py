"""The closing summary of `make run`: what was built, where it is, and what to try next. Read from the BI
export, like the report, so it never shows more than BI users may see."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from report import formatting as fmt
from report.source import Export

NEXT_COMMANDS = (
    ("make sql", "ad-hoc SQL on the BI export (read-only; never blocks a build)"),
    ("make docs-serve", "browse every model and column definition (dbt docs)"),
    (
        "cp settings.example.yml settings.yml",
        "keep your own settings (tier cut-offs, cell-size floor, costs)",
    ),
    ("make build", "rebuild after a change: warehouse, export and report together"),
    ("make help", "every command"),
)


def segment_lines(export: Export) -> list[str]:
    matrix = export.tables["segment_tier_matrix"]
    segments = matrix[matrix["row_type"] == "segment_total"].sort_values(
        "n_patients", ascending=False, na_position="last"
    )
    floor = export.min_cell_size
    return [
        f"{fmt.count(row.n_patients, floor):>10}  {fmt.percent(row.share_of_population):>7}  "
        f"{row.segment_name}"
        for row in segments.itertuples()
    ]


def method_line(export: Export) -> str:
    method = export.value("build_info", "segmentation_method") or export.value(
        "build_info", "selected_algorithm"
    )
    reason = export.value("build_info", "segmentation_reason")
    return (
        f"{method}: {reason}"
        if reason
        else f"{method} (chosen by the rule in cluster_evaluation's description)"
    )


def summary_text(export: Export, report_file: Path, log_file: Path, warnings: list[str],
                 notes: Sequence[tuple[str, str]] = ()) -> str:
    """The summary; `notes` are further (label, text) lines, such as the engine that built the marts."""
    floor = export.min_cell_size
    kpis = export.tables["population_kpis"]
    overall = kpis[kpis["dimension"] == "overall"].iloc[0]
    source = export.value("build_info", "data_source")
    lines = [
        "",
        "Summary",
        f"  Population  {fmt.count(overall['n_patients'], floor)} patients, "
        f"{fmt.count(overall['n_admissions'], floor)} admissions" + (f" ({source})" if source else ""),
        f"  Method      {method_line(export)}",
        "  Segments",
        *(f"    {line}" for line in segment_lines(export)),
        f"  Warnings    {len(warnings) or 'none'}",
        *(f"    {warning}" for warning in warnings),
        f"  Report      {report_file.resolve()}",
        f"  Export      {(export.folder / 'bi.duckdb').resolve()} (BI tools, read-only) and "
        f"{export.folder / 'current'}/*.parquet",
        f"  Full log    {log_file}",
        *(f"  {label:<11} {text}" for label, text in notes),
        "",
        "Next",
        *(f"  {command:<38} {why}" for command, why in NEXT_COMMANDS),
    ]
    return "\n".join(lines)


def print_summary(export: Export, report_file: Path, log_file: Path, warnings: list[str],
                  notes: Sequence[tuple[str, str]] = ()) -> None:
    print(summary_text(export, report_file, log_file, warnings, notes), flush=True)
