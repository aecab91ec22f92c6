{#- marts.risk_validation for BI tools: one row per outcome and scorer, AUROC with its 95 % interval. Counts
    below the cell-size floor are hidden, and so is an AUROC whose events or non-events are that few (it
    would describe too few patients). The event rate is rounded as a proportion, AUROCs as scores
    (macros/bi_precision.sql). -#}
{%- set min_cell_size = bi_min_cell_size() -%}

with validation as (
    select * from {{ ref('risk_validation') }}
),

protected as (
    select
        *,
        least(n_positive, n_index_discharges - n_positive) < {{ min_cell_size }} as is_small
    from validation
)

select
    outcome::{{ dbt.type_string() }} as outcome,
    scorer::{{ dbt.type_string() }} as scorer,
    (case when n_index_discharges >= {{ min_cell_size }} then n_index_discharges end)::bigint
        as n_index_discharges,
    (case when n_patients >= {{ min_cell_size }} then n_patients end)::bigint as n_patients,
    (case when not is_small then n_positive end)::bigint as n_positive,
    {{ bi_round('case when not is_small then event_rate end', 'proportion') }} as event_rate,
    {{ bi_round('case when not is_small then auroc end', 'score') }} as auroc,
    {{ bi_round('case when not is_small then auroc_ci_low end', 'score') }} as auroc_ci_lower,
    {{ bi_round('case when not is_small then auroc_ci_high end', 'score') }} as auroc_ci_upper,
    is_small::boolean as is_suppressed
from protected
