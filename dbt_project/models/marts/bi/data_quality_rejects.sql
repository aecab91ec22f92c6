{#- data_quality.reject_summary for BI tools: rejected raw rows per table and reason, counts below the
    cell-size floor hidden (with their shares). -#}
{%- set min_cell_size = bi_min_cell_size() -%}

with rejects as (
    select * from {{ ref('reject_summary') }}
)

select
    source_table::{{ dbt.type_string() }} as source_table,
    reject_reason::{{ dbt.type_string() }} as reject_reason,
    description::{{ dbt.type_string() }} as description,
    (case when rejected_rows >= {{ min_cell_size }} then rejected_rows end)::bigint as n_rows,
    {{ bi_round('case when rejected_rows >= ' ~ min_cell_size ~ ' then share_of_raw_rows end', 'small_proportion') }}
        as share_of_raw_rows,
    (rejected_rows < {{ min_cell_size }})::boolean as is_suppressed
from rejects
