"""The report's sections: each reads tables of the BI export, plots them and says in one line what they show.

A figure a build's BI schema does not hold yet is shown as a 'not available in this build' panel naming the
table and columns it needs, so the same report works before and after the marts grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from report import formatting as fmt
from report.charts import (
    COUNT_META,
    PALETTE,
    TIER_COLORS,
    TIER_ORDER,
    heatmap,
    plain,
    styled,
    suppressed_marks,
)
from report.source import Export


@dataclass(frozen=True)
class Unavailable:
    """A figure this build's export cannot draw: what it would show and the BI columns it needs."""

    what: str
    table: str
    columns: tuple[str, ...]


@dataclass
class Section:
    key: str
    title: str
    reading: str
    models: tuple[str, ...]
    figures: list[go.Figure] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    table_html: str = ""
    unavailable: list[Unavailable] = field(default_factory=list)


def segment_sizes_frame(export: Export) -> pd.DataFrame:
    matrix = export.tables["segment_tier_matrix"]
    segments = matrix[matrix["row_type"] == "segment_total"]
    return segments.sort_values("n_patients", ascending=True, na_position="first")


def overall_kpis(export: Export) -> pd.Series:
    kpis = export.tables["population_kpis"]
    return kpis[kpis["dimension"] == "overall"].iloc[0]


Facts = tuple[list[tuple[str, str]], list[Unavailable]]


def living_facts(export: Export) -> Facts:
    """Living patients per tier (care_management_summary.n_living); a total only when no tier is hidden."""
    summary = export.tables["care_management_summary"]
    if "n_living" not in summary.columns:
        return [], [Unavailable("living patients", "care_management_summary", ("n_living",))]
    living = summary["n_living"]
    if living.isna().any():
        return [("Living patients", "suppressed in some tiers (see the tier table)")], []
    return [("Living patients", fmt.count(int(living.sum()), export.min_cell_size))], []


def source_facts(export: Export) -> Facts:
    source = export.value("build_info", "data_source")
    if source is None:
        columns = ("data_source", "data_end_real_year")
        return [], [Unavailable("the data source and its date range", "build_info", columns)]
    end = export.value("build_info", "data_end_real_year")
    return [("Data source", f"{source}, data through {end}" if end is not None else str(source))], []


def method_facts(export: Export) -> Facts:
    method = export.value("build_info", "segmentation_method") or export.value(
        "build_info", "selected_algorithm"
    )
    reason = export.value("build_info", "segmentation_reason")
    if reason is None:
        columns = ("segmentation_method", "segmentation_reason")
        missing = Unavailable("why this segmentation method was chosen", "build_info", columns)
        return [("Segmentation", str(method))], [missing]
    return [("Segmentation", str(method)), ("Why this method", str(reason))], []


def build_facts(export: Export) -> Facts:
    build = export.tables["build_info"].iloc[0]
    started = f"{pd.Timestamp(build['built_at']):%Y-%m-%d %H:%M} UTC"
    floor = export.min_cell_size
    return [
        ("Build", f"{build['build_id']} (started {started}, dbt {build['dbt_version']})"),
        ("Export", str(export.manifest.get("export_id", "unknown"))),
        ("Small-cell floor", f"counts below {floor} are suppressed, with any cell that would reveal them"),
    ], []


def overview(export: Export) -> Section:
    floor = export.min_cell_size
    overall = overall_kpis(export)
    patients, admissions = fmt.count(overall["n_patients"], floor), fmt.count(overall["n_admissions"], floor)
    facts = [("Patients", patients), ("Hospital admissions", admissions)]
    unavailable: list[Unavailable] = []
    for part_facts, part_missing in (
        part(export) for part in (living_facts, source_facts, method_facts, build_facts)
    ):
        facts += part_facts
        unavailable += part_missing
    reading = (
        f"{patients} patients with {admissions} admissions, split into "
        f"{len(segment_sizes_frame(export))} segments."
    )
    return Section(
        "overview",
        "Population overview",
        reading,
        ("build_info", "population_kpis"),
        facts=facts,
        unavailable=unavailable,
    )


def segment_sizes(export: Export) -> Section:
    floor = export.min_cell_size
    segments = segment_sizes_frame(export)
    names = list(segments["segment_name"])
    labels = [
        f"{fmt.count(n, floor)} ({fmt.percent(share)})" if not fmt.is_missing(n) else ""
        for n, share in zip(segments["n_patients"], segments["share_of_population"], strict=True)
    ]
    figure = go.Figure(
        [
            go.Bar(
                y=names,
                x=plain(segments["n_patients"]),
                orientation="h",
                text=labels,
                textposition="auto",
                marker_color=PALETTE[0],
                meta=COUNT_META,
                hovertemplate="%{y}: %{x:,} patients<extra></extra>",
            ),
            suppressed_marks(names, segments["n_patients"], horizontal=True),
        ]
    )
    styled(figure, height=80 + 45 * len(names), xaxis_title="patients")
    largest = segments.dropna(subset=["n_patients"]).iloc[-1]
    reading = (
        f"The largest segment, {largest['segment_name']}, holds {fmt.percent(largest['share_of_population'])}"
        " of patients."
    )
    return Section("segments", "Segment sizes", reading, ("segment_tier_matrix",), figures=[figure])


