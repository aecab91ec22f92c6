{#- marts.risk_validation for BI tools: one row per outcome and scorer, AUROC with its 95 % interval. Counts
    below the cell-size floor are hidden, and so is an AUROC whose events or non-events are that few (it
    would describe too few patients). Rates and AUROCs rounded to 4 decimals. -#}
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
    outcome::varchar as outcome,
    scorer::varchar as scorer,
    (case when n_index_discharges >= {{ min_cell_size }} then n_index_discharges end)::bigint
        as n_index_discharges,
    (case when n_patients >= {{ min_cell_size }} then n_patients end)::bigint as n_patients,
    (case when not is_small then n_positive end)::bigint as n_positive,
    (case when not is_small then round(event_rate, 4) end)::double as event_rate,
    (case when not is_small then round(auroc, 4) end)::double as auroc,
    (case when not is_small then round(auroc_ci_low, 4) end)::double as auroc_ci_lower,
    (case when not is_small then round(auroc_ci_high, 4) end)::double as auroc_ci_upper,
    is_small::boolean as is_suppressed
from protected
