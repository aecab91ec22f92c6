{#- Utilization and outcome KPIs for the whole population, each segment and each risk tier (wide format: one row
    per group, counts next to the rates computed from them; definitions in macros/bi_utilization.sql). -#}
with patients as (
    select * from {{ ref('patient_summary') }}
),

population_counts as (
    select segment_name, risk_tier, row_type, is_suppressed from {{ ref('segment_tier_matrix') }}
),

patient_groups as (
    select 'overall' as dimension, 'All patients' as dimension_value, subject_id from patients
    union all
    select 'segment', segment_name, subject_id from patients
    union all
    select 'risk_tier', risk_tier, subject_id from patients
),

patient_group_counts as (
    select
        patient_groups.dimension,
        patient_groups.dimension_value,
        {{ utilization_count_aggregates('patients') }}
    from patient_groups
    inner join patients
        on patient_groups.subject_id = patients.subject_id
    group by patient_groups.dimension, patient_groups.dimension_value
),

-- The groups of segment_tier_matrix, so that a tier without patients is a row of zeros.
kpi_groups as (
    select
        case row_type when 'population_total' then 'overall' when 'segment_total' then 'segment' else 'risk_tier' end
            as dimension,
        case row_type
            when 'population_total' then 'All patients'
            when 'segment_total' then segment_name
            else risk_tier
        end as dimension_value,
        is_suppressed as is_size_suppressed
    from population_counts
    where row_type in ('population_total', 'segment_total', 'tier_total')
),

group_counts as (
    select
        kpi_groups.dimension,
        kpi_groups.dimension_value,
        kpi_groups.is_size_suppressed,
        kpi_groups.dimension || ' | ' || kpi_groups.dimension_value as row_key,
        patient_group_counts.* {{ star_exclude() }} (dimension, dimension_value)  -- noqa: RF02
    from kpi_groups
    left join patient_group_counts
        on kpi_groups.dimension = patient_group_counts.dimension
        and kpi_groups.dimension_value = patient_group_counts.dimension_value
),

-- Segments and tiers each add up to the whole population, count by count.
row_partitions as (
    select dimension as partition_id, row_key, false as is_total
    from group_counts
    where dimension in ('segment', 'risk_tier')
    union all
    select partitions.partition_id, group_counts.row_key, true
    from group_counts
    cross join (values ('segment'), ('risk_tier')) as partitions (partition_id)
    where group_counts.dimension = 'overall'
),

-- Patient counts are shown or hidden exactly as in segment_tier_matrix.
fixed_cells as (
    select row_key, 'n_patients' as count_name, is_size_suppressed as is_suppressed from group_counts
),

{{ suppress_counts('group_counts', 'row_key', utilization_count_spec(),
                   row_partitions='row_partitions', fixed_cells='fixed_cells',
                   fixed_source='segment_tier_matrix') }}

select
    group_counts.dimension::{{ dbt.type_string() }} as dimension,
    group_counts.dimension_value::{{ dbt.type_string() }} as dimension_value,
    {{ utilization_columns('suppressed_counts', 'group_counts') }},
    (suppressed_counts.suppressed_columns is not null)::boolean as is_suppressed,
    suppressed_counts.suppressed_columns::{{ dbt.type_string() }} as suppressed_columns,
    suppressed_counts.suppression_reasons::{{ dbt.type_string() }} as suppression_reasons
from group_counts
inner join suppressed_counts
    on group_counts.row_key = suppressed_counts.row_key