# Segment profile columns the distinctness heat map compares, with their label and formatter.
PROFILE_FEATURES = (
    ("avg_age", "Age", lambda v: fmt.decimal(v, 0, "y")),
    ("share_female", "Female", fmt.percent),
    ("avg_chronic_conditions", "Chronic conditions", lambda v: fmt.decimal(v, 1)),
    ("avg_charlson_max", "Charlson index", lambda v: fmt.decimal(v, 1)),
    ("admissions_per_patient", "Admissions / patient", lambda v: fmt.decimal(v, 1)),
    ("avg_los_days", "Length of stay", lambda v: fmt.decimal(v, 1, "d")),
    ("icu_admission_rate", "ICU admissions", fmt.percent),
    ("ed_admission_rate", "ED admissions", fmt.percent),
    ("readmission_rate_30d", "30-day readmission", fmt.percent),
    ("one_year_mortality_rate", "1-year mortality", fmt.percent),
    ("avg_risk_score", "Risk score", lambda v: fmt.decimal(v, 2)),
    ("avg_annual_cost_usd", "Annual cost", fmt.dollars),
)


def segment_distinctness(export: Export) -> Section:
    profiles = export.tables["segment_profiles"].set_index("segment_name")
    columns = [column for column, _, _ in PROFILE_FEATURES]
    values = profiles[columns].astype("float64")
    # Each feature on one scale: how many standard deviations of the segment means a segment lies from them.
    spread = values.std(ddof=0).replace(0.0, float("nan"))
    standardized = (values - values.mean()) / spread
    labels = {column: label for column, label, _ in PROFILE_FEATURES}
    text = pd.DataFrame({column: values[column].map(formatter) for column, _, formatter in PROFILE_FEATURES})
    figure = go.Figure(
        heatmap(
            standardized.rename(columns=labels),
            text.rename(columns=labels),
            "RdBu_r",
            is_count=False,
            zmid=0.0,
            colorbar_title="SD from<br>segment mean",
        )
    )
    styled(figure, height=140 + 50 * len(profiles), xaxis={"side": "top"})
    row, col = np.unravel_index(np.nanargmax(standardized.abs().to_numpy()), standardized.shape)
    segment, column = standardized.index[row], standardized.columns[col]
    direction = "above" if standardized.iloc[row, col] > 0 else "below"
    reading = (
        f"Red is above the other segments, blue below; the sharpest contrast is {segment}'s "
        f"{labels[column].lower()} ({text.loc[segment, column]}), far {direction} the rest."
    )
    return Section(
        "distinct", "What makes each segment distinct", reading, ("segment_profiles",), figures=[figure]
    )


def tier_matrix_frame(export: Export) -> pd.DataFrame:
    matrix = export.tables["segment_tier_matrix"]
    pairs = matrix[matrix["row_type"] == "segment_tier"]
    order = list(segment_sizes_frame(export)["segment_name"])
    return pairs.pivot_table(
        index="segment_name", columns="risk_tier", values="n_patients", aggfunc="first", dropna=False
    ).reindex(index=order, columns=list(TIER_ORDER))


def segment_by_tier(export: Export) -> Section:
    floor = export.min_cell_size
    counts = tier_matrix_frame(export).astype("Float64")
    text = counts.map(lambda n: "" if fmt.is_missing(n) else fmt.count(n, floor))
    figure = go.Figure(heatmap(counts, text, "Blues", is_count=True, colorbar_title="patients"))
    styled(figure, height=140 + 50 * len(counts), xaxis={"side": "top", "title": "risk tier"})
    tiers = export.tables["care_management_summary"].set_index("risk_tier")
    reading = (
        f"{fmt.percent(tiers.loc['complex', 'share_of_population'])} of patients are in the complex "
        f"tier and {fmt.percent(tiers.loc['high', 'share_of_population'])} in the high tier; each row "
        "shows how one segment spreads over the tiers."
    )
    return Section(
        "tiers",
        "Segments by risk tier",
        reading,
        ("segment_tier_matrix", "care_management_summary"),
        figures=[figure],
    )


