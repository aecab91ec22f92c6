{#- marts.risk_validation_roc for BI tools: the ROC curve of each outcome and scorer, drawn through points
    each closing a step of at least var('min_cell_size') patients among the positive discharges and as many
    among the negative ones (segmentation/risk_validation.py), so that no point describes a small group. Rates
    only: the counts behind a point are never published. A curve is shown only beside a published AUROC
    (bi.risk_score_validation), so the two are hidden together. -#}
with roc_points as (
    select outcome, scorer, point_index, score_threshold, false_positive_rate, true_positive_rate
    from {{ ref('risk_validation_roc') }}
),

validation as (
    select outcome, scorer, is_suppressed from {{ ref('risk_score_validation') }}
),

published_points as (
    select
        roc_points.outcome::{{ dbt.type_string() }} as outcome,
        roc_points.scorer::{{ dbt.type_string() }} as scorer,
        {{ bi_round('roc_points.score_threshold', 'threshold') }} as score_threshold,
        {{ bi_round('roc_points.false_positive_rate', 'proportion') }} as false_positive_rate,
        {{ bi_round('roc_points.true_positive_rate', 'proportion') }} as true_positive_rate
    from roc_points
    inner join validation
        on roc_points.outcome = validation.outcome
        and roc_points.scorer = validation.scorer
    where not validation.is_suppressed
)

select * from published_points
