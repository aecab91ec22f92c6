{#- Patients by segment and risk tier with the segment, tier and population totals. The one place where
    patient counts by segment and by tier are suppressed: the other marts import these decisions, so that a
    figure shown in one mart is never hidden in another (or the reverse). -#}
{%- set all_segments = 'All segments' -%}
{%- set all_tiers = 'All tiers' -%}

with patients as (
    select subject_id, segment_name, risk_tier from {{ ref('patient_summary') }}
),

segment_names as (
    select distinct segment_name from patients
),

-- Every tier of seed risk_tiers, even one without patients, and any other tier the data holds.
risk_tiers as (
    select risk_tier from {{ ref('risk_tiers') }}
    union
    select risk_tier from patients
),

tier_ranks as (
    select risk_tier, tier_rank from {{ ref('risk_tiers') }}
),

-- Every segment and tier pair, so that a pair without patients is a row showing 0, not a missing row.
matrix_rows as (
    select segment_names.segment_name, risk_tiers.risk_tier, 'segment_tier' as row_type
    from segment_names
    cross join risk_tiers
    union all
    select segment_name, '{{ all_tiers }}', 'segment_total' from segment_names
    union all
    select '{{ all_segments }}', risk_tier, 'tier_total' from risk_tiers
    union all
    select '{{ all_segments }}', '{{ all_tiers }}', 'population_total'
),

patient_counts as (
    select
        coalesce(segment_name, '{{ all_segments }}') as segment_name,
        coalesce(risk_tier, '{{ all_tiers }}') as risk_tier,
        count(*) as n_patients
    from patients
    group by grouping sets ((segment_name, risk_tier), (segment_name), (risk_tier), ())
),

matrix_counts as (
    select
        matrix_rows.segment_name,
        matrix_rows.risk_tier,
        matrix_rows.row_type,
        matrix_rows.segment_name || ' | ' || matrix_rows.risk_tier as row_key,
        coalesce(patient_counts.n_patients, 0) as n_patients
    from matrix_rows
    left join patient_counts
        on matrix_rows.segment_name = patient_counts.segment_name
        and matrix_rows.risk_tier = patient_counts.risk_tier
),

-- Each segment's tiers add up to the segment, each tier's segments to the tier, and segments and tiers each
-- add up to the population.
row_partitions as (
    select 'segment ' || segment_name as partition_id, row_key, row_type = 'segment_total' as is_total
    from matrix_counts
    where row_type in ('segment_tier', 'segment_total')
    union all
    select 'tier ' || risk_tier, row_key, row_type = 'tier_total'
    from matrix_counts
    where row_type in ('segment_tier', 'tier_total')
    union all
    select 'all segments', row_key, row_type = 'population_total'
    from matrix_counts
    where row_type in ('segment_total', 'population_total')
    union all
    select 'all tiers', row_key, row_type = 'population_total'
    from matrix_counts
    where row_type in ('tier_total', 'population_total')
),

{{ suppress_counts('matrix_counts', 'row_key', {'counts': ['n_patients']}, row_partitions='row_partitions') }},

published_counts as (
    select
        matrix_counts.segment_name,
        matrix_counts.risk_tier,
        matrix_counts.row_type,
        suppressed_counts.n_patients,
        suppressed_counts.suppressed_columns is not null as is_suppressed,
        suppressed_counts.suppression_reasons
    from matrix_counts
    inner join suppressed_counts
        on matrix_counts.row_key = suppressed_counts.row_key
)

select
    published_counts.segment_name::{{ dbt.type_string() }} as segment_name,
    published_counts.risk_tier::{{ dbt.type_string() }} as risk_tier,
    tier_ranks.tier_rank::integer as risk_tier_rank,
    published_counts.row_type::{{ dbt.type_string() }} as row_type,
    published_counts.n_patients::bigint as n_patients,
    {{ bi_round('published_counts.n_patients / nullif(population.n_patients, 0)', 'proportion') }}
        as share_of_population,
    {{ bi_round('published_counts.n_patients / nullif(segment_totals.n_patients, 0)', 'proportion') }}
        as share_of_segment,
    {{ bi_round('published_counts.n_patients / nullif(tier_totals.n_patients, 0)', 'proportion') }}
        as share_of_tier,
    published_counts.is_suppressed::boolean as is_suppressed,
    published_counts.suppression_reasons::{{ dbt.type_string() }} as suppression_reasons
from published_counts
inner join published_counts as population
    on population.row_type = 'population_total'
inner join published_counts as segment_totals
    on segment_totals.row_type in ('segment_total', 'population_total')
    and published_counts.segment_name = segment_totals.segment_name
inner join published_counts as tier_totals
    on tier_totals.row_type in ('tier_total', 'population_total')
    and published_counts.risk_tier = tier_totals.risk_tier
left join tier_ranks
    on published_counts.risk_tier = tier_ranks.risk_tier