def cost_bars(figure: go.Figure, names: list[str], values: pd.Series, row: int, col: int, color: str) -> None:
    figure.add_trace(
        go.Bar(
            x=names,
            y=plain(values),
            marker_color=color,
            showlegend=False,
            text=[fmt.dollars(v) if not fmt.is_missing(v) else "" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: $%{y:,.0f}<extra></extra>",
        ),
        row=row,
        col=col,
    )
    figure.add_trace(suppressed_marks(names, values), row=row, col=col)


def costs(export: Export) -> Section:
    profiles = export.tables["segment_profiles"].sort_values("avg_annual_cost_usd", ascending=False)
    tiers = export.tables["care_management_summary"].sort_values("risk_tier_rank")
    figure = make_subplots(
        rows=2,
        cols=2,
        vertical_spacing=0.2,
        horizontal_spacing=0.08,
        subplot_titles=(
            "Per patient, by segment",
            "In total, by segment",
            "Per patient, by risk tier",
            "In total, by risk tier",
        ),
    )
    segment_names, tier_names = list(profiles["segment_name"]), list(tiers["risk_tier"])
    cost_bars(figure, segment_names, profiles["avg_annual_cost_usd"], 1, 1, PALETTE[0])
    cost_bars(figure, segment_names, profiles["total_annual_cost_usd"], 1, 2, PALETTE[4])
    cost_bars(figure, tier_names, tiers["avg_annual_cost_usd"], 2, 1, PALETTE[0])
    cost_bars(figure, tier_names, tiers["total_annual_cost_usd"], 2, 2, PALETTE[4])
    figure.update_yaxes(tickprefix="$", rangemode="tozero")
    styled(figure, height=720)
    top = profiles.dropna(subset=["total_annual_cost_usd"]).sort_values("total_annual_cost_usd").iloc[-1]
    total = profiles["total_annual_cost_usd"].sum()
    reading = (
        f"{top['segment_name']} costs the most in total, {fmt.dollars(top['total_annual_cost_usd'])} a "
        f"year ({fmt.percent(top['total_annual_cost_usd'] / total)} of the estimated spend), at "
        f"{fmt.dollars(top['avg_annual_cost_usd'])} per patient."
    )
    return Section(
        "costs",
        "Estimated annual cost",
        reading,
        ("segment_profiles", "care_management_summary"),
        figures=[figure],
    )


KPI_RATES = (
    ("readmission_rate_30d", "30 days"),
    ("readmission_rate_60d", "60 days"),
    ("readmission_rate_90d", "90 days"),
)
MORTALITY_RATES = (
    ("in_hospital_mortality_rate", "in hospital"),
    ("one_year_mortality_rate", "within 1 year"),
)


def kpi_frame(export: Export) -> pd.DataFrame:
    kpis = export.tables["population_kpis"]
    rows = kpis[kpis["dimension"].isin(["overall", "segment"])]
    return rows.sort_values(["dimension", "dimension_value"], key=lambda s: s.map({"overall": "0"}).fillna(s))


def kpi_table(rows: pd.DataFrame, floor: int) -> str:
    header = (
        "<tr><th>Group</th><th>Patients</th><th>Admissions</th><th>Readmitted 30 / 60 / 90 d</th>"
        "<th>Avg stay</th><th>Died in hospital</th><th>Died within 1 y</th></tr>"
    )
    body = "".join(
        f"<tr><td>{row.dimension_value}</td>{count_cell(row.n_patients, floor)}"
        f"{count_cell(row.n_admissions, floor)}"
        f"<td>{' / '.join(fmt.percent(getattr(row, column)) for column, _ in KPI_RATES)}</td>"
        f"<td>{fmt.decimal(row.avg_los_days, 1, 'days')}</td>"
        f"<td>{fmt.percent(row.in_hospital_mortality_rate)}</td>"
        f"<td>{fmt.percent(row.one_year_mortality_rate)}</td></tr>"
        for row in rows.itertuples()
    )
    return f"<table><thead>{header}</thead><tbody>{body}</tbody></table>"


def count_cell(value: object, floor: int) -> str:
    """A table cell holding a count, tagged so that the report's tests can check it against the floor."""
    if fmt.is_missing(value):
        return f'<td class="count suppressed">{fmt.SUPPRESSED}</td>'
    return f'<td class="count" data-count="{int(value)}">{fmt.count(value, floor)}</td>'  # type: ignore[call-overload]


def rate_bars(
    figure: go.Figure,
    rows: pd.DataFrame,
    rates: tuple[tuple[str, str], ...],
    col: int,
    hover: str = "%{x:.1%}",
) -> None:
    """Horizontal bars, one colour per rate, so that 'suppressed' marks of one group fall on one line."""
    names = list(rows["dimension_value"])
    for index, (column, label) in enumerate(rates):
        figure.add_trace(
            go.Bar(
                y=names,
                x=plain(rows[column]),
                name=label,
                orientation="h",
                marker_color=PALETTE[(index + 3 * col) % len(PALETTE)],
                hovertemplate=f"%{{y}}, {label}: {hover}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        figure.add_trace(suppressed_marks(names, rows[column], horizontal=True), row=1, col=col)


def kpis(export: Export) -> Section:
    rows = kpi_frame(export)
    figure = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=("Readmitted within", "Died", "Average stay (days)"),
    )
    rate_bars(figure, rows, KPI_RATES, 1)
    rate_bars(figure, rows, MORTALITY_RATES, 2)
    rate_bars(figure, rows, (("avg_los_days", "length of stay"),), 3, hover="%{x:.1f} days")
    figure.update_xaxes(tickformat=".0%", row=1, col=1)
    figure.update_xaxes(tickformat=".0%", row=1, col=2)
    figure.update_yaxes(autorange="reversed")
    styled(figure, height=160 + 70 * len(rows), barmode="group", legend={"orientation": "h", "y": 1.12})
    segments = rows[rows["dimension"] == "segment"].dropna(subset=["readmission_rate_30d"])
    overall = overall_kpis(export)
    reading = (
        f"Overall, {fmt.percent(overall['readmission_rate_30d'])} of discharges are followed by a "
        "readmission within 30 days"
    )
    if not segments.empty:
        top = segments.sort_values("readmission_rate_30d").iloc[-1]
        reading += f"; {top['dimension_value']} is highest at {fmt.percent(top['readmission_rate_30d'])}"
    return Section(
        "kpis",
        "Readmissions, length of stay and mortality by segment",
        reading + ".",
        ("population_kpis",),
        figures=[figure],
        table_html=kpi_table(rows, export.min_cell_size),
    )


DISTRIBUTION_COLUMNS = ("risk_tier", "score_bin_lower", "score_bin_upper", "n_patients")


def tier_size_figure(tiers: pd.DataFrame) -> go.Figure:
    names = list(tiers["risk_tier"])
    bars = go.Bar(
        x=names,
        y=plain(tiers["n_patients"]),
        marker_color=[TIER_COLORS[name] for name in names],
        meta=COUNT_META,
        showlegend=False,
        text=[f"average score {fmt.decimal(score)}" for score in tiers["avg_risk_score"]],
        hovertemplate="%{x}: %{y:,} patients, %{text}<extra></extra>",
    )
    return styled(go.Figure([bars, suppressed_marks(names, tiers["n_patients"])]), yaxis_title="patients")


def bin_label(lower: float, upper: float) -> str:
    return f"{lower:.2f}–{upper:.2f}"


def histogram_figure(distribution: pd.DataFrame) -> go.Figure:
    """Patients per score bin, one colour per tier; a hidden bin is written 'suppressed', never drawn."""
    ordered = distribution.sort_values(["score_bin_lower", "score_bin_upper"])
    labels = list(
        dict.fromkeys(bin_label(row.score_bin_lower, row.score_bin_upper) for row in ordered.itertuples())
    )
    figure = go.Figure()
    for tier in TIER_ORDER:
        bins = ordered[ordered["risk_tier"] == tier]
        if bins.empty:
            continue
        names = [bin_label(row.score_bin_lower, row.score_bin_upper) for row in bins.itertuples()]
        figure.add_trace(
            go.Bar(
                x=names,
                y=plain(bins["n_patients"]),
                name=tier,
                marker_color=TIER_COLORS[tier],
                meta=COUNT_META,
                hovertemplate=f"score %{{x}}, {tier} tier: %{{y:,}} patients<extra></extra>",
            )
        )
        # Bins are narrow: 'suppressed' is written upright from the axis so that neighbours never overlap.
        for name, value in zip(names, bins["n_patients"], strict=True):
            if fmt.is_missing(value):
                figure.add_annotation(
                    x=name, y=0, text=fmt.SUPPRESSED, textangle=-90, yanchor="bottom", showarrow=False,
                    font={"color": "#888", "size": 11},
                )
    styled(
        figure,
        height=420,
        barmode="stack",
        bargap=0.08,
        xaxis={"title": "risk score", "type": "category", "categoryorder": "array", "categoryarray": labels},
        yaxis_title="patients",
        legend={"orientation": "h", "y": 1.1, "title": {"text": "risk tier"}, "traceorder": "normal"},
    )
    return figure


def distribution_reading(distribution: pd.DataFrame, tiers: pd.DataFrame, floor: int) -> str:
    """The fullest published bin, and each tier's average score."""
    averages = ", ".join(f"{row.risk_tier} {fmt.decimal(row.avg_risk_score)}" for row in tiers.itertuples())
    shown = distribution.dropna(subset=["n_patients"])
    if shown.empty:
        return f"Every score bin is suppressed; average risk score per tier: {averages}."
    top = shown.sort_values("n_patients").iloc[-1]
    return (
        f"The most common scores lie between {top['score_bin_lower']:.2f} and {top['score_bin_upper']:.2f} "
        f"({fmt.count(top['n_patients'], floor)} patients, {top['risk_tier']} tier); average score per tier: "
        f"{averages}."
    )


def risk_distribution(export: Export) -> Section:
    tiers = export.tables["care_management_summary"].sort_values("risk_tier_rank")
    distribution = export.table("risk_score_distribution", DISTRIBUTION_COLUMNS)
    if distribution is None:
        reading = (
            "Average risk score per tier: "
            + ", ".join(f"{row.risk_tier} {fmt.decimal(row.avg_risk_score)}" for row in tiers.itertuples())
            + "."
        )
        section = Section("risk", "Risk scores by tier", reading, ("care_management_summary",))
        # Until the histogram is exported, tier sizes with their average score stand in for it.
        section.figures.append(tier_size_figure(tiers))
        section.unavailable.append(
            Unavailable(
                "the distribution of risk scores within each tier (a histogram)",
                "risk_score_distribution",
                DISTRIBUTION_COLUMNS,
            )
        )
        return section
    return Section(
        "risk",
        "Risk scores by tier",
        distribution_reading(distribution, tiers, export.min_cell_size),
        ("risk_score_distribution", "care_management_summary"),
        figures=[histogram_figure(distribution)],
    )


ROC_COLUMNS = ("outcome", "scorer", "false_positive_rate", "true_positive_rate")
AUROC_COLUMNS = ("outcome", "scorer", "auroc")
OUTCOME_LABELS = {"readmitted_30d": "Readmitted within 30 days", "died_within_1y": "Died within 1 year"}
OUTCOME_WORDS = {"readmitted_30d": "readmission within 30 days", "died_within_1y": "death within a year"}
SCORER_LABELS = {
    "risk_score": "risk score",
    "charlson_index": "Charlson index",
    "lace_index": "LACE index",
    "ahrq_readmission_index": "AHRQ Elixhauser readmission index",
    "ahrq_mortality_index": "AHRQ Elixhauser mortality index",
    "elixhauser_van_walraven": "van Walraven Elixhauser score",
    "fitted_weights": "fitted weights",
}


def auroc_of(auroc: pd.DataFrame | None, outcome: str, scorer: str) -> float | None:
    if auroc is None:
        return None
    match = auroc[(auroc["outcome"] == outcome) & (auroc["scorer"] == scorer)]["auroc"].dropna()
    return float(match.iloc[0]) if len(match) else None


def roc_figure(roc: pd.DataFrame, auroc: pd.DataFrame | None) -> go.Figure:
    """One panel per outcome: a line per scorer through the published points, the diagonal of chance."""
    outcomes = [outcome for outcome in OUTCOME_LABELS if outcome in set(roc["outcome"])]
    outcomes += sorted(set(roc["outcome"]) - set(outcomes))
    figure = make_subplots(
        rows=1,
        cols=len(outcomes),
        subplot_titles=[OUTCOME_LABELS.get(outcome, outcome) for outcome in outcomes],
        horizontal_spacing=0.08,
    )
    scorers = [scorer for scorer in SCORER_LABELS if scorer in set(roc["scorer"])]
    scorers += sorted(set(roc["scorer"]) - set(scorers))
    has_threshold = "score_threshold" in roc.columns
    for col, outcome in enumerate(outcomes, start=1):
        for index, scorer in enumerate(scorers):
            points = roc[(roc["outcome"] == outcome) & (roc["scorer"] == scorer)].sort_values(
                ["false_positive_rate", "true_positive_rate"]
            )
            if points.empty:
                continue
            label = SCORER_LABELS.get(scorer, scorer)
            threshold = (
                [fmt.decimal(v, 4) if not fmt.is_missing(v) else "none" for v in points["score_threshold"]]
                if has_threshold
                else None
            )
            figure.add_trace(
                go.Scatter(
                    x=plain(points["false_positive_rate"]),
                    y=plain(points["true_positive_rate"]),
                    customdata=threshold,
                    mode="lines",
                    name=label,
                    showlegend=col == 1,
                    # The risk score, the figure's subject, drawn heavier than its baselines.
                    line={
                        "color": PALETTE[index % len(PALETTE)],
                        "width": 3.0 if scorer == "risk_score" else 1.8,
                    },
                    legendgroup=scorer,
                    hovertemplate=(
                        f"{label}: flagging score ≥ %{{customdata}} finds %{{y:.0%}} of events "
                        "at %{x:.0%} false alarms<extra></extra>"
                        if has_threshold
                        else f"{label}: %{{y:.0%}} of events at %{{x:.0%}} false alarms<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
        aurocs = [
            f"{SCORER_LABELS.get(scorer, scorer)} {fmt.decimal(value, 3)}"
            for scorer in scorers
            if (value := auroc_of(auroc, outcome, scorer)) is not None
        ]
        if aurocs:
            figure.add_annotation(
                x=0.98, y=0.03, xref=f"x{col if col > 1 else ''}", yref=f"y{col if col > 1 else ''}",
                text="<b>AUROC</b><br>" + "<br>".join(aurocs), showarrow=False, align="right",
                xanchor="right", yanchor="bottom", bgcolor="rgba(255,255,255,0.85)", font={"size": 11},
            )
        figure.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                name="chance",
                line={"dash": "dot", "color": "#999"},
                showlegend=col == 1,
                hoverinfo="skip",
            ),
            row=1,
            col=col,
        )
    figure.update_xaxes(title="false positives (share of non-events flagged)", range=[0, 1], tickformat=".0%")
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    figure.update_yaxes(title="true positives (share of events flagged)", row=1, col=1)
    return styled(figure, height=460, legend={"orientation": "h", "y": -0.2})


def roc_reading(roc: pd.DataFrame, auroc: pd.DataFrame | None) -> str:
    """The risk score's AUROC per outcome beside its baselines', in words."""
    parts = []
    for outcome in (o for o in OUTCOME_LABELS if o in set(roc["outcome"])):
        score = auroc_of(auroc, outcome, "risk_score")
        if score is None:
            continue
        baselines = [
            f"{SCORER_LABELS[scorer].split()[0]} {fmt.decimal(value, 3)}"
            for scorer in ("charlson_index", "lace_index")
            if (value := auroc_of(auroc, outcome, scorer)) is not None
        ]
        parts.append(
            f"{fmt.decimal(score, 3)} for {OUTCOME_WORDS[outcome]}"
            + (f" ({', '.join(baselines)})" if baselines else "")
        )
    if not parts:
        return "A curve above the dotted diagonal ranks the outcome better than chance."
    return f"The risk score ranks who has the event with an AUROC of {' and '.join(parts)}; 0.5 is chance."


def calibration_figure(export: Export) -> go.Figure:
    """Observed event rates of each tier against its average score: a score that is calibrated in rank has
    rates rising from low to complex."""
    kpis = export.tables["population_kpis"]
    rates = kpis[kpis["dimension"] == "risk_tier"].set_index("dimension_value")
    tiers = export.tables["care_management_summary"].sort_values("risk_tier_rank").set_index("risk_tier")
    frame = tiers[["avg_risk_score"]].join(rates[["readmission_rate_30d", "one_year_mortality_rate"]])
    figure = go.Figure()
    for index, (column, label) in enumerate(
        (
            ("readmission_rate_30d", "readmitted within 30 days"),
            ("one_year_mortality_rate", "died within 1 year"),
        )
    ):
        figure.add_trace(
            go.Scatter(
                x=plain(frame["avg_risk_score"]),
                y=plain(frame[column]),
                text=list(frame.index),
                mode="lines+markers+text",
                textposition="top left",
                name=label,
                line={"color": PALETTE[index + 2]},
                hovertemplate="%{text}: score %{x:.2f}, %{y:.1%}<extra></extra>",
            )
        )
    figure.update_yaxes(tickformat=".0%", title="observed rate", rangemode="tozero")
    figure.update_xaxes(title="average risk score of the tier", range=[0, 1])
    return styled(figure)


AUROC_DETAIL_COLUMNS = ("auroc_ci_lower", "auroc_ci_upper", "n_patients", "n_positive")


def auroc_table(auroc: pd.DataFrame, floor: int) -> str:
    """AUROC per outcome and scorer, with its confidence interval and counts when the export has them."""
    has_ci = {"auroc_ci_lower", "auroc_ci_upper"} <= set(auroc.columns)
    counts = [column for column in ("n_patients", "n_positive") if column in auroc.columns]
    header = (
        "<th>Outcome</th><th>Scorer</th><th>AUROC</th>"
        + ("<th>95 % CI</th>" if has_ci else "")
        + "".join(f"<th>{column}</th>" for column in counts)
    )
    rows = "".join(
        f"<tr><td>{row['outcome']}</td><td>{row['scorer']}</td><td>{fmt.decimal(row['auroc'], 3)}</td>"
        + (
            f"<td>{fmt.decimal(row['auroc_ci_lower'], 3)} – {fmt.decimal(row['auroc_ci_upper'], 3)}</td>"
            if has_ci
            else ""
        )
        + "".join(count_cell(row[column], floor) for column in counts)
        + "</tr>"
        for _, row in auroc.iterrows()
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"


def mortality_rises_with_tier(export: Export) -> bool:
    kpis = export.tables["population_kpis"]
    rates = kpis[kpis["dimension"] == "risk_tier"].set_index("dimension_value")["one_year_mortality_rate"]
    return bool(rates.reindex(list(TIER_ORDER)).dropna().is_monotonic_increasing)


def risk_validation(export: Export) -> Section:
    roc = export.table("risk_roc_curve", ROC_COLUMNS)
    auroc = export.table("risk_score_validation", AUROC_COLUMNS)
    reading = (
        "Observed 1-year mortality rises from the low to the complex tier, as a useful score should."
        if mortality_rises_with_tier(export)
        else "Observed 1-year mortality does not rise steadily from the low to the complex tier: read the "
        "tiers with care."
    )
    if roc is not None and not roc.empty:
        reading = f"{roc_reading(roc, auroc)} {reading}"
    section = Section(
        "validation",
        "Does the risk score rank what happened?",
        reading,
        ("population_kpis", "care_management_summary"),
    )
    if roc is None:
        section.unavailable.append(
            Unavailable(
                "ROC curves of the risk score and its baselines (Charlson, LACE)",
                "risk_roc_curve",
                ROC_COLUMNS,
            )
        )
    elif roc.empty:
        section.unavailable.append(
            Unavailable(
                "ROC curves: too few patients with and without each outcome for steps of at least "
                f"{export.min_cell_size} patients",
                "risk_roc_curve",
                ROC_COLUMNS,
            )
        )
    else:
        section.figures.append(roc_figure(roc, auroc))
        section.models += ("risk_roc_curve",)
    if auroc is None:
        section.unavailable.append(
            Unavailable(
                "AUROC with 95 % confidence intervals per outcome and scorer",
                "risk_score_validation",
                (*AUROC_COLUMNS, *AUROC_DETAIL_COLUMNS),
            )
        )
    else:
        section.table_html = auroc_table(auroc, export.min_cell_size)
        section.models += ("risk_score_validation",)
    section.figures.append(calibration_figure(export))
    return section


EVALUATION_COLUMNS = (
    "algorithm",
    "parameter_value",
    "silhouette",
    "davies_bouldin",
    "stability",
    "is_selected",
)


def clustering(export: Export) -> Section:
    evaluation = export.table("clustering_candidates", EVALUATION_COLUMNS)
    algorithm = export.value("build_info", "selected_algorithm")
    if evaluation is None:
        return Section(
            "clustering",
            "How the segmentation was chosen",
            f"This build's segments come from {algorithm}; its evaluation is not in the BI export yet.",
            ("build_info",),
            unavailable=[
                Unavailable(
                    "silhouette, Davies–Bouldin and stability of every algorithm and k tried",
                    "clustering_candidates",
                    EVALUATION_COLUMNS,
                )
            ],
        )
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            "Silhouette (higher is better)",
            "Davies–Bouldin (lower is better)",
            "Stability (ARI between refits)",
        ),
    )
    for index, (name, rows) in enumerate(evaluation.sort_values("parameter_value").groupby("algorithm")):
        for col, metric in enumerate(("silhouette", "davies_bouldin", "stability"), start=1):
            figure.add_trace(
                go.Scatter(
                    x=plain(rows["parameter_value"]),
                    y=plain(rows[metric]),
                    name=name,
                    mode="lines+markers",
                    line={"color": PALETTE[index]},
                    legendgroup=name,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    selected = evaluation[evaluation["is_selected"]]
    for col, metric in enumerate(("silhouette", "davies_bouldin", "stability"), start=1):
        if selected.empty:
            break
        star = go.Scatter(
            x=[selected.iloc[0]["parameter_value"]],
            y=[selected.iloc[0][metric]],
            mode="markers",
            name="chosen",
            marker={"symbol": "star", "size": 16, "color": "#222"},
            showlegend=col == 1,
        )
        figure.add_trace(star, row=1, col=col)
    figure.update_xaxes(title="k, or DBSCAN's min_samples", row=1, col=2)
    styled(figure, height=400)
    if selected.empty:
        method = export.value("build_info", "segmentation_reason")
        reading = f"No candidate clustering qualified, so the segments are rule-based: {method}."
    else:
        chosen = selected.iloc[0]
        reading = (
            f"The selection rule chose {chosen['algorithm']} at {fmt.decimal(chosen['parameter_value'], 0)}, "
            f"silhouette {fmt.decimal(chosen['silhouette'])}, stability {fmt.decimal(chosen['stability'])}."
        )
    return Section(
        "clustering", "How the segmentation was chosen", reading, ("clustering_candidates",), figures=[figure]
    )


TRANSITION_COLUMNS = ("dimension", "from_value", "to_value", "n_patients", "is_change", "previous_build_id")


def transitions(export: Export) -> Section:
    title = "Segment and tier changes since the previous build"
    moves = export.table("segment_transitions", TRANSITION_COLUMNS)
    if moves is None:
        # Built from the snapshots, which a build on a local Spark session does not run (docs/spark.md).
        return Section(
            "transitions",
            title,
            "This build keeps no segment history (snapshots), so moves between builds are not shown.",
            (),
            unavailable=[
                Unavailable(
                    "patients moving between segments and tiers since the previous build",
                    "segment_transitions",
                    TRANSITION_COLUMNS,
                )
            ],
        )
    floor = export.min_cell_size
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Segments", "Risk tiers"), horizontal_spacing=0.25)
    for col, dimension in enumerate(("segment", "risk_tier"), start=1):
        rows = moves[moves["dimension"] == dimension]
        counts = rows.pivot_table(
            index="from_value", columns="to_value", values="n_patients", aggfunc="first", dropna=False
        ).astype("Float64")
        if dimension == "risk_tier":
            counts = counts.reindex(
                columns=[tier for tier in (*TIER_ORDER, "No longer present") if tier in counts.columns]
            )
        text = counts.map(lambda n: "" if fmt.is_missing(n) else fmt.count(n, floor))
        for trace in heatmap(counts, text, "Purples", is_count=True, showscale=False):
            figure.add_trace(trace, row=1, col=col)
    figure.update_xaxes(title="this build")
    figure.update_yaxes(title="previous build")
    styled(figure, height=420)
    first_build = moves["previous_build_id"].isna().all()
    changed = moves[moves["is_change"] & ~moves["from_value"].eq("New patient")]["n_patients"].sum()
    if first_build:
        reading = (
            "This is the first build: every patient comes from 'New patient', so there is no movement yet."
        )
    elif changed:
        reading = (
            f"{fmt.count(changed, floor)} patients changed segment or tier since the previous build "
            "(published moves only)."
        )
    else:
        reading = "No published move between segments or tiers since the previous build."
    return Section(
        "transitions",
        title,
        reading,
        ("segment_transitions",),
        figures=[figure],
    )


def cohorts(export: Export) -> Section:
    floor = export.min_cell_size
    profiles = export.tables["condition_cohort_profiles"]
    rows = profiles[profiles["sub_segment"] != "All"]
    figure = go.Figure()
    for index, (label, group) in enumerate(rows.groupby("cohort_label", sort=True)):
        names = [f"{label}: {sub}" for sub in group["sub_segment"]]
        figure.add_trace(
            go.Bar(
                y=names,
                x=plain(group["n_patients"]),
                orientation="h",
                name=label,
                marker_color=PALETTE[index],
                meta=COUNT_META,
                hovertemplate="%{y}: %{x:,} patients<extra></extra>",
            )
        )
        figure.add_trace(suppressed_marks(names, group["n_patients"], horizontal=True))
    styled(figure, height=120 + 28 * len(rows), xaxis_title="patients", yaxis={"autorange": "reversed"})
    whole = profiles[profiles["sub_segment"] == "All"].sort_values("n_patients", ascending=False)
    top = whole.iloc[0]
    reading = (
        f"{top['cohort_label']} is the largest cohort ({fmt.count(top['n_patients'], floor)} patients); "
        "a patient may belong to several cohorts."
    )
    return Section("cohorts", "Condition cohorts", reading, ("condition_cohort_profiles",), figures=[figure])


REJECT_COLUMNS = ("source_table", "reject_reason", "n_rows")


def data_quality(export: Export) -> Section:
    rejects = export.table("data_quality_rejects", REJECT_COLUMNS)
    if rejects is None:
        return Section(
            "quality",
            "Data quality: rejected raw rows",
            "Rejected rows are listed in the warehouse (data_quality.reject_summary), not yet in the BI "
            "export.",
            (),
            unavailable=[
                Unavailable(
                    "rejected raw rows by table and reason",
                    "data_quality_rejects",
                    (*REJECT_COLUMNS, "share_of_raw_rows"),
                )
            ],
        )
    figure = go.Figure()
    for index, (reason, rows) in enumerate(rejects.groupby("reject_reason")):
        figure.add_trace(
            go.Bar(
                y=list(rows["source_table"]),
                x=plain(rows["n_rows"]),
                orientation="h",
                name=reason,
                marker_color=PALETTE[index % len(PALETTE)],
                meta=COUNT_META,
            )
        )
    styled(figure, barmode="stack", xaxis_title="rejected rows")
    total = rejects["n_rows"].sum()
    reading = (
        "No raw row was rejected."
        if rejects.empty
        else f"{fmt.count(total, export.min_cell_size)} raw rows were rejected (published counts)."
    )
    return Section(
        "quality", "Data quality: rejected raw rows", reading, ("data_quality_rejects",), figures=[figure]
    )


BUILDERS = (
    overview,
    segment_sizes,
    segment_distinctness,
    segment_by_tier,
    costs,
    kpis,
    risk_distribution,
    risk_validation,
    clustering,
    transitions,
    cohorts,
    data_quality,
)


def all_sections(export: Export) -> list[Section]:
    return [build(export) for build in BUILDERS]
