"""Plotly figure helpers shared by the report's sections: one look, suppressed cells marked, counts tagged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from report.formatting import SUPPRESSED

TIER_ORDER = ("low", "medium", "high", "complex")
TIER_COLORS = {"low": "#4c9f70", "medium": "#e0b84c", "high": "#e07b39", "complex": "#b8383d"}
PALETTE = ("#3a6ea5", "#e07b39", "#4c9f70", "#b8383d", "#7d5ba6", "#8c6d46", "#d16ba5", "#6b6b6b")
# Marks a trace whose values are patient or row counts; the report's tests read it to check the floor.
COUNT_META = {"counts": True}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def styled(figure: go.Figure, height: int = 380, **layout: object) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        font={"family": FONT, "size": 12},
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend={"orientation": "h", "y": -0.15},
    )
    figure.update_layout(**layout)
    figure.update_xaxes(automargin=True, gridcolor="#eee", zerolinecolor="#ccc")
    figure.update_yaxes(automargin=True, gridcolor="#eee", zerolinecolor="#ccc")
    return figure


def suppressed_marks(categories: Sequence[str], values: pd.Series, horizontal: bool = False) -> go.Scatter:
    """A text trace writing 'suppressed' where a bar is hidden, so an absent bar never reads as zero."""
    hidden = [category for category, value in zip(categories, values, strict=True) if pd.isna(value)]
    position = [0] * len(hidden)
    x, y = (position, hidden) if horizontal else (hidden, position)
    return go.Scatter(
        x=x,
        y=y,
        mode="text",
        text=[SUPPRESSED] * len(hidden),
        showlegend=False,
        hoverinfo="skip",
        textposition="middle right" if horizontal else "top center",
        textfont={"color": "#888"},
    )


def plain(values: pd.Series) -> list[float | None]:
    """Floats with None for NULL, the form Plotly serialises as JSON null."""
    return [None if pd.isna(value) else float(value) for value in values]


def heatmap(
    frame: pd.DataFrame,
    text: pd.DataFrame,
    colorscale: str,
    is_count: bool,
    zmid: float | None = None,
    colorbar_title: str = "",
    showscale: bool = True,
) -> list[go.BaseTraceType]:
    """A heat map whose hidden cells stay blank with 'suppressed' written over them (Plotly draws no text
    in an empty cell)."""
    cells = go.Heatmap(
        z=[plain(frame.loc[row]) for row in frame.index],
        x=list(frame.columns),
        y=list(frame.index),
        text=text.to_numpy().tolist(),
        texttemplate="%{text}",
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
        colorscale=colorscale,
        zmid=zmid,
        xgap=2,
        ygap=2,
        hoverongaps=False,
        showscale=showscale,
        colorbar={"title": {"text": colorbar_title}},
        meta=COUNT_META if is_count else None,
    )
    rows, columns = np.nonzero(frame.isna().to_numpy())
    marks = go.Scatter(
        x=list(frame.columns[columns]),
        y=list(frame.index[rows]),
        mode="text",
        text=[SUPPRESSED] * len(rows),
        textfont={"color": "#888", "size": 10},
        showlegend=False,
        hoverinfo="skip",
    )
    return [cells, marks]
