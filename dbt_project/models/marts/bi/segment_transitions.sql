{#- How patients moved between segments, and between risk tiers, from the previous build to the current one
    (the last two builds in segment_build_log): a from x to table per dimension, every pair present. A patient
    missing from the previous build comes from 'New patient', one missing from the current build goes to
    'No longer present'. With a single build every patient is new.

    Suppression: the current sizes are those of segment_tier_matrix, shown or hidden as there; the previous
    build's sizes are not part of this build's publication (unknown, protected only when small). Comparing the
    sizes two builds published tells how many patients a group gained or lost; no build can hide that
    (docs/bi.md). -#}
{%- set new_patient = 'New patient' -%}
{%- set gone_patient = 'No longer present' -%}
{%- set margin = 'All' -%}

with builds as (
    select build_id, snapshot_at, row_number() over (order by snapshot_at desc) as build_recency
    from {{ ref('segment_build_log') }}
),

current_build as (
    select build_id, snapshot_at from builds
    where build_recency = 1
),

previous_build as (
    select build_id, snapshot_at from builds
    where build_recency = 2
),

history as (
    select subject_id, segment_name, risk_tier, dbt_valid_from, dbt_valid_to
    from {{ ref('patient_segment_history') }}
),

current_states as (
    select history.subject_id, history.segment_name, history.risk_tier
    from history
    inner join current_build
        on history.dbt_valid_from <= current_build.snapshot_at
        and (history.dbt_valid_to is null or history.dbt_valid_to > current_build.snapshot_at)
),

previous_states as (
    select history.subject_id, history.segment_name, history.risk_tier
    from history
    inner join previous_build
        on history.dbt_valid_from <= previous_build.snapshot_at
        and (history.dbt_valid_to is null or history.dbt_valid_to > previous_build.snapshot_at)
),

patient_moves as (
    select
        coalesce(previous_states.segment_name, '{{ new_patient }}') as from_segment,
        coalesce(current_states.segment_name, '{{ gone_patient }}') as to_segment,
        coalesce(previous_states.risk_tier, '{{ new_patient }}') as from_tier,
        coalesce(current_states.risk_tier, '{{ gone_patient }}') as to_tier
    from previous_states
    full outer join current_states
        on previous_states.subject_id = current_states.subject_id
),

moves as (
    select 'segment' as dimension, from_segment as from_value, to_segment as to_value from patient_moves
    union all
    select 'risk_tier', from_tier, to_tier from patient_moves
),

current_sizes as (
    select
        case row_type when 'segment_total' then 'segment' else 'risk_tier' end as dimension,
        case row_type when 'segment_total' then segment_name else risk_tier end as to_value,
        n_patients,
        is_suppressed
    from {{ ref('segment_tier_matrix') }}
    where row_type in ('segment_total', 'tier_total')
),

from_values as (
    select distinct dimension, from_value from moves
    where from_value <> '{{ new_patient }}'
    union
    select dimension, '{{ new_patient }}' from current_sizes
),

to_values as (
    select dimension, to_value from current_sizes
    union
    select distinct dimension, to_value from moves
),

-- Every from x to pair (but new -> gone, which cannot happen), plus the row and column totals.
transition_rows as (
    select from_values.dimension, from_values.from_value, to_values.to_value, 'transition' as row_type
    from from_values
    inner join to_values
        on from_values.dimension = to_values.dimension
    where not (from_values.from_value = '{{ new_patient }}' and to_values.to_value = '{{ gone_patient }}')
    union all
    select dimension, from_value, '{{ margin }}', 'from_total' from from_values
    union all
    select dimension, '{{ margin }}', to_value, 'to_total' from to_values
),

move_counts as (
    select
        dimension,
        coalesce(from_value, '{{ margin }}') as from_value,
        coalesce(to_value, '{{ margin }}') as to_value,
        count(*) as n_patients
    from moves
    group by grouping sets ((dimension, from_value, to_value), (dimension, from_value), (dimension, to_value))
),

transition_counts as (
    select
        transition_rows.*,
        transition_rows.dimension || ' | ' || transition_rows.from_value || ' | ' || transition_rows.to_value
            as row_key,
        coalesce(move_counts.n_patients, 0) as n_patients
    from transition_rows
    left join move_counts
        on transition_rows.dimension = move_counts.dimension
        and transition_rows.from_value = move_counts.from_value
        and transition_rows.to_value = move_counts.to_value
),

row_partitions as (
    select dimension || ' from ' || from_value as partition_id, row_key, row_type = 'from_total' as is_total
    from transition_counts
    where row_type in ('transition', 'from_total')
    union all
    select dimension || ' to ' || to_value, row_key, row_type = 'to_total'
    from transition_counts
    where row_type in ('transition', 'to_total')
),

-- Column totals are the current sizes, shown or hidden as in segment_tier_matrix.
fixed_cells as (
    select transition_counts.row_key, 'n_patients' as count_name, current_sizes.is_suppressed
    from transition_counts
    inner join current_sizes
        on transition_counts.dimension = current_sizes.dimension
        and transition_counts.to_value = current_sizes.to_value
    where transition_counts.row_type = 'to_total'
),

-- The other totals (the previous build's sizes, new patients, patients no longer present) are not published
-- by this build: unknown to the reader, they need protection only when small. (What two builds' sizes tell
-- together, no single build can hide: docs/bi.md.)
unpublished_cells as (
    select transition_counts.row_key, 'n_patients' as count_name
    from transition_counts
    where transition_counts.row_type <> 'transition'
        and transition_counts.row_key not in (select fixed_cells.row_key from fixed_cells)
),

{{ suppress_counts('transition_counts', 'row_key', {'counts': ['n_patients']},
                   row_partitions='row_partitions', fixed_cells='fixed_cells', fixed_source='segment_tier_matrix',
                   unpublished_cells='unpublished_cells') }}

select
    previous_build.build_id::{{ dbt.type_string() }} as previous_build_id,
    current_build.build_id::{{ dbt.type_string() }} as current_build_id,
    transition_counts.dimension::{{ dbt.type_string() }} as dimension,
    transition_counts.from_value::{{ dbt.type_string() }} as from_value,
    transition_counts.to_value::{{ dbt.type_string() }} as to_value,
    (transition_counts.from_value <> transition_counts.to_value)::boolean as is_change,
    suppressed_counts.n_patients::bigint as n_patients,
    (suppressed_counts.suppressed_columns is not null)::boolean as is_suppressed,
    suppressed_counts.suppression_reasons::{{ dbt.type_string() }} as suppression_reasons
from transition_counts
inner join suppressed_counts
    on transition_counts.row_key = suppressed_counts.row_key
cross join current_build
left join previous_build
    on true
where transition_counts.row_type = 'transition'
