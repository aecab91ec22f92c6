"""One self-contained HTML page: Plotly's JavaScript, the styles and every figure inlined, nothing fetched."""

from __future__ import annotations

import html
import os
from pathlib import Path

import plotly.io as pio
from plotly.offline import get_plotlyjs

from report.sections import Section, Unavailable, all_sections
from report.source import Export

DBT_PROJECT = "patient_segmentation"
REPORT_FILE = "population_report.html"
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0; color: #222;
       background: #f6f7f9; line-height: 1.45; }
header { background: #1f3b5a; color: white; padding: 24px 40px; }
header h1 { margin: 0 0 6px; font-size: 26px; }
header p { margin: 0; opacity: .85; }
nav { background: white; border-bottom: 1px solid #ddd; padding: 10px 40px; position: sticky; top: 0;
      z-index: 5; }
nav a { margin-right: 14px; color: #1f3b5a; text-decoration: none; font-size: 14px; white-space: nowrap; }
main { max-width: 1180px; margin: 0 auto; padding: 10px 24px 40px; }
section { background: white; border: 1px solid #e2e4e8; border-radius: 8px; margin: 22px 0;
          padding: 18px 24px; }
h2 { margin: 0 0 4px; font-size: 20px; }
.reading { font-size: 16px; margin: 4px 0 10px; }
.links { font-size: 13px; color: #666; margin-top: 8px; }
.links a { color: #3a6ea5; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 10px; }
.fact { background: #f3f6fa; border-radius: 6px; padding: 10px 12px; }
.fact b { display: block; font-size: 12px; text-transform: uppercase; color: #667; letter-spacing: .03em; }
.fact span { font-size: 17px; }
.unavailable { border: 1px dashed #c9a227; background: #fffbea; border-radius: 6px; padding: 10px 14px;
               margin: 10px 0; font-size: 14px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 12px; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 5px 8px; text-align: left; }
td.count { text-align: right; font-variant-numeric: tabular-nums; }
.suppressed { color: #888; font-style: italic; }
details { margin: 6px 0; }
dl { font-size: 13px; } dt { font-weight: 600; margin-top: 4px; } dd { margin-left: 16px; color: #444; }
footer { text-align: center; color: #777; font-size: 12px; padding: 20px; }
"""


def docs_link(docs_index: str, model: str) -> str:
    return f"{docs_index}#!/model/model.{DBT_PROJECT}.{model}"


def figure_html(section: Section, index: int) -> str:
    div = pio.to_html(
        section.figures[index],
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{section.key}-{index}",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart">{div}</div>'


def unavailable_html(item: Unavailable) -> str:
    columns = ", ".join(item.columns)
    return (
        f'<div class="unavailable"><b>Not available in this build:</b> {html.escape(item.what)}. '
        f"It needs BI table <code>bi.{item.table}</code> with columns <code>{html.escape(columns)}</code>."
        "</div>"
    )


def section_html(section: Section, docs_index: str) -> str:
    facts = "".join(
        f'<div class="fact"><b>{html.escape(label)}</b><span>{html.escape(value)}</span></div>'
        for label, value in section.facts
    )
    links = " · ".join(
        f'<a href="{docs_link(docs_index, model)}">{model} in dbt docs</a> · '
        f'<a href="#definitions-{model}">{model} columns</a>'
        for model in section.models
    )
    return (
        f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>'
        f'<p class="reading">{html.escape(section.reading)}</p>'
        + (f'<div class="facts">{facts}</div>' if facts else "")
        + "".join(figure_html(section, index) for index in range(len(section.figures)))
        + section.table_html
        + "".join(unavailable_html(item) for item in section.unavailable)
        + (f'<p class="links">Definitions: {links}</p>' if links else "")
        + "</section>"
    )


def definitions_html(export: Export, models: list[str]) -> str:
    """The exported descriptions of every table the report reads, so definitions travel with the page."""
    blocks = []
    for model in models:
        columns = export.column_comments.get(model, {})
        items = "".join(
            f"<dt>{html.escape(name)}</dt><dd>{html.escape(text)}</dd>" for name, text in columns.items()
        )
        comment = html.escape(export.table_comments.get(model, ""))
        blocks.append(
            f'<details id="definitions-{model}"><summary><b>{model}</b></summary>'
            f"<p>{comment}</p><dl>{items}</dl></details>"
        )
    return (
        '<section id="definitions"><h2>Definitions</h2><p class="reading">What each column of the BI tables '
        "behind these charts means, as published with the export.</p>" + "".join(blocks) + "</section>"
    )


def render(export: Export, docs_index: str) -> str:
    sections = all_sections(export)
    models = sorted({model for section in sections for model in section.models})
    build = export.tables["build_info"].iloc[0]
    nav = " ".join(f'<a href="#{section.key}">{html.escape(section.title)}</a>' for section in sections)
    body = "".join(section_html(section, docs_index) for section in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Population report</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<header><h1>Population report</h1><p>Build {html.escape(str(build['build_id']))} · "
        f"BI export {html.escape(str(export.manifest.get('export_id', '')))} · counts below "
        f'{export.min_cell_size} suppressed · <a style="color:white" href="{docs_index}">dbt docs</a></p>'
        f'</header><nav>{nav}<a href="#definitions">Definitions</a></nav><main>{body}'
        f"{definitions_html(export, models)}</main>"
        "<footer>Built from the BI export only: what a BI user may see, nothing more.</footer></body></html>"
    )


def write_report(export: Export, out: Path, docs_index: Path) -> Path:
    """Render and write atomically, so a browser reloading the page never reads half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    relative_docs = Path(os.path.relpath(docs_index.resolve(), out.parent.resolve())).as_posix()
    temporary = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    temporary.write_text(render(export, relative_docs), encoding="utf-8")
    os.replace(temporary, out)
    return out
