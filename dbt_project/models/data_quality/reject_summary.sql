with raw_counts as (
    select source_table, raw_rows from {{ ref('raw_row_counts') }}
),

rejects_per_reason as (
    select source_table, reject_reason, count(*) as rejected_rows
    from {{ ref('raw_row_rejects') }}
    group by source_table, reject_reason
),

reasons as (
    select reject_reason, description from {{ ref('reject_reasons') }}
)

select
    rejects_per_reason.source_table,
    rejects_per_reason.reject_reason,
    reasons.description,
    rejects_per_reason.rejected_rows,
    rejects_per_reason.rejected_rows / raw_counts.raw_rows as share_of_raw_rows
from rejects_per_reason
inner join raw_counts
    on rejects_per_reason.source_table = raw_counts.source_table
left join reasons
    on rejects_per_reason.reject_reason = reasons.reject_reason
