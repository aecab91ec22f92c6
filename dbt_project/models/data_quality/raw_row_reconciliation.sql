with raw_counts as (
    select source_table, raw_rows from {{ ref('raw_row_counts') }}
),

staged_counts as (
    {%- for raw in raw_tables() %}
    select '{{ raw_table_name(raw) }}' as source_table, count(*) as staged_rows
    from {{ ref('stg_mimic__' ~ raw.table) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

rejected_counts as (
    select source_table, count(*) as rejected_rows
    from {{ ref('raw_row_rejects') }}
    group by source_table
)

select
    raw_counts.source_table,
    raw_counts.raw_rows,
    staged_counts.staged_rows,
    coalesce(rejected_counts.rejected_rows, 0) as rejected_rows,
    coalesce(rejected_counts.rejected_rows, 0) / nullif(raw_counts.raw_rows, 0) as reject_share
from raw_counts
left join staged_counts
    on raw_counts.source_table = staged_counts.source_table
left join rejected_counts
    on raw_counts.source_table = rejected_counts.source_table
